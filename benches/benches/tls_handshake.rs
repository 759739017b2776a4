//! medmij-tls: full mutual-TLS handshakes per second with every MedMij check on
//! (chain, Whitelist, OCSP answered from the cache) against plain rustls mutual
//! TLS with the same profile and certificates, in the same run; and the cost of
//! an uncached OCSP check against a loopback responder (MedMij TLS-3, TLS-4).
//!
//! Run: `cargo bench -p medmij-benches --bench tls_handshake`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use medmij_tls::{
    BackChannel, BlockingOcspFetcher, OcspChecker, OcspDriver, OwnCertificates, PeerRole,
    SharedWhitelist,
};
use medmij_tls::{CertOptions, OcspResponder, TestPki};
use medmij_tls::{Channel, PROTOCOL_VERSIONS, crypto_provider};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

const SERVER: &str = "za.gateway.example.nl";
const CLIENT: &str = "pgo.gateway.example.nl";

/// One full handshake in memory; panics if it fails (benchmarks only run good cases).
fn handshake(client: &Arc<ClientConfig>, server: &Arc<ServerConfig>) {
    let mut c = ClientConnection::new(client.clone(), ServerName::try_from(SERVER).expect("name"))
        .expect("client");
    let mut s = ServerConnection::new(server.clone()).expect("server");
    let mut buf = Vec::with_capacity(8192);
    while c.is_handshaking() || s.is_handshaking() || c.wants_write() {
        buf.clear();
        while c.wants_write() {
            c.write_tls(&mut buf).expect("write");
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).expect("read");
            s.process_new_packets().expect("server handshake");
        }
        buf.clear();
        while s.wants_write() {
            s.write_tls(&mut buf).expect("write");
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).expect("read");
            c.process_new_packets().expect("client handshake");
        }
    }
    black_box((&c, &s));
}

struct Setup {
    _responder: OcspResponder,
    medmij_client: Arc<ClientConfig>,
    medmij_server: Arc<ServerConfig>,
    plain_client: Arc<ClientConfig>,
    plain_server: Arc<ServerConfig>,
    plain_verifier: Arc<dyn rustls::server::danger::ClientCertVerifier>,
    back: BackChannel,
    client_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    driver: OcspDriver,
}

