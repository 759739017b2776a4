//! Own certificates (rollover, SNI, key age; MedMij TLS-2) and OCSP answer
//! validation edge cases (MedMij TLS-3, RFC 6960).

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{CLIENT, Fixture, SERVER};
use medmij_tls::{
    BackChannel, OcspChecker, OcspDriver, OcspFailure, OcspPolicy, OcspQuery, OcspSourceError,
    OwnCertificates, PeerRole, Refusal,
};
use medmij_tls::{CertOptions, IssuedCert, OcspSigner, TestStatus};
use rustls::pki_types::UnixTime;

fn unix(t: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(t.duration_since(SystemTime::UNIX_EPOCH).unwrap())
}

/// A node whose host-driven OCSP driver fetched `answer` for `cert` (MedMij
/// TLS-3: the verifier reads only what the driver put in the cache).
fn node_fed_with(
    f: &Fixture,
    policy: OcspPolicy,
    cert: &IssuedCert,
    answer: Vec<u8>,
) -> BackChannel {
    let node = f
        .node(&f.issue(SERVER))
        .with_ocsp(OcspChecker::new().with_policy(policy));
    let driver = OcspDriver::new(node.ocsp_checker());
    driver.watch_chain(&cert.chain).unwrap();
    let source = move |_: &OcspQuery| -> Result<Vec<u8>, OcspSourceError> { Ok(answer.clone()) };
    assert_eq!(driver.refresh_blocking(&source, SystemTime::now()), 1);
    node
}

fn check_at(
    node: &BackChannel,
    cert: &IssuedCert,
    at: SystemTime,
) -> Result<Vec<String>, medmij_tls::RefusalEvent> {
    node.checks().check(
        PeerRole::Client,
        &cert.chain[0],
        &cert.chain[1..],
        None,
        &[],
        unix(at),
    )
}

/// The checks of a node whose driver got `answer` for a client certificate.
fn check_with_answer(
    f: &Fixture,
    answer: Vec<u8>,
) -> Result<Vec<String>, medmij_tls::RefusalEvent> {
    let client = f.issue(CLIENT);
    let node = node_fed_with(f, OcspPolicy::default(), &client, answer);
    check_at(&node, &client, SystemTime::now())
}

/// MedMij TLS-2: mutual TLS, own certificates, rollover, key age.
mod tls_2 {
    use super::*;
    use std::sync::Mutex;

