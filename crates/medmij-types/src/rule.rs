//! [`RuleId`]: one variant per rule of the MedMij rulebook
//! (`shared/spec/MEDMIJ-RULES.md`), so that a rule named in data (an error,
//! a core event, a trace line) is checked by the compiler, not a string.

use std::fmt;

/// The release line a rule belongs to (the rulebook's "Releases, side by
/// side"): 1.x is release 1.0 to 1.6, 2.x is release 2.0 to 2.2.
///
/// Deliberately exhaustive (not `#[non_exhaustive]`): code matches on the
/// release line to choose between the 1.x and the 2.x behaviour of a rule,
/// and a new release line would change rules, so every such `match` should
/// stop compiling until someone has decided what the new line does there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReleaseLine {
    /// Release 1.0 to 1.6: the rules without a mark.
    V1,
    /// Release 2.0 to 2.2: the rules marked **(2.x)**, which replace or
    /// extend 1.x rules where they say so.
    V2,
}

impl fmt::Display for ReleaseLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V1 => "1.x",
            Self::V2 => "2.x",
        })
    }
}

/// The group of rules a [`RuleId`] belongs to; each group is implemented
/// mainly by one crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RuleGroup {
    /// `LISTS-*`: the four lists (medmij-lists).
    Lists,
    /// `OAUTH-*`: UCI Verzamelen and UCI Delen (medmij-oauth).
    Oauth,
    /// `TLS-*`: the network layer (medmij-tls).
    Tls,
    /// `CONSENT-*`: Toestemming and Bevestiging (medmij-consent).
    Consent,
    /// `LOG-*`: NEN 7513 logging (medmij-log).
    Log,
}

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, $group:ident, $line:ident; )*) => {
        /// A rule of the MedMij rulebook, by its ID (`LISTS-7`, `OAUTH-12`,
        /// …). Each variant's documentation states the rule in short; the
        /// rulebook has the full text.
        ///
        /// ```
        /// use medmij_types::{RuleId, ReleaseLine};
        /// let rule: RuleId = "OAUTH-7".parse().unwrap();
        /// assert_eq!(rule, RuleId::Oauth7);
        /// assert_eq!(rule.to_string(), "OAUTH-7");
        /// assert_eq!(RuleId::Oauth19.release_line(), ReleaseLine::V2);
        /// assert!("OAUTH-3..4".parse::<RuleId>().is_err()); // rules-check: allow
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum RuleId {
            $( $(#[$doc])* $variant, )*
        }

        impl RuleId {
            /// Every rule, in rulebook order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// The rule's ID as the rulebook writes it, e.g. `"OAUTH-7"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $text,)*
                }
            }

            /// The group (and so the crate) the rule belongs to.
            pub const fn group(self) -> RuleGroup {
                match self {
                    $(RuleId::$variant => RuleGroup::$group,)*
                }
            }

            /// The release line that introduced the rule: [`ReleaseLine::V2`]
            /// for the rules the rulebook marks **(2.x)**. Rules without a
            /// mark hold in both lines, except where a 2.x rule replaces
            /// them.
            pub const fn release_line(self) -> ReleaseLine {
                match self {
                    $(RuleId::$variant => ReleaseLine::$line,)*
                }
            }
        }
    };
}

