//! The 2.x TLS profile (MedMij TLS-6) chosen per gateway: PKIoverheid Private
//! Services (G1-shaped test PKI) on the back channel, never a wildcard
//! certificate (peer certificates refused at the handshake in both
//! directions, own certificates refused when the config is built), and the
//! 1.x profile unchanged next to it in the same process.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{CLIENT, Fixture, SERVER, alert, cert_err};
use der::Decode;
use medmij_tls::{
    BackChannel, CertificateProblem, ConfigError, OwnCertificate, OwnCertificates, PeerRole,
    Refusal, TlsProfile, front_channel_server_config, front_channel_server_config_for,
    front_channel_server_configs_for,
};
use medmij_tls::{CertOptions, IssuedCert, TEST_OIN, TestPki};
use medmij_types::{ReleaseLine, RuleId};
use rustls::{AlertDescription, CertificateError};

/// A wildcard name covering [`SERVER`].
const WILD_SERVER: &str = "*.gateway.example.nl";

fn issue(f: &Fixture, names: &[&str]) -> IssuedCert {
    f.pki.issue(names, &f.opts()).unwrap()
}

fn own(certs: &[&IssuedCert]) -> OwnCertificates {
    OwnCertificates::new(certs.iter().map(|c| c.own_certificate().unwrap()).collect()).unwrap()
}

fn subject(der: &[u8]) -> String {
    x509_cert::Certificate::from_der(der)
        .unwrap()
        .tbs_certificate
        .subject
        .to_string()
}

fn issuer(der: &[u8]) -> String {
    x509_cert::Certificate::from_der(der)
        .unwrap()
        .tbs_certificate
        .issuer
        .to_string()
}

mod tls_6 {
    use super::*;

    #[test]
    fn g1_test_pki_has_the_private_services_shape() {
        // MedMij TLS-6: back-channel certificates are PKIoverheid Private
        // Services certificates under "Staat der Nederlanden Private Root CA – G1".
        let f = Fixture::g1();
        assert!(f.pki.is_g1());
        let leaf = issue(&f, &[SERVER]);
        assert_eq!(leaf.chain.len(), 3, "leaf, issuing CA, domain CA");
        let root = subject(f.pki.root_der());
        assert!(
            root.contains("CN=TEST Staat der Nederlanden Private Root CA - G1"),
            "{root}"
        );
        let domain = &leaf.chain[2];
        assert!(
            subject(domain).contains("CN=TEST Domein Private Services CA - G1"),
            "{}",
            subject(domain)
        );
        assert_eq!(issuer(domain), root);
        let issuing = &leaf.chain[1];
        assert!(
            subject(issuing).contains("CN=TEST fixture PKIoverheid Private Services CA - G1"),
            "{}",
            subject(issuing)
        );
        assert_eq!(issuer(issuing), subject(domain));
        assert_eq!(issuer(&leaf.chain[0]), subject(issuing));

        // The leaf: C, O (TEST), the OIN-shaped serialNumber, CN; EKU both
        // ways; keyUsage digitalSignature.
        let c = x509_cert::Certificate::from_der(&leaf.chain[0]).unwrap();
        let s = c.tbs_certificate.subject.to_string();
        for part in [
            "C=NL",
            "O=TEST Zorg B.V.",
            &format!("CN={SERVER}"),
            TEST_OIN,
        ] {
            assert!(s.contains(part), "{part} not in {s}");
        }
        let (_, eku) = c
            .tbs_certificate
            .get::<x509_cert::ext::pkix::ExtendedKeyUsage>()
            .unwrap()
            .unwrap();
        let oid = der::asn1::ObjectIdentifier::new_unwrap;
        assert!(eku.0.contains(&oid("1.3.6.1.5.5.7.3.1")), "serverAuth");
        assert!(eku.0.contains(&oid("1.3.6.1.5.5.7.3.2")), "clientAuth");
        let (_, ku) = c
            .tbs_certificate
            .get::<x509_cert::ext::pkix::KeyUsage>()
            .unwrap()
            .unwrap();
        assert!(ku.digital_signature());

        // Another organisation, OIN of its own.
        let other = f
            .pki
            .issue_for_organization(
                &[CLIENT],
                "TEST PGO B.V.",
                "00000099000000000042",
                &f.opts(),
            )
            .unwrap();
        let s = subject(&other.chain[0]);
        assert!(
            s.contains("O=TEST PGO B.V.") && s.contains("00000099000000000042"),
            "{s}"
        );
    }