    /// Keeps the text of every `warn` (or worse) log record of this test binary.
    struct Capture(Mutex<Vec<String>>);
    impl log::Log for Capture {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::Level::Warn
        }
        fn log(&self, r: &log::Record<'_>) {
            if self.enabled(r.metadata()) {
                self.0.lock().unwrap().push(r.args().to_string());
            }
        }
        fn flush(&self) {}
    }
    static LOGGED: Capture = Capture(Mutex::new(Vec::new()));

    /// Building a config on key material older than a year says so in the log (level
    /// `warn`, MedMij TLS-2: renew at least yearly), for the server config, the per-group
    /// server configs and the client config alike.
    #[test]
    fn configs_on_old_key_material_warn() {
        log::set_logger(&LOGGED).expect("the only logger of this test binary");
        log::set_max_level(log::LevelFilter::Warn);
        let f = Fixture::new();
        let name = "old-key.gateway.example.nl";
        let day = Duration::from_secs(86_400);
        let own = OwnCertificates::new(vec![
            f.issue(name)
                .own_certificate()
                .unwrap()
                .with_key_created(unix(SystemTime::now() - 730 * day)),
        ])
        .unwrap();
        let node = BackChannel::new(f.pki.trust_anchors().unwrap(), f.whitelist.clone(), own);
        let warned = || {
            LOGGED
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.contains(name) && m.contains("MedMij TLS-2"))
                .count()
        };
        assert_eq!(warned(), 0);
        node.server_config().unwrap();
        assert_eq!(warned(), 1);
        node.server_configs().unwrap();
        assert_eq!(warned(), 2);
        node.client_config().unwrap();
        assert_eq!(warned(), 3);
    }

    #[test]
    fn rollover_presents_the_newest_valid_certificate() {
        // MedMij TLS-2: old and new certificate side by side; the newer is used.
        let f = Fixture::new();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let old = f
            .pki
            .issue(
                &[SERVER],
                &CertOptions {
                    not_before: now - 300 * day,
                    not_after: now + 60 * day,
                    ..f.opts()
                },
            )
            .unwrap();
        let new = f.issue(SERVER);
        let own = OwnCertificates::new(vec![
            old.own_certificate().unwrap(),
            new.own_certificate().unwrap(),
        ])
        .unwrap();
        let schemes = [rustls::SignatureScheme::ECDSA_NISTP256_SHA256];
        let chosen = own.choose(Some(SERVER), &schemes, unix(now)).unwrap();
        assert_eq!(
            chosen.not_before(),
            new.own_certificate().unwrap().not_before()
        );

        // An expired certificate is not presented while another valid one fits.
        let expired = f
            .pki
            .issue(
                &[SERVER],
                &CertOptions {
                    not_before: now - 30 * day,
                    not_after: now - day,
                    ..f.opts()
                },
            )
            .unwrap();
        let own = OwnCertificates::new(vec![
            old.own_certificate().unwrap(),
            expired.own_certificate().unwrap(),
        ])
        .unwrap();
        let chosen = own.choose(Some(SERVER), &schemes, unix(now)).unwrap();
        assert_eq!(
            chosen.not_before(),
            old.own_certificate().unwrap().not_before()
        );

        // And the handshake works with both held at once.
        let server = BackChannel::new(
            f.pki.trust_anchors().unwrap(),
            f.whitelist.clone(),
            OwnCertificates::new(vec![
                old.own_certificate().unwrap(),
                new.own_certificate().unwrap(),
            ])
            .unwrap(),
        )
        .with_ocsp(f.ocsp.clone());
        let o = f.handshake(
            &f.node(&f.issue(CLIENT)).client_config().unwrap(),
            &server.server_config().unwrap(),
            SERVER,
        );
        assert!(o.ok(), "{o:?}");
    }

    #[test]
    fn certificate_chosen_by_sni() {
        // MedMij TLS-2: one node, two hostnames, chosen by SNI.
        let f = Fixture::new();
        let a = f.issue("a.gateway.example.nl");
        let b = f.issue("b.gateway.example.nl");
        let own = OwnCertificates::new(vec![
            a.own_certificate().unwrap(),
            b.own_certificate().unwrap(),
        ])
        .unwrap();
        let schemes = [rustls::SignatureScheme::ECDSA_NISTP256_SHA256];
        let now = unix(SystemTime::now());
        for name in ["a.gateway.example.nl", "b.gateway.example.nl"] {
            let c = own.choose(Some(name), &schemes, now).unwrap();
            assert_eq!(c.dns_names(), [name.to_string()]);
        }
        f.whitelist
            .replace(["a.gateway.example.nl", "b.gateway.example.nl", CLIENT]);
        let server = BackChannel::new(f.pki.trust_anchors().unwrap(), f.whitelist.clone(), own)
            .with_ocsp(f.ocsp.clone());
        let cc = f.node(&f.issue(CLIENT)).client_config().unwrap();
        let sc = server.server_config().unwrap();
        assert!(f.handshake(&cc, &sc, "a.gateway.example.nl").ok());
        assert!(f.handshake(&cc, &sc, "b.gateway.example.nl").ok());
    }

    #[test]
    fn the_certificate_chosen_fits_the_name_and_the_signature_schemes() {
        // MedMij TLS-2: several own certificates side by side. A wildcard matches exactly one
        // label in front of its suffix; a certificate whose key cannot sign with any scheme
        // the peer offers is passed over for one that can, even an older one.
        let f = Fixture::new();
        let now = unix(SystemTime::now());
        let p256 = [rustls::SignatureScheme::ECDSA_NISTP256_SHA256];
        let p384 = [rustls::SignatureScheme::ECDSA_NISTP384_SHA384];
        // A P-384 key on an old self-signed certificate (rcgen's default validity).
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let old = rcgen::CertificateParams::new(vec!["gw.example.nl".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let older_p384 = medmij_tls::OwnCertificate::new(
            vec![old.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let newer_p256 = f.issue("gw.example.nl").own_certificate().unwrap();
        let own = OwnCertificates::new(vec![older_p384, newer_p256]).unwrap();
        let chosen = |schemes: &[rustls::SignatureScheme]| {
            own.choose(Some("gw.example.nl"), schemes, now)
                .unwrap()
                .not_before()
        };
        let old_not_before = own.certificates()[0].not_before();
        assert_eq!(chosen(&p384), old_not_before, "only the P-384 key fits");
        // None fits: the newest valid one all the same, so that the handshake fails as "no
        // cipher suites in common" rather than for want of a certificate.
        let rsa = [rustls::SignatureScheme::RSA_PSS_SHA256];
        assert_ne!(
            chosen(&rsa),
            old_not_before,
            "the newest, though it does not fit"
        );
        assert_ne!(chosen(&p256), old_not_before, "the newest that fits");

        let wildcard = f.issue("*.example.nl");
        let other = f.issue("other.gateway.nl");
        let own = OwnCertificates::new(vec![
            wildcard.own_certificate().unwrap(),
            other.own_certificate().unwrap(),
        ])
        .unwrap();
        let pick = |sni: &str| {
            own.choose(Some(sni), &p256, now)
                .unwrap()
                .dns_names()
                .to_vec()
        };
        assert_eq!(pick("gw.example.nl"), ["*.example.nl"]);
        assert_eq!(pick("GW.Example.NL"), ["*.example.nl"]);
        // Not a match, so the newest valid certificate (the other one) is presented.
        for sni in [
            "a.b.example.nl",
            "example.nl",
            "gw.example.org",
            ".example.nl",
        ] {
            assert_eq!(pick(sni), ["other.gateway.nl"], "{sni}");
        }
    }

    #[test]
    fn a_certificate_expires_after_its_not_after() {
        // MedMij TLS-2: a certificate is good through the second of its notAfter and
        // reported expired from the second after.
        let f = Fixture::new();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let not_after = now + 30 * day;
        let cert = f
            .pki
            .issue(
                &[SERVER],
                &CertOptions {
                    not_before: now - day,
                    not_after,
                    ..f.opts()
                },
            )
            .unwrap();
        let own = OwnCertificates::new(vec![cert.own_certificate().unwrap()]).unwrap();
        let end = own.certificates()[0].not_after();
        assert!(own.key_age_report(end).is_empty());
        let after = UnixTime::since_unix_epoch(Duration::from_secs(end.as_secs() + 1));
        let report = own.key_age_report(after);
        assert_eq!(report.len(), 1);
        assert!(report[0].expired);
    }

    #[test]
    fn key_material_is_old_after_exactly_a_year() {
        // MedMij TLS-2: renewed at least yearly; a key of 365 days is not yet old, one a
        // second older is (and the figure is one year, written out).
        assert_eq!(medmij_tls::MAX_KEY_AGE, Duration::from_secs(365 * 86_400));
        let f = Fixture::new();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let cert = f.issue(SERVER).own_certificate().unwrap();
        let created = now - 365 * day;
        let own = OwnCertificates::new(vec![cert.with_key_created(unix(created))]).unwrap();
        assert!(own.key_age_report(unix(now)).is_empty());
        assert_eq!(
            own.key_age_report(unix(now + Duration::from_secs(1))).len(),
            1
        );
        assert!(own.key_age_report(unix(now - 364 * day)).is_empty());
    }

    #[test]
    fn trust_anchors_and_names_are_read_as_given() {
        // MedMij TLS-2, TLS-3: every root of a PEM bundle is an anchor; the dNSNames of a
        // certificate are read lowercase.
        let f = Fixture::new();
        let one = f.pki.trust_anchors().unwrap();
        assert_eq!((one.len(), one.is_empty()), (1, false));
        let other = medmij_tls::TestPki::new("Tweede testroot").unwrap();
        let bundle = format!("{}{}", f.pki.root_pem(), other.root_pem());
        let two = medmij_tls::TrustAnchors::from_pem(bundle.as_bytes()).unwrap();
        assert_eq!((two.len(), two.is_empty()), (2, false));
        let cert = f
            .pki
            .issue(&["GW.Example.NL", "b.example.nl"], &f.opts())
            .unwrap();
        assert_eq!(
            medmij_tls::dns_names(&cert.chain[0]).unwrap(),
            ["gw.example.nl", "b.example.nl"]
        );
    }

    #[test]
    fn key_material_older_than_a_year_is_reported() {
        // MedMij TLS-2: key material is renewed at least yearly.
        let f = Fixture::new();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let fresh = f.issue(SERVER);
        let old = f
            .pki
            .issue(
                &[SERVER],
                &CertOptions {
                    not_before: now - 400 * day,
                    not_after: now + 30 * day,
                    ..f.opts()
                },
            )
            .unwrap();
        let own = OwnCertificates::new(vec![
            fresh.own_certificate().unwrap(),
            old.own_certificate().unwrap(),
            // A fresh certificate on a key generated 2 years ago.
            fresh
                .own_certificate()
                .unwrap()
                .with_key_created(unix(now - 730 * day)),
        ])
        .unwrap();
        let report = own.key_age_report(unix(now));
        assert_eq!(report.len(), 2, "{report:?}");
        assert!(report.iter().any(|w| w.age_days == 400 && !w.expired));
        assert!(report.iter().any(|w| w.age_days == 730));
        // A year later the fresh one is old and expired too.
        let report = own.key_age_report(unix(now + 400 * day));
        assert_eq!(report.len(), 3);
        assert!(report.iter().all(|w| w.expired));
    }

    #[test]
    fn a_node_without_an_own_certificate_is_a_tls_2_config_error() {
        // MedMij TLS-2: mutual TLS needs an own certificate; none given, or one without
        // its chain, is a configuration error that names TLS-2.
        let err = OwnCertificates::new(Vec::new()).unwrap_err();
        assert!(
            matches!(err, medmij_tls::ConfigError::NoOwnCertificate),
            "{err:?}"
        );
        assert_eq!(err.rule(), Some(medmij_types::RuleId::Tls2));
        let key = Fixture::new().issue(CLIENT).key();
        let err = medmij_tls::OwnCertificate::new(Vec::new(), key).unwrap_err();
        assert_eq!(err.rule(), Some(medmij_types::RuleId::Tls2), "{err:?}");
    }
}

/// MedMij TLS-3: chain, validity, key usage and OCSP (hard fail).
mod tls_3 {
    use super::*;

    #[test]
    fn a_cached_answer_is_good_from_this_update_within_the_skew_until_next_update() {
        // MedMij TLS-3, RFC 6960: a cached answer counts from its thisUpdate (less the
        // allowed clock skew) up to, not including, its nextUpdate; before that it is not
        // yet valid, from then on stale.
        let f = Fixture::new();
        let client = f.issue(CLIENT);
        let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs(SystemTime::now()));
        let this_update = now - Duration::from_secs(100);
        let next_update = now + Duration::from_secs(1000);
        let answer = f
            .pki
            .ocsp_response(
                &client.serial,
                TestStatus::Good,
                this_update,
                Some(next_update),
                OcspSigner::Issuer,
            )
            .unwrap();
        let node = node_fed_with(&f, OcspPolicy::default(), &client, answer);
        let key = *medmij_tls::PeerIdentity::from_peer_certificates(
            PeerRole::Client,
            &client.chain,
            None,
        )
        .unwrap()
        .cert_key();
        let skew = OcspPolicy::default().clock_skew.as_secs();
        let status = |at: u64| node.ocsp_checker().cache().status(&key, at);
        let (t0, t1) = (secs(this_update), secs(next_update));
        assert_eq!(status(t0 - skew), medmij_tls::CachedStatus::Good);
        assert_eq!(status(t1 - 1), medmij_tls::CachedStatus::Good);
        assert!(
            matches!(
                status(t1),
                medmij_tls::CachedStatus::Refused(OcspFailure::Stale { .. })
            ),
            "{:?}",
            status(t1)
        );
        assert!(
            matches!(
                status(t0 - skew - 1),
                medmij_tls::CachedStatus::Refused(OcspFailure::NotYetValid { .. })
            ),
            "{:?}",
            status(t0 - skew - 1)
        );
    }

    #[test]
    fn a_checker_keeps_what_it_is_given_and_counts_first_contacts() {
        // MedMij TLS-3: the checker's cache, policy and cache-miss rule are the ones given;
        // a first contact refused for want of an answer is left pending for the driver.
        let f = Fixture::new();
        let cache = Arc::new(medmij_tls::OcspCache::new(16));
        let policy = OcspPolicy {
            timeout: Duration::from_secs(7),
            ..OcspPolicy::default()
        };
        let given = OcspChecker::new()
            .with_policy(policy)
            .with_cache(cache.clone())
            .with_on_cache_miss(medmij_tls::OnCacheMiss::Provisional);
        assert!(std::ptr::eq(&**given.cache(), &*cache));
        assert_eq!(*given.policy(), policy);
        assert_eq!(given.on_cache_miss(), medmij_tls::OnCacheMiss::Provisional);
        let refusing = OcspChecker::new();
        assert_eq!(refusing.on_cache_miss(), medmij_tls::OnCacheMiss::Refuse);
        assert_eq!(refusing.pending_len(), 0);
        let client = f.node(&f.issue(CLIENT)).with_ocsp(refusing.clone());
        let server = f.node(&f.issue(SERVER)).with_ocsp(refusing.clone());
        let o = common::handshake(
            &client.client_config().unwrap(),
            &server.server_config().unwrap(),
            SERVER,
        );
        assert!(!o.ok(), "no answer yet: refused");
        assert_eq!(
            refusing.pending_len(),
            1,
            "the server's certificate, pending"
        );
    }

    #[test]
    fn the_driver_watches_a_bounded_set_and_keeps_own_certificates() {
        // MedMij TLS-3 with bounded memory: at most `max_watched` certificates are watched;
        // a new peer beyond it takes the place of a peer, never of an own certificate; a
        // peer watched again takes no place of its own.
        let f = Fixture::new();
        let checker = OcspChecker::default();
        let settings = medmij_tls::DriverSettings {
            max_watched: 3,
            ..medmij_tls::DriverSettings::default()
        };
        let driver = OcspDriver::with_settings(&checker, settings);
        // The driver serves the checker it was made with (a clone shares its cache).
        assert!(std::ptr::eq(
            &**driver.checker().cache(),
            &**checker.cache()
        ));
        let own = f.issue(SERVER);
        driver.watch_own(&own.own_certificate().unwrap()).unwrap();
        let peers: Vec<_> = (0..3)
            .map(|i| f.issue(&format!("p{i}.gateway.example.nl")))
            .collect();
        let key = |c: &medmij_tls::IssuedCert| {
            *medmij_tls::PeerIdentity::from_peer_certificates(PeerRole::Client, &c.chain, None)
                .unwrap()
                .cert_key()
        };
        assert_eq!(driver.watched_len(), 1);
        driver.watch_chain(&peers[0].chain).unwrap();
        driver.watch_chain(&peers[1].chain).unwrap();
        assert_eq!(driver.watched_len(), 3, "room for all three");
        driver.watch_chain(&peers[1].chain).unwrap();
        assert_eq!(driver.watched_len(), 3, "watched again: the same place");
        driver.watch_chain(&peers[2].chain).unwrap();
        assert_eq!(driver.watched_len(), 3, "full: a peer made room");
        let watched: Vec<_> = driver
            .due(SystemTime::now())
            .iter()
            .map(|j| *j.cert_key())
            .collect();
        assert_eq!(watched.len(), 3);
        assert!(watched.contains(&key(&own)), "the own certificate stays");
        assert!(watched.contains(&key(&peers[2])), "the new peer is in");
        assert_eq!(
            [key(&peers[0]), key(&peers[1])]
                .iter()
                .filter(|k| watched.contains(k))
                .count(),
            1,
            "one of the older peers made room"
        );
    }

    #[test]
    fn ocsp_answer_for_another_serial_is_refused() {
        // RFC 6960 3.2 (1): the answer must be about this certificate.
        let f = Fixture::new();
        let other = f.issue("other.gateway.example.nl");
        let now = SystemTime::now();
        let der = f
            .pki
            .ocsp_response(
                &other.serial,
                TestStatus::Good,
                now,
                Some(now + Duration::from_secs(600)),
                OcspSigner::Issuer,
            )
            .unwrap();
        let err = check_with_answer(&f, der).unwrap_err();
        assert_eq!(err.refusal, Refusal::Ocsp(OcspFailure::NoMatchingResponse));
    }

    #[test]
    fn ocsp_unknown_status_is_refused() {
        let f = Fixture::new();
        // RFC 6960 2.2: "unknown" is no validation result (MedMij TLS-3).
        let now = SystemTime::now();
        let client = f.issue(CLIENT);
        let der = f
            .pki
            .ocsp_response(
                &client.serial,
                TestStatus::Unknown,
                now,
                Some(now + Duration::from_secs(600)),
                OcspSigner::Issuer,
            )
            .unwrap();
        let node = node_fed_with(&f, OcspPolicy::default(), &client, der);
        let err = check_at(&node, &client, SystemTime::now()).unwrap_err();
        assert_eq!(err.refusal, Refusal::Ocsp(OcspFailure::UnknownStatus));
    }

    #[test]
    fn ocsp_error_statuses_and_garbage_are_refused() {
        // RFC 6960 2.3: tryLater etc. give no validation result; garbage is malformed.
        let f = Fixture::new();
        let try_later = [0x30, 0x03, 0x0a, 0x01, 0x03];
        let err = check_with_answer(&f, try_later.to_vec()).unwrap_err();
        assert!(matches!(
            err.refusal,
            Refusal::Ocsp(OcspFailure::ResponderStatus(_))
        ));
        let err = check_with_answer(&f, b"<html>not OCSP</html>".to_vec()).unwrap_err();
        assert!(matches!(
            err.refusal,
            Refusal::Ocsp(OcspFailure::Malformed(_))
        ));
        let err = check_with_answer(&f, Vec::new()).unwrap_err();
        assert!(matches!(
            err.refusal,
            Refusal::Ocsp(OcspFailure::Malformed(_))
        ));
    }

    #[test]
    fn ocsp_answer_from_the_future_is_refused() {
        let f = Fixture::new();
        let now = SystemTime::now();
        let client = f.issue(CLIENT);
        let der = f
            .pki
            .ocsp_response(
                &client.serial,
                TestStatus::Good,
                now + Duration::from_secs(3600),
                Some(now + Duration::from_secs(7200)),
                OcspSigner::Issuer,
            )
            .unwrap();
        let node = node_fed_with(&f, OcspPolicy::default(), &client, der);
        let err = check_at(&node, &client, SystemTime::now()).unwrap_err();
        assert!(matches!(
            err.refusal,
            Refusal::Ocsp(OcspFailure::NotYetValid { .. })
        ));
    }

    #[test]
    fn refusals_map_to_fitting_alerts() {
        use rustls::AlertDescription as A;
        let cases = [
            (
                Refusal::NotOnWhitelist {
                    hostname: "x".into(),
                },
                A::AccessDenied,
            ),
            (
                Refusal::WhitelistUndetermined {
                    hostname: "x".into(),
                },
                A::AccessDenied,
            ),
            (
                Refusal::Ocsp(OcspFailure::Revoked { revocation_time: 1 }),
                A::CertificateRevoked,
            ),
            (Refusal::Ocsp(OcspFailure::Timeout(5)), A::UnknownCA),
            (
                Refusal::Ocsp(OcspFailure::Stale {
                    this_update: 0,
                    next_update: Some(1),
                    now: 2,
                }),
                A::BadCertificateStatusResponse,
            ),
            (
                Refusal::Certificate {
                    problem: medmij_tls::CertificateProblem::Expired,
                    detail: String::new(),
                },
                A::CertificateExpired,
            ),
            (Refusal::NoDnsName, A::BadCertificate),
        ];
        for (r, a) in cases {
            assert_eq!(r.alert(), a, "{r}");
        }
    }

    #[test]
    fn mutated_ocsp_answers_never_panic_and_never_pass() {
        // Never a panic on bad input; a bit flip anywhere in a signed answer refuses.
        let f = Fixture::new();
        let client = f.issue(CLIENT);
        let now = SystemTime::now();
        let good = f
            .pki
            .ocsp_response(
                &client.serial,
                TestStatus::Good,
                now,
                Some(now + Duration::from_secs(600)),
                OcspSigner::Issuer,
            )
            .unwrap();
        let current = Arc::new(std::sync::Mutex::new(good.clone()));
        let cur = current.clone();
        let source = move |_: &OcspQuery| -> Result<Vec<u8>, OcspSourceError> {
            Ok(cur.lock().unwrap().clone())
        };
        let node = f.node(&f.issue(SERVER)).with_ocsp(OcspChecker::new());
        let driver = OcspDriver::new(node.ocsp_checker());
        driver.watch_chain(&client.chain).unwrap();
        let check = || {
            node.checks().ocsp().cache().clear();
            driver.refresh_all_now();
            assert_eq!(driver.refresh_blocking(&source, SystemTime::now()), 1);
            check_at(&node, &client, SystemTime::now())
        };
        assert!(check().is_ok());
        let mut passed = Vec::new();
        for i in 0..good.len() {
            for bit in [0x01u8, 0x80] {
                let mut m = good.clone();
                m[i] ^= bit;
                *current.lock().unwrap() = m;
                if check().is_ok() {
                    passed.push((i, bit));
                }
            }
            // Truncations too.
            *current.lock().unwrap() = good[..i].to_vec();
            assert!(check().is_err(), "truncated at {i} passed");
        }
        assert!(passed.is_empty(), "mutations that passed: {passed:?}");
    }

    #[test]
    fn staple_is_refreshed_at_run_time() {
        // MedMij TLS-3: a server keeps a fresh stapled answer without rebuilding its
        // config; a revoked answer is never stapled.
        let f = Fixture::new();
        let s = f.issue(SERVER);
        let own = s.own_certificate().unwrap();
        let server = BackChannel::new(
            f.pki.trust_anchors().unwrap(),
            f.whitelist.clone(),
            OwnCertificates::new(vec![own.clone()]).unwrap(),
        )
        .with_ocsp(f.ocsp.clone());
        let sc = server.server_config().unwrap();
        // This client can only be satisfied by a staple.
        let client = BackChannel::new(
            f.pki.trust_anchors().unwrap(),
            f.whitelist.clone(),
            OwnCertificates::new(vec![f.issue(CLIENT).own_certificate().unwrap()]).unwrap(),
        );
        let cc = client.client_config().unwrap();
        let o = f.handshake(&cc, &sc, SERVER);
        assert_eq!(
            o.client,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownRevocationStatus
            ))
        );

        let fetcher = medmij_tls::BlockingOcspFetcher::new().unwrap();
        let policy = OcspPolicy::default();
        own.refresh_ocsp_staple(&fetcher, &policy, UnixTime::now())
            .unwrap();
        let o = f.handshake(&cc, &sc, SERVER);
        assert!(o.ok(), "{o:?}");

        f.responder.revoke(&s.serial);
        let err = own
            .refresh_ocsp_staple(&fetcher, &policy, UnixTime::now())
            .unwrap_err();
        assert!(matches!(err, OcspFailure::Revoked { .. }), "{err:?}");

        // The client cached the good staple it checked (valid until its
        // nextUpdate); a client that never saw it refuses the unstapled server.
        own.set_ocsp_staple(None);
        assert!(f.handshake(&cc, &sc, SERVER).ok());
        let fresh_client = client.with_ocsp(OcspChecker::new());
        let cc = fresh_client.client_config().unwrap();
        assert!(f.handshake(&cc, &sc, SERVER).client.is_some());
    }

    #[test]
    fn answer_without_next_update_is_fresh_for_max_age_only() {
        // MedMij TLS-3: without nextUpdate an answer counts as fresh for
        // OcspPolicy::max_age_without_next_update after thisUpdate, then it is stale.
        let f = Fixture::new();
        let client = f.issue(CLIENT);
        let now = SystemTime::now();
        let der = f
            .pki
            .ocsp_response(
                &client.serial,
                TestStatus::Good,
                now,
                None,
                OcspSigner::Issuer,
            )
            .unwrap();
        let policy = medmij_tls::OcspPolicy {
            max_age_without_next_update: Duration::from_secs(600),
            ..Default::default()
        };
        let node = node_fed_with(&f, policy, &client, der);
        let at = |secs: u64| check_at(&node, &client, now + Duration::from_secs(secs));
        assert!(at(0).is_ok());
        assert!(at(590).is_ok());
        let err = at(610).unwrap_err();
        assert!(
            matches!(
                err.refusal,
                Refusal::Ocsp(OcspFailure::Stale {
                    next_update: None,
                    ..
                })
            ),
            "{err:?}"
        );
    }

    /// Whole seconds since the epoch of `t`, and `t` cut to them (OCSP times have
    /// whole seconds).
    fn whole(t: SystemTime) -> (u64, SystemTime) {
        let s = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        (s, SystemTime::UNIX_EPOCH + Duration::from_secs(s))
    }

    /// A good answer for `cert` signed by the issuer, valid from `this_update` to
    /// `next_update`.
    fn good(f: &Fixture, cert: &IssuedCert, this_update: SystemTime, next: SystemTime) -> Vec<u8> {
        f.pki
            .ocsp_response(
                &cert.serial,
                TestStatus::Good,
                this_update,
                Some(next),
                OcspSigner::Issuer,
            )
            .unwrap()
    }

    /// The due jobs of `driver` at `now`, one per certificate, in the order of `certs`.
    fn jobs_for(
        driver: &OcspDriver,
        certs: &[&IssuedCert],
        now: SystemTime,
    ) -> Vec<medmij_tls::OcspJob> {
        let jobs = driver.due(now);
        certs
            .iter()
            .map(|c| {
                let k = medmij_tls::cert_key(&c.chain[0]);
                jobs.iter().find(|j| *j.cert_key() == k).unwrap().clone()
            })
            .collect()
    }

    #[test]
    fn an_answer_naming_the_certificate_by_its_sha256_id_is_taken() {
        // RFC 6960 4.1.1, MedMij TLS-3: the CertID of an answer may be hashed with SHA-256
        // (we ask with SHA-1); an answer about this certificate so named is good, one about
        // another certificate so named is not about this one.
        let f = Fixture::new();
        let client = f.issue(CLIENT);
        let other = f.issue(CLIENT);
        let now = SystemTime::now();
        let answer = |serial: &[u8]| {
            f.pki
                .ocsp_response_for(
                    f.pki.cert_id_sha256(serial).unwrap(),
                    TestStatus::Good,
                    now,
                    Some(now + Duration::from_secs(600)),
                    OcspSigner::Issuer,
                )
                .unwrap()
        };
        let node = node_fed_with(&f, OcspPolicy::default(), &client, answer(&client.serial));
        assert!(check_at(&node, &client, now).is_ok());
        let node = node_fed_with(&f, OcspPolicy::default(), &client, answer(&other.serial));
        assert_eq!(
            check_at(&node, &client, now).unwrap_err().refusal,
            Refusal::Ocsp(OcspFailure::NoMatchingResponse)
        );
    }

    #[test]
    fn a_responder_named_by_name_is_the_issuer_or_a_delegated_responder() {
        // RFC 6960 4.2.2.2, 4.2.2.3, MedMij TLS-3: a ResponderID byName names the issuing
        // CA (the answer is then checked with the issuer's key) or a delegated responder
        // whose certificate comes along (checked with that certificate's key, which the
        // issuer must have issued for OCSP signing).
        let f = Fixture::new();
        let client = f.issue(CLIENT);
        let now = SystemTime::now();
        let by_name = |signer: OcspSigner<'_>| {
            let der = f
                .pki
                .ocsp_response_by_name(
                    f.pki.cert_id(&client.serial).unwrap(),
                    TestStatus::Good,
                    now,
                    Some(now + Duration::from_secs(600)),
                    signer,
                )
                .unwrap();
            let node = node_fed_with(&f, OcspPolicy::default(), &client, der);
            check_at(&node, &client, now).map_err(|e| e.refusal)
        };
        assert!(by_name(OcspSigner::Issuer).is_ok(), "the issuer, by name");
        let delegated = f.pki.issue_ocsp_responder(true).unwrap();
        assert!(
            by_name(OcspSigner::Delegated(&delegated)).is_ok(),
            "a delegated responder, by name"
        );
        assert_eq!(
            by_name(OcspSigner::WrongKey),
            Err(Refusal::Ocsp(OcspFailure::BadSignature)),
            "the issuer's name on another key's signature"
        );
        let not_for_ocsp = f.pki.issue_ocsp_responder(false).unwrap();
        assert!(
            matches!(
                by_name(OcspSigner::Delegated(&not_for_ocsp)),
                Err(Refusal::Ocsp(OcspFailure::UnauthorisedSigner(_)))
            ),
            "a responder without id-kp-OCSPSigning, by name"
        );
    }

    #[test]
    fn an_answer_dated_the_clock_skew_ahead_is_taken_one_second_more_is_refused_and_not_kept() {
        // MedMij TLS-3: an answer whose thisUpdate lies up to the clock skew (300 s) ahead
        // is taken; one a second later is not yet valid, refused, and that refusal (not the
        // answer) is what the cache keeps, so it does not turn good a second later.
        let f = Fixture::new();
        let (a, b) = (f.issue(CLIENT), f.issue(CLIENT));
        let checker = OcspChecker::new().with_policy(OcspPolicy {
            clock_skew: Duration::from_secs(300),
            ..OcspPolicy::default()
        });
        let driver = OcspDriver::new(&checker);
        driver.watch_chain(&a.chain).unwrap();
        driver.watch_chain(&b.chain).unwrap();
        let (t, now) = whole(SystemTime::now());
        let jobs = jobs_for(&driver, &[&a, &b], now);
        let ahead = |s: u64| now + Duration::from_secs(s);
        let good_a = good(&f, &a, ahead(300), ahead(900));
        assert_eq!(
            driver.complete(&jobs[0], Ok(good_a), now),
            medmij_tls::CachedStatus::Good
        );
        let not_yet = medmij_tls::CachedStatus::Refused(OcspFailure::NotYetValid {
            this_update: t + 301,
            now: t,
        });
        let good_b = good(&f, &b, ahead(301), ahead(900));
        assert_eq!(driver.complete(&jobs[1], Ok(good_b), now), not_yet);
        let kb = medmij_tls::cert_key(&b.chain[0]);
        assert_eq!(checker.cache().status(&kb, t + 1), not_yet);
        assert_eq!(checker.cache().status(&kb, t + 2), not_yet);
    }

    #[test]
    fn a_certificate_met_twice_waits_once_for_its_first_answer() {
        // MedMij TLS-3: each certificate met without an answer is pending once, however
        // often it is met; another certificate is pending besides it.
        let f = Fixture::new();
        let checker = OcspChecker::new();
        let node = f.node(&f.issue(SERVER)).with_ocsp(checker.clone());
        let (a, b) = (f.issue(CLIENT), f.issue(CLIENT));
        let now = SystemTime::now();
        for (cert, pending) in [(&a, 1), (&a, 1), (&b, 2), (&a, 2), (&b, 2)] {
            let err = check_at(&node, cert, now).unwrap_err();
            assert_eq!(err.refusal, Refusal::Ocsp(OcspFailure::NotYetChecked));
            assert_eq!(checker.pending_len(), pending);
        }
        let driver = OcspDriver::new(&checker);
        assert_eq!(driver.due(now).len(), 2, "one job for each");
    }

    #[test]
    fn a_full_cache_drops_stale_answers_first_and_never_holds_more_than_its_capacity() {
        // MedMij TLS-3 with bounded memory: a cache of 2 that is full makes room for a new
        // certificate by dropping the answers no longer fresh (nextUpdate reached), keeping
        // fresh ones; updating a certificate it holds takes no other's place; when every
        // answer is fresh it starts over rather than grow.
        let f = Fixture::new();
        let cache = Arc::new(medmij_tls::OcspCache::new(2));
        let checker = OcspChecker::new().with_cache(cache.clone());
        let driver = OcspDriver::new(&checker);
        let certs: Vec<_> = (0..4).map(|_| f.issue(CLIENT)).collect();
        for c in &certs {
            driver.watch_chain(&c.chain).unwrap();
        }
        let (t, now) = whole(SystemTime::now());
        let at = |s: u64| now + Duration::from_secs(s);
        let [a, b, c, d] = [&certs[0], &certs[1], &certs[2], &certs[3]];
        let jobs = jobs_for(&driver, &[a, b, c, d], now);
        let key = |c: &IssuedCert| medmij_tls::cert_key(&c.chain[0]);
        use medmij_tls::CachedStatus::{Good, Unknown};
        assert_eq!(
            driver.complete(&jobs[0], Ok(good(&f, a, at(0), at(1000))), now),
            Good
        );
        assert_eq!(
            driver.complete(&jobs[1], Ok(good(&f, b, at(0), at(500))), now),
            Good
        );
        assert_eq!(cache.len(), 2);
        // At t + 500 b's answer is stale (its nextUpdate), a's is fresh: c takes b's place.
        assert_eq!(
            driver.complete(&jobs[2], Ok(good(&f, c, at(500), at(1500))), at(500)),
            Good
        );
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.status(&key(a), t + 500), Good, "fresh: kept");
        assert_eq!(cache.status(&key(b), t + 500), Unknown, "stale: dropped");
        assert_eq!(cache.status(&key(c), t + 500), Good);
        // A failed refresh of a (held) in the full cache: nothing else is dropped, and a's
        // fresh answer still wins over the failure.
        let again = driver.job_now(&key(a)).unwrap();
        assert_eq!(
            driver.complete(&again, Err(OcspSourceError::Timeout), at(600)),
            Good
        );
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.status(&key(c), t + 600), Good, "c keeps its place");
        // Full of fresh answers: d does not make the cache grow past 2.
        assert_eq!(
            driver.complete(&jobs[3], Ok(good(&f, d, at(600), at(1600))), at(600)),
            Good
        );
        assert!(cache.len() <= 2, "{}", cache.len());
    }

    #[test]
    fn a_failed_fetch_stays_the_reason_to_refuse_while_the_cache_has_room() {
        // MedMij TLS-3: a certificate whose fetch failed is refused for that failure until a
        // usable answer comes; another certificate's answer in a cache with room does not
        // make it forgotten (it would then be a first contact, provisionally let through
        // with `OnCacheMiss::Provisional`).
        let f = Fixture::new();
        let cache = Arc::new(medmij_tls::OcspCache::new(16));
        let checker = OcspChecker::new().with_cache(cache.clone());
        let driver = OcspDriver::new(&checker);
        let (a, b) = (f.issue(CLIENT), f.issue(CLIENT));
        driver.watch_chain(&a.chain).unwrap();
        driver.watch_chain(&b.chain).unwrap();
        let (t, now) = whole(SystemTime::now());
        let jobs = jobs_for(&driver, &[&a, &b], now);
        let timed_out = medmij_tls::CachedStatus::Refused(OcspFailure::Timeout(5000));
        assert_eq!(
            driver.complete(&jobs[0], Err(OcspSourceError::Timeout), now),
            timed_out
        );
        let good_b = good(&f, &b, now, now + Duration::from_secs(600));
        assert_eq!(
            driver.complete(&jobs[1], Ok(good_b), now),
            medmij_tls::CachedStatus::Good
        );
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.status(&medmij_tls::cert_key(&a.chain[0]), t),
            timed_out
        );
    }

    #[test]
    fn a_full_driver_drops_a_peer_even_when_an_own_certificate_is_due_first() {
        // MedMij TLS-3 with bounded memory: when the driver is full, a new peer takes the
        // place of the peer due first, never of an own certificate, even one due before
        // every peer (its staple must stay fresh).
        let f = Fixture::new();
        let checker = OcspChecker::default();
        let settings = medmij_tls::DriverSettings {
            max_watched: 3,
            ..medmij_tls::DriverSettings::default()
        };
        let driver = OcspDriver::with_settings(&checker, settings);
        let own = f.issue(SERVER);
        driver.watch_own(&own.own_certificate().unwrap()).unwrap();
        let peers: Vec<_> = (0..3).map(|_| f.issue(CLIENT)).collect();
        let key = |c: &IssuedCert| medmij_tls::cert_key(&c.chain[0]);
        let now = SystemTime::now();
        // The two peers get an answer and are next due in half an hour, later than the own
        // certificate (due now, never fetched); the later of the two is due a minute later.
        for (p, start) in peers[..2].iter().zip([0, 120]) {
            driver.watch_chain(&p.chain).unwrap();
            let job = driver.job_now(&key(p)).unwrap();
            let this_update = now + Duration::from_secs(start);
            let answer = good(&f, p, this_update, this_update + Duration::from_secs(3600));
            assert_eq!(
                driver.complete(&job, Ok(answer), now),
                medmij_tls::CachedStatus::Good
            );
        }
        assert!(driver.next_refresh_at().unwrap() <= now, "own: due now");
        driver.watch_chain(&peers[2].chain).unwrap();
        assert_eq!(driver.watched_len(), 3);
        let watched: Vec<_> = driver
            .due(now + Duration::from_secs(86_400))
            .iter()
            .map(|j| *j.cert_key())
            .collect();
        assert_eq!(watched.len(), 3);
        assert!(watched.contains(&key(&own)), "the own certificate stays");
        assert!(watched.contains(&key(&peers[2])), "the new peer is in");
        assert!(
            watched.contains(&key(&peers[1])),
            "the peer due later stays"
        );
    }
}