fn setup() -> Setup {
    let pki = Arc::new(TestPki::new("bench").expect("pki"));
    let responder = OcspResponder::start(pki.clone()).expect("responder");
    let opts = CertOptions::with_ocsp(responder.url());
    let server_cert = pki.issue(&[SERVER], &opts).expect("server cert");
    let client_cert = pki.issue(&[CLIENT], &opts).expect("client cert");
    let whitelist = Arc::new(SharedWhitelist::with_hostnames([SERVER, CLIENT]));
    // MedMij TLS-3: the verifiers read the cache the host's OCSP driver fills.
    let ocsp = OcspChecker::new();
    let driver = OcspDriver::new(&ocsp);
    driver.watch_chain(&server_cert.chain).expect("watch");
    driver.watch_chain(&client_cert.chain).expect("watch");
    let node = |cert: &medmij_tls::IssuedCert| {
        BackChannel::new(
            pki.trust_anchors().expect("anchors"),
            whitelist.clone(),
            OwnCertificates::new(vec![cert.own_certificate().expect("own")]).expect("own"),
        )
        .with_ocsp(ocsp.clone())
    };
    let server_node = node(&server_cert);
    let client_node = node(&client_cert);
    let medmij_server = Arc::new(server_node.server_config().expect("server config"));
    let medmij_client = Arc::new(client_node.client_config().expect("client config"));

    // Plain rustls: the same provider (profile), certificates and versions, no
    // resumption (so every handshake is a full one, as with medmij-tls), with
    // rustls' own WebPKI verifiers: no Whitelist, no OCSP.
    let provider = Arc::new(crypto_provider(Channel::Back));
    let mut roots = RootCertStore::empty();
    roots.add(pki.root_der().clone()).expect("root");
    let roots = Arc::new(roots);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .expect("verifier");
    let mut plain_server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .expect("versions")
        .with_client_cert_verifier(verifier.clone())
        .with_single_cert(server_cert.chain.clone(), server_cert.key())
        .expect("server cert");
    plain_server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    plain_server.send_tls13_tickets = 0;
    plain_server.ignore_client_order = true;
    let mut plain_client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(client_cert.chain.clone(), client_cert.key())
        .expect("client cert");
    plain_client.resumption = rustls::client::Resumption::disabled();

    let s = Setup {
        _responder: responder,
        medmij_client,
        medmij_server,
        plain_client: Arc::new(plain_client),
        plain_server: Arc::new(plain_server),
        plain_verifier: verifier,
        back: server_node,
        client_chain: client_cert.chain.clone(),
        driver,
    };
    // Warm the OCSP cache (one answer per direction).
    s.driver.refresh_blocking(
        &BlockingOcspFetcher::new().unwrap(),
        std::time::SystemTime::now(),
    );
    handshake(&s.medmij_client, &s.medmij_server);
    s
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let mut g = c.benchmark_group("tls_mtls_handshake");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(10));
    // Both in the same process and run, one after the other.
    g.bench_function("plain_rustls", |b| {
        b.iter(|| handshake(&s.plain_client, &s.plain_server))
    });
    g.bench_function("medmij_all_checks_ocsp_cached", |b| {
        b.iter(|| handshake(&s.medmij_client, &s.medmij_server))
    });
    g.finish();

    // Paired: each iteration runs one plain and one medmij handshake back to back
    // and times both, so load from other processes hits both alike; criterion
    // reports the medmij time, and the summed ratio over every pair is printed.
    let totals = std::cell::Cell::new((Duration::ZERO, Duration::ZERO));
    let mut g = c.benchmark_group("tls_mtls_handshake_paired");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("medmij_all_checks_ocsp_cached", |b| {
        b.iter_custom(|iters| {
            let mut medmij = Duration::ZERO;
            let mut plain = Duration::ZERO;
            for i in 0..iters {
                // Alternate which of the two goes first.
                let t0 = Instant::now();
                if i % 2 == 0 {
                    handshake(&s.plain_client, &s.plain_server);
                } else {
                    handshake(&s.medmij_client, &s.medmij_server);
                }
                let t1 = Instant::now();
                if i % 2 == 0 {
                    handshake(&s.medmij_client, &s.medmij_server);
                } else {
                    handshake(&s.plain_client, &s.plain_server);
                }
                let t2 = Instant::now();
                let (first, second) = (t1 - t0, t2 - t1);
                if i % 2 == 0 {
                    plain += first;
                    medmij += second;
                } else {
                    medmij += first;
                    plain += second;
                }
            }
            let (m, p) = totals.get();
            totals.set((m + medmij, p + plain));
            medmij
        })
    });
    g.finish();
    let (m, p) = totals.get();
    println!(
        "tls_mtls_handshake_paired: medmij/plain time ratio over all pairs = {:.4} (overhead {:+.2} %)",
        m.as_secs_f64() / p.as_secs_f64(),
        (m.as_secs_f64() / p.as_secs_f64() - 1.0) * 100.0
    );

    // The client-certificate check alone, as the server runs it in a handshake:
    // rustls' WebPKI verifier (chain, validity, EKU) against medmij-tls' (the same,
    // plus Whitelist and OCSP from the cache).
    let checks = s.back.checks();
    let ee = &s.client_chain[0];
    let inter = &s.client_chain[1..];
    let mut g = c.benchmark_group("tls_client_cert_check");
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("plain_rustls_webpki", |b| {
        b.iter(|| {
            s.plain_verifier
                .verify_client_cert(ee, inter, UnixTime::now())
                .expect("good")
        })
    });
    g.bench_function("medmij_all_checks_ocsp_cached", |b| {
        b.iter(|| {
            checks
                .check(PeerRole::Client, ee, inter, None, &[], UnixTime::now())
                .expect("good")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("tls_ocsp_check");
    g.measurement_time(Duration::from_secs(10));
    // The driver's fetch (on this thread) plus the check from the cache.
    let fetcher = BlockingOcspFetcher::new().unwrap();
    g.bench_function("peer_check_uncached_loopback_responder", |b| {
        b.iter(|| {
            checks.ocsp().cache().clear();
            s.driver.refresh_all_now();
            s.driver
                .refresh_blocking(&fetcher, std::time::SystemTime::now());
            checks
                .check(PeerRole::Client, ee, inter, None, &[], UnixTime::now())
                .expect("good")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
