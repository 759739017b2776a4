//! Shared fixtures for the medmij-tls integration tests.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use medmij_tls::{
    BackChannel, BlockingOcspFetcher, OcspChecker, OcspDriver, OcspPolicy, OwnCertificate,
    OwnCertificates, PeerRole, Refusal, RefusalEvent, RefusalLog, SharedWhitelist, Whitelist,
};
use medmij_tls::{CertOptions, IssuedCert, OcspResponder, TestPki};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};

pub const SERVER: &str = "za.gateway.example.nl";
pub const CLIENT: &str = "pgo.gateway.example.nl";

pub struct Fixture {
    pub pki: Arc<TestPki>,
    pub responder: OcspResponder,
    pub whitelist: Arc<SharedWhitelist>,
    pub log: Arc<Mutex<Vec<RefusalEvent>>>,
    /// The OCSP checker (cache, pending first contacts) every node of the
    /// fixture shares, and the host-driven driver filling it (MedMij TLS-3).
    pub ocsp: OcspChecker,
    pub driver: OcspDriver,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_pki(TestPki::new("fixture").expect("test PKI"))
    }

    /// A fixture on a PKIoverheid Private Services-shaped (G1) test PKI, for
    /// the 2.x profile (MedMij TLS-6).
    pub fn g1() -> Self {
        Self::with_pki(TestPki::new_g1("fixture").expect("G1 test PKI"))
    }

    pub fn with_pki(pki: TestPki) -> Self {
        let pki = Arc::new(pki);
        let responder = OcspResponder::start(pki.clone()).expect("OCSP responder");
        let ocsp = OcspChecker::new().with_policy(OcspPolicy {
            timeout: Duration::from_secs(2),
            ..OcspPolicy::default()
        });
        let driver = OcspDriver::new(&ocsp);
        Self {
            ocsp,
            driver,
            pki,
            responder,
            whitelist: Arc::new(SharedWhitelist::with_hostnames([SERVER, CLIENT])),
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn opts(&self) -> CertOptions {
        CertOptions::with_ocsp(self.responder.url())
    }

    pub fn issue(&self, name: &str) -> IssuedCert {
        self.pki.issue(&[name], &self.opts()).expect("issue")
    }

    pub fn log(&self) -> RefusalLog {
        let log = self.log.clone();
        Arc::new(move |ev: &RefusalEvent| log.lock().unwrap().push(ev.clone()))
    }

    pub fn refusals(&self) -> Vec<RefusalEvent> {
        self.log.lock().unwrap().clone()
    }

    /// A back channel for a node presenting `cert`, with OCSP over HTTP.
    pub fn node(&self, cert: &IssuedCert) -> BackChannel {
        self.node_with(cert, self.whitelist.clone())
    }

    pub fn node_with(&self, cert: &IssuedCert, whitelist: Arc<dyn Whitelist>) -> BackChannel {
        BackChannel::new(
            self.pki.trust_anchors().unwrap(),
            whitelist,
            OwnCertificates::new(vec![cert.own_certificate().unwrap()]).unwrap(),
        )
        .with_ocsp(self.ocsp.clone())
        .refusal_log(self.log())
    }

    /// A back channel presenting `own` on the fixture's anchors and Whitelist,
    /// with no OCSP source of its own and no refusal log (the caller adds what
    /// the test needs).
    pub fn bare_node(&self, own: OwnCertificate) -> BackChannel {
        BackChannel::new(
            self.pki.trust_anchors().unwrap(),
            self.whitelist.clone(),
            OwnCertificates::new(vec![own]).unwrap(),
        )
    }

    /// Two good nodes, `(client, server)`, presenting fresh certificates for
    /// `client` and `server` (the server's issued first).
    pub fn nodes(&self, client: &str, server: &str) -> (BackChannel, BackChannel) {
        let server = self.node(&self.issue(server));
        let client = self.node(&self.issue(client));
        (client, server)
    }

    /// The rustls configs of a client and a server back channel.
    pub fn configs(
        &self,
        client: &BackChannel,
        server: &BackChannel,
    ) -> (ClientConfig, ServerConfig) {
        (
            client.client_config().unwrap(),
            server.server_config().unwrap(),
        )
    }

    /// [`Fixture::handshake`] between the configs of two back channels.
    pub fn connect(&self, client: &BackChannel, server: &BackChannel, name: &str) -> Outcome {
        let (cc, sc) = self.configs(client, server);
        self.handshake(&cc, &sc, name)
    }

    /// The role and refusal of the last logged refusal event.
    pub fn last_refusal(&self) -> (PeerRole, Refusal) {
        let r = self.refusals();
        let ev = r.last().expect("a refusal was logged");
        (ev.peer, ev.refusal.clone())
    }

    /// Run the OCSP driver's due jobs on this thread, as a host without an
    /// async runtime does; how many ran.
    pub fn refresh(&self) -> usize {
        self.driver
            .refresh_blocking(&BlockingOcspFetcher::new().unwrap(), SystemTime::now())
    }

    /// A handshake as a synchronous host sees it (MedMij TLS-3): a first
    /// contact is refused (no OCSP answer yet, recorded as pending), the
    /// host's driver fetches the answer, the peer retries; the outcome of the
    /// last attempt, with the refusals of the earlier ones dropped from the log.
    pub fn handshake(&self, client: &ClientConfig, server: &ServerConfig, name: &str) -> Outcome {
        let start = self.log.lock().unwrap().len();
        let mut o = handshake(client, server, name);
        for _ in 0..2 {
            if self.refresh() == 0 {
                break;
            }
            self.log.lock().unwrap().truncate(start);
            o = handshake(client, server, name);
        }
        o
    }
}

/// Kills and reaps a child process (a real peer) when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nothing listens on (just now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An OCSP URL on a loopback port nothing listens on (a responder that is down).
pub fn dead_ocsp_url() -> String {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    url
}

/// Write `data` to `dir`/`name` (a PEM file for a real peer); its path.
pub fn write(dir: &Path, name: &str, data: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// The certificate error in a side's handshake error, if that is what it is.
pub fn cert_err(e: &Option<rustls::Error>) -> Option<rustls::CertificateError> {
    match e {
        Some(rustls::Error::InvalidCertificate(c)) => Some(c.clone()),
        _ => None,
    }
}

/// The alert a side received, if its handshake error is one.
pub fn alert(e: &Option<rustls::Error>) -> Option<rustls::AlertDescription> {
    match e {
        Some(rustls::Error::AlertReceived(a)) => Some(*a),
        _ => None,
    }
}

/// Outcome of an in-memory handshake: the errors each side saw.
#[derive(Debug)]
pub struct Outcome {
    pub client: Option<rustls::Error>,
    pub server: Option<rustls::Error>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.client.is_none() && self.server.is_none()
    }
}

/// Run a full handshake (and one application-data round trip) between rustls
/// client and server in memory.
pub fn handshake(client: &ClientConfig, server: &ServerConfig, name: &str) -> Outcome {
    let mut c = ClientConnection::new(
        Arc::new(client.clone()),
        ServerName::try_from(name.to_owned()).unwrap(),
    )
    .unwrap();
    let mut s = ServerConnection::new(Arc::new(server.clone())).unwrap();
    let mut out = Outcome {
        client: None,
        server: None,
    };
    use std::io::Write;
    let _ = c.writer().write_all(b"ping");
    for _ in 0..30 {
        let mut moved = false;
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            moved = true;
            let mut rd = &buf[..];
            while !rd.is_empty() {
                if s.read_tls(&mut rd).unwrap() == 0 {
                    break;
                }
                if let Err(e) = s.process_new_packets() {
                    out.server.get_or_insert(e);
                    break;
                }
            }
        }
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            moved = true;
            let mut rd = &buf[..];
            while !rd.is_empty() {
                if c.read_tls(&mut rd).unwrap() == 0 {
                    break;
                }
                if let Err(e) = c.process_new_packets() {
                    out.client.get_or_insert(e);
                    break;
                }
            }
        }
        if !moved {
            break;
        }
    }
    if out.ok() {
        let mut got = [0u8; 4];
        use std::io::Read;
        match s.reader().read_exact(&mut got) {
            Ok(()) if &got == b"ping" => {}
            other => {
                out.server = Some(rustls::Error::General(format!(
                    "no application data: {other:?}"
                )))
            }
        }
    }
    out
}
