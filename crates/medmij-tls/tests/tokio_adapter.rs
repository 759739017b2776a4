//! The tokio adapter on loopback: asynchronous OCSP for first contacts (MedMij
//! TLS-3), the per-request re-check (MedMij TLS-4), handshake deadline and
//! per-source limits.

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::{CLIENT, Fixture, SERVER, dead_ocsp_url};
use medmij_tls::{
    AdapterSettings, AsyncOcspSource, Established, Incoming, MedmijAcceptor, MedmijConnector,
    ReqwestOcspFetcher,
};
use medmij_tls::{
    BackChannel, BlockingOcspFetcher, CachedStatus, OcspChecker, OcspDriver, OcspFailure,
    OcspPolicy, PeerRole, Refusal,
};
use medmij_tls::{CertOptions, IssuedCert, ResponderMode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// One side: its back channel, its own OCSP checker and driver.
struct Side {
    back: BackChannel,
    driver: Arc<OcspDriver>,
}

fn side(f: &Fixture, cert: &IssuedCert) -> Side {
    let back = f
        .node(cert)
        .with_ocsp(OcspChecker::new().with_policy(OcspPolicy {
            timeout: Duration::from_secs(2),
            ..OcspPolicy::default()
        }));
    let driver = Arc::new(OcspDriver::new(back.ocsp_checker()));
    Side { back, driver }
}

/// Both sides of a loopback pair: the server's and the client's certificate,
/// each on its own side.
struct Pair {
    sc: IssuedCert,
    cc: IssuedCert,
    srv: Side,
    cli: Side,
}

/// A server and a client side with fresh certificates; neither knows the
/// other's OCSP answer yet (first contact both ways).
fn pair(f: &Fixture) -> Pair {
    let (sc, cc) = (f.issue(SERVER), f.issue(CLIENT));
    let (srv, cli) = (side(f, &sc), side(f, &cc));
    Pair { sc, cc, srv, cli }
}

/// [`pair`], each side with the other's answer prefetched (no first contact).
fn known_pair(f: &Fixture) -> Pair {
    let p = pair(f);
    prefetch(&p.srv, &p.cc);
    prefetch(&p.cli, &p.sc);
    p
}

/// Prefetch the answer for `cert` into `side`'s cache (the host's driver, run
/// on this thread before the runtime starts).
fn prefetch(side: &Side, cert: &IssuedCert) {
    side.driver.watch_chain(&cert.chain).unwrap();
    side.driver.refresh_all_now();
    assert_eq!(
        side.driver
            .refresh_blocking(&BlockingOcspFetcher::new().unwrap(), SystemTime::now()),
        1
    );
}

fn source() -> Arc<dyn AsyncOcspSource> {
    Arc::new(ReqwestOcspFetcher::new().unwrap())
}

fn settings() -> AdapterSettings {
    AdapterSettings {
        handshake_timeout: Duration::from_secs(5),
        ocsp_deadline: Duration::from_secs(2),
        ..AdapterSettings::default()
    }
}

fn acceptor(s: &Side, settings: AdapterSettings) -> MedmijAcceptor {
    MedmijAcceptor::new(&s.back, s.driver.clone(), source(), settings).unwrap()
}

fn connector(s: &Side) -> MedmijConnector {
    MedmijConnector::new(&s.back, s.driver.clone(), source(), settings()).unwrap()
}

async fn listen(acc: &MedmijAcceptor) -> (Incoming, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (acc.incoming(l), addr)
}

/// Serve line requests on an established connection: before each request the
/// re-check (MedMij TLS-4); "ok N" or "refused: why", then close on refusal.
async fn serve_lines(acc: MedmijAcceptor, est: Established) {
    let Established { stream, peer, .. } = est;
    let (r, mut w) = tokio::io::split(stream);
    let mut lines = BufReader::new(r).lines();
    let mut n = 0;
    while let Ok(Some(_req)) = lines.next_line().await {
        n += 1;
        match acc.recheck(&peer, SystemTime::now()) {
            Ok(()) => {
                if w.write_all(format!("ok {n}\n").as_bytes()).await.is_err() {
                    return;
                }
            }
            Err(r) => {
                let _ = w.write_all(format!("refused: {r}\n").as_bytes()).await;
                let _ = w.shutdown().await;
                return;
            }
        }
    }
}

type Client = tokio_rustls::client::TlsStream<TcpStream>;

async fn request(c: &mut BufReader<Client>) -> Option<String> {
    c.get_mut().write_all(b"GET\n").await.ok()?;
    let mut line = String::new();
    match c.read_line(&mut line).await {
        Ok(n) if n > 0 => Some(line.trim_end().to_string()),
        _ => None,
    }
}

/// One request on a fresh connection, its answer.
async fn one_request(mut c: BufReader<Client>) -> Option<String> {
    request(&mut c).await
}

async fn connect(conn: &MedmijConnector, addr: SocketAddr) -> BufReader<Client> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (s, peer) = conn.connect(SERVER, tcp).await.expect("client side passes");
    assert_eq!(peer.dns_names(), [SERVER]);
    assert_eq!(peer.role(), PeerRole::Server);
    BufReader::new(s)
}

