//! The person's browser, scripted: a reqwest client per person with its own
//! cookie jar, trusting the test root for the front channel (server-authenticated
//! TLS, MedMij TLS-1), following redirects one at a time so that each is traced.

use std::sync::Arc;

use reqwest::cookie::CookieStore;

use super::DemoError;
use super::net::{self, Fetched, HostMap};
use super::trace::{Actor, StepOutcome, Trace};
use medmij_types::RuleId;

/// What every person's browser shares: trust in the test root, and where the
/// front-channel hosts are.
pub(crate) struct Browser {
    tls: rustls::ClientConfig,
    /// Front-channel URIs carry no port (MedMij LISTS-3); this maps their hosts to
    /// the loopback ports, as DNS would map them to addresses.
    hosts: HostMap,
    trace: Arc<Trace>,
}

impl Browser {
    pub(crate) fn new(
        root: rustls::pki_types::CertificateDer<'static>,
        hosts: HostMap,
        trace: Arc<Trace>,
    ) -> Result<Self, DemoError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root)?;
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Browser { tls, hosts, trace })
    }

    /// A new person's browser: an empty cookie jar, no open connections.
    pub(crate) fn fresh(&self) -> Result<Person, DemoError> {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = net::client(self.tls.clone(), &self.hosts, Some(jar.clone()))?;
        Ok(Person {
            client,
            jar,
            trace: self.trace.clone(),
        })
    }
}

impl Browser {
    /// A client on the front channel that connects from `local` (any address in
    /// 127.0.0.0/8 on loopback), trusting the test root, without cookies and
    /// following no redirects: another source, for tests of per-source limits.
    pub(crate) fn client_from(
        &self,
        local: std::net::IpAddr,
    ) -> Result<reqwest::Client, DemoError> {
        let mut b = reqwest::Client::builder()
            .tls_backend_preconfigured(self.tls.clone())
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .local_address(local)
            .timeout(std::time::Duration::from_secs(10));
        for (host, port) in &self.hosts {
            b = b.resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], *port)));
        }
        Ok(b.build()?)
    }
}

/// One person's browser session.
pub(crate) struct Person {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    trace: Arc<Trace>,
}

impl Person {
    async fn request(
        &self,
        method: &str,
        url: &str,
        body: Option<String>,
    ) -> Result<Fetched, DemoError> {
        let req = match body {
            Some(b) => self
                .client
                .request(reqwest::Method::from_bytes(method.as_bytes())?, url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(b),
            None => self
                .client
                .request(reqwest::Method::from_bytes(method.as_bytes())?, url),
        };
        net::fetch(req)
            .await
            .map_err(|e| net::root_cause(&e).into())
    }

    /// Puts `cookie` (`name=value`) in the jar for `host`, as if `host` had set it (the
    /// person's PGO session of the 2.x flows).
    pub(crate) fn set_cookie(&self, host: &str, cookie: &str) -> Result<(), DemoError> {
        let url = url::Url::parse(&format!("https://{host}/"))?;
        self.jar
            .add_cookie_str(&format!("{cookie}; Path=/; Secure; HttpOnly"), &url);
        Ok(())
    }

    /// The value of cookie `name` that `host` set.
    pub(crate) fn cookie(&self, host: &str, name: &str) -> Option<String> {
        let url = url::Url::parse(&format!("https://{host}/")).ok()?;
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// Sends the request and follows redirects (as GET, resolving relative
    /// `Location`s) until a page arrives. Returns the page and its URL.
    pub(crate) async fn navigate(
        &self,
        method: &str,
        url: &str,
        body: Option<String>,
    ) -> Result<(Fetched, String), DemoError> {
        let mut at = url::Url::parse(url)?;
        let mut resp = self.request(method, at.as_str(), body).await?;
        self.trace.step(
            Actor::Browser,
            &[RuleId::Tls1],
            StepOutcome::Done,
            format!("{method} {} -> HTTP {}", short(at.as_str()), resp.status),
        );
        for _ in 0..10 {
            if !matches!(resp.status, 301 | 302 | 303 | 307) {
                return Ok((resp, at.to_string()));
            }
            let next = resp.header("location").ok_or("redirect without Location")?;
            at = at.join(next)?;
            resp = self.request("GET", at.as_str(), None).await?;
            self.trace.step(
                Actor::Browser,
                &[RuleId::Tls1],
                StepOutcome::Done,
                format!(
                    "follows redirect: GET {} -> HTTP {}",
                    short(at.as_str()),
                    resp.status
                ),
            );
        }
        Err("too many redirects".into())
    }

    /// Submits `form` (from the page at `page_url`) with `button` = `value` pressed.
    pub(crate) async fn submit(
        &self,
        page_url: &str,
        form: &Form,
        button: &str,
        value: &str,
    ) -> Result<(Fetched, String), DemoError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("flow", &form.flow)
            .append_pair("csrf_token", &form.csrf_token)
            .append_pair(button, value)
            .finish();
        let action = url::Url::parse(page_url)?.join(&form.action)?;
        self.navigate("POST", action.as_str(), Some(body)).await
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

/// A form of the ZA GW's pages (the DigiD stand-in and the consent screen both
/// carry the flow id and an anti-CSRF token).
pub(crate) struct Form {
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

impl Form {
    pub(crate) fn parse(html: &str) -> Result<Self, DemoError> {
        let get = |marker: &str, attr: &str| {
            attr_after(html, marker, attr)
                .map(|s| s.replace("&amp;", "&"))
                .ok_or_else(|| format!("page without {marker}: {html}"))
        };
        Ok(Form {
            action: get("<form", "action")?,
            flow: get("name=\"flow\"", "value")?,
            csrf_token: get("name=\"csrf_token\"", "value")?,
        })
    }
}
