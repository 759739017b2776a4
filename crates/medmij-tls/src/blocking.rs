//! A blocking OCSP fetcher on `reqwest::blocking` (feature `blocking`).

use std::io::Read;
use std::time::{Duration, Instant};

use crate::error::ConfigError;
use crate::ocsp::{OcspQuery, OcspSource, OcspSourceError};
use crate::profile::MAX_OCSP_RESPONSE;

/// Asks OCSP responders over HTTP POST (RFC 6960 appendix A.1) with
/// `reqwest::blocking`: the certificate's AuthorityInfoAccess URLs in order,
/// or one fixed URL, all within the query's timeout. Only `http://` URLs; no
/// proxy, no redirects.
///
/// For hosts that run [`crate::OcspDriver::refresh_blocking`] (or
/// [`crate::OwnCertificate::refresh_ocsp_staple`]) on a thread of their own.
/// reqwest's blocking client runs a runtime of its own: never create, call or
/// drop it on an async worker thread. With tokio, use the driver loop
/// (`run_ocsp_driver`) and `ReqwestOcspFetcher` (feature `tokio`) instead.
#[derive(Debug, Clone)]
pub struct BlockingOcspFetcher {
    client: reqwest::blocking::Client,
    fixed_url: Option<String>,
}

impl BlockingOcspFetcher {
    /// A fetcher using the certificate's AuthorityInfoAccess.
    pub fn new() -> Result<Self, ConfigError> {
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(crate::profile::ocsp_http_tls()?)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::BadCertificate(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            fixed_url: None,
        })
    }

    /// A fetcher that always asks `url` (e.g. a local OCSP proxy).
    pub fn with_url(url: impl Into<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            fixed_url: Some(url.into()),
            ..Self::new()?
        })
    }

    fn post(&self, url: &str, body: &[u8], left: Duration) -> Result<Vec<u8>, OcspSourceError> {
        if !url.starts_with("http://") {
            return Err(OcspSourceError::Transport(format!(
                "not an http:// URL: {url}"
            )));
        }
        let tr = |e: reqwest::Error| {
            if e.is_timeout() {
                OcspSourceError::Timeout
            } else {
                OcspSourceError::Transport(e.to_string())
            }
        };
        let resp = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/ocsp-request")
            .header(reqwest::header::ACCEPT, "application/ocsp-response")
            .body(body.to_vec())
            .timeout(left)
            .send()
            .map_err(tr)?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(OcspSourceError::Transport(format!(
                "HTTP status {}",
                resp.status()
            )));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_OCSP_RESPONSE as u64)
        {
            return Err(OcspSourceError::Transport("response too large".into()));
        }
        let mut out = Vec::new();
        resp.take(MAX_OCSP_RESPONSE as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                // reqwest hands a body that did not arrive in time over as an `Other` I/O
                // error around its own timeout error.
                let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                    || e.get_ref()
                        .and_then(|i| i.downcast_ref::<reqwest::Error>())
                        .is_some_and(reqwest::Error::is_timeout);
                if timed_out {
                    OcspSourceError::Timeout
                } else {
                    OcspSourceError::Transport(e.to_string())
                }
            })?;
        if out.len() > MAX_OCSP_RESPONSE {
            return Err(OcspSourceError::Transport("response too large".into()));
        }
        Ok(out)
    }
}

impl OcspSource for BlockingOcspFetcher {
    fn fetch(&self, query: &OcspQuery) -> Result<Vec<u8>, OcspSourceError> {
        let deadline = Instant::now() + query.timeout;
        let urls: Vec<&str> = match &self.fixed_url {
            Some(u) => vec![u.as_str()],
            None => query.responder_urls.iter().map(String::as_str).collect(),
        };
        let mut last = OcspSourceError::NoResponder;
        for url in urls {
            let Some(left) = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                return Err(OcspSourceError::Timeout);
            };
            match self.post(url, &query.request, left) {
                Ok(b) => return Ok(b),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}