/// `srv` listening through its acceptor with `settings`, and a task in which
/// `cli` connects through its connector (the client side must pass) and runs
/// `talk` on the connection.
async fn session<T, Fut>(
    srv: &Side,
    cli: &Side,
    settings: AdapterSettings,
    talk: impl FnOnce(BufReader<Client>) -> Fut + Send + 'static,
) -> (MedmijAcceptor, Incoming, JoinHandle<T>)
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let acc = acceptor(srv, settings);
    let (inc, addr) = listen(&acc).await;
    let conn = connector(cli);
    let client = tokio::spawn(async move { talk(connect(&conn, addr).await).await });
    (acc, inc, client)
}

/// Hand the next established connection to [`serve_lines`] in a task.
async fn serve_next(acc: &MedmijAcceptor, inc: &mut Incoming) -> JoinHandle<()> {
    let est = inc.next().await.unwrap();
    tokio::spawn(serve_lines(acc.clone(), est))
}

/// A TLS connection to `addr` as [`SERVER`] with a plain rustls client `cfg`.
async fn tls_connect(cfg: Arc<rustls::ClientConfig>, addr: SocketAddr) -> std::io::Result<Client> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(cfg)
        .connect(
            rustls::pki_types::ServerName::try_from(SERVER).unwrap(),
            tcp,
        )
        .await
}

/// The key-exchange group a connection negotiated.
fn group(conn: &rustls::CommonState) -> Option<rustls::NamedGroup> {
    conn.negotiated_key_exchange_group().map(|g| g.name())
}

/// Wait (up to 3 s) for the server to close `s`, which never sent anything.
async fn assert_closed(s: &mut TcpStream) {
    let mut b = [0u8; 1];
    let r = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::io::AsyncReadExt::read(s, &mut b),
    )
    .await
    .expect("closed by the server");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// MedMij TLS-1: through the acceptor, the server's group order wins.
mod tls_1 {
    use super::*;
    use rustls::NamedGroup;
    use rustls::crypto::aws_lc_rs::kx_group;

    #[test]
    fn acceptor_negotiates_the_servers_strongest_group_whatever_the_client_order() {
        let f = Fixture::new();
        let Pair { srv, cli, .. } = known_pair(&f);
        // A client listing X25519 and secp256r1 before secp384r1.
        let mut provider = medmij_tls::crypto_provider(medmij_tls::Channel::Back);
        provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
        let client_cfg = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(medmij_tls::PROTOCOL_VERSIONS)
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(medmij_tls::MedmijServerVerifier::new(
                cli.back.checks().clone(),
            )))
            .with_client_cert_resolver(Arc::new(cli.back.own_certificates().clone()));
        rt().block_on(async {
            let acc = acceptor(&srv, settings());
            let (mut inc, addr) = listen(&acc).await;
            let client = tokio::spawn(async move {
                let s = tls_connect(Arc::new(client_cfg), addr).await.unwrap();
                let group = group(s.get_ref().1);
                let mut c = BufReader::new(s);
                (group, request(&mut c).await)
            });
            let est = inc.next().await.unwrap();
            let server_group = group(est.stream.get_ref().1);
            assert_eq!(server_group, Some(NamedGroup::secp384r1));
            tokio::spawn(serve_lines(acc.clone(), est));
            let (client_group, answer) = client.await.unwrap();
            assert_eq!(client_group, Some(NamedGroup::secp384r1));
            assert_eq!(answer.as_deref(), Some("ok 1"));
        });
    }
}