    #[test]
    fn openssl_verifies_g1_leaves_for_server_and_client_use() {
        // MedMij TLS-6: the G1-shaped chain is a valid PKIX chain for both
        // directions of the back channel, as OpenSSL sees it too.
        let f = Fixture::g1();
        let leaf = issue(&f, &[SERVER]);
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, data: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, data).unwrap();
            p
        };
        let root = write("root.pem", f.pki.root_pem());
        let untrusted = write("untrusted.pem", &leaf.chain_pem[leaf.cert_pem.len()..]);
        let cert = write("leaf.pem", &leaf.cert_pem);
        for purpose in ["sslserver", "sslclient"] {
            let out = Command::new("openssl")
                .arg("verify")
                .arg("-purpose")
                .arg(purpose)
                .arg("-CAfile")
                .arg(&root)
                .arg("-untrusted")
                .arg(&untrusted)
                .arg(&cert)
                .output()
                .expect("openssl is installed");
            assert!(
                out.status.success(),
                "{purpose}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn back_channel_handshake_with_g1_certificates_succeeds_under_2x() {
        // MedMij TLS-6, TLS-2, TLS-3, TLS-4: a 2.x pair on G1 certificates.
        let f = Fixture::g1();
        let server = f.node(&issue(&f, &[SERVER])).with_profile(ReleaseLine::V2);
        let client = f.node(&issue(&f, &[CLIENT])).with_profile(TlsProfile::V2);
        assert_eq!(server.profile(), TlsProfile::V2);
        let o = f.handshake(
            &client.client_config().unwrap(),
            &server.server_config().unwrap(),
            SERVER,
        );
        assert!(o.ok(), "{o:?}");
        assert!(f.refusals().is_empty(), "{:?}", f.refusals());
        // Through the per-group server configs as well.
        let cfgs = server.server_configs().unwrap();
        let o = f.handshake(&client.client_config().unwrap(), &cfgs.all_groups(), SERVER);
        assert!(o.ok(), "{o:?}");
    }

    #[test]
    fn wildcard_server_certificate_is_refused_by_a_2x_client() {
        // MedMij TLS-6: the client refuses a server certificate naming a
        // wildcard, even one valid for the name connected to.
        let f = Fixture::g1();
        for names in [&[WILD_SERVER][..], &[SERVER, WILD_SERVER][..]] {
            // The server is a 1.x node (a 2.x one would not build, below).
            let server = f.node(&issue(&f, names));
            let client = f.node(&issue(&f, &[CLIENT])).with_profile(ReleaseLine::V2);
            let before = f.refusals().len();
            let o = f.handshake(
                &client.client_config().unwrap(),
                &server.server_config().unwrap(),
                SERVER,
            );
            assert_eq!(
                cert_err(&o.client),
                Some(CertificateError::ApplicationVerificationFailure),
                "{o:?}"
            );
            assert_eq!(alert(&o.server), Some(AlertDescription::AccessDenied));
            assert_eq!(f.refusals().len(), before + 1);
            let (role, r) = f.last_refusal();
            assert_eq!(role, PeerRole::Server);
            assert_eq!(
                r,
                Refusal::Wildcard {
                    name: WILD_SERVER.into()
                }
            );
            assert_eq!(r.rule(), RuleId::Tls6);
            assert_eq!(r.alert(), AlertDescription::AccessDenied);

            // A 1.x client accepts the same server (MedMij TLS-1 profile unchanged).
            let client = f.node(&issue(&f, &[CLIENT]));
            let o = f.handshake(
                &client.client_config().unwrap(),
                &server.server_config().unwrap(),
                SERVER,
            );
            assert!(o.ok(), "{names:?}: {o:?}");
        }
    }

    #[test]
    fn wildcard_client_certificate_is_refused_by_a_2x_server() {
        // MedMij TLS-6: the server refuses a client certificate naming a
        // wildcard next to its listed name.
        let f = Fixture::g1();
        let wild = issue(&f, &[CLIENT, "*.pgo.example.nl"]);
        let client = f.node(&wild); // 1.x: builds with a wildcard certificate
        let server = f.node(&issue(&f, &[SERVER])).with_profile(ReleaseLine::V2);
        let o = f.handshake(
            &client.client_config().unwrap(),
            &server.server_config().unwrap(),
            SERVER,
        );
        assert_eq!(
            cert_err(&o.server),
            Some(CertificateError::ApplicationVerificationFailure),
            "{o:?}"
        );
        assert_eq!(alert(&o.client), Some(AlertDescription::AccessDenied));
        let (role, r) = f.last_refusal();
        assert_eq!(role, PeerRole::Client);
        assert_eq!(
            r,
            Refusal::Wildcard {
                name: "*.pgo.example.nl".into()
            }
        );
        assert_eq!(r.rule(), RuleId::Tls6);

        // A 1.x server accepts it (its listed name is on the Whitelist).
        let server = f.node(&issue(&f, &[SERVER]));
        let o = f.handshake(
            &client.client_config().unwrap(),
            &server.server_config().unwrap(),
            SERVER,
        );
        assert!(o.ok(), "{o:?}");
    }

    #[test]
    fn wildcard_own_front_channel_certificate_is_refused_at_config_build() {
        // MedMij TLS-6: front-channel certificates are never wildcard
        // certificates; a 2.x gateway refuses to build with one.
        let f = Fixture::g1();
        let wild = issue(&f, &[WILD_SERVER]);
        let good = issue(&f, &[SERVER]);
        let is_tls6 = |e: &ConfigError| {
            matches!(e, ConfigError::WildcardCertificate { name } if name == WILD_SERVER)
                && e.rule() == Some(RuleId::Tls6)
                && e.to_string().contains("TLS-6")
        };
        for profile in [TlsProfile::V2, TlsProfile::from(ReleaseLine::V2)] {
            let e = front_channel_server_config_for(profile, own(&[&wild])).unwrap_err();
            assert!(is_tls6(&e), "{e:?}");
            let e = front_channel_server_configs_for(profile, own(&[&wild])).unwrap_err();
            assert!(is_tls6(&e), "{e:?}");
            // Every own certificate is checked, not only the first.
            let e = front_channel_server_configs_for(profile, own(&[&good, &wild])).unwrap_err();
            assert!(is_tls6(&e), "{e:?}");
        }
        // 1.x builds as before.
        front_channel_server_config(own(&[&wild])).unwrap();
        front_channel_server_config_for(ReleaseLine::V1, own(&[&wild])).unwrap();
        front_channel_server_configs_for(TlsProfile::V1, own(&[&wild])).unwrap();

        // Under 2.x, an own back-channel certificate is checked the same way.
        let back = f.node(&wild).with_profile(ReleaseLine::V2);
        assert!(is_tls6(&back.server_config().unwrap_err()));
        assert!(is_tls6(&back.server_configs().unwrap_err()));
        assert!(is_tls6(&back.client_config().unwrap_err()));
    }

    #[test]
    fn domain_validated_own_front_channel_certificate_is_refused_under_2x() {
        // MedMij TLS-6: front-channel certificates are Organization Validated. A
        // certificate whose subject names no organisation (as a DV certificate)
        // is refused when a 2.x front-channel config is built; 1.x builds.
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec![SERVER.to_owned()]).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(rcgen::DnType::CommonName, SERVER);
        let cert = p.self_signed(&key).unwrap();
        let dv = || {
            OwnCertificates::new(vec![
                OwnCertificate::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
                    .unwrap(),
            ])
            .unwrap()
        };
        for e in [
            front_channel_server_config_for(TlsProfile::V2, dv()).unwrap_err(),
            front_channel_server_configs_for(ReleaseLine::V2, dv()).unwrap_err(),
        ] {
            assert!(
                matches!(&e, ConfigError::NotOrganizationValidated { subject } if subject.contains(SERVER)),
                "{e:?}"
            );
            assert_eq!(e.rule(), Some(RuleId::Tls6));
        }
        front_channel_server_config_for(TlsProfile::V1, dv()).unwrap();
        // The G1-shaped leaves name their organisation: accepted.
        let f = Fixture::g1();
        front_channel_server_config_for(TlsProfile::V2, own(&[&issue(&f, &[SERVER])])).unwrap();
    }

    #[test]
    fn front_channel_2x_config_without_wildcard_serves_a_browser_like_client() {
        // MedMij TLS-6: the 2.x front channel with a non-wildcard certificate
        // completes a handshake with a plain webpki-verifying client.
        let f = Fixture::g1();
        let cfg = front_channel_server_config_for(ReleaseLine::V2, own(&[&issue(&f, &[SERVER])]))
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(f.pki.root_der().clone()).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let o = common::handshake(&client, &cfg, SERVER);
        assert!(o.ok(), "{o:?}");
    }

    #[test]
    fn profile_1x_is_unchanged() {
        // MedMij TLS-1: a gateway without a profile is 1.x and accepts what it
        // accepted before, on the pre-2.x test PKI.
        let f = Fixture::new();
        assert!(!f.pki.is_g1());
        let default = f.node(&issue(&f, &[SERVER]));
        assert_eq!(default.profile(), TlsProfile::V1);
        let explicit = f.node(&issue(&f, &[SERVER])).with_profile(ReleaseLine::V1);
        let client = f.node(&issue(&f, &[CLIENT]));
        for server in [&default, &explicit] {
            let o = f.handshake(
                &client.client_config().unwrap(),
                &server.server_config().unwrap(),
                SERVER,
            );
            assert!(o.ok(), "{o:?}");
        }
        // Wildcard certificates, own and peer, as before.
        let wild_server = f.node(&issue(&f, &[WILD_SERVER]));
        let wild_client = f.node(&issue(&f, &[CLIENT, "*.pgo.example.nl"]));
        let o = f.handshake(
            &wild_client.client_config().unwrap(),
            &wild_server.server_config().unwrap(),
            SERVER,
        );
        assert!(o.ok(), "{o:?}");
        assert!(f.refusals().is_empty(), "{:?}", f.refusals());
    }

    #[test]
    fn a_1x_and_a_2x_gateway_in_one_process() {
        // MedMij TLS-1, TLS-6: the profile is per gateway, not global.
        let f1 = Fixture::new();
        let f2 = Fixture::g1();
        let gw1 = f1.node(&issue(&f1, &[SERVER]));
        let gw2 = f2
            .node(&issue(&f2, &[SERVER]))
            .with_profile(ReleaseLine::V2);
        assert_eq!(
            (gw1.profile(), gw2.profile()),
            (TlsProfile::V1, TlsProfile::V2)
        );
        let (gw1_server, gw2_server) = (gw1.server_config().unwrap(), gw2.server_config().unwrap());

        // Each with a peer of its own line.
        let p1 = f1.node(&issue(&f1, &[CLIENT]));
        let p2 = f2
            .node(&issue(&f2, &[CLIENT]))
            .with_profile(ReleaseLine::V2);
        assert!(
            f1.handshake(&p1.client_config().unwrap(), &gw1_server, SERVER)
                .ok()
        );
        assert!(
            f2.handshake(&p2.client_config().unwrap(), &gw2_server, SERVER)
                .ok()
        );

        // A wildcard client: the 1.x gateway accepts, the 2.x gateway refuses.
        let w1 = f1.node(&issue(&f1, &[CLIENT, "*.pgo.example.nl"]));
        let w2 = f2.node(&issue(&f2, &[CLIENT, "*.pgo.example.nl"]));
        assert!(
            f1.handshake(&w1.client_config().unwrap(), &gw1_server, SERVER)
                .ok()
        );
        let o = f2.handshake(&w2.client_config().unwrap(), &gw2_server, SERVER);
        assert_eq!(
            alert(&o.client),
            Some(AlertDescription::AccessDenied),
            "{o:?}"
        );
        assert!(matches!(f2.last_refusal().1, Refusal::Wildcard { .. }));
        assert!(f1.refusals().is_empty(), "{:?}", f1.refusals());

        // A certificate from the pre-2.x hierarchy does not chain to the G1
        // root the 2.x gateway trusts (MedMij TLS-6: Private Services only).
        let old = issue(&f1, &[CLIENT]);
        let mixed = BackChannel::new(
            f2.pki.trust_anchors().unwrap(),
            f2.whitelist.clone(),
            own(&[&old]),
        )
        .with_ocsp(f2.ocsp.clone())
        .refusal_log(f2.log());
        let o = f2.handshake(&mixed.client_config().unwrap(), &gw2_server, SERVER);
        assert!(o.server.is_some(), "{o:?}");
        let (role, r) = f2.last_refusal();
        assert_eq!(role, PeerRole::Client);
        assert!(
            matches!(
                r,
                Refusal::Certificate {
                    problem: CertificateProblem::UnknownIssuer,
                    ..
                }
            ),
            "{r:?}"
        );

        // Two G1 hierarchies do not trust each other either.
        let stranger = TestPki::new_g1("stranger").unwrap();
        let s = stranger.issue(&[CLIENT], &CertOptions::default()).unwrap();
        let mixed = BackChannel::new(
            f2.pki.trust_anchors().unwrap(),
            f2.whitelist.clone(),
            own(&[&s]),
        )
        .with_ocsp(f2.ocsp.clone())
        .refusal_log(f2.log())
        .with_profile(ReleaseLine::V2);
        let o = f2.handshake(&mixed.client_config().unwrap(), &gw2_server, SERVER);
        assert!(o.server.is_some(), "{o:?}");
        assert_eq!(f2.last_refusal().1.rule(), RuleId::Tls3);
    }

    /// Real peers: OpenSSL's `s_server` and `s_client` with wildcard
    /// certificates against 2.x rustls nodes over loopback TCP.
    mod with_openssl {
        use super::*;
        use crate::common::{ChildGuard, free_port, write};
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::process::Stdio;
        use std::time::{Duration, Instant};

        #[test]
        fn a_2x_rustls_client_refuses_an_openssl_server_with_a_wildcard_certificate() {
            // MedMij TLS-6: the server's wildcard certificate, refused by the client.
            let f = Fixture::g1();
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let wild = issue(&f, &[WILD_SERVER]);
            let port = free_port();
            let child = Command::new("openssl")
                .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
                .arg(write(d, "srv.pem", &wild.cert_pem))
                .arg("-cert_chain")
                .arg(write(
                    d,
                    "chain.pem",
                    &wild.chain_pem[wild.cert_pem.len()..],
                ))
                .arg("-key")
                .arg(write(d, "srv.key", &wild.key_pem))
                .arg("-CAfile")
                .arg(write(d, "root.pem", f.pki.root_pem()))
                .args(["-Verify", "2", "-www"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl is installed");
            let mut guard = ChildGuard(child);
            let start = Instant::now();
            let connect = || TcpStream::connect(("127.0.0.1", port));
            let mut tcp = loop {
                match connect() {
                    Ok(t) => break t,
                    Err(_) if start.elapsed() < Duration::from_secs(10) => {
                        assert!(guard.0.try_wait().unwrap().is_none(), "s_server exited");
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => panic!("s_server does not listen: {e}"),
                }
            };
            let client = f.node(&issue(&f, &[CLIENT])).with_profile(ReleaseLine::V2);
            let mut conn = rustls::ClientConnection::new(
                Arc::new(client.client_config().unwrap()),
                SERVER.try_into().unwrap(),
            )
            .unwrap();
            let e = conn.complete_io(&mut tcp).unwrap_err();
            assert!(
                e.to_string().contains("ApplicationVerificationFailure"),
                "{e}"
            );
            let (role, r) = f.last_refusal();
            assert_eq!(role, PeerRole::Server);
            assert_eq!(
                r,
                Refusal::Wildcard {
                    name: WILD_SERVER.into()
                }
            );
        }

        #[test]
        fn a_2x_rustls_server_refuses_an_openssl_client_with_a_wildcard_certificate() {
            // MedMij TLS-6: the client's wildcard certificate, refused by the server.
            let f = Fixture::g1();
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let server = f.node(&issue(&f, &[SERVER])).with_profile(ReleaseLine::V2);
            let cfg = Arc::new(server.server_config().unwrap());
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let served = std::thread::spawn(move || {
                let (mut tcp, _) = listener.accept().unwrap();
                tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut conn = rustls::ServerConnection::new(cfg).unwrap();
                let r = conn.complete_io(&mut tcp).map(|_| ());
                // TLS 1.3: the client's certificate arrives with its Finished.
                let r = r.and_then(|()| {
                    let mut b = [0u8; 1];
                    let mut s = rustls::Stream::new(&mut conn, &mut tcp);
                    s.read(&mut b).map(|_| ())
                });
                let _ = tcp.flush();
                r
            });
            let wild = issue(&f, &[CLIENT, "*.pgo.example.nl"]);
            let out = Command::new("openssl")
                .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
                .args(["-ign_eof", "-servername", SERVER, "-cert"])
                .arg(write(d, "cli.pem", &wild.cert_pem))
                .arg("-cert_chain")
                .arg(write(
                    d,
                    "chain.pem",
                    &wild.chain_pem[wild.cert_pem.len()..],
                ))
                .arg("-key")
                .arg(write(d, "cli.key", &wild.key_pem))
                .arg("-CAfile")
                .arg(write(d, "root.pem", f.pki.root_pem()))
                .stdin(Stdio::null())
                .output()
                .expect("openssl is installed");
            let e = served.join().unwrap().unwrap_err();
            assert!(
                e.to_string().contains("ApplicationVerificationFailure"),
                "{e}"
            );
            let (role, r) = f.last_refusal();
            assert_eq!(role, PeerRole::Client);
            assert_eq!(
                r,
                Refusal::Wildcard {
                    name: "*.pgo.example.nl".into()
                }
            );
            // OpenSSL saw the server's access_denied alert.
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(said.contains("access denied"), "{said}");
        }
    }

    /// The tokio adapter on loopback: the profile travels with the
    /// [`BackChannel`] into the acceptor and the connector.
    #[cfg(feature = "tokio")]
    mod over_tokio {
        use super::*;
        use medmij_tls::OcspDriver;
        use medmij_tls::{
            AdapterError, AdapterSettings, FrontAcceptor, MedmijAcceptor, MedmijConnector,
            ReqwestOcspFetcher,
        };
        use std::time::Duration;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        fn settings() -> AdapterSettings {
            AdapterSettings {
                handshake_timeout: Duration::from_secs(5),
                ocsp_deadline: Duration::from_secs(3),
                ..AdapterSettings::default()
            }
        }

        fn parts(back: &BackChannel) -> (Arc<OcspDriver>, Arc<ReqwestOcspFetcher>) {
            (
                Arc::new(OcspDriver::new(back.ocsp_checker())),
                Arc::new(ReqwestOcspFetcher::new().unwrap()),
            )
        }

        /// Serve one connection of `server` on loopback; whether `client`
        /// connected and got an answer.
        async fn exchange(server: &BackChannel, client: &BackChannel) -> Result<(), AdapterError> {
            let (d, src) = parts(server);
            let acc = MedmijAcceptor::new(server, d, src, settings()).unwrap();
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let mut incoming = acc.incoming(l);
            tokio::spawn(async move {
                while let Some(mut est) = incoming.next().await {
                    let mut b = [0u8; 4];
                    if est.stream.read_exact(&mut b).await.is_ok() {
                        let _ = est.stream.write_all(b"pong").await;
                    }
                }
            });
            let (d, src) = parts(client);
            let conn = MedmijConnector::new(client, d, src, settings()).unwrap();
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut tls, peer) = conn.connect(SERVER, tcp).await?;
            assert_eq!(peer.role(), PeerRole::Server);
            tls.write_all(b"ping").await.unwrap();
            let mut b = [0u8; 4];
            tls.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"pong");
            Ok(())
        }

        #[tokio::test]
        async fn g1_pair_connects_and_a_wildcard_server_is_refused() {
            // MedMij TLS-6 over loopback with the tokio adapter.
            let f = Fixture::g1();
            let server = f.node(&issue(&f, &[SERVER])).with_profile(ReleaseLine::V2);
            let client = f.node(&issue(&f, &[CLIENT])).with_profile(ReleaseLine::V2);
            exchange(&server, &client).await.expect("2.x pair connects");

            let wild_server = f.node(&issue(&f, &[WILD_SERVER]));
            let e = exchange(&wild_server, &client).await.unwrap_err();
            assert!(matches!(e, AdapterError::Tls(_)), "{e:?}");
            let (role, r) = f.last_refusal();
            assert_eq!(role, PeerRole::Server);
            assert_eq!(r.rule(), RuleId::Tls6);
            // The same server, a 1.x client: connects.
            let old_client = f.node(&issue(&f, &[CLIENT]));
            exchange(&wild_server, &old_client)
                .await
                .expect("1.x client accepts a wildcard server");
        }

        #[test]
        fn front_acceptor_for_2x_refuses_a_wildcard_own_certificate() {
            // MedMij TLS-6: the tokio front-channel acceptor is built per profile.
            let f = Fixture::g1();
            let wild = issue(&f, &[WILD_SERVER]);
            let e = FrontAcceptor::with_profile(ReleaseLine::V2, own(&[&wild]), settings())
                .unwrap_err();
            assert_eq!(e.rule(), Some(RuleId::Tls6));
            FrontAcceptor::with_profile(ReleaseLine::V1, own(&[&wild]), settings()).unwrap();
            FrontAcceptor::with_profile(ReleaseLine::V2, own(&[&issue(&f, &[SERVER])]), settings())
                .unwrap();
        }
    }
}
