//! One HTTP answer type for every outcome of the protocol core, so that an adapter never
//! builds JSON, FHIR or redirects itself: status, headers and body, convertible to
//! `http::Response<String>` with the cargo feature `http`.
//!
//! Pages for the person (the OAUTH-12 case 1 page, the busy page) are not built here: the
//! core hands the host the typed outcome ([`InvalidRequest`], [`Busy`]) and the host renders
//! its own page from [`InvalidRequest::message_nl`] and friends. Their [`HttpResponse`] is the
//! API-style JSON answer.

use crate::flow::Busy;
use crate::server::{InvalidRequest, Redirect, ResourceError, TokenResponse};
use std::borrow::Cow;

/// An HTTP answer of the protocol core: status, header fields and body.
///
/// Every header value the crate puts here is visible ASCII (a `Location` is a checked
/// redirect URI with form-encoded parameters, MedMij OAUTH-4), and there is at most one
/// `Content-Type` (none when the body is empty).
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct HttpResponse {
    status: u16,
    headers: Vec<(&'static str, Cow<'static, str>)>,
    body: String,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body may hold an access token and `Location` a code: neither is shown
        // (MedMij LOG-4).
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The `Content-Type` of the JSON answers (RFC 6749 5.1).
const JSON: &str = "application/json;charset=UTF-8";

impl HttpResponse {
    pub(crate) fn new(
        status: u16,
        headers: Vec<(&'static str, Cow<'static, str>)>,
        body: String,
    ) -> Self {
        debug_assert!(
            headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .count()
                <= 1
        );
        Self {
            status,
            headers,
            body,
        }
    }

    /// A page for the person (HTML, UTF-8) with `status`: not cached and not framable
    /// ([`CONSENT_PAGE_HEADERS`](crate::CONSENT_PAGE_HEADERS), RFC 6819 4.4.1.9). A status
    /// outside 100..=599, or 500, becomes 503 (MedMij OAUTH-12: nothing becomes an HTTP 500).
    pub fn page(status: u16, html: String) -> Self {
        let mut headers = vec![("Content-Type", Cow::Borrowed("text/html; charset=utf-8"))];
        headers.extend(
            crate::CONSENT_PAGE_HEADERS
                .iter()
                .map(|(k, v)| (*k, Cow::Borrowed(*v))),
        );
        Self::new(no_500(status), headers, html)
    }

    /// A FHIR answer of the resource server's back end (`application/fhir+json`), not cached
    /// (RFC 6750 5.3). A status outside 100..=599, or 500, becomes 503 (MedMij OAUTH-12).
    pub fn fhir(status: u16, json: String) -> Self {
        Self::new(
            no_500(status),
            vec![
                (
                    "Content-Type",
                    Cow::Borrowed("application/fhir+json; charset=utf-8"),
                ),
                ("Cache-Control", Cow::Borrowed("no-store")),
            ],
            json,
        )
    }

    /// HTTP 503 `temporarily_unavailable` with `Retry-After: 1`: what a store failure or a
    /// task that did not complete becomes (MedMij OAUTH-12: never an HTTP 500).
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            503,
            vec![
                ("Content-Type", Cow::Borrowed(JSON)),
                ("Cache-Control", Cow::Borrowed("no-store")),
                ("Retry-After", Cow::Borrowed("1")),
            ],
            r#"{"error":"temporarily_unavailable","error_description":"The request could not be completed; try again."}"#.to_owned(),
        )
    }

    /// This answer with an HTTP 500 replaced by [`HttpResponse::temporarily_unavailable`]
    /// (the token endpoint's `server_error` on a store failure; MedMij OAUTH-12).
    pub fn without_500(self) -> Self {
        if self.status >= 500 && self.status != 503 {
            Self::temporarily_unavailable()
        } else {
            self
        }
    }

    /// HTTP 302 to `location`, not cached: the PGO GW's redirect to an authorization URL built
    /// by [`Client::start`](crate::Client::start) from ZAL endpoints (MedMij LISTS-3).
    #[cfg(feature = "axum")]
    pub(crate) fn found(location: String) -> Self {
        Self::new(
            302,
            vec![
                ("Location", Cow::Owned(location)),
                ("Cache-Control", Cow::Borrowed("no-store")),
            ],
            String::new(),
        )
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header fields, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.headers.iter().map(|(k, v)| (*k, &**v))
    }

    /// The value of the header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The body (empty for a redirect). It may hold an access token: never log it
    /// (MedMij LOG-4).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The body, taken out.
    pub fn into_body(self) -> String {
        self.body
    }

    /// Converts into an `http::Response<String>` (feature `http`).
    ///
    /// A header value that is not a valid field value is left out; the crate never
    /// produces one (see the type's notes), so this only matters for a hand-made
    /// response. An unknown status becomes 503 rather than 500 (MedMij OAUTH-12: nothing
    /// becomes an HTTP 500); neither happens with the crate's own responses.
    #[cfg(feature = "http")]
    pub fn into_http(self) -> http::Response<String> {
        let mut r = http::Response::new(self.body);
        *r.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(&v),
            ) {
                r.headers_mut().append(k, v);
            }
        }
        r
    }
}