/// The front channel through [`FrontAcceptor`]: the server's group (MedMij
/// TLS-1, TLS-6) and the handshake deadline.
mod tls_6 {
    use super::*;
    use medmij_tls::FrontAcceptor;
    use rustls::NamedGroup;
    use rustls::crypto::aws_lc_rs::kx_group;

    #[test]
    fn front_acceptor_picks_the_servers_group_and_drops_idle_connections() {
        let f = Fixture::new();
        let own = f.issue(SERVER).own_certificate().unwrap();
        let mut provider = medmij_tls::crypto_provider(medmij_tls::Channel::Front);
        provider.kx_groups = vec![kx_group::X25519, kx_group::SECP384R1];
        let mut roots = rustls::RootCertStore::empty();
        roots.add(f.pki.root_der().clone()).unwrap();
        let client_cfg = Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(provider))
                .with_protocol_versions(medmij_tls::PROTOCOL_VERSIONS)
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        rt().block_on(async {
            let acc = FrontAcceptor::new(
                medmij_tls::OwnCertificates::new(vec![own]).unwrap(),
                AdapterSettings {
                    handshake_timeout: Duration::from_millis(300),
                    ..AdapterSettings::default()
                },
            )
            .unwrap();
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let mut inc = acc.incoming(l);

            // An idle connection is closed once the handshake deadline passed.
            let mut idle = TcpStream::connect(addr).await.unwrap();
            let t = Instant::now();
            assert_closed(&mut idle).await;
            assert!(
                t.elapsed() >= Duration::from_millis(250),
                "{:?}",
                t.elapsed()
            );

            // A user agent listing X25519 first gets secp384r1.
            let client = tokio::spawn(async move {
                let mut s = tls_connect(client_cfg, addr).await.unwrap();
                let g = group(s.get_ref().1);
                s.write_all(b"x").await.unwrap();
                g
            });
            let (stream, _) = inc.next().await.unwrap();
            assert_eq!(group(stream.get_ref().1), Some(NamedGroup::secp384r1));
            assert_eq!(client.await.unwrap(), Some(NamedGroup::secp384r1));
        });
    }
}

/// MedMij TLS-3: the verifier reads only the staple and the cache; a first
/// contact is settled asynchronously before any request is read.
mod tls_3 {
    use super::*;

    #[tokio::test]
    async fn ocsp_fetchers_take_answers_up_to_64_kib() {
        // MedMij TLS-3 with a bounded fetch: an answer of up to 64 KiB is taken, a larger
        // one refused before it fills memory; both the async and the blocking fetcher.
        let query = medmij_tls::OcspQuery {
            request: vec![0x30, 0x00],
            responder_urls: Vec::new(),
            timeout: Duration::from_secs(10),
        };
        for (len, taken) in [(64 * 1024, true), (64 * 1024 + 1, false)] {
            let url = responding(Answer::Sized(len)).await;
            let fetcher = ReqwestOcspFetcher::with_url(url.clone()).unwrap();
            let got = fetcher.fetch(&query).await;
            assert_eq!(
                got.as_ref().map(Vec::len).ok(),
                taken.then_some(len),
                "{len}: {got:?}"
            );
            let q = query.clone();
            let got = tokio::task::spawn_blocking(move || {
                medmij_tls::OcspSource::fetch(&BlockingOcspFetcher::with_url(url).unwrap(), &q)
            })
            .await
            .unwrap();
            assert_eq!(
                got.as_ref().map(Vec::len).ok(),
                taken.then_some(len),
                "blocking {len}"
            );
        }
    }

    /// How the loopback responder of [`responding`] answers every request.
    #[derive(Debug, Clone, Copy)]
    enum Answer {
        /// 200 with a content-length: `len` bytes.
        Sized(usize),
        /// 200, no content-length: `len` bytes in chunks of at most 16 KiB.
        Chunked(usize),
        /// 200, no content-length: chunks of 16 KiB without end.
        Endless,
        /// 200 announcing 100 bytes, sending 10, then keeping the connection open.
        Stalled,
        /// 200 announcing 100 bytes, sending 10, then closing the connection.
        CutShort,
    }

