//! The ZA GW's serving duty (MedMij LISTS-13): what it serves is derived from the
//! ZAL in force, with the grace of LISTS-10 for a withdrawn Gegevensdienst, and every
//! difference between its configuration and the ZAL is reported. Sans-IO: the time
//! is a parameter.

use std::fmt;
use std::time::SystemTime;

use medmij_lists::{ListStore, Zorgaanbiederslijst};

/// One Gegevensdienst the ZA GW is configured to serve for one Zorgaanbieder, at its
/// own endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Offer {
    /// The Zorgaanbieder, `naam@medmij`.
    pub(crate) naam: String,
    /// The GegevensdienstId.
    pub(crate) id: String,
    /// The authorization endpoint (front channel).
    pub(crate) authorize: String,
    /// The token endpoint (back channel).
    pub(crate) token: String,
    /// The resource endpoint per Systeemrol.
    pub(crate) resources: Vec<(String, String)>,
}

/// Whether the ZAL `zal` lists Gegevensdienst `id` for Zorgaanbieder `naam` with
/// every endpoint on `own_host` (MedMij LISTS-13: "at its own endpoints").
pub(crate) fn listed_at(zal: &Zorgaanbiederslijst, own_host: &str, naam: &str, id: &str) -> bool {
    zal.gegevensdienst(naam, id).is_some_and(|g| {
        g.authorization_endpoint()
            .is_some_and(|u| u.host() == own_host)
            && g.token_endpoint().is_some_and(|u| u.host() == own_host)
            && g.systeemrollen()
                .iter()
                .all(|r| r.resource_endpoint().host() == own_host)
    })
}

/// Whether the ZA GW on `own_host` may serve Gegevensdienst `id` of `naam` at `now`:
/// the ZAL in force lists it at its endpoints, or a version that stopped being
/// current at most 3600 s before `now` did (MedMij LISTS-10, LISTS-13). After that a
/// request for it is OAUTH-12 case 1.
pub(crate) fn serves(
    zal: &ListStore<Zorgaanbiederslijst>,
    own_host: &str,
    naam: &str,
    id: &str,
    now: SystemTime,
) -> bool {
    zal.within_grace(now, |z| listed_at(z, own_host, naam, id))
}

/// A difference between what the ZA GW is configured to serve and what the ZAL in
/// force says it serves (MedMij LISTS-13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Difference {
    /// Configured, but the ZAL does not list it at this gateway (any more): served for
    /// 3600 s after the version that listed it stopped being current (LISTS-10), then
    /// refused as OAUTH-12 case 1.
    NotOnZal {
        /// The Zorgaanbieder.
        naam: String,
        /// The GegevensdienstId.
        id: String,
    },
    /// The ZAL lists it at this gateway's host, but the gateway is not configured to
    /// serve it: requests for it are refused.
    NotConfigured {
        /// The Zorgaanbieder.
        naam: String,
        /// The GegevensdienstId.
        id: String,
    },
    /// Both list it, but an endpoint differs.
    Endpoint {
        /// The Zorgaanbieder.
        naam: String,
        /// The GegevensdienstId.
        id: String,
        /// Which endpoint (`authorization`, `token`, `resource <Systeemrol>`).
        which: String,
        /// What the gateway is configured with.
        configured: String,
        /// What the ZAL says (`-` if the ZAL has no such Systeemrol).
        listed: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::NotOnZal { naam, id } => write!(
                f,
                "{naam} Gegevensdienst {id} is configured but not on the ZAL in force at this \
                 gateway: served for 3600 s after its list version stopped being current \
                 (LISTS-10), then refused (OAUTH-12 case 1)"
            ),
            Difference::NotConfigured { naam, id } => write!(
                f,
                "the ZAL lists {naam} Gegevensdienst {id} at this gateway, which is not \
                 configured to serve it"
            ),
            Difference::Endpoint {
                naam,
                id,
                which,
                configured,
                listed,
            } => write!(
                f,
                "{naam} Gegevensdienst {id}: {which} endpoint configured as {configured}, the \
                 ZAL lists {listed}"
            ),
        }
    }
}

