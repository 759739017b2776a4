//! rustls-to-rustls handshakes over a generated PKIoverheid-shaped test PKI, one
//! test per case of issue 4, in both directions where it applies.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{CLIENT, Fixture, SERVER, alert, cert_err, dead_ocsp_url};
use medmij_tls::{
    BackChannel, CertificateProblem, OcspFailure, OwnCertificates, PeerRole, Refusal,
    WhitelistAnswer,
};
use medmij_tls::{CertOptions, OcspSigner, ResponderMode, TestPki, TestStatus};
use rustls::{AlertDescription, CertificateError};

/// [`refused_both_ways`] on a fresh fixture whose OCSP responder answers in
/// the mode `mode` gives.
fn refused_while(
    mode: impl FnOnce(&Fixture) -> ResponderMode,
    expect: impl Fn(&Refusal) -> bool,
    alert_seen: AlertDescription,
) {
    let f = Fixture::new();
    f.responder.set_mode(mode(&f));
    refused_both_ways(&f, expect, alert_seen)
}

fn refused_both_ways(f: &Fixture, expect: impl Fn(&Refusal) -> bool, alert_seen: AlertDescription) {
    refused_both_ways_with(f, &f.opts(), expect, alert_seen)
}

/// Both directions, with certificates issued with `opts` (e.g. a dead OCSP URL).
fn refused_both_ways_with(
    f: &Fixture,
    opts: &CertOptions,
    expect: impl Fn(&Refusal) -> bool,
    alert_seen: AlertDescription,
) {
    let server = f.node(&f.pki.issue(&[SERVER], opts).unwrap());
    let client = f.node(&f.pki.issue(&[CLIENT], opts).unwrap());
    let o = f.connect(&client, &server, SERVER);
    // The client checks the server first, so the client refuses.
    assert!(o.client.is_some(), "{o:?}");
    assert_eq!(alert(&o.server), Some(alert_seen), "{o:?}");
    let (role, r) = f.last_refusal();
    assert_eq!(role, PeerRole::Server);
    assert!(expect(&r), "{r:?}");

    // Server side: the server checks the client (the client's own check of the
    // server is satisfied from a stapled good answer, so only the server asks).
    let s = f.pki.issue(&[SERVER], opts).unwrap();
    let staple = f
        .pki
        .ocsp_response(
            &s.serial,
            TestStatus::Good,
            SystemTime::now(),
            Some(SystemTime::now() + Duration::from_secs(3600)),
            OcspSigner::Issuer,
        )
        .unwrap();
    let server = f
        .bare_node(s.own_certificate().unwrap().with_ocsp_staple(staple))
        .with_ocsp(f.ocsp.clone())
        .ocsp_policy(medmij_tls::OcspPolicy {
            timeout: Duration::from_secs(2),
            ..Default::default()
        })
        .refusal_log(f.log());
    let o = f.connect(&client, &server, SERVER);
    assert!(o.server.is_some(), "{o:?}");
    assert_eq!(alert(&o.client), Some(alert_seen), "{o:?}");
    let (role, r) = f.last_refusal();
    assert_eq!(role, PeerRole::Client);
    assert!(expect(&r), "{r:?}");
}

fn with_validity(f: &Fixture, nb: SystemTime, na: SystemTime) -> CertOptions {
    CertOptions {
        not_before: nb,
        not_after: na,
        ..f.opts()
    }
}

#[derive(Debug)]
struct FixedTime(SystemTime);

impl rustls::time_provider::TimeProvider for FixedTime {
    fn current_time(&self) -> Option<rustls::pki_types::UnixTime> {
        Some(rustls::pki_types::UnixTime::since_unix_epoch(
            self.0.duration_since(SystemTime::UNIX_EPOCH).ok()?,
        ))
    }
}

/// A node that presents `cert` because its own-certificate clock says `at`.
fn presenting(f: &Fixture, cert: &medmij_tls::IssuedCert, at: SystemTime) -> BackChannel {
    BackChannel::new(
        f.pki.trust_anchors().unwrap(),
        f.whitelist.clone(),
        OwnCertificates::with_time_provider(
            vec![cert.own_certificate().unwrap()],
            Arc::new(FixedTime(at)),
        )
        .unwrap(),
    )
    .with_ocsp(f.ocsp.clone())
    .refusal_log(f.log())
}

