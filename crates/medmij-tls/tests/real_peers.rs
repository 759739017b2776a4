//! Handshakes against real peers on 127.0.0.1: `openssl s_server`, `openssl
//! s_client`, `curl`, and a real `openssl ocsp` responder (MedMij TLS-1, TLS-2, TLS-3, TLS-4).
//!
//! These tests need the `openssl` and `curl` binaries and FAIL (never skip) when
//! they are missing. Every child process is killed when its test ends.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{CLIENT, ChildGuard, Fixture, SERVER, free_port, write};
use medmij_tls::{
    BackChannel, OcspFailure, OwnCertificates, PeerRole, Refusal, front_channel_server_config,
};
use medmij_tls::{CertOptions, IssuedCert, TestPki};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};

fn need(bin: &str) {
    let ok = Command::new(bin)
        .arg(if bin == "curl" {
            "--version"
        } else {
            "version"
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the real-peer tests need `{bin}` on PATH (Debian: apt-get install {bin}); it is missing"
    );
}

fn wait_port(port: u16, child: &mut ChildGuard) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.0.try_wait() {
            panic!("child exited early: {st}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on port {port}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// A real `openssl ocsp` responder for `pki` on 127.0.0.1:`port`, signing as
/// (cert, key), answering from an OpenSSL index file.
///
/// OpenSSL 3.0's `openssl ocsp -port N` takes only a port number and listens on
/// every interface ([::]); the tests may use loopback only. So the HTTP side is a
/// loopback listener here, and each request is answered by running the real
/// responder, `openssl ocsp -index ... -rsigner ... -reqin REQ -respout RESP`.
struct OpensslOcsp {
    stop: Arc<std::sync::atomic::AtomicBool>,
    port: u16,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for OpensslOcsp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_http_body(c: &mut TcpStream) -> Option<Vec<u8>> {
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = c.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Some(buf[end + 4..end + 4 + len].to_vec());
            }
        }
    }
}

fn openssl_ocsp(
    dir: &Path,
    pki: &TestPki,
    port: u16,
    good: &[&IssuedCert],
    revoked: &[&IssuedCert],
    signer: Option<(&str, &str)>,
) -> OpensslOcsp {
    need("openssl");
    let mut index = String::new();
    for c in good {
        index += &format!(
            "V\t491231235959Z\t\t{0}\tunknown\t/CN=good-{0}\n",
            hex(&c.serial)
        );
    }
    for c in revoked {
        index += &format!(
            "R\t491231235959Z\t240101000000Z\t{0}\tunknown\t/CN=revoked-{0}\n",
            hex(&c.serial)
        );
    }
    let index = write(dir, &format!("index-{port}.txt"), &index);
    let ca = write(dir, "int.pem", pki.intermediate_pem());
    let (rcert, rkey) = match signer {
        Some((c, k)) => (
            write(dir, &format!("rsigner-{port}.pem"), c),
            write(dir, &format!("rkey-{port}.pem"), k),
        ),
        None => (
            ca.clone(),
            write(dir, "int.key", &pki.intermediate_key_pem()),
        ),
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind OCSP port");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let st = stop.clone();
    let dir = dir.to_owned();
    let thread = std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            if st.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            let Ok(mut c) = conn else { continue };
            let Some(req) = read_http_body(&mut c) else {
                continue;
            };
            let reqin = dir.join(format!("req-{port}-{n}.der"));
            let respout = dir.join(format!("resp-{port}-{n}.der"));
            std::fs::write(&reqin, req).unwrap();
            let out = Command::new("openssl")
                .arg("ocsp")
                .arg("-index")
                .arg(&index)
                .arg("-CA")
                .arg(&ca)
                .arg("-rsigner")
                .arg(&rcert)
                .arg("-rkey")
                .arg(&rkey)
                .args(["-nmin", "60", "-reqin"])
                .arg(&reqin)
                .arg("-respout")
                .arg(&respout)
                .output()
                .expect("run openssl ocsp");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let resp = std::fs::read(&respout).unwrap();
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\n\r\n",
                resp.len()
            );
            let _ = c.write_all(head.as_bytes());
            let _ = c.write_all(&resp);
        }
    });
    OpensslOcsp {
        stop,
        port,
        thread: Some(thread),
    }
}