fn no_500(status: u16) -> u16 {
    if (100..=599).contains(&status) && status != 500 {
        status
    } else {
        503
    }
}

#[cfg(feature = "http")]
impl From<HttpResponse> for http::Response<String> {
    fn from(r: HttpResponse) -> Self {
        r.into_http()
    }
}

impl From<&TokenResponse> for HttpResponse {
    /// The token endpoint's answer: RFC 6749 5.1 or 5.2 JSON, `no-store` (MedMij OAUTH-7,
    /// OAUTH-12 case 6).
    fn from(t: &TokenResponse) -> Self {
        Self::new(
            t.status(),
            t.headers()
                .iter()
                .map(|(k, v)| (*k, Cow::Borrowed(*v)))
                .collect(),
            t.body(),
        )
    }
}

impl HttpResponse {
    /// Adds a header (the crate's own visible-ASCII values only).
    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, Cow::Owned(value)));
        self
    }
}

impl From<&crate::server::TokenOutcomeV2> for HttpResponse {
    /// The token endpoint's answer (RFC 6749 5.1 with the 2.x `refresh_token`, or 5.2),
    /// `no-store`, with the request's `MedMij-Request-ID` echoed (MedMij OAUTH-21).
    fn from(o: &crate::server::TokenOutcomeV2) -> Self {
        let t = &o.response;
        let r = Self::new(
            t.status(),
            t.headers()
                .iter()
                .map(|(k, v)| (*k, Cow::Borrowed(*v)))
                .collect(),
            t.body(),
        );
        match o.request_id {
            Some(id) => r.with_header(crate::tracing::REQUEST_ID, id.to_string()),
            None => r,
        }
    }
}

impl From<&ResourceError> for HttpResponse {
    /// A FHIR OperationOutcome (MedMij OAUTH-12 cases 7 and 8), `no-store`.
    fn from(e: &ResourceError) -> Self {
        Self::new(
            e.status(),
            e.headers()
                .into_iter()
                .map(|(k, v)| (k, Cow::Borrowed(v)))
                .collect(),
            e.body(),
        )
    }
}

impl From<&Redirect> for HttpResponse {
    /// HTTP 302 to the client's checked `redirect_uri` (MedMij OAUTH-4, OAUTH-10), not
    /// cached: it carries a code or the end of the flow.
    fn from(r: &Redirect) -> Self {
        Self::new(
            302,
            vec![
                ("Location", Cow::Owned(r.location().to_owned())),
                ("Cache-Control", Cow::Borrowed("no-store")),
            ],
            String::new(),
        )
    }
}

impl From<&InvalidRequest> for HttpResponse {
    /// MedMij OAUTH-12 case 1 as an API-style answer: HTTP 400, `invalid_request` with the
    /// cause. Never a redirect (OAUTH-4). A host that shows the person a page renders its own
    /// from [`InvalidRequest::message_nl`], [`InvalidRequest::message_en`] and
    /// [`InvalidRequest::description`].
    ///
    /// A 2.x request's valid `MedMij-Request-ID` is echoed (MedMij OAUTH-21).
    fn from(e: &InvalidRequest) -> Self {
        let r = Self::new(
            e.status(),
            vec![
                ("Content-Type", Cow::Borrowed(JSON)),
                ("Cache-Control", Cow::Borrowed("no-store")),
            ],
            e.to_json(),
        );
        match e.trace() {
            Some(t) => r.with_header(crate::tracing::REQUEST_ID, t.request_id.to_string()),
            None => r,
        }
    }
}

impl From<&Busy> for HttpResponse {
    /// A full pending-flow table (MedMij OAUTH-14): HTTP 503 with `Retry-After`, OAuth
    /// `temporarily_unavailable` (RFC 6749 4.1.2.1) and which limit was reached.
    fn from(b: &Busy) -> Self {
        Self::new(
            503,
            vec![
                ("Content-Type", Cow::Borrowed(JSON)),
                ("Cache-Control", Cow::Borrowed("no-store")),
                ("Retry-After", Cow::Owned(b.retry_after_secs().to_string())),
            ],
            serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": b.to_string(),
            })
            .to_string(),
        )
    }
}

#[cfg(feature = "tokio")]
impl From<&crate::blocking::TaskFailed> for HttpResponse {
    /// A blocking task that did not complete: HTTP 503, `temporarily_unavailable`, never 500.
    fn from(_: &crate::blocking::TaskFailed) -> Self {
        Self::temporarily_unavailable()
    }
}

macro_rules! by_value {
    ($($t:ty),*) => {$(
        impl From<$t> for HttpResponse {
            fn from(v: $t) -> Self {
                HttpResponse::from(&v)
            }
        }
    )*};
}
by_value!(TokenResponse, ResourceError, Redirect, InvalidRequest, Busy);