/// MedMij TLS-2: mutual TLS, own certificates, rollover, key age.
mod tls_2 {
    use super::*;

    /// A client certificate resolver that has none to give and keeps the certificate
    /// authorities the server named in its CertificateRequest.
    #[derive(Debug, Default)]
    struct NoCertificate(std::sync::Mutex<Vec<Vec<u8>>>);
    impl rustls::client::ResolvesClientCert for NoCertificate {
        fn resolve(
            &self,
            root_hint_subjects: &[&[u8]],
            _schemes: &[rustls::SignatureScheme],
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            *self.0.lock().unwrap() = root_hint_subjects.iter().map(|s| s.to_vec()).collect();
            None
        }
        fn has_certs(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_client_without_a_certificate_is_refused() {
        // MedMij TLS-2: mutual TLS is mandatory; the server's CertificateRequest names the
        // trust anchors (PKIoverheid) so that a client with several certificates picks one.
        let f = Fixture::new();
        let (client, server) = f.nodes(CLIENT, SERVER);
        let mut cc = client.client_config().unwrap();
        let asked = Arc::new(NoCertificate::default());
        cc.client_auth_cert_resolver = asked.clone();
        let o = f.handshake(&cc, &server.server_config().unwrap(), SERVER);
        assert!(!o.ok(), "{o:?}");
        assert!(o.server.is_some(), "the server refuses: {o:?}");
        let hints = asked.0.lock().unwrap().clone();
        assert_eq!(hints.len(), 1, "the one test root");
        // The hint is the root's subject Name (DER), which its certificate carries.
        let root: &[u8] = f.pki.root_der().as_ref();
        assert!(hints[0].len() > 8);
        assert!(
            root.windows(hints[0].len())
                .any(|w| w == hints[0].as_slice()),
            "the hint is the root's subject"
        );
    }

    #[test]
    fn good_and_whitelisted_connects() {
        // MedMij TLS-2, TLS-3, TLS-4: mutual TLS, valid chain, listed, OCSP good.
        let f = Fixture::new();
        let (client, server) = f.nodes(CLIENT, SERVER);
        assert_eq!((f.ocsp.cache().len(), f.ocsp.cache().is_empty()), (0, true));
        let o = f.connect(&client, &server, SERVER);
        assert!(o.ok(), "{o:?}");
        assert!(f.refusals().is_empty());
        // One OCSP request per direction, each answer kept in the shared cache.
        assert_eq!(f.responder.requests(), 2);
        assert_eq!(
            (f.ocsp.cache().len(), f.ocsp.cache().is_empty()),
            (2, false)
        );
    }

    #[test]
    fn a_tls12_client_authenticates_with_its_own_certificates() {
        // MedMij TLS-1, TLS-2: TLS 1.2 is allowed on the back channel, and there too the
        // client authenticates with the certificate its own-certificate resolver gives
        // (rustls keeps the TLS 1.2 transcript for the client's signature only when the
        // resolver says it has certificates).
        let f = Fixture::new();
        let (client, server) = f.nodes(CLIENT, SERVER);
        let tls12 = |own: Arc<dyn rustls::client::ResolvesClientCert>| {
            rustls::ClientConfig::builder_with_provider(Arc::new(medmij_tls::crypto_provider(
                medmij_tls::Channel::Back,
            )))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(medmij_tls::MedmijServerVerifier::new(
                client.checks().clone(),
            )))
            .with_client_cert_resolver(own)
        };
        let own: Arc<dyn rustls::client::ResolvesClientCert> =
            Arc::new(client.own_certificates().clone());
        let sc = server.server_config().unwrap();
        let o = f.handshake(&tls12(own), &sc, SERVER);
        assert!(o.ok(), "{o:?}");
        assert!(f.refusals().is_empty());
        // The same client without a certificate is refused: the server asked for one.
        let o = f.handshake(&tls12(Arc::new(NoCertificate::default())), &sc, SERVER);
        assert!(o.server.is_some(), "{o:?}");
    }
}

/// MedMij TLS-3: chain, validity, key usage and OCSP (hard fail).
mod tls_3 {
    use super::*;