/// Every difference between `config` and `zal` for the gateway on `own_host`, in a
/// stable order (configuration first, then ZAL entries not configured).
pub(crate) fn differences(
    config: &[Offer],
    zal: &Zorgaanbiederslijst,
    own_host: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for o in config {
        let Some(g) = zal.gegevensdienst(&o.naam, &o.id) else {
            out.push(Difference::NotOnZal {
                naam: o.naam.clone(),
                id: o.id.clone(),
            });
            continue;
        };
        let mut endpoint = |which: String, configured: &str, listed: Option<&str>| {
            if listed != Some(configured) {
                out.push(Difference::Endpoint {
                    naam: o.naam.clone(),
                    id: o.id.clone(),
                    which,
                    configured: configured.to_owned(),
                    listed: listed.unwrap_or("-").to_owned(),
                });
            }
        };
        endpoint(
            "authorization".into(),
            &o.authorize,
            g.authorization_endpoint().map(|u| u.as_str()),
        );
        endpoint(
            "token".into(),
            &o.token,
            g.token_endpoint().map(|u| u.as_str()),
        );
        for (rol, uri) in &o.resources {
            endpoint(
                format!("resource {rol}"),
                uri,
                g.systeemrol(rol).map(|r| r.resource_endpoint().as_str()),
            );
        }
    }
    for za in zal.zorgaanbieders() {
        for g in za.gegevensdiensten() {
            let configured = config
                .iter()
                .any(|o| o.naam == za.naam().as_str() && o.id == g.id().as_str());
            if !configured && listed_at(zal, own_host, za.naam().as_str(), g.id().as_str()) {
                out.push(Difference::NotConfigured {
                    naam: za.naam().to_string(),
                    id: g.id().to_string(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
fn test_zal(volgnummer: &str, with: &[(&str, &str, &str)]) -> Zorgaanbiederslijst {
    use medmij_lists::{
        BackChannelUri, FrontChannelUri, Gegevensdienst, GegevensdienstId, Systeemrol,
        Systeemrolcode, Tijdstempel, Volgnummer, ZalRelease, Zorgaanbieder, Zorgaanbiedernaam,
    };
    let mut by_naam: Vec<(String, Vec<Gegevensdienst>)> = Vec::new();
    for (naam, id, host) in with {
        let g = Gegevensdienst::new(
            GegevensdienstId::new(id).unwrap(),
            FrontChannelUri::new(&format!("https://{host}/oauth/authorize")).unwrap(),
            BackChannelUri::new(&format!("https://{host}:8443/oauth/token")).unwrap(),
            vec![Systeemrol::new(
                Systeemrolcode::new("ROL").unwrap(),
                BackChannelUri::new(&format!("https://{host}:8443/fhir")).unwrap(),
            )],
        )
        .unwrap();
        match by_naam.iter_mut().find(|(n, _)| n == naam) {
            Some((_, gs)) => gs.push(g),
            None => by_naam.push(((*naam).to_owned(), vec![g])),
        }
    }
    Zorgaanbiederslijst::new(
        ZalRelease::Release2,
        Tijdstempel::new("2026-12-05T00:00:00Z").unwrap(),
        Volgnummer::new(volgnummer).unwrap(),
        by_naam
            .into_iter()
            .map(|(n, gs)| Zorgaanbieder::new(Zorgaanbiedernaam::new(&n).unwrap(), gs).unwrap())
            .collect(),
    )
    .unwrap()
}

/// MedMij LISTS-10: a withdrawn Gegevensdienst is served for exactly 3600 s.
#[cfg(test)]
mod lists_10 {
    use super::*;
    use medmij_lists::NoArchive;
    use std::time::Duration;

    #[test]
    fn withdrawn_service_served_3600_s_then_not() {
        let own = "za.example.nl";
        let store = ListStore::new(NoArchive);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let v1 = test_zal(
            "1",
            &[("umcdemo@medmij", "4", own), ("huisarts@medmij", "4", own)],
        );
        let installed = store.offer(v1.to_xml().as_bytes(), t0).unwrap();
        assert!(matches!(
            installed,
            medmij_lists::StoreEvent::Installed { .. }
        ));
        assert!(serves(&store, own, "umcdemo@medmij", "4", t0));
        let t1 = t0 + Duration::from_secs(100);
        let v2 = test_zal("2", &[("huisarts@medmij", "4", own)]);
        let installed = store.offer(v2.to_xml().as_bytes(), t1).unwrap();
        assert!(matches!(
            installed,
            medmij_lists::StoreEvent::Installed { .. }
        ));
        let at = |s| t1 + Duration::from_secs(s);
        assert!(serves(&store, own, "umcdemo@medmij", "4", at(0)));
        assert!(
            serves(&store, own, "umcdemo@medmij", "4", at(3600)),
            "3600 s in"
        );
        assert!(
            !serves(&store, own, "umcdemo@medmij", "4", at(3601)),
            "3601 s out"
        );
        // What the ZAL in force still lists stays served.
        assert!(serves(&store, own, "huisarts@medmij", "4", at(999_999)));
    }
}

/// MedMij LISTS-13: served exactly what the ZAL lists at the gateway's own endpoints;
/// every difference with the configuration reported.
#[cfg(test)]
mod lists_13 {
    use super::*;
    use medmij_lists::NoArchive;
    use std::time::Duration;

    fn offer(naam: &str, id: &str, host: &str) -> Offer {
        Offer {
            naam: naam.into(),
            id: id.into(),
            authorize: format!("https://{host}/oauth/authorize"),
            token: format!("https://{host}:8443/oauth/token"),
            resources: vec![("ROL".into(), format!("https://{host}:8443/fhir"))],
        }
    }

    #[test]
    fn not_served_at_another_gateway() {
        let store = ListStore::new(NoArchive);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let zal = test_zal("1", &[("umcdemo@medmij", "4", "other.example.nl")]);
        let installed = store.offer(zal.to_xml().as_bytes(), now).unwrap();
        assert!(matches!(
            installed,
            medmij_lists::StoreEvent::Installed { .. }
        ));
        assert!(!serves(&store, "za.example.nl", "umcdemo@medmij", "4", now));
        assert!(serves(
            &store,
            "other.example.nl",
            "umcdemo@medmij",
            "4",
            now
        ));
        assert!(!serves(
            &store,
            "other.example.nl",
            "umcdemo@medmij",
            "5",
            now
        ));
    }

    #[test]
    fn no_differences_when_they_match() {
        let own = "za.example.nl";
        let zal = test_zal("1", &[("umcdemo@medmij", "4", own)]);
        assert_eq!(
            differences(&[offer("umcdemo@medmij", "4", own)], &zal, own),
            []
        );
    }

    #[test]
    fn every_kind_of_difference_is_reported() {
        let own = "za.example.nl";
        let zal = test_zal(
            "1",
            &[
                ("umcdemo@medmij", "4", "moved.example.nl"),
                ("umcdemo@medmij", "6", own),
                ("anderdemo@medmij", "4", "elsewhere.example.nl"),
            ],
        );
        let mut with_role = offer("umcdemo@medmij", "4", own);
        with_role
            .resources
            .push(("EXTRA".into(), format!("https://{own}:8443/x")));
        let config = [with_role, offer("huisarts@medmij", "2", own)];
        let d = differences(&config, &zal, own);
        let text: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(d.len(), 6, "{text:#?}");
        assert!(matches!(&d[0], Difference::Endpoint { which, .. } if which == "authorization"));
        assert!(matches!(&d[1], Difference::Endpoint { which, .. } if which == "token"));
        assert!(matches!(&d[2], Difference::Endpoint { which, .. } if which == "resource ROL"));
        assert!(
            matches!(&d[3], Difference::Endpoint { which, listed, .. } if which == "resource EXTRA" && listed == "-")
        );
        assert_eq!(
            d[4],
            Difference::NotOnZal {
                naam: "huisarts@medmij".into(),
                id: "2".into()
            }
        );
        assert_eq!(
            d[5],
            Difference::NotConfigured {
                naam: "umcdemo@medmij".into(),
                id: "6".into()
            }
        );
        assert!(text[4].contains("3600 s") && text[4].contains("OAUTH-12 case 1"));
    }
}
