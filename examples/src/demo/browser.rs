//! The person's browser, scripted: follows redirects, keeps cookies per host,
//! trusts the test root for the front channel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::pki_types::CertificateDer;

use super::DemoError;
use super::http::{self, Response};
use super::trace::Trace;

pub(crate) struct Browser {
    config: Arc<rustls::ClientConfig>,
    /// Front-channel URIs carry no port (MedMij LISTS-3); this maps their hosts to
    /// the loopback ports, as DNS would map them to addresses.
    front_ports: HashMap<String, u16>,
    cookies: Mutex<HashMap<String, Vec<(String, String)>>>,
    trace: Arc<Trace>,
}

impl Browser {
    pub(crate) fn new(
        root: CertificateDer<'static>,
        front_ports: HashMap<String, u16>,
        trace: Arc<Trace>,
    ) -> Result<Self, DemoError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root)?;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Browser {
            config: Arc::new(config),
            front_ports,
            cookies: Mutex::new(HashMap::new()),
            trace,
        })
    }

    fn request(&self, method: &str, url: &str, body: Option<&str>) -> Result<Response, DemoError> {
        let (host, port, target) = http::split_url(url)?;
        let port = if port == 443 {
            *self.front_ports.get(&host).ok_or("unknown host")?
        } else {
            port
        };
        let mut headers = Vec::new();
        {
            let jar = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = jar.get(&host) {
                let v: Vec<String> = c.iter().map(|(k, v)| format!("{k}={v}")).collect();
                headers.push(("Cookie".to_owned(), v.join("; ")));
            }
        }
        if body.is_some() {
            headers.push((
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ));
        }
        let resp = http::send(
            self.config.clone(),
            &host,
            port,
            method,
            &target,
            &headers,
            body.unwrap_or("").as_bytes(),
        )?;
        for (k, v) in &resp.headers {
            if k.eq_ignore_ascii_case("set-cookie")
                && let Some((name, value)) = v.split(';').next().and_then(|c| c.split_once('='))
            {
                let mut jar = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
                let c = jar.entry(host.clone()).or_default();
                c.retain(|(n, _)| n != name);
                c.push((name.to_owned(), value.to_owned()));
            }
        }
        Ok(resp)
    }

    /// A browser with the same settings and an empty cookie jar (another person, or
    /// a fresh session).
    pub(crate) fn fresh(&self) -> Browser {
        Browser {
            config: self.config.clone(),
            front_ports: self.front_ports.clone(),
            cookies: Mutex::new(HashMap::new()),
            trace: self.trace.clone(),
        }
    }

    /// The value of cookie `name` set by `host`.
    pub(crate) fn cookie(&self, host: &str, name: &str) -> Option<String> {
        self.cookies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Sends the request and follows redirects (as GET) until a page arrives.
    pub(crate) fn navigate(
        &self,
        method: &str,
        url: &str,
        body: Option<&str>,
    ) -> Result<Response, DemoError> {
        let mut resp = self.request(method, url, body)?;
        self.trace.step(
            "Browser",
            "TLS-1",
            format!("{method} {} -> HTTP {}", short(url), resp.status),
        );
        for _ in 0..10 {
            if !matches!(resp.status, 301 | 302 | 303 | 307) {
                return Ok(resp);
            }
            let next = resp
                .header("location")
                .ok_or("redirect without Location")?
                .to_owned();
            resp = self.request("GET", &next, None)?;
            self.trace.step(
                "Browser",
                "TLS-1",
                format!(
                    "follows redirect: GET {} -> HTTP {}",
                    short(&next),
                    resp.status
                ),
            );
        }
        Err("too many redirects".into())
    }
}

/// The URL without its query (which may hold a code or state: not for printing).
fn short(url: &str) -> String {
    match url.split_once('?') {
        Some((base, q)) => {
            let keys: Vec<&str> = q.split('&').filter_map(|p| p.split('=').next()).collect();
            format!("{base}?{}", keys.join("&"))
        }
        None => url.to_owned(),
    }
}

/// The consent form as the page renders it.
pub(crate) struct ConsentForm {
    pub(crate) action: String,
    pub(crate) flow: String,
    pub(crate) csrf_token: String,
}

fn attr_after<'a>(html: &'a str, marker: &str, attr: &str) -> Option<&'a str> {
    let at = html.find(marker)?;
    let rest = &html[at..];
    let end = rest.find('>')?;
    let tag = &rest[..end];
    let key = format!("{attr}=\"");
    let s = tag.find(&key)? + key.len();
    let e = tag[s..].find('"')?;
    Some(&tag[s..s + e])
}

impl ConsentForm {
    pub(crate) fn parse(html: &str) -> Result<Self, DemoError> {
        let get = |marker: &str, attr: &str| {
            attr_after(html, marker, attr)
                .map(|s| s.replace("&amp;", "&"))
                .ok_or_else(|| format!("consent page without {marker}"))
        };
        Ok(ConsentForm {
            action: get("<form", "action")?,
            flow: get("name=\"flow\"", "value")?,
            csrf_token: get("name=\"csrf_token\"", "value")?,
        })
    }
}