    /// An HTTP server on loopback answering as `answer` says.
    async fn responding(answer: Answer) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut r = BufReader::new(stream);
                    let mut line = String::new();
                    let mut body = 0usize;
                    while r.read_line(&mut line).await.unwrap_or(0) > 2 {
                        let l = line.to_ascii_lowercase();
                        if let Some(n) = l.strip_prefix("content-length:") {
                            body = n.trim().parse().unwrap_or(0);
                        }
                        line.clear();
                    }
                    let mut skip = vec![0u8; body];
                    let _ = tokio::io::AsyncReadExt::read_exact(&mut r, &mut skip).await;
                    let mut s = r.into_inner();
                    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/ocsp-response\r\nconnection: close\r\n";
                    match answer {
                        Answer::Sized(len) => {
                            let _ = s.write_all(ok.as_bytes()).await;
                            let _ = s
                                .write_all(format!("content-length: {len}\r\n\r\n").as_bytes())
                                .await;
                            let _ = s.write_all(&vec![0x30u8; len]).await;
                        }
                        Answer::Chunked(len) => {
                            let _ = s.write_all(ok.as_bytes()).await;
                            let _ = s.write_all(b"transfer-encoding: chunked\r\n\r\n").await;
                            let mut left = len;
                            while left > 0 {
                                let n = left.min(16 * 1024);
                                let _ = s.write_all(format!("{n:x}\r\n").as_bytes()).await;
                                let _ = s.write_all(&vec![0x30u8; n]).await;
                                let _ = s.write_all(b"\r\n").await;
                                left -= n;
                            }
                            let _ = s.write_all(b"0\r\n\r\n").await;
                        }
                        Answer::Endless => {
                            let _ = s.write_all(ok.as_bytes()).await;
                            let _ = s.write_all(b"transfer-encoding: chunked\r\n\r\n").await;
                            let chunk =
                                [b"4000\r\n".as_slice(), &[0x30u8; 16 * 1024], b"\r\n"].concat();
                            while s.write_all(&chunk).await.is_ok() {}
                        }
                        Answer::Stalled | Answer::CutShort => {
                            let _ = s.write_all(ok.as_bytes()).await;
                            let _ = s.write_all(b"content-length: 100\r\n\r\n").await;
                            let _ = s.write_all(&[0x30u8; 10]).await;
                            let _ = s.flush().await;
                            if matches!(answer, Answer::Stalled) {
                                tokio::time::sleep(Duration::from_secs(30)).await;
                            }
                        }
                    }
                });
            }
        });
        format!("http://{addr}/")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ocsp_fetchers_bound_a_chunked_answer_and_tell_a_stalled_one_from_a_cut_one() {
        // MedMij TLS-3 with a bounded fetch: an answer without a content-length (chunked)
        // is taken up to 64 KiB and refused beyond, an endless one as soon as it passes
        // 64 KiB (not read on until the timeout); a body that stalls past the query's
        // timeout is a timeout, one cut short a transport failure; both fetchers.
        use medmij_tls::OcspSourceError as E;
        let what = |r: &Result<Vec<u8>, E>| match r {
            Ok(b) => Ok(b.len()),
            Err(E::Timeout) => Err("timeout"),
            Err(E::Transport(_)) => Err("transport"),
            Err(e) => panic!("{e:?}"),
        };
        let cases = [
            (Answer::Chunked(64 * 1024), 10, Ok(65_536)),
            (Answer::Chunked(64 * 1024 + 1), 10, Err("transport")),
            (Answer::Endless, 10, Err("transport")),
            (Answer::Stalled, 1, Err("timeout")),
            (Answer::CutShort, 10, Err("transport")),
        ];
        for (answer, secs, expected) in cases {
            let url = responding(answer).await;
            let query = medmij_tls::OcspQuery {
                request: vec![0x30, 0x00],
                responder_urls: Vec::new(),
                timeout: Duration::from_secs(secs),
            };
            let fetcher = ReqwestOcspFetcher::with_url(url.clone()).unwrap();
            let got = fetcher.fetch(&query).await;
            assert_eq!(what(&got), expected, "{answer:?}: {got:?}");
            let got = tokio::task::spawn_blocking(move || {
                medmij_tls::OcspSource::fetch(&BlockingOcspFetcher::with_url(url).unwrap(), &query)
            })
            .await
            .unwrap();
            assert_eq!(what(&got), expected, "blocking {answer:?}: {got:?}");
        }
    }

    #[test]
    fn cache_hit_passes_without_any_fetch() {
        let f = Fixture::new();
        let Pair { srv, cli, .. } = known_pair(&f);
        let before = f.responder.requests();
        rt().block_on(async {
            let (acc, mut inc, client) = session(&srv, &cli, settings(), one_request).await;
            let est = inc.next().await.unwrap();
            assert_eq!(est.peer.dns_names(), [CLIENT]);
            tokio::spawn(serve_lines(acc.clone(), est));
            assert_eq!(client.await.unwrap().as_deref(), Some("ok 1"));
        });
        assert_eq!(f.responder.requests(), before, "no OCSP fetch");
        assert!(f.refusals().is_empty(), "{:?}", f.refusals());
    }

    #[test]
    fn cache_miss_is_provisional_then_served_when_good_in_time() {
        let f = Fixture::new();
        // Neither side knows the other's certificate: first contact both ways.
        let Pair { cc, srv, cli, .. } = pair(&f);
        let before = f.responder.requests();
        rt().block_on(async {
            let (acc, mut inc, client) = session(&srv, &cli, settings(), one_request).await;
            serve_next(&acc, &mut inc).await;
            assert_eq!(client.await.unwrap().as_deref(), Some("ok 1"));
        });
        assert_eq!(f.responder.requests(), before + 2, "one fetch per side");
        let key = medmij_tls::cert_key(&cc.chain[0]);
        assert_eq!(
            srv.driver.cache().status(&key, now_secs()),
            CachedStatus::Good
        );
        // The driver now watches the peer and will refresh it ahead of need.
        assert_eq!(srv.driver.watched_len(), 1);
        assert!(srv.driver.next_refresh_at().unwrap() > SystemTime::now());
        assert!(f.refusals().is_empty(), "{:?}", f.refusals());
    }

    fn now_secs() -> u64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// A client `cc` with no OCSP answer known to the server (the server's own
    /// answer prefetched on the client, then `then` runs): refused.
    fn refused_first_contact(
        f: &Fixture,
        cc: &IssuedCert,
        then: impl FnOnce(),
        expect: impl Fn(&Refusal) -> bool,
    ) {
        let sc = f.issue(SERVER);
        let (srv, cli) = (side(f, &sc), side(f, cc));
        prefetch(&cli, &sc);
        then();
        rt().block_on(async {
            let acc = acceptor(
                &srv,
                AdapterSettings {
                    ocsp_deadline: Duration::from_millis(700),
                    ..settings()
                },
            );
            let (mut inc, addr) = listen(&acc).await;
            let conn = connector(&cli);
            let t = Instant::now();
            // The client's side of the TLS 1.3 handshake completes; its request
            // gets no answer: the server closes the unchecked connection.
            let mut c = connect(&conn, addr).await;
            assert_eq!(request(&mut c).await, None);
            assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
            // No connection was handed to the HTTP layer.
            let handed = tokio::time::timeout(Duration::from_millis(300), inc.next()).await;
            assert!(handed.is_err(), "an unchecked connection was handed out");
        });
        let r = f.refusals();
        let ev = r.last().expect("a refusal was logged");
        assert_eq!(ev.peer, PeerRole::Client);
        assert_eq!(ev.peer_names, [CLIENT]);
        assert!(expect(&ev.refusal), "{:?}", ev.refusal);
    }

    #[test]
    fn cache_miss_with_slow_responder_closes_and_logs_refusal() {
        let f = Fixture::new();
        let cc = f.issue(CLIENT);
        let silent = || f.responder.set_mode(ResponderMode::Silent);
        refused_first_contact(&f, &cc, silent, |r| {
            matches!(r, Refusal::Ocsp(OcspFailure::Timeout(_)))
        });
    }

    #[test]
    fn cache_miss_with_responder_down_closes_and_logs_refusal() {
        let f = Fixture::new();
        let url = dead_ocsp_url();
        let cc = f
            .pki
            .issue(&[CLIENT], &CertOptions::with_ocsp(&url))
            .unwrap();
        refused_first_contact(
            &f,
            &cc,
            || {},
            |r| matches!(r, Refusal::Ocsp(OcspFailure::Unavailable(_))),
        );
    }

    #[test]
    fn cache_miss_with_revoked_answer_closes_and_logs_refusal() {
        let f = Fixture::new();
        let cc = f.issue(CLIENT);
        let revoke = || f.responder.revoke(&cc.serial);
        refused_first_contact(&f, &cc, revoke, |r| {
            matches!(r, Refusal::Ocsp(OcspFailure::Revoked { .. }))
        });
    }

    #[test]
    fn run_ocsp_driver_prefetches_and_staples_the_own_certificate() {
        // The server's driver, run by `run_ocsp_driver`, fetches its own
        // answer at start and staples it: a client whose cache is empty (and
        // which fetches nothing itself) accepts the server from the staple.
        let f = Fixture::new();
        let Pair { cc, srv, cli, .. } = pair(&f);
        prefetch(&srv, &cc);
        for own in srv.back.own_certificates().certificates() {
            srv.driver.watch_own(own).unwrap();
        }
        assert!(srv.driver.next_refresh_at().unwrap() <= SystemTime::now());
        rt().block_on(async {
            let run = tokio::spawn(medmij_tls::run_ocsp_driver(
                srv.driver.clone(),
                source(),
                Duration::from_millis(50),
            ));
            let t = Instant::now();
            while srv.driver.next_refresh_at().unwrap() <= SystemTime::now() {
                assert!(t.elapsed() < Duration::from_secs(5), "driver did not run");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Refreshed at half the answer's validity (responder: one hour).
            let next = srv.driver.next_refresh_at().unwrap();
            let in_secs = next
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .as_secs();
            assert!((1700..=1800).contains(&in_secs), "{in_secs}");

            let acc = acceptor(&srv, settings());
            let (mut inc, addr) = listen(&acc).await;
            let plain = cli.back.clone().with_ocsp(OcspChecker::new());
            let requests = f.responder.requests();
            let client = tokio::spawn(async move {
                let s = tls_connect(Arc::new(plain.client_config().unwrap()), addr)
                    .await
                    .expect("the staple satisfies the client");
                request(&mut BufReader::new(s)).await
            });
            serve_next(&acc, &mut inc).await;
            assert_eq!(client.await.unwrap().as_deref(), Some("ok 1"));
            assert_eq!(f.responder.requests(), requests, "nobody fetched");
            run.abort();
        });
    }

    #[test]
    fn no_worker_blocks_while_the_responder_is_slow() {
        // One worker thread only: the ticker keeps running while the first
        // contact's OCSP answer is awaited, and the connection is served after.
        let f = Fixture::new();
        let Pair { sc, srv, cli, .. } = pair(&f);
        prefetch(&cli, &sc);
        f.responder
            .set_mode(ResponderMode::Slow(Duration::from_millis(800)));
        let ticks = Arc::new(AtomicUsize::new(0));
        rt().block_on(async {
            let t = ticks.clone();
            let ticker = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    t.fetch_add(1, Ordering::SeqCst);
                }
            });
            let (acc, mut inc, client) = session(&srv, &cli, settings(), one_request).await;
            let start = Instant::now();
            let before = ticks.load(Ordering::SeqCst);
            let est = inc.next().await.unwrap();
            let waited = start.elapsed();
            let ticked = ticks.load(Ordering::SeqCst) - before;
            assert!(waited >= Duration::from_millis(700), "{waited:?}");
            // A blocked worker would have ticked at most once or twice.
            assert!(ticked >= 30, "only {ticked} ticks in {waited:?}");
            tokio::spawn(serve_lines(acc.clone(), est));
            assert_eq!(client.await.unwrap().as_deref(), Some("ok 1"));
            ticker.abort();
        });
    }
}

