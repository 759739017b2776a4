//! A back-channel server and client on 127.0.0.1 with a generated test PKI, the
//! crate's OCSP responder and fetcher, and a Whitelist that changes at run time
//! (MedMij TLS-1, TLS-2, TLS-3, TLS-4). A synchronous host: its OCSP driver
//! prefetches the answers on the main thread before serving.
//!
//! Run: `cargo run -p medmij-tls --features test-pki --example loopback_mtls`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use medmij_tls::{
    BackChannel, BlockingOcspFetcher, OcspChecker, OcspDriver, OwnCertificates, RefusalEvent,
    SharedWhitelist,
};
use medmij_tls::{CertOptions, OcspResponder, TestPki};
use rustls::pki_types::ServerName;

const SERVER: &str = "za.gateway.example.nl";
const CLIENT: &str = "pgo.gateway.example.nl";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pki = Arc::new(TestPki::new("example")?);
    let responder = OcspResponder::start(pki.clone())?;
    let opts = CertOptions::with_ocsp(responder.url());
    let whitelist = Arc::new(SharedWhitelist::with_hostnames([SERVER, CLIENT]));
    let log = Arc::new(|ev: &RefusalEvent| {
        eprintln!("refused {:?} {:?}: {}", ev.peer, ev.peer_names, ev.refusal)
    });
    // MedMij TLS-3: the verifiers read only the OCSP cache; the driver fills it.
    let ocsp = OcspChecker::new();
    let driver = OcspDriver::new(&ocsp);
    let node = |name: &str| -> Result<BackChannel, Box<dyn std::error::Error>> {
        let cert = pki.issue(&[name], &opts)?;
        driver.watch_chain(&cert.chain)?;
        Ok(BackChannel::new(
            pki.trust_anchors()?,
            whitelist.clone(),
            OwnCertificates::new(vec![cert.own_certificate()?])?,
        )
        .with_ocsp(ocsp.clone())
        .refusal_log(log.clone()))
    };
    let server = Arc::new(node(SERVER)?.server_config()?);
    let client = Arc::new(node(CLIENT)?.client_config()?);
    driver.refresh_blocking(&BlockingOcspFetcher::new()?, std::time::SystemTime::now());

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let srv = std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((sock, _)) = listener.accept() else {
                return;
            };
            let Ok(conn) = rustls::ServerConnection::new(server.clone()) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut buf = [0u8; 64];
            match tls.read(&mut buf) {
                Ok(n) => {
                    let _ = tls.write_all(&buf[..n]);
                    let _ = tls.flush();
                }
                Err(e) => eprintln!("server: {e}"),
            }
        }
    });

    let call = || -> Result<String, Box<dyn std::error::Error>> {
        let sock = TcpStream::connect(("127.0.0.1", port))?;
        let conn = rustls::ClientConnection::new(client.clone(), ServerName::try_from(SERVER)?)?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        tls.write_all(b"hello")?;
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    println!("listed:     {:?}", call().map_err(|e| e.to_string()));
    whitelist.replace([SERVER]); // a new Whitelist version without the client
    println!("not listed: {:?}", call().map_err(|e| e.to_string()));
    let _ = srv.join();
    Ok(())
}
