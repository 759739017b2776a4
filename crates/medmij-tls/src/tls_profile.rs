//! [`TlsProfile`]: the TLS profile of a gateway, chosen per release line
//! (MedMij TLS-1, TLS-6), and the certificate checks of the 2.x profile.

use std::fmt;
use std::sync::Arc;

use der::Decode;
use der::asn1::ObjectIdentifier;
use medmij_types::ReleaseLine;
use rustls::ServerConfig;

use crate::certs::{OwnCertificates, dns_names_of};
use crate::config::{ServerConfigs, front_with};
use crate::error::ConfigError;
use crate::profile::{Channel, provider_arc};

/// The TLS profile a gateway's configurations are built for, by MedMij
/// release line (MedMij TLS-1, TLS-6).
///
/// MedMij 1.x and 2.x are live side by side; a gateway built for 2.x builds
/// all its configs, back channel and front channel, server and client, for
/// [`TlsProfile::V2`]. Two gateways in one process may use different
/// profiles: the profile is a value of each configuration, never global.
///
/// | | [`TlsProfile::V1`] (1.x, the default) | [`TlsProfile::V2`] (2.x) |
/// |---|---|---|
/// | versions, suites, groups, signatures | NCSC "good" only (MedMij TLS-1), see the crate docs, *Profiles* | the same set: "good" only, no DHE, TLS 1.2 and 1.3 (MedMij TLS-6) |
/// | TLS False Start | not offered (rustls has none) | not offered (MedMij TLS-6) |
/// | peer certificate with a wildcard name (back channel, both directions) | accepted if otherwise valid | refused at the handshake, [`crate::Refusal::Wildcard`] (MedMij TLS-6) |
/// | own certificate with a wildcard name (front and back channel) | accepted | [`crate::ConfigError::WildcardCertificate`] when the config is built (MedMij TLS-6) |
/// | own front-channel certificate whose subject names no organisation (Domain Validated) | accepted | [`crate::ConfigError::NotOrganizationValidated`] when the config is built (MedMij TLS-6: Organization Validated) |
/// | back-channel trust anchors | the PKIoverheid roots the host passes | the host passes the root of PKIoverheid Private Services, "Staat der Nederlanden Private Root CA – G1" (MedMij TLS-6) |
///
/// The 1.x profile already offers only what the NCSC rates "good" on both
/// channels (which satisfies the front channel's 1.x "good or sufficient"),
/// so the cryptographic sets of both profiles are the same; the 2.x profile
/// adds the certificate rules of MedMij TLS-6.
///
/// A name is a wildcard when a dNSName of the certificate's subjectAltName, or
/// its subject commonName, contains `*` (`*.example.nl`, and partial forms
/// such as `za*.example.nl` as well).
///
/// # Trust anchors under 2.x
///
/// The crate ships no roots: [`crate::TrustAnchors`] are always the host's
/// choice. Under the 2.x profile a real deployment passes the real
/// "Staat der Nederlanden Private Root CA – G1" certificate (published by
/// Logius), so that only PKIoverheid Private Services certificates chain
/// (MedMij TLS-6); a certificate under another PKIoverheid root is then
/// refused as [`crate::CertificateProblem::UnknownIssuer`]. In tests,
/// `TestPki::new_g1` (feature `test-pki`) builds a G1-shaped
/// hierarchy whose every name starts with `TEST`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsProfile {
    /// Release 1.0 to 1.6: NCSC "good" on both channels (MedMij TLS-1).
    #[default]
    V1,
    /// Release 2.0 to 2.2: additionally never a wildcard certificate, and
    /// PKIoverheid Private Services (G1) on the back channel (MedMij TLS-6).
    V2,
}

impl TlsProfile {
    /// The profile of a release line: 1.x gives [`TlsProfile::V1`], 2.x
    /// [`TlsProfile::V2`]; a later line that this crate does not know yet
    /// gets the strictest profile it has, [`TlsProfile::V2`].
    pub const fn for_release_line(line: ReleaseLine) -> Self {
        match line {
            ReleaseLine::V1 => Self::V1,
            _ => Self::V2,
        }
    }

    /// The release line this profile serves.
    pub const fn release_line(self) -> ReleaseLine {
        match self {
            Self::V1 => ReleaseLine::V1,
            Self::V2 => ReleaseLine::V2,
        }
    }

    /// Whether certificates naming a wildcard are refused, own and peer
    /// (MedMij TLS-6; 2.x only).
    pub const fn refuses_wildcards(self) -> bool {
        matches!(self, Self::V2)
    }
}

impl From<ReleaseLine> for TlsProfile {
    fn from(line: ReleaseLine) -> Self {
        Self::for_release_line(line)
    }
}

impl fmt::Display for TlsProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MedMij {} TLS profile", self.release_line())
    }
}

/// id-at-commonName.
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// id-at-organizationName.
const ORGANIZATION_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");

/// Whether the subject of `cert` names an organisation (a non-empty
/// organizationName): what an Organization Validated certificate carries and a
/// Domain Validated one does not (MedMij TLS-6).
pub(crate) fn names_organization(cert: &x509_cert::Certificate) -> bool {
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == ORGANIZATION_NAME)
        .any(|atv| !atv.value.value().is_empty())
}