/// MedMij TLS-4 (as amended): a kept-open connection is re-checked before each
/// request; plus the adapter's abuse limits.
mod tls_4 {
    use super::*;

    #[test]
    fn node_dropped_from_the_whitelist_is_refused_at_its_next_request() {
        let f = Fixture::new();
        let Pair { srv, cli, .. } = known_pair(&f);
        rt().block_on(async {
            let (acc, mut inc, client) = session(&srv, &cli, settings(), |mut c| async move {
                let first = request(&mut c).await;
                let second = request(&mut c).await;
                (c, first, second)
            })
            .await;
            let server = serve_next(&acc, &mut inc).await;
            let (mut c, first, second) = client.await.unwrap();
            assert_eq!(first.as_deref(), Some("ok 1"));
            assert_eq!(second.as_deref(), Some("ok 2"));
            // A new Whitelist version without the client, same connection.
            f.whitelist.replace([SERVER]);
            let third = request(&mut c).await.unwrap_or_default();
            assert!(third.starts_with("refused:"), "{third}");
            assert!(third.contains("not on the Whitelist"), "{third}");
            assert_eq!(request(&mut c).await, None, "connection closed");
            server.await.unwrap();
        });
        assert!(matches!(
            f.refusals().last().map(|e| &e.refusal),
            Some(Refusal::NotOnWhitelist { .. })
        ));
    }