/// Serve TLS on a loopback port with `cfg`; each handshake's outcome (the first
/// request line, or the rustls error) is sent on the channel.
struct RustlsServer {
    port: u16,
    rx: mpsc::Receiver<Result<String, String>>,
}

fn serve(cfg: ServerConfig, connections: usize) -> RustlsServer {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let cfg = Arc::new(cfg);
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((sock, _)) = l.accept() else { return };
            sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
            let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            let res = answer(&mut rustls::StreamOwned::new(conn, sock));
            if tx.send(res).is_err() {
                return;
            }
        }
    });
    RustlsServer { port, rx }
}

/// Read one HTTP request on `tls` (handshake included), answer "ok" and close:
/// the request line, or the error that ended the connection first.
fn answer(
    tls: &mut rustls::StreamOwned<rustls::ServerConnection, TcpStream>,
) -> Result<String, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match tls.read(&mut chunk) {
            Ok(0) => return Err("closed before request".to_string()),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let line = String::from_utf8_lossy(&buf)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tls.write_all(
                        b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                    return Ok(line);
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

impl RustlsServer {
    fn outcome(&self) -> Result<String, String> {
        self.rx
            .recv_timeout(Duration::from_secs(20))
            .expect("server saw a connection")
    }
}

/// Connect with a rustls client config to 127.0.0.1:port as `name`, send a GET.
fn rustls_get(cfg: ClientConfig, port: u16, name: &str) -> Result<String, String> {
    let sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let conn = rustls::ClientConnection::new(
        Arc::new(cfg),
        ServerName::try_from(name.to_owned()).unwrap(),
    )
    .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Err(e) if !out.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn s_client(
    port: u16,
    args: &[&str],
    dir: &Path,
    client: Option<&IssuedCert>,
    ca: &Path,
) -> Output {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", SERVER, "-verify_return_error", "-CAfile"])
        .arg(ca)
        .args(args);
    if let Some(c) = client {
        cmd.arg("-cert")
            .arg(write(dir, "s_client.pem", &c.cert_pem))
            .arg("-cert_chain")
            .arg(write(dir, "s_client-chain.pem", &c.chain_pem))
            .arg("-key")
            .arg(write(dir, "s_client.key", &c.key_pem));
    }
    let mut child = ChildGuard(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start openssl s_client"),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    let _ = stdin.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        let buf = Arc::new(std::sync::Mutex::new(String::new()));
        let b = buf.clone();
        let t = std::thread::spawn(move || {
            if let Some(mut p) = pipe {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = p.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    b.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            }
        });
        (buf, t)
    };
    let (out, out_t) = collect(
        child
            .0
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let (err, err_t) = collect(
        child
            .0
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    // Keep stdin open (EOF ends s_client) until the handshake is over or failed.
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline
        && !out.lock().unwrap().contains("Verify return code")
        && !matches!(child.0.try_wait(), Ok(Some(_)))
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    drop(stdin);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.0.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.0.kill();
    let status = child.0.wait().unwrap();
    let _ = (out_t.join(), err_t.join());
    let out = out.lock().unwrap().clone();
    let err = err.lock().unwrap().clone();
    Output {
        status,
        stdout: out.into_bytes(),
        stderr: err.into_bytes(),
    }
}

struct Env {
    f: Fixture,
    dir: tempfile::TempDir,
    ca: PathBuf,
    ocsp_port: u16,
    server: IssuedCert,
    client: IssuedCert,
}

/// A PKI whose certificates name a real `openssl ocsp` responder (started by the
/// caller on `ocsp_port`).
fn env() -> Env {
    need("openssl");
    let f = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "root.pem", f.pki.root_pem());
    let ocsp_port = free_port();
    let opts = CertOptions::with_ocsp(&format!("http://127.0.0.1:{ocsp_port}/"));
    let server = f.pki.issue(&[SERVER], &opts).unwrap();
    let client = f.pki.issue(&[CLIENT], &opts).unwrap();
    Env {
        f,
        dir,
        ca,
        ocsp_port,
        server,
        client,
    }
}

impl Env {
    /// A node presenting `cert`; the host's OCSP driver has already fetched
    /// the answers for both test certificates (MedMij TLS-3: the verifier
    /// reads only the cache), so start the responder first.
    fn node(&self, cert: &IssuedCert) -> BackChannel {
        self.f.driver.watch_chain(&self.server.chain).unwrap();
        self.f.driver.watch_chain(&self.client.chain).unwrap();
        self.f.driver.refresh_all_now();
        self.f.refresh();
        self.f.node(cert)
    }

    /// A real `openssl ocsp` responder on `ocsp_port` (see [`openssl_ocsp`]).
    fn ocsp(
        &self,
        good: &[&IssuedCert],
        revoked: &[&IssuedCert],
        signer: Option<(&str, &str)>,
    ) -> OpensslOcsp {
        openssl_ocsp(
            self.dir.path(),
            &self.f.pki,
            self.ocsp_port,
            good,
            revoked,
            signer,
        )
    }

    /// [`Env::ocsp`] answering "good" for both test certificates.
    fn good_ocsp(&self) -> OpensslOcsp {
        self.ocsp(&[&self.server, &self.client], &[], None)
    }

    /// Our client (a [`Env::node`] presenting the client certificate) sends a
    /// GET to 127.0.0.1:`port` as [`SERVER`].
    fn get(&self, port: u16) -> Result<String, String> {
        rustls_get(
            self.node(&self.client).client_config().unwrap(),
            port,
            SERVER,
        )
    }

    /// Our server (a [`Env::node`] presenting the server certificate) on a
    /// loopback port for `connections` connections.
    fn serve(&self, connections: usize) -> RustlsServer {
        serve(
            self.node(&self.server).server_config().unwrap(),
            connections,
        )
    }

    /// `openssl s_client` to 127.0.0.1:`port` with this PKI's root, as
    /// `client` if given.
    fn s_client(&self, port: u16, args: &[&str], client: Option<&IssuedCert>) -> Output {
        s_client(port, args, self.dir.path(), client, &self.ca)
    }

    fn s_server(&self) -> (ChildGuard, u16) {
        self.s_server_with(&[])
    }

    fn s_server_with(&self, extra: &[&str]) -> (ChildGuard, u16) {
        let port = free_port();
        let d = self.dir.path();
        let child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(write(d, "srv.pem", &self.server.cert_pem))
            .arg("-cert_chain")
            .arg(write(d, "srv-int.pem", self.f.pki.intermediate_pem()))
            .arg("-key")
            .arg(write(d, "srv.key", &self.server.key_pem))
            .arg("-CAfile")
            .arg(&self.ca)
            .args(["-Verify", "2", "-verify_return_error", "-www"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let mut g = ChildGuard(child);
        wait_port(port, &mut g);
        (g, port)
    }
}

fn scan(port: u16, ca: &Path, client: Option<(&Path, &Path, &Path)>) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/scan_profile.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script).arg(port.to_string()).arg(SERVER).arg(ca);
    if let Some((c, k, chain)) = client {
        cmd.arg(c).arg(k).arg(chain);
    }
    let out = cmd.output().expect("run scan_profile.sh");
    assert!(
        out.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn expected_profile() -> Vec<String> {
    let mut v: Vec<String> = [
        "VERSION tls1_2",
        "VERSION tls1_3",
        "SUITE tls1_2 ECDHE-ECDSA-AES256-GCM-SHA384",
        "SUITE tls1_2 ECDHE-RSA-AES256-GCM-SHA384",
        "SUITE tls1_2 ECDHE-ECDSA-CHACHA20-POLY1305",
        "SUITE tls1_2 ECDHE-RSA-CHACHA20-POLY1305",
        "SUITE tls1_2 ECDHE-ECDSA-AES128-GCM-SHA256",
        "SUITE tls1_2 ECDHE-RSA-AES128-GCM-SHA256",
        "SUITE tls1_3 TLS_AES_256_GCM_SHA384",
        "SUITE tls1_3 TLS_CHACHA20_POLY1305_SHA256",
        "SUITE tls1_3 TLS_AES_128_GCM_SHA256",
        "GROUP tls1_2 X25519",
        "GROUP tls1_2 P-256",
        "GROUP tls1_2 P-384",
        "GROUP tls1_3 X25519",
        "GROUP tls1_3 P-256",
        "GROUP tls1_3 P-384",
        "PREFER ECDHE-ECDSA-AES256-GCM-SHA384",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.sort();
    v
}

/// Own certificates with an ECDSA and an RSA key side by side, so that every
/// TLS 1.2 suite of the profile can be negotiated.
fn ecdsa_and_rsa(e: &Env, name: &str) -> Vec<medmij_tls::OwnCertificate> {
    let key = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl genpkey");
    assert!(key.status.success());
    let rsa =
        e.f.pki
            .issue_with_key(
                &[name],
                &CertOptions::with_ocsp(e.f.responder.url()),
                &String::from_utf8_lossy(&key.stdout),
            )
            .unwrap();
    let ecdsa =
        e.f.pki
            .issue(&[name], &CertOptions::with_ocsp(e.f.responder.url()))
            .unwrap();
    vec![
        ecdsa.own_certificate().unwrap(),
        rsa.own_certificate().unwrap(),
    ]
}

/// MedMij TLS-1: versions, suites and groups; the key-exchange group is the
/// server's choice, whatever order the client offers; ffdhe is never negotiated.
mod tls_1 {
    use super::*;
    use medmij_tls::ServerConfigs;

    /// Serve with `configs`, choosing the config per ClientHello (rustls'
    /// `Acceptor`), as the tokio adapter does.
    fn serve_preferring(configs: ServerConfigs, connections: usize) -> RustlsServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..connections {
                let Ok((mut sock, _)) = l.accept() else {
                    return;
                };
                sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
                let res = (|| {
                    let mut acceptor = rustls::server::Acceptor::default();
                    let accepted = loop {
                        acceptor.read_tls(&mut sock).map_err(|e| e.to_string())?;
                        if let Some(a) = acceptor.accept().map_err(|(e, _)| e.to_string())? {
                            break a;
                        }
                    };
                    let cfg = configs.for_client_hello(&accepted.client_hello());
                    let conn = accepted
                        .into_connection(cfg)
                        .map_err(|(e, _)| e.to_string())?;
                    let mut tls = rustls::StreamOwned::new(conn, sock);
                    answer(&mut tls)?;
                    // The group the handshake settled, as the outcome.
                    Ok(tls
                        .conn
                        .negotiated_key_exchange_group()
                        .map(|g| format!("{:?}", g.name()))
                        .unwrap_or_default())
                })();
                if tx.send(res).is_err() {
                    return;
                }
            }
        });
        RustlsServer { port, rx }
    }

    /// What `openssl s_client` says it negotiated ("Server Temp Key" line).
    fn temp_key(out: &Output) -> String {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("Server Temp Key: "))
            .unwrap_or("none")
            .to_string()
    }

    fn check_orders(srv: &RustlsServer, e: &Env, client: Option<&IssuedCert>) {
        for (version, groups, want_openssl, want_rustls) in [
            ("-tls1_3", "X25519:P-384", "384 bits", "secp384r1"),
            ("-tls1_3", "P-256:P-384:X25519", "384 bits", "secp384r1"),
            ("-tls1_3", "ffdhe2048:P-256:X25519", "X25519", "X25519"),
            (
                "-tls1_3",
                "ffdhe3072:ffdhe4096:P-256",
                "256 bits",
                "secp256r1",
            ),
            ("-tls1_2", "X25519:P-256:P-384", "384 bits", "secp384r1"),
            ("-tls1_2", "P-256:X25519", "X25519", "X25519"),
        ] {
            let out = e.s_client(srv.port, &[version, "-groups", groups], client);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains("Verify return code: 0 (ok)"),
                "{version} {groups}: {stdout}"
            );
            let key = temp_key(&out);
            assert!(key.contains(want_openssl), "{version} {groups}: {key}");
            assert_eq!(
                srv.outcome(),
                Ok(want_rustls.to_string()),
                "{version} {groups}"
            );
        }
    }

    #[test]
    fn front_channel_group_is_the_servers_choice_whatever_the_client_order() {
        need("openssl");
        let e = env();
        let cfgs = medmij_tls::front_channel_server_configs(
            OwnCertificates::new(vec![e.server.own_certificate().unwrap()]).unwrap(),
        )
        .unwrap();
        let srv = serve_preferring(cfgs, 6);
        check_orders(&srv, &e, None);
    }

    #[test]
    fn back_channel_group_is_the_servers_choice_whatever_the_client_order() {
        need("openssl");
        let e = env();
        let _ocsp = e.good_ocsp();
        let cfgs = e.node(&e.server).server_configs().unwrap();
        let srv = serve_preferring(cfgs, 6);
        check_orders(&srv, &e, Some(&e.client));
    }

    #[test]
    fn ffdhe_only_clients_are_refused_on_both_channels() {
        need("openssl");
        let e = env();
        let front = medmij_tls::front_channel_server_configs(
            OwnCertificates::new(vec![e.server.own_certificate().unwrap()]).unwrap(),
        )
        .unwrap();
        let back = e.node(&e.server).server_configs().unwrap();
        for cfgs in [front, back] {
            let srv = serve_preferring(cfgs, 2);
            for version in ["-tls1_3", "-tls1_2"] {
                let out = e.s_client(
                    srv.port,
                    &[version, "-groups", "ffdhe2048:ffdhe3072:ffdhe4096"],
                    Some(&e.client),
                );
                assert!(!out.status.success(), "{version}: connected");
                let err = srv.outcome().unwrap_err();
                assert!(
                    err.contains("PeerIncompatible") || err.contains("peer is incompatible"),
                    "{version}: {err}"
                );
            }
        }
    }

    #[test]
    fn back_channel_refuses_tls11_and_cbc_only_clients() {
        // MedMij TLS-1: nothing below "good" on the back channel.
        let e = env();
        let _ocsp = e.good_ocsp();
        let srv = e.serve(3);
        for args in [
            &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"][..],
            &[
                "-tls1_2",
                "-cipher",
                "ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0",
            ][..],
            &[
                "-tls1_2",
                "-cipher",
                "AES256-GCM-SHA384:AES128-GCM-SHA256:@SECLEVEL=0",
            ][..],
        ] {
            let out = e.s_client(srv.port, args, Some(&e.client));
            assert!(!out.status.success(), "{args:?} connected");
            let err = srv.outcome().unwrap_err();
            assert!(
                err.contains("PeerIncompatible") || err.contains("peer is incompatible"),
                "{args:?}: {err}"
            );
        }
    }

    #[test]
    fn back_channel_profile_offers_exactly_the_intended_set() {
        // MedMij TLS-1: per version, suite and group, with `openssl s_client`.
        let e = env();
        let client =
            e.f.pki
                .issue(&[CLIENT], &CertOptions::with_ocsp(e.f.responder.url()))
                .unwrap();
        let back = BackChannel::new(
            e.f.pki.trust_anchors().unwrap(),
            e.f.whitelist.clone(),
            OwnCertificates::new(ecdsa_and_rsa(&e, SERVER)).unwrap(),
        )
        .with_ocsp(e.f.ocsp.clone())
        .refusal_log(e.f.log());
        e.f.driver.watch_chain(&client.chain).unwrap();
        assert_eq!(e.f.refresh(), 1);
        let srv = serve(back.server_config().unwrap(), usize::MAX);
        let d = e.dir.path();
        let got = scan(
            srv.port,
            &e.ca,
            Some((
                &write(d, "scan.pem", &client.cert_pem),
                &write(d, "scan.key", &client.key_pem),
                &write(d, "scan-chain.pem", &client.chain_pem),
            )),
        );
        assert_eq!(got, expected_profile(), "refusals: {:?}", e.f.refusals());
    }
}

/// MedMij TLS-3: chain, validity, key usage and OCSP (hard fail).
mod tls_3 {
    use super::*;

    #[test]
    fn rustls_client_uses_the_staple_of_openssl_s_server() {
        // MedMij TLS-3: a stapled answer (`s_server -status_file`) is used; this client
        // has no OCSP source, so only the staple can satisfy it.
        let e = env();
        let now = std::time::SystemTime::now();
        let staple =
            e.f.pki
                .ocsp_response(
                    &e.server.serial,
                    medmij_tls::TestStatus::Good,
                    now,
                    Some(now + Duration::from_secs(3600)),
                    medmij_tls::OcspSigner::Issuer,
                )
                .unwrap();
        let staple_file = e.dir.path().join("staple.der");
        std::fs::write(&staple_file, staple).unwrap();
        let (_srv, port) = e.s_server_with(&["-status_file", staple_file.to_str().unwrap()]);
        let client = e.f.bare_node(e.client.own_certificate().unwrap());
        let page = rustls_get(client.client_config().unwrap(), port, SERVER).unwrap();
        assert!(page.contains("200 ok"), "{page}");

        // The client cached the staple it checked; a client that never saw one
        // refuses the same server without a staple: no validation result.
        let (_srv2, port2) = e.s_server();
        let fresh = client.with_ocsp(medmij_tls::OcspChecker::new());
        let err = rustls_get(fresh.client_config().unwrap(), port2, SERVER).unwrap_err();
        assert!(err.contains("UnknownRevocationStatus"), "{err}");
    }

    #[test]
    fn rustls_client_refuses_revoked_openssl_s_server() {
        // MedMij TLS-3: `openssl ocsp` says revoked.
        let e = env();
        let _ocsp = e.ocsp(&[&e.client], &[&e.server], None);
        let (_srv, port) = e.s_server();
        let err = e.get(port).unwrap_err();
        assert!(err.contains("Revoked"), "{err}");
        assert!(matches!(
            e.f.last_refusal(),
            (PeerRole::Server, Refusal::Ocsp(OcspFailure::Revoked { .. }))
        ));
    }

    #[test]
    fn rustls_client_refuses_openssl_ocsp_signed_by_wrong_responder() {
        // MedMij TLS-3: a responder of another CA signs the answer.
        let e = env();
        let other = TestPki::new("other").unwrap();
        let r = other.issue_ocsp_responder(true).unwrap();
        let _ocsp = e.ocsp(
            &[&e.server, &e.client],
            &[],
            Some((&r.cert_pem, &r.key_pem)),
        );
        let (_srv, port) = e.s_server();
        let err = e.get(port).unwrap_err();
        assert!(err.contains("InvalidOcspResponse"), "{err}");
        assert!(matches!(
            e.f.last_refusal().1,
            Refusal::Ocsp(OcspFailure::UnauthorisedSigner(_))
        ));
    }

    #[test]
    fn rustls_client_refuses_when_openssl_ocsp_is_down() {
        // MedMij TLS-3: no answer at all refuses.
        let e = env();
        let (_srv, port) = e.s_server();
        let err = e.get(port).unwrap_err();
        assert!(err.contains("UnknownRevocationStatus"), "{err}");
    }

    #[test]
    fn rustls_server_refuses_revoked_openssl_client() {
        let e = env();
        let _ocsp = e.ocsp(&[&e.server], &[&e.client], None);
        let srv = e.serve(1);
        let out = e.s_client(srv.port, &[], Some(&e.client));
        let err = srv.outcome().unwrap_err();
        assert!(err.contains("Revoked"), "{err}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains("certificate revoked"), "{all}");
    }

    #[test]
    fn rustls_server_refuses_expired_openssl_client() {
        // MedMij TLS-3: validity period, OpenSSL as the client.
        let e = env();
        let now = std::time::SystemTime::now();
        let day = Duration::from_secs(86_400);
        let expired =
            e.f.pki
                .issue(
                    &[CLIENT],
                    &CertOptions {
                        not_before: now - 10 * day,
                        not_after: now - day,
                        ..CertOptions::default()
                    },
                )
                .unwrap();
        let srv = e.serve(1);
        let _ = e.s_client(srv.port, &[], Some(&expired));
        let err = srv.outcome().unwrap_err();
        assert!(err.contains("Expired"), "{err}");
    }
}

/// MedMij TLS-4: the Whitelist and the peer's DNS name.
mod tls_4 {
    use super::*;

    #[test]
    fn rustls_client_to_openssl_s_server_with_openssl_ocsp() {
        // MedMij TLS-2, TLS-3, TLS-4: our client against OpenSSL's server, OCSP from `openssl ocsp`.
        let e = env();
        let _ocsp = e.good_ocsp();
        let (_srv, port) = e.s_server();
        let page = e.get(port).unwrap();
        assert!(page.contains("200 ok"), "{page}");
        assert!(e.f.refusals().is_empty());

        // MedMij TLS-4: the same server, no longer on the Whitelist, is refused.
        e.f.whitelist.replace([CLIENT]);
        let err = e.get(port).unwrap_err();
        assert!(err.contains("ApplicationVerificationFailure"), "{err}");
        assert!(matches!(
            e.f.last_refusal(),
            (PeerRole::Server, Refusal::NotOnWhitelist { .. })
        ));
    }

    #[test]
    fn openssl_s_client_to_rustls_server() {
        // MedMij TLS-2, TLS-3, TLS-4: OpenSSL as the client; our server checks its certificate
        // against `openssl ocsp` and the Whitelist, also after a Whitelist update.
        need("openssl");
        let e = env();
        let _ocsp = e.good_ocsp();
        let srv = e.serve(2);
        let out = e.s_client(srv.port, &[], Some(&e.client));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("Verify return code: 0 (ok)"), "{stdout}");
        assert_eq!(srv.outcome(), Ok("GET / HTTP/1.0".to_string()));

        // MedMij TLS-4, LISTS-8: new list version without the client.
        e.f.whitelist.replace([SERVER]);
        let _ = e.s_client(srv.port, &[], Some(&e.client));
        let err = srv.outcome().unwrap_err();
        assert!(err.contains("ApplicationVerificationFailure"), "{err}");
    }

    #[test]
    fn curl_to_rustls_server() {
        // MedMij TLS-2, TLS-3, TLS-4 with curl as the client, good and not whitelisted.
        need("curl");
        let e = env();
        let _ocsp = e.good_ocsp();
        let rogue =
            e.f.pki
                .issue(
                    &["rogue.gateway.example.nl"],
                    &CertOptions::with_ocsp(&format!("http://127.0.0.1:{}/", e.ocsp_port)),
                )
                .unwrap();
        let srv = e.serve(2);
        let d = e.dir.path();
        let curl = |c: &IssuedCert, tag: &str| {
            Command::new("curl")
                .args(["-sS", "--max-time", "15", "--cacert"])
                .arg(&e.ca)
                .arg("--cert")
                .arg(write(d, &format!("curl-{tag}.pem"), &c.chain_pem))
                .arg("--key")
                .arg(write(d, &format!("curl-{tag}.key"), &c.key_pem))
                .args([
                    "--resolve",
                    &format!("{SERVER}:{}:127.0.0.1", srv.port),
                    &format!("https://{SERVER}:{}/", srv.port),
                ])
                .output()
                .expect("run curl")
        };
        let out = curl(&e.client, "good");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
        assert!(srv.outcome().is_ok());

        let out = curl(&rogue, "rogue");
        assert!(!out.status.success());
        assert!(
            srv.outcome()
                .unwrap_err()
                .contains("ApplicationVerificationFailure")
        );
        assert!(matches!(
            e.f.last_refusal().1,
            Refusal::NotOnWhitelist { .. }
        ));
    }
}

/// MedMij TLS-6: the front channel "good" only.
mod tls_6 {
    use super::*;

    #[test]
    fn front_channel_profile_offers_the_good_set_and_nothing_else() {
        // MedMij TLS-6: the front channel offers exactly the back channel's "good"
        // set: no DHE-RSA suites, no ffdhe groups, no CBC, no TLS 1.1.
        let e = env();
        let srv = serve(
            front_channel_server_config(OwnCertificates::new(ecdsa_and_rsa(&e, SERVER)).unwrap())
                .unwrap(),
            usize::MAX,
        );
        let got = scan(srv.port, &e.ca, None);
        assert_eq!(got, expected_profile());
    }
}