rules! {
    /// The ZAL: Zorgaanbieders with their Gegevensdiensten, endpoints and Systeemrollen.
    Lists1 = "LISTS-1", Lists, V1;
    /// Uniqueness of Zorgaanbiedernaam, GegevensdienstId and Systeemrolcode in the ZAL.
    Lists2 = "LISTS-2", Lists, V1;
    /// Front- and back-channel URI patterns; a usable port is 1..65535.
    Lists3 = "LISTS-3", Lists, V1;
    /// The OCL: client hostnames (the `client_id`) and organisation names.
    Lists4 = "LISTS-4", Lists, V1;
    /// The GNL: Gegevensdienst ids and their Weergavenaam.
    Lists5 = "LISTS-5", Lists, V1;
    /// The Whitelist: the hostnames of MedMij nodes.
    Lists6 = "LISTS-6", Lists, V1;
    /// Validate each new list version before use; a failing one is not used.
    Lists7 = "LISTS-7", Lists, V1;
    /// Freshness: the ZAL daily, the Whitelist at least hourly, on demand.
    Lists8 = "LISTS-8", Lists, V1;
    /// A newer version has a higher Volgnummer; older ones only by logged rollback.
    Lists9 = "LISTS-9", Lists, V1;
    /// Grace: a withdrawn Gegevensdienst is served for 3600 s more.
    Lists10 = "LISTS-10", Lists, V1;
    /// Archive: every list version is kept as long as the logs.
    Lists11 = "LISTS-11", Lists, V1;
    /// The release 1.0 catalogue of Gegevensdiensten (the GNL rules at run time).
    Lists12 = "LISTS-12", Lists, V1;
    /// Serving duty: a Bron/Lezer serves exactly what the ZAL in force lists.
    Lists13 = "LISTS-13", Lists, V1;
    /// Publication by the Stelselnode: checked changes, complete lists, archived.
    Lists14 = "LISTS-14", Lists, V1;
    /// (2.x) ZAL release3: Aanbiedertype and Interfaceversies.
    Lists15 = "LISTS-15", Lists, V2;
    /// Only the Authorization Code grant; no refresh tokens in 1.x.
    Oauth1 = "OAUTH-1", Oauth, V1;
    /// Bearer tokens in the `Authorization` header, never in a URL.
    Oauth2 = "OAUTH-2", Oauth, V1;
    /// Confidential client authenticated by mTLS; `client_id` is its OCL hostname; empty parameters count as omitted.
    Oauth3 = "OAUTH-3", Oauth, V1;
    /// Redirect URI: absolute https, no fragment, the client's host, port 1..65535.
    Oauth4 = "OAUTH-4", Oauth, V1;
    /// (1.x) Scope `<naam>~<GegevensdienstId>`, several pairs of one Zorgaanbieder from release 1.5.
    Oauth5 = "OAUTH-5", Oauth, V1;
    /// Codes and tokens are random UUID v4, unique among the valid ones, opaque.
    Oauth6 = "OAUTH-6", Oauth, V1;
    /// Codes and access tokens live exactly 900 seconds.
    Oauth7 = "OAUTH-7", Oauth, V1;
    /// A code is presented once; a second presentation revokes what it gave.
    Oauth8 = "OAUTH-8", Oauth, V1;
    /// A token only for the code's client and its exact `redirect_uri`.
    Oauth9 = "OAUTH-9", Oauth, V1;
    /// An unguessable `state`, returned unchanged and checked by the client.
    Oauth10 = "OAUTH-10", Oauth, V1;
    /// The order of the happy flow at the AS; no person identifier between gateways.
    Oauth11 = "OAUTH-11", Oauth, V1;
    /// The eight exception cases and their answers; never an HTTP 500.
    Oauth12 = "OAUTH-12", Oauth, V1;
    /// UCI Delen: same shape, a Bevestiging, one Gegevensdienst, writes.
    Oauth13 = "OAUTH-13", Oauth, V1;
    /// The RFC 6819 threats to counter, hashes at rest and bounded resources.
    Oauth14 = "OAUTH-14", Oauth, V1;
    /// Eligibility: persons of 16 and older only.
    Oauth15 = "OAUTH-15", Oauth, V1;
    /// No BSN or other person identifier in payloads or requests.
    Oauth16 = "OAUTH-16", Oauth, V1;
    /// One access token authorizes any number of requests for its scope.
    Oauth17 = "OAUTH-17", Oauth, V1;
    /// The ZA GW authenticates the person (DigiD) with a minimum assurance level.
    Oauth18 = "OAUTH-18", Oauth, V1;
    /// (2.x) Long-lasting consent and rotating refresh tokens, six months.
    Oauth19 = "OAUTH-19", Oauth, V2;
    /// (2.x) Scope per Aanbieder for Verzamelen; one pair for Delen.
    Oauth20 = "OAUTH-20", Oauth, V2;
    /// (2.x) Tracing identifiers `MedMij-Request-ID` and `X-Correlation-ID`.
    Oauth21 = "OAUTH-21", Oauth, V2;
    /// (2.x) Managing and withdrawing long-lasting consent.
    Oauth22 = "OAUTH-22", Oauth, V2;
    /// (2.x) The technical-failure page with trace and session ids.
    Oauth23 = "OAUTH-23", Oauth, V2;
    /// Only TLS versions and algorithms the NCSC rates "good" (back) or "sufficient" (front); server preference.
    Tls1 = "TLS-1", Tls, V1;
    /// Mutual TLS with PKIoverheid certificates on the back channel; rollover.
    Tls2 = "TLS-2", Tls, V1;
    /// Certificate validation with OCSP at every handshake, hard fail.
    Tls3 = "TLS-3", Tls, V1;
    /// The peer's hostname on the most recent Whitelist, re-checked per request.
    Tls4 = "TLS-4", Tls, V1;
    /// Stored data encrypted at rest (the host's duty).
    Tls5 = "TLS-5", Tls, V1;
    /// (2.x) "Good" only on both channels; PKIoverheid Private Services G1; no wildcards.
    Tls6 = "TLS-6", Tls, V2;
    /// The Toestemming of UCI Verzamelen, its exact text and variables.
    Consent1 = "CONSENT-1", Consent, V1;
    /// The Bevestiging of UCI Delen.
    Consent2 = "CONSENT-2", Consent, V1;
    /// Grant, refusal (2.x: withdrawal) are logged; stored with the data.
    Consent3 = "CONSENT-3", Consent, V1;
    /// Provenance of every item in the PGO's dossier.
    Consent4 = "CONSENT-4", Consent, V1;
    /// Consent evidence kept for and handed to the Zorgaanbieder.
    Consent5 = "CONSENT-5", Consent, V1;
    /// (2.x) The consent screens: indefinite period, overview, termination, failure page.
    Consent6 = "CONSENT-6", Consent, V2;
    /// Portability of the dossier to another PGO.
    Consent7 = "CONSENT-7", Consent, V1;
    /// NEN 7513 logging of who, whose data, what, when, where, outcome; refusals too.
    Log1 = "LOG-1", Log, V1;
    /// The PGO's dossier doubles as its log of collections and placements.
    Log2 = "LOG-2", Log, V1;
    /// Retention: at least 12 and at most 15 months.
    Log3 = "LOG-3", Log, V1;
    /// No more personal data than needed; no tokens or codes in clear.
    Log4 = "LOG-4", Log, V1;
    /// Verifiable extracts of one person's or one period's entries.
    Log5 = "LOG-5", Log, V1;
    /// (2.x) Chain-monitoring events, one structured JSON event per step.
    Log6 = "LOG-6", Log, V2;
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for RuleId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// A text that is not the ID of a rule in the rulebook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a MedMij rule ID (expected one full ID such as \"OAUTH-7\")")]
pub struct UnknownRule(pub String);

impl std::str::FromStr for RuleId {
    type Err = UnknownRule;
    fn from_str(s: &str) -> Result<Self, UnknownRule> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRule(s.chars().take(40).collect()))
    }
}