    #[test]
    fn revoked_node_is_refused_at_its_next_request() {
        let f = Fixture::new();
        let Pair { cc, srv, cli, .. } = known_pair(&f);
        rt().block_on(async {
            let (acc, mut inc, client) = session(&srv, &cli, settings(), |mut c| async move {
                let first = request(&mut c).await;
                (c, first)
            })
            .await;
            let server = serve_next(&acc, &mut inc).await;
            let (mut c, first) = client.await.unwrap();
            assert_eq!(first.as_deref(), Some("ok 1"));
            // Revoked; the server's OCSP driver learns it at its next refresh
            // (made due now), run asynchronously as `run_ocsp_driver` does.
            f.responder.revoke(&cc.serial);
            srv.driver.refresh_all_now();
            let src = source();
            for job in srv.driver.due(SystemTime::now()) {
                let r = src.fetch(&job.query).await;
                // The status lands in the driver's cache; the next request reads it there.
                let _ = srv.driver.complete(&job, r, SystemTime::now());
            }
            let next = request(&mut c).await.unwrap_or_default();
            assert!(next.starts_with("refused:"), "{next}");
            assert!(next.contains("revoked"), "{next}");
            server.await.unwrap();
        });
        assert!(matches!(
            f.refusals().last().map(|e| &e.refusal),
            Some(Refusal::Ocsp(OcspFailure::Revoked { .. }))
        ));
    }