/// The first name of `cert` that contains a wildcard: a dNSName of its
/// subjectAltName, else a subject commonName (MedMij TLS-6).
pub(crate) fn wildcard_in(cert: &x509_cert::Certificate) -> Option<String> {
    if let Some(n) = dns_names_of(cert).into_iter().find(|n| n.contains('*')) {
        return Some(n);
    }
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == COMMON_NAME)
        .filter_map(|atv| std::str::from_utf8(atv.value.value()).ok())
        .find(|cn| cn.contains('*'))
        .map(str::to_owned)
}

/// MedMij TLS-6: under a profile that refuses wildcards, none of `own` may
/// name one; the first wildcard found is the error.
pub(crate) fn check_own(profile: TlsProfile, own: &OwnCertificates) -> Result<(), ConfigError> {
    check_own_with(profile, own, false)
}

/// As [`check_own`]; with `front`, also every own certificate must be
/// Organization Validated (its subject names an organisation): front-channel
/// certificates under the 2.x profile (MedMij TLS-6).
fn check_own_with(
    profile: TlsProfile,
    own: &OwnCertificates,
    front: bool,
) -> Result<(), ConfigError> {
    if !profile.refuses_wildcards() {
        return Ok(());
    }
    for c in own.certificates() {
        let ee = c
            .end_entity()
            .ok_or_else(|| ConfigError::BadCertificate("no end-entity certificate".into()))?;
        let parsed = x509_cert::Certificate::from_der(&ee)
            .map_err(|e| ConfigError::BadCertificate(e.to_string()))?;
        if let Some(name) = wildcard_in(&parsed) {
            return Err(ConfigError::WildcardCertificate { name });
        }
        if front && !names_organization(&parsed) {
            return Err(ConfigError::NotOrganizationValidated {
                subject: parsed.tbs_certificate.subject.to_string(),
            });
        }
    }
    Ok(())
}

/// A front-channel server config for `profile` (user agent to gateway): as
/// [`crate::front_channel_server_config`], and under [`TlsProfile::V2`] an
/// own certificate naming a wildcard is [`ConfigError::WildcardCertificate`]
/// and one whose subject names no organisation (not Organization Validated) is
/// [`ConfigError::NotOrganizationValidated`] (MedMij TLS-1, TLS-6).
pub fn front_channel_server_config_for(
    profile: impl Into<TlsProfile>,
    own: OwnCertificates,
) -> Result<ServerConfig, ConfigError> {
    check_own_with(profile.into(), &own, true)?;
    front_with(Arc::new(own), provider_arc(Channel::Front))
}

/// Front-channel server configs for `profile`, one per key-exchange group
/// (the server's group preference wins), as
/// [`crate::front_channel_server_configs`]; under [`TlsProfile::V2`] an own
/// certificate naming a wildcard is [`ConfigError::WildcardCertificate`], one
/// that is not Organization Validated [`ConfigError::NotOrganizationValidated`]
/// (MedMij TLS-1, TLS-6).
pub fn front_channel_server_configs_for(
    profile: impl Into<TlsProfile>,
    own: OwnCertificates,
) -> Result<ServerConfigs, ConfigError> {
    check_own_with(profile.into(), &own, true)?;
    let own = Arc::new(own);
    ServerConfigs::build(Channel::Front, |p| front_with(own.clone(), p))
}

#[cfg(test)]
mod tls_6 {
    use super::*;

    #[test]
    fn profile_follows_the_release_line() {
        // MedMij TLS-6: the 2.x rules for 2.x gateways only.
        assert_eq!(TlsProfile::from(ReleaseLine::V1), TlsProfile::V1);
        assert_eq!(TlsProfile::from(ReleaseLine::V2), TlsProfile::V2);
        assert_eq!(TlsProfile::default(), TlsProfile::V1);
        assert!(!TlsProfile::V1.refuses_wildcards());
        assert!(TlsProfile::V2.refuses_wildcards());
        for p in [TlsProfile::V1, TlsProfile::V2] {
            assert_eq!(TlsProfile::for_release_line(p.release_line()), p);
        }
        assert_eq!(TlsProfile::V2.to_string(), "MedMij 2.x TLS profile");
    }

    fn cert(cn: &str, sans: &[&str]) -> x509_cert::Certificate {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p =
            rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        let c = p.self_signed(&key).unwrap();
        x509_cert::Certificate::from_der(c.der()).unwrap()
    }

    #[test]
    fn wildcards_are_found_in_dns_names_and_the_common_name() {
        // MedMij TLS-6: "never wildcard certificates", whichever name holds it.
        assert_eq!(
            wildcard_in(&cert("za.example.nl", &["za.example.nl"])),
            None
        );
        assert_eq!(
            wildcard_in(&cert("za.example.nl", &["za.example.nl", "*.example.nl"])).as_deref(),
            Some("*.example.nl")
        );
        assert_eq!(
            wildcard_in(&cert("za.example.nl", &["za*.example.nl"])).as_deref(),
            Some("za*.example.nl")
        );
        assert_eq!(
            wildcard_in(&cert("*.example.nl", &["za.example.nl"])).as_deref(),
            Some("*.example.nl")
        );
    }
}