impl TryFrom<&str> for RuleId {
    type Error = UnknownRule;
    fn try_from(s: &str) -> Result<Self, UnknownRule> {
        s.parse()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &r in RuleId::ALL {
            assert!(seen.insert(r.as_str()), "duplicate {r}");
            assert_eq!(r.as_str().parse::<RuleId>(), Ok(r));
            let prefix = match r.group() {
                RuleGroup::Lists => "LISTS-",
                RuleGroup::Oauth => "OAUTH-",
                RuleGroup::Tls => "TLS-",
                RuleGroup::Consent => "CONSENT-",
                RuleGroup::Log => "LOG-",
            };
            assert!(r.as_str().starts_with(prefix), "{r}");
        }
        assert_eq!(RuleId::ALL.len(), 15 + 23 + 6 + 7 + 6);
    }

    #[test]
    fn ranges_and_lists_are_not_ids() {
        // The refused forms (each line marked for `cargo xtask rules`).
        let refused = [
            "OAUTH-3..4", // rules-check: allow
            "OAUTH-3, 4", // rules-check: allow
            "OAUTH-24",   // rules-check: allow
            "OAUTH-03",   // rules-check: allow
            "oauth-3",
        ];
        for bad in refused.into_iter().chain([""]) {
            assert!(bad.parse::<RuleId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_written_as_the_rulebook_writes_them() {
        for &r in RuleId::ALL {
            assert_eq!(r.to_string(), r.as_str());
            assert_eq!(r.as_ref(), r.as_str());
            assert_eq!(RuleId::try_from(r.as_str()), Ok(r));
        }
        assert_eq!(RuleId::Lists3.to_string(), "LISTS-3");
        assert_eq!(RuleId::Oauth21.as_ref(), "OAUTH-21");
        assert_eq!(RuleId::try_from("CONSENT-7"), Ok(RuleId::Consent7));
        assert_eq!(
            RuleId::try_from("LOG-7"),        // rules-check: allow
            Err(UnknownRule("LOG-7".into()))  // rules-check: allow
        );
        assert_eq!(ReleaseLine::V1.to_string(), "1.x");
        assert_eq!(ReleaseLine::V2.to_string(), "2.x");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_is_the_id_text() {
        assert_eq!(serde_json::to_string(&RuleId::Tls6).unwrap(), "\"TLS-6\"");
        assert_eq!(
            serde_json::from_str::<RuleId>("\"TLS-6\"").unwrap(),
            RuleId::Tls6
        );
        let err = serde_json::from_str::<RuleId>("\"TLS-0\"").unwrap_err(); // rules-check: allow
        assert!(err.to_string().contains("is not a MedMij rule ID"), "{err}");
    }

    #[test]
    fn marked_rules_are_2x() {
        let v2: Vec<&str> = RuleId::ALL
            .iter()
            .filter(|r| r.release_line() == ReleaseLine::V2)
            .map(|r| r.as_str())
            .collect();
        assert_eq!(
            v2,
            [
                "LISTS-15",
                "OAUTH-19",
                "OAUTH-20",
                "OAUTH-21",
                "OAUTH-22",
                "OAUTH-23",
                "TLS-6",
                "CONSENT-6",
                "LOG-6"
            ]
        );
    }
}