    #[test]
    fn idle_connections_from_one_source_do_not_starve_a_proper_client() {
        // One source opens idle TCP connections at full speed (bounded: 300
        // connections, 3 s); a proper mTLS client from another loopback
        // address still completes its handshake and request meanwhile.
        let f = Fixture::new();
        let Pair { srv, cli, .. } = known_pair(&f);
        let limits = AdapterSettings {
            handshake_timeout: Duration::from_secs(1),
            max_handshakes_per_source: 8,
            max_handshakes: 64,
            ..settings()
        };
        rt().block_on(async {
            let acc = acceptor(&srv, limits);
            let (mut inc, addr) = listen(&acc).await;
            let flood = tokio::spawn(async move {
                let start = Instant::now();
                let mut open = Vec::new();
                while open.len() < 300 && start.elapsed() < Duration::from_secs(3) {
                    if let Ok(s) = TcpStream::connect(addr).await {
                        open.push(s);
                    }
                    tokio::task::yield_now().await;
                }
                open
            });
            // Let the flood fill its quota first.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let conn = connector(&cli);
            let client = tokio::spawn(async move {
                let sock = TcpSocket::new_v4().unwrap();
                sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
                let tcp = sock.connect(addr).await.unwrap();
                let (s, _) = conn.connect(SERVER, tcp).await.expect("handshake");
                let mut c = BufReader::new(s);
                request(&mut c).await
            });
            let est = tokio::time::timeout(Duration::from_secs(5), inc.next())
                .await
                .expect("the proper client got through")
                .unwrap();
            assert_eq!(est.addr.ip().to_string(), "127.0.0.2");
            tokio::spawn(serve_lines(acc.clone(), est));
            assert_eq!(client.await.unwrap().as_deref(), Some("ok 1"));

            // The flood: beyond the per-source limit closed at once, the rest
            // after the handshake deadline; nothing was handed out.
            let open = flood.await.unwrap();
            assert!(open.len() > 8, "flood too small: {}", open.len());
            let t = Instant::now();
            for mut s in open {
                assert_closed(&mut s).await;
            }
            assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
            assert!(
                tokio::time::timeout(Duration::from_millis(200), inc.next())
                    .await
                    .is_err()
            );
        });
    }

