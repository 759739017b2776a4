//! The front door: how a real browser reaches the demo's front channel.
//!
//! Front-channel URIs carry no port (MedMij LISTS-3) and the demo's host names
//! are not in DNS, so a browser cannot reach `https://pgo-gw.mijnpgo-demo.nl/` on
//! its own. The front door is a small HTTP proxy on 127.0.0.1 that a browser is
//! pointed at (a PAC file, or a proxy setting): it tunnels `CONNECT` for exactly
//! the two front-channel hosts to their loopback ports and refuses everything
//! else. TLS stays end to end between the browser and the gateway (the proxy only
//! copies bytes), so the browser sees the gateway's own certificate.
//!
//! It also serves, on its own address, an instruction page, the PAC file and the
//! test root certificate to import into a browser.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::task::AbortHandle;

use super::net::HostMap;
use super::{DemoError, PGO_HOST};

type Body = axum::body::Body;

/// A running front door; stops when dropped.
#[derive(Debug)]
pub struct FrontDoor {
    port: u16,
    task: AbortHandle,
}

impl Drop for FrontDoor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Door {
    /// Front-channel host → loopback port.
    hosts: HostMap,
    root_pem: String,
    port: u16,
}

impl FrontDoor {
    pub(crate) async fn open(hosts: HostMap, root_pem: String) -> Result<FrontDoor, DemoError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let door = Arc::new(Door {
            hosts,
            root_pem,
            port,
        });
        let task = tokio::spawn(async move {
            loop {
                let sock = super::net::accept(&listener).await;
                let door = door.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let door = door.clone();
                        async move { Ok::<_, std::convert::Infallible>(door.handle(req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(std::time::Duration::from_secs(30))
                        .serve_connection(TokioIo::new(sock), service)
                        .with_upgrades()
                        .await;
                });
            }
        })
        .abort_handle();
        Ok(FrontDoor { port, task })
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The proxy, as a browser's or curl's proxy setting: `http://127.0.0.1:PORT`.
    pub fn proxy_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The PAC file (automatic proxy configuration) for a browser.
    pub fn pac_url(&self) -> String {
        format!("http://127.0.0.1:{}/proxy.pac", self.port)
    }

    /// The page with these instructions and the downloads.
    pub fn instructions_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Chromium flags for a throw-away profile that goes through the front door.
    /// The test PKI's root is in no browser's trust store, hence
    /// `--ignore-certificate-errors` (only in that profile; import
    /// [`FrontDoor::instructions_url`]'s root certificate to do without).
    pub fn chromium_args(&self, profile_dir: &std::path::Path) -> Vec<String> {
        vec![
            format!("--user-data-dir={}", profile_dir.display()),
            format!("--proxy-pac-url={}", self.pac_url()),
            "--ignore-certificate-errors".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
        ]
    }
}

fn plain(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

impl Door {
    fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        if req.method() == Method::CONNECT {
            return self.connect(req);
        }
        match (req.method(), req.uri().path()) {
            (&Method::GET, "/proxy.pac") => plain(
                StatusCode::OK,
                "application/x-ns-proxy-autoconfig",
                self.pac(),
            ),
            (&Method::GET, "/test-root.pem") => plain(
                StatusCode::OK,
                "application/x-pem-file",
                self.root_pem.clone(),
            ),
            (&Method::GET, "/") => plain(StatusCode::OK, "text/html; charset=utf-8", self.page()),
            _ => plain(
                StatusCode::FORBIDDEN,
                "text/plain; charset=utf-8",
                "the demo's front door only tunnels to the demo's front-channel hosts\n",
            ),
        }
    }

    /// `CONNECT host:443`: a tunnel to the host's loopback port, for the demo's
    /// front-channel hosts only.
    fn connect(&self, req: Request<Incoming>) -> Response<Body> {
        let target = req
            .uri()
            .authority()
            .filter(|a| a.port_u16() == Some(443))
            .and_then(|a| {
                self.hosts
                    .iter()
                    .find(|(h, _)| a.host().eq_ignore_ascii_case(h))
            })
            .map(|(_, port)| *port);
        let Some(port) = target else {
            return plain(
                StatusCode::FORBIDDEN,
                "text/plain; charset=utf-8",
                "not a front-channel host of the demo network\n",
            );
        };
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(req).await else {
                return;
            };
            let Ok(mut upstream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                return;
            };
            let _ = upstream.set_nodelay(true);
            let mut client = TokioIo::new(upgraded);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        });
        plain(StatusCode::OK, "text/plain", Body::empty())
    }

    fn pac(&self) -> String {
        let tests: Vec<String> = self
            .hosts
            .iter()
            .map(|(h, _)| format!("host == \"{h}\""))
            .collect();
        format!(
            "function FindProxyForURL(url, host) {{\n  if ({}) return \"PROXY 127.0.0.1:{}\";\n  return \"DIRECT\";\n}}\n",
            tests.join(" || "),
            self.port
        )
    }

    fn page(&self) -> String {
        let p = self.port;
        let e = medmij_consent::escape_html;
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>MedMij demo network: front door</title></head><body><main>\
             <h1>MedMij demo network</h1>\
             <p>The network runs on this machine. Walk UCI Verzamelen as the person: open \
             <a href=\"https://{PGO_HOST}/\">https://{PGO_HOST}/</a> in a browser that uses \
             this front door as its proxy.</p>\
             <ul><li>Chromium or Chrome: start it with \
             <code>{args}</code></li>\
             <li>Firefox: Settings, Network Settings, Automatic proxy configuration URL \
             <code>http://127.0.0.1:{p}/proxy.pac</code>; import the \
             <a href=\"/test-root.pem\">test root certificate</a> under Certificates \
             (trust it for websites), or accept the warning.</li>\
             <li>curl: <code>curl --proxy http://127.0.0.1:{p} --cacert test-root.pem \
             https://{PGO_HOST}/</code></li></ul>\
             <p>This is a test network: the PKI, the lists and the DigiD stand-in are not \
             real.</p></main></body></html>",
            args = e(&format!(
                "chromium --user-data-dir=/tmp/medmij-demo-profile \
                 --proxy-pac-url=http://127.0.0.1:{p}/proxy.pac --ignore-certificate-errors \
                 https://{PGO_HOST}/"
            )),
        )
    }
}