    #[test]
    fn ocsp_answers_are_cached_until_next_update() {
        // MedMij TLS-3: the verifier reads the cache only; the host's driver fills
        // it; the cache honours thisUpdate/nextUpdate.
        let f = Fixture::new();
        let (client, server) = f.nodes(CLIENT, SERVER);
        let (cc, sc) = f.configs(&client, &server);
        assert!(f.handshake(&cc, &sc, SERVER).ok());
        assert!(f.handshake(&cc, &sc, SERVER).ok());
        assert_eq!(
            f.responder.requests(),
            2,
            "second handshake served from cache"
        );

        let c = f.issue("other.gateway.example.nl");
        f.whitelist
            .replace([SERVER, CLIENT, "other.gateway.example.nl"]);
        let checks = server.checks();
        let now = rustls::pki_types::UnixTime::now();
        let before = f.responder.requests();
        let check = |at: rustls::pki_types::UnixTime| {
            checks.check(PeerRole::Client, &c.chain[0], &c.chain[1..], None, &[], at)
        };
        // First contact: refused (no answer yet), never fetched by the verifier.
        let err = check(now).unwrap_err();
        assert_eq!(err.refusal, Refusal::Ocsp(OcspFailure::NotYetChecked));
        assert_eq!(f.responder.requests(), before);
        // The host's driver fetches it; now it passes, also 600 s later.
        assert_eq!(f.refresh(), 1);
        check(now).unwrap();
        let later =
            rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs() + 600));
        check(later).unwrap();
        assert_eq!(
            f.responder.requests(),
            before + 1,
            "cached within nextUpdate"
        );
        // Past nextUpdate the cached answer is stale: refused, no fetch.
        let past_next = rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(
            now.as_secs() + 2 * 3600,
        ));
        let err = check(past_next).unwrap_err();
        assert_eq!(f.responder.requests(), before + 1);
        assert!(
            matches!(err.refusal, Refusal::Ocsp(OcspFailure::Stale { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn revoked_server_is_refused() {
        // MedMij TLS-3: OCSP "revoked" refuses with certificate_revoked.
        let f = Fixture::new();
        let s = f.issue(SERVER);
        f.responder.revoke(&s.serial);
        let o = f.connect(&f.node(&f.issue(CLIENT)), &f.node(&s), SERVER);
        assert_eq!(cert_err(&o.client), Some(CertificateError::Revoked));
        assert_eq!(alert(&o.server), Some(AlertDescription::CertificateRevoked));
        assert!(matches!(
            f.last_refusal(),
            (PeerRole::Server, Refusal::Ocsp(OcspFailure::Revoked { .. }))
        ));
    }

    #[test]
    fn revoked_client_is_refused() {
        let f = Fixture::new();
        let c = f.issue(CLIENT);
        f.responder.revoke(&c.serial);
        let o = f.connect(&f.node(&c), &f.node(&f.issue(SERVER)), SERVER);
        assert_eq!(cert_err(&o.server), Some(CertificateError::Revoked));
        assert_eq!(alert(&o.client), Some(AlertDescription::CertificateRevoked));
    }

    #[test]
    fn responder_down_is_refused() {
        // MedMij TLS-3: no validation result means refusal (hard fail), both ways.
        let f = Fixture::new();
        let url = dead_ocsp_url();
        refused_both_ways_with(
            &f,
            &CertOptions::with_ocsp(&url),
            |r| matches!(r, Refusal::Ocsp(OcspFailure::Unavailable(_))),
            AlertDescription::UnknownCA,
        );
    }

    #[test]
    fn responder_slow_is_refused() {
        // MedMij TLS-3: timeout refuses.
        refused_while(
            |_| ResponderMode::Silent,
            |r| matches!(r, Refusal::Ocsp(OcspFailure::Timeout(_))),
            AlertDescription::UnknownCA,
        );
    }

    #[test]
    fn stale_answer_is_refused() {
        // MedMij TLS-3: an answer past its nextUpdate refuses.
        refused_while(
            |_| ResponderMode::Stale,
            |r| matches!(r, Refusal::Ocsp(OcspFailure::Stale { .. })),
            AlertDescription::BadCertificateStatusResponse,
        );
    }

    #[test]
    fn answer_signed_by_wrong_key_is_refused() {
        // MedMij TLS-3, RFC 6960 3.2: signature must verify with the issuer's key.
        refused_while(
            |_| ResponderMode::WrongKey,
            |r| matches!(r, Refusal::Ocsp(OcspFailure::BadSignature)),
            AlertDescription::BadCertificateStatusResponse,
        );
    }

    #[test]
    fn delegated_responder_with_ocsp_signing_is_accepted() {
        // RFC 6960 4.2.2.2: a responder issued by the issuer with id-kp-OCSPSigning.
        let f = Fixture::new();
        let r = f.pki.issue_ocsp_responder(true).unwrap();
        f.responder.set_mode(ResponderMode::Delegated(r));
        let o = f.connect(&f.node(&f.issue(CLIENT)), &f.node(&f.issue(SERVER)), SERVER);
        assert!(o.ok(), "{o:?}");
    }

    #[test]
    fn delegated_responder_without_ocsp_signing_is_refused() {
        refused_while(
            |f| ResponderMode::Delegated(f.pki.issue_ocsp_responder(false).unwrap()),
            |r| matches!(r, Refusal::Ocsp(OcspFailure::UnauthorisedSigner(_))),
            AlertDescription::BadCertificateStatusResponse,
        );
    }

    #[test]
    fn delegated_responder_from_other_ca_is_refused() {
        refused_while(
            |_| {
                let other = TestPki::new("other").unwrap();
                ResponderMode::Delegated(other.issue_ocsp_responder(true).unwrap())
            },
            |r| matches!(r, Refusal::Ocsp(OcspFailure::UnauthorisedSigner(_))),
            AlertDescription::BadCertificateStatusResponse,
        );
    }

    #[test]
    fn expired_or_not_yet_valid_certificates_are_refused() {
        // MedMij TLS-3: validity period, both directions.
        let f = Fixture::new();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let cases = [
            (
                with_validity(&f, now - 10 * day, now - day),
                CertificateError::Expired,
                CertificateProblem::Expired,
            ),
            (
                with_validity(&f, now + day, now + 10 * day),
                CertificateError::NotValidYet,
                CertificateProblem::NotYetValid,
            ),
        ];
        for (opts, err, problem) in cases {
            // The bad side presents its certificate anyway: its own clock says the
            // certificate is valid.
            let mid = opts.not_before + Duration::from_secs(86_400);
            let bad_server = presenting(&f, &f.pki.issue(&[SERVER], &opts).unwrap(), mid);
            let o = f.connect(&f.node(&f.issue(CLIENT)), &bad_server, SERVER);
            assert_eq!(cert_err(&o.client), Some(err.clone()), "{o:?}");
            assert_eq!(alert(&o.server), Some(AlertDescription::CertificateExpired));
            assert!(
                matches!(f.last_refusal().1, Refusal::Certificate { problem: p, .. } if p == problem)
            );

            let bad_client = presenting(&f, &f.pki.issue(&[CLIENT], &opts).unwrap(), mid);
            let o = f.connect(&bad_client, &f.node(&f.issue(SERVER)), SERVER);
            assert_eq!(cert_err(&o.server), Some(err), "{o:?}");
            assert_eq!(alert(&o.client), Some(AlertDescription::CertificateExpired));
        }
    }

    #[test]
    fn unknown_ca_is_refused() {
        // MedMij TLS-3: chain must lead to the configured anchors, both directions.
        let f = Fixture::new();
        let other = TestPki::new("unknown").unwrap();
        let foreign_server = other.issue(&[SERVER], &f.opts()).unwrap();
        let o = f.connect(
            &f.node(&f.issue(CLIENT)),
            &BackChannel::new(
                other.trust_anchors().unwrap(),
                f.whitelist.clone(),
                OwnCertificates::new(vec![foreign_server.own_certificate().unwrap()]).unwrap(),
            ),
            SERVER,
        );
        assert_eq!(cert_err(&o.client), Some(CertificateError::UnknownIssuer));
        assert_eq!(alert(&o.server), Some(AlertDescription::UnknownCA));

        let foreign_client = other.issue(&[CLIENT], &f.opts()).unwrap();
        let o = f.connect(
            &f.bare_node(foreign_client.own_certificate().unwrap())
                .with_ocsp(f.ocsp.clone()),
            &f.node(&f.issue(SERVER)),
            SERVER,
        );
        assert_eq!(cert_err(&o.server), Some(CertificateError::UnknownIssuer));
        assert_eq!(alert(&o.client), Some(AlertDescription::UnknownCA));
    }

    #[test]
    fn wrong_extended_key_usage_is_refused() {
        // MedMij TLS-3: a client certificate without clientAuth is refused (and vice versa).
        let f = Fixture::new();
        let opts = CertOptions {
            client_auth: false,
            ..f.opts()
        };
        let c = f.pki.issue(&[CLIENT], &opts).unwrap();
        let o = f.connect(&f.node(&c), &f.node(&f.issue(SERVER)), SERVER);
        assert!(matches!(
            cert_err(&o.server),
            Some(CertificateError::InvalidPurpose)
        ));
        // And a server certificate without serverAuth is refused by the client.
        let opts = CertOptions {
            server_auth: false,
            ..f.opts()
        };
        let o = f.connect(
            &f.node(&f.issue(CLIENT)),
            &f.node(&f.pki.issue(&[SERVER], &opts).unwrap()),
            SERVER,
        );
        assert_eq!(cert_err(&o.client), Some(CertificateError::InvalidPurpose));
    }

    #[test]
    fn key_usage_without_digital_signature_is_refused() {
        // MedMij TLS-3: key usage, both directions.
        let f = Fixture::new();
        let opts = CertOptions {
            digital_signature: false,
            ..f.opts()
        };
        let o = f.connect(
            &f.node(&f.issue(CLIENT)),
            &f.node(&f.pki.issue(&[SERVER], &opts).unwrap()),
            SERVER,
        );
        assert_eq!(cert_err(&o.client), Some(CertificateError::InvalidPurpose));
        assert!(matches!(
            f.last_refusal().1,
            Refusal::Certificate {
                problem: CertificateProblem::InvalidPurpose,
                ..
            }
        ));
        let o = f.connect(
            &f.node(&f.pki.issue(&[CLIENT], &opts).unwrap()),
            &f.node(&f.issue(SERVER)),
            SERVER,
        );
        assert_eq!(cert_err(&o.server), Some(CertificateError::InvalidPurpose));
    }

    #[test]
    fn stapled_answers_are_used_and_checked() {
        // MedMij TLS-3: a stapled answer is used when present (no fetch); a stapled
        // revoked, stale or badly signed answer refuses.
        let f = Fixture::new();
        let s = f.issue(SERVER);
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let cases: [(
            TestStatus,
            SystemTime,
            SystemTime,
            OcspSigner<'_>,
            Option<CertificateError>,
        ); 4] = [
            (TestStatus::Good, now, now + hour, OcspSigner::Issuer, None),
            (
                TestStatus::Revoked(now - hour),
                now,
                now + hour,
                OcspSigner::Issuer,
                Some(CertificateError::Revoked),
            ),
            (
                TestStatus::Good,
                now - 2 * hour,
                now - hour,
                OcspSigner::Issuer,
                Some(CertificateError::InvalidOcspResponse),
            ),
            (
                TestStatus::Good,
                now,
                now + hour,
                OcspSigner::WrongKey,
                Some(CertificateError::InvalidOcspResponse),
            ),
        ];
        // The client has no OCSP source: only the staple can satisfy it.
        let client = f.bare_node(f.issue(CLIENT).own_certificate().unwrap());
        let cc = client.client_config().unwrap();
        for (status, tu, nu, signer, expect) in cases {
            let staple = f
                .pki
                .ocsp_response(&s.serial, status, tu, Some(nu), signer)
                .unwrap();
            let server = f
                .bare_node(s.own_certificate().unwrap().with_ocsp_staple(staple))
                .with_ocsp(f.ocsp.clone());
            let before = f.responder.requests();
            let o = f.handshake(&cc, &server.server_config().unwrap(), SERVER);
            assert_eq!(cert_err(&o.client), expect, "{o:?}");
            if expect.is_none() {
                assert!(o.ok(), "{o:?}");
                // Only the server fetched (for the client's certificate).
                assert_eq!(f.responder.requests(), before + 1);
            }
        }
    }

    #[test]
    fn without_staple_or_cached_answer_the_check_fails() {
        // MedMij TLS-3: no answer is no validation result: refuse (this client's
        // checker has no driver filling its cache).
        let f = Fixture::new();
        let client = f
            .bare_node(f.issue(CLIENT).own_certificate().unwrap())
            .refusal_log(f.log());
        let o = f.connect(&client, &f.node(&f.issue(SERVER)), SERVER);
        assert_eq!(
            cert_err(&o.client),
            Some(CertificateError::UnknownRevocationStatus)
        );
        assert_eq!(
            f.last_refusal().1,
            Refusal::Ocsp(OcspFailure::NotYetChecked)
        );
    }
}

/// MedMij TLS-4: the Whitelist and the peer's DNS name.
mod tls_4 {
    use super::*;

    #[test]
    fn the_whitelist_is_asked_at_the_time_of_the_handshake() {
        // MedMij TLS-4: the Whitelist in force at the handshake, not at some other time.
        let f = Fixture::new();
        let asked: Arc<std::sync::Mutex<Vec<(String, SystemTime)>>> = Arc::default();
        let a = asked.clone();
        let whitelist = Arc::new(move |host: &str, now: SystemTime| {
            a.lock().unwrap().push((host.to_owned(), now));
            WhitelistAnswer::Listed
        });
        let client = f.node_with(&f.issue(CLIENT), whitelist.clone());
        let server = f.node_with(&f.issue(SERVER), whitelist);
        let before = SystemTime::now() - Duration::from_secs(1);
        let o = f.connect(&client, &server, SERVER);
        let after = SystemTime::now() + Duration::from_secs(1);
        assert!(o.ok(), "{o:?}");
        let asked = asked.lock().unwrap().clone();
        let hosts: Vec<&str> = asked.iter().map(|(h, _)| h.as_str()).collect();
        assert!(
            hosts.contains(&SERVER) && hosts.contains(&CLIENT),
            "{hosts:?}"
        );
        for (host, at) in &asked {
            assert!(*at >= before && *at <= after, "{host} asked at {at:?}");
        }
    }

    #[test]
    fn the_names_asked_are_the_ones_connected_to_or_the_clients_own() {
        // MedMij TLS-4: a server is asked about by the name we connected to (lowercase); a
        // client by its certificate's dNSNames, wildcards left out.
        let f = Fixture::new();
        let server = f.issue("gw.example.nl");
        let id = medmij_tls::PeerIdentity::from_peer_certificates(
            PeerRole::Server,
            &server.chain,
            Some("GW.Example.NL"),
        )
        .unwrap();
        assert_eq!(id.whitelist_names(), ["gw.example.nl".to_string()]);
        let client = f
            .pki
            .issue(
                &["pgo.example.nl", "*.example.nl", "other.example.nl"],
                &f.opts(),
            )
            .unwrap();
        let id =
            medmij_tls::PeerIdentity::from_peer_certificates(PeerRole::Client, &client.chain, None)
                .unwrap();
        assert_eq!(
            id.whitelist_names(),
            ["pgo.example.nl".to_string(), "other.example.nl".to_string()]
        );
    }

    #[test]
    fn server_not_on_whitelist_is_refused_by_client() {
        // MedMij TLS-4, client side.
        let f = Fixture::new();
        let (client, server) = f.nodes(CLIENT, "rogue.gateway.example.nl");
        let o = f.connect(&client, &server, "rogue.gateway.example.nl");
        assert_eq!(
            cert_err(&o.client),
            Some(CertificateError::ApplicationVerificationFailure)
        );
        assert_eq!(alert(&o.server), Some(AlertDescription::AccessDenied));
        assert_eq!(
            f.last_refusal(),
            (
                PeerRole::Server,
                Refusal::NotOnWhitelist {
                    hostname: "rogue.gateway.example.nl".into()
                }
            )
        );
    }

    #[test]
    fn client_not_on_whitelist_is_refused_by_server() {
        // MedMij TLS-4, server side.
        let f = Fixture::new();
        let (client, server) = f.nodes("rogue.gateway.example.nl", SERVER);
        let o = f.connect(&client, &server, SERVER);
        assert_eq!(
            cert_err(&o.server),
            Some(CertificateError::ApplicationVerificationFailure)
        );
        assert_eq!(alert(&o.client), Some(AlertDescription::AccessDenied));
        assert_eq!(
            f.last_refusal(),
            (
                PeerRole::Client,
                Refusal::NotOnWhitelist {
                    hostname: "rogue.gateway.example.nl".into()
                }
            )
        );
    }

    #[test]
    fn whitelist_update_takes_effect_on_next_handshake() {
        // MedMij TLS-4, LISTS-8: same configs, new list version, next handshake.
        let f = Fixture::new();
        let (client, server) = f.nodes(CLIENT, SERVER);
        let (cc, sc) = f.configs(&client, &server);
        assert!(f.handshake(&cc, &sc, SERVER).ok());
        f.whitelist.replace([SERVER]); // client removed
        let o = f.handshake(&cc, &sc, SERVER);
        assert_eq!(alert(&o.client), Some(AlertDescription::AccessDenied));
        f.whitelist.replace([CLIENT]); // server removed, client back
        let o = f.handshake(&cc, &sc, SERVER);
        assert_eq!(
            cert_err(&o.client),
            Some(CertificateError::ApplicationVerificationFailure)
        );
        f.whitelist.replace([SERVER, CLIENT]);
        assert!(f.handshake(&cc, &sc, SERVER).ok());
    }

    #[test]
    fn undetermined_whitelist_refuses() {
        // MedMij TLS-4: "cannot be determined" refuses, in both directions.
        let f = Fixture::new();
        let undetermined = Arc::new(|_: &str, _: SystemTime| WhitelistAnswer::Undetermined);
        let server = f.node(&f.issue(SERVER));
        let client = f.node_with(&f.issue(CLIENT), undetermined.clone());
        let o = f.connect(&client, &server, SERVER);
        assert_eq!(alert(&o.server), Some(AlertDescription::AccessDenied));
        assert!(matches!(
            f.last_refusal().1,
            Refusal::WhitelistUndetermined { .. }
        ));
        let server = f.node_with(&f.issue(SERVER), undetermined);
        let client = f.node(&f.issue(CLIENT));
        let o = f.connect(&client, &server, SERVER);
        assert_eq!(alert(&o.client), Some(AlertDescription::AccessDenied));
    }

    #[test]
    fn server_name_mismatch_is_refused() {
        let f = Fixture::new();
        let o = f.connect(&f.node(&f.issue(CLIENT)), &f.node(&f.issue(SERVER)), CLIENT);
        assert_eq!(cert_err(&o.client), Some(CertificateError::NotValidForName));
        assert!(matches!(f.last_refusal().1, Refusal::NameMismatch { .. }));
    }

    #[test]
    fn connecting_by_ip_address_is_refused() {
        // MedMij TLS-4: without a DNS name there is nothing to look up on the Whitelist.
        let f = Fixture::new();
        let (client, server) = f.nodes(CLIENT, SERVER);
        let o = f.connect(&client, &server, "127.0.0.1");
        assert_eq!(cert_err(&o.client), Some(CertificateError::NotValidForName));
        assert_eq!(f.last_refusal(), (PeerRole::Server, Refusal::NoDnsName));
    }
}