    #[test]
    fn the_connector_rechecks_the_server_before_each_request() {
        // MedMij TLS-4 with TLS-3: on the client side too, a kept-open connection is
        // re-checked against the Whitelist and the OCSP cache in force before each request;
        // a server dropped from the Whitelist is refused, and the refusal logged.
        let f = Fixture::new();
        let Pair { sc, cli, .. } = known_pair(&f);
        let conn = connector(&cli);
        let peer = medmij_tls::PeerIdentity::from_peer_certificates(
            PeerRole::Server,
            &sc.chain,
            Some(SERVER),
        )
        .unwrap();
        let now = SystemTime::now();
        assert_eq!(conn.recheck(&peer, now), Ok(()));
        f.whitelist.replace([CLIENT]);
        assert!(
            matches!(
                conn.recheck(&peer, now),
                Err(Refusal::NotOnWhitelist { .. })
            ),
            "dropped from the Whitelist"
        );
        assert!(matches!(
            f.last_refusal(),
            (PeerRole::Server, Refusal::NotOnWhitelist { .. })
        ));
    }

    #[test]
    fn handshakes_are_admitted_up_to_the_limits_of_each_source_and_of_all() {
        // The limits behind `idle_connections_from_one_source_do_not_starve_a_proper_client`
        // (every connection is checked, MedMij TLS-3, TLS-4, but no source can hold all
        // places): at most `max_handshakes_per_source` connections from one address and
        // `max_handshakes` in all are between accept and the end of their checks; dropping a
        // permit frees its place.
        let f = Fixture::new();
        let Pair { srv, .. } = pair(&f);
        let limits = AdapterSettings {
            max_handshakes_per_source: 2,
            max_handshakes: 4,
            ..settings()
        };
        let acc = acceptor(&srv, limits);
        assert_eq!(*acc.settings(), limits);
        let from = |i: u8| SocketAddr::from(([127, 0, 0, i], 40_000));
        let a1 = acc.admit(from(1)).expect("source 1, first");
        let a2 = acc.admit(from(1)).expect("source 1, second");
        assert!(acc.admit(from(1)).is_none(), "source 1 at its limit");
        let b1 = acc.admit(from(2)).expect("source 2, first");
        let b2 = acc.admit(from(2)).expect("source 2, second");
        assert!(acc.admit(from(3)).is_none(), "all places taken");
        drop(b1);
        let c1 = acc.admit(from(3)).expect("a place freed");
        drop(a1);
        drop(b2);
        let a3 = acc.admit(from(1)).expect("a place of source 1 freed");
        assert!(
            acc.admit(from(1)).is_none(),
            "source 1 at its limit again, with room left in all"
        );
        assert!(acc.admit(from(2)).is_some(), "room left in all");
        drop((a2, a3, c1));
    }
}

mod config {
    use super::*;

    #[test]
    fn a_driver_on_another_cache_is_a_config_error() {
        // MedMij TLS-3: the driver must fill the cache the verifiers read.
        let f = Fixture::new();
        let s = side(&f, &f.issue(SERVER));
        let other = Arc::new(OcspDriver::new(&OcspChecker::new()));
        let err = MedmijAcceptor::new(&s.back, other.clone(), source(), settings()).unwrap_err();
        assert!(matches!(err, medmij_tls::ConfigError::OcspDriverMismatch));
        let err = MedmijConnector::new(&s.back, other, source(), settings()).unwrap_err();
        assert!(matches!(err, medmij_tls::ConfigError::OcspDriverMismatch));
    }
}

/// Stopping: dropping the stream of established connections closes the listener.
mod shutdown {
    use super::*;

    #[test]
    fn dropping_the_incoming_connections_stops_accepting() {
        // Both acceptors: once `Incoming` or `FrontIncoming` is dropped, the listener is
        // closed, so a new connection is refused.
        let f = Fixture::new();
        let Pair { srv, .. } = pair(&f);
        let own = || {
            medmij_tls::OwnCertificates::new(vec![f.issue(SERVER).own_certificate().unwrap()])
                .unwrap()
        };
        rt().block_on(async {
            let acc = acceptor(&srv, settings());
            let (inc, addr) = listen(&acc).await;
            assert!(TcpStream::connect(addr).await.is_ok(), "accepting");
            drop(inc);
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(TcpStream::connect(addr).await.is_err(), "stopped");

            let front = medmij_tls::FrontAcceptor::new(own(), settings()).unwrap();
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let inc = front.incoming(l);
            assert!(TcpStream::connect(addr).await.is_ok(), "front: accepting");
            drop(inc);
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(TcpStream::connect(addr).await.is_err(), "front: stopped");
        });
    }
}
