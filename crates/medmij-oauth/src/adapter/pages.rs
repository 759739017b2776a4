//! Plain pages for the person: the host replaces any of them through [`Pages`].

use super::host::{ManagementInfo, PersonError};
use crate::{
    Busy, InvalidRequest, LongLastingConsent, PersonMessage, PersonRefusal, TechnicalFailure,
};

/// The plain-language pages the routers show the person (MedMij OAUTH-12: every refusal is
/// told to the person in plain words, never as an HTTP 500). Every method has a plain default
/// in Dutch and English; a host overrides what it wants styled.
pub trait Pages: Send + Sync + 'static {
    /// MedMij OAUTH-12 case 1 (sent with HTTP 400, never a redirect, OAUTH-4).
    fn invalid_request(&self, e: &InvalidRequest) -> String {
        plain(e.message_nl(), e.message_en(), Some(&e.description()))
    }

    /// ZA GW, MedMij OAUTH-12 case 1 for a valid request whose Gegevensdienst this gateway
    /// does not serve (LISTS-13: not configured, or no longer on the ZAL in force after the
    /// grace of LISTS-10). Sent with HTTP 400, never a redirect.
    fn not_served(&self, zorgaanbieder: &str, gegevensdienst: &str) -> String {
        let detail = format!(
            "invalid_request: Gegevensdienst {gegevensdienst} of {zorgaanbieder} is not served \
             here (MedMij LISTS-13)"
        );
        plain(
            "Deze gegevensdienst wordt hier niet (meer) aangeboden. U wordt niet teruggestuurd; \
             probeer het opnieuw vanuit uw PGO.",
            "This service is not (or no longer) offered here. You will not be sent back; \
             please try again from your PGO.",
            Some(&detail),
        )
    }

    /// Too many pending flows (MedMij OAUTH-14; sent with `Retry-After`, HTTP 429 when the
    /// source reached its own limit, else 503).
    fn busy(&self, b: &Busy) -> String {
        plain(b.message_nl(), b.message_en(), None)
    }

    /// The flow is unknown, expired, finished, or not this browser's (no or another flow
    /// cookie); sent with HTTP 400.
    fn flow_unknown(&self) -> String {
        plain(
            "Deze aanvraag is verlopen of niet (meer) geldig. Start opnieuw vanuit uw PGO.",
            "This request has expired or is no longer valid. Please start again from your PGO.",
            None,
        )
    }

    /// A system could not complete the request (sent with HTTP 503 and `Retry-After`).
    fn unavailable(&self) -> String {
        plain(
            "Er ging iets mis aan onze kant. Probeer het later opnieuw.",
            "Something went wrong on our side. Please try again later.",
            None,
        )
    }

    /// ZA GW: the person is younger than 16 (MedMij OAUTH-15). The flow has ended as case 3;
    /// `back` is the case 3 redirect to the PGO (`access_denied`, `No such resources.`), which
    /// the page offers as the link "Terug naar uw PGO". Sent with HTTP 200 and
    /// [`CONSENT_PAGE_HEADERS`](crate::CONSENT_PAGE_HEADERS).
    fn not_eligible(&self, back: &str) -> String {
        let r = PersonRefusal::UnderMinimumAge;
        plain_with_link(r.message_nl(), r.message_en(), back, "Terug naar uw PGO")
    }

    /// PGO GW: the flow ended without a token (OAUTH-12 cases 2 to 6 and the like).
    fn problem(&self, e: PersonError<'_>) -> String {
        plain(e.message_nl(), e.message_en(), None)
    }

    /// ZA GW, 2.x: a technical failure (MedMij OAUTH-23), sent with HTTP 503. The page shows
    /// the Trace ID (`MedMij-Request-ID`) and Session ID (`X-Correlation-ID`), the ZA GW's
    /// name and a contact (override this method to name them), and the way back to the PGO
    /// only when [`TechnicalFailure::back`] has one (`client_id` and `redirect_uri` valid).
    fn technical_failure(&self, f: &TechnicalFailure) -> String {
        let mut detail = String::new();
        if let Some(t) = &f.trace {
            detail = format!(
                "Trace ID: {} · Session ID: {}",
                t.request_id, t.correlation_id
            );
        }
        let nl = "Er ging iets mis bij de zorgaanbieder. Neem contact op met de zorgaanbieder en noem de Trace ID en Session ID.";
        let en = "Something went wrong at the care provider. Please contact the care provider and quote the Trace ID and Session ID.";
        let mut out = plain(nl, en, Some(&detail));
        if let Some(back) = &f.back {
            insert_link(&mut out, back.location(), "Terug naar uw PGO");
        }
        out
    }

    /// ZA GW: this gateway offers no consent management (MedMij OAUTH-22); sent with HTTP
    /// 404.
    fn management_not_offered(&self) -> String {
        plain(
            "Toestemmingen beheren kan hier niet. Neem contact op met de zorgaanbieder.",
            "Consents cannot be managed here. Please contact the care provider.",
            None,
        )
    }
}

/// The default consent-management page (MedMij OAUTH-22, CONSENT-6): one checkbox
/// `withdraw=<consent id>` per long-lasting consent and a confirm button `confirm=yes`.
pub(crate) fn management_page(
    info: &ManagementInfo,
    consents: &[LongLastingConsent],
    action: &str,
) -> String {
    let mut out = String::from(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>MedMij</title></head><body><h1>Toestemmingen</h1><p>",
    );
    escape_into(
        &mut out,
        &format!(
            "Uw doorlopende toestemmingen voor {} ({} in totaal).",
            info.client_id,
            consents.len()
        ),
    );
    out.push_str("</p><form method=\"post\" action=\"");
    escape_into(&mut out, action);
    out.push_str("\">");
    for c in consents {
        out.push_str("<p><label><input type=\"checkbox\" name=\"withdraw\" value=\"");
        escape_into(&mut out, &c.record.id.to_string());
        out.push_str("\"> ");
        escape_into(&mut out, &c.record.wire_scope);
        out.push_str("</label></p>");
    }
    out.push_str(
        "<button name=\"confirm\" value=\"yes\">Intrekken bevestigen</button></form></body></html>",
    );
    out
}

/// The plain default pages.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPages;

impl Pages for DefaultPages {}

/// A minimal page with a Dutch and an English message and an optional technical detail,
/// HTML-escaped.
pub fn plain(nl: &str, en: &str, detail: Option<&str>) -> String {
    let mut out = String::from(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>MedMij</title></head><body><p>",
    );
    escape_into(&mut out, nl);
    out.push_str("</p><p lang=\"en\">");
    escape_into(&mut out, en);
    out.push_str("</p>");
    if let Some(d) = detail {
        out.push_str("<p><small>");
        escape_into(&mut out, d);
        out.push_str("</small></p>");
    }
    out.push_str("</body></html>");
    out
}

/// Appends `s` HTML-escaped (text and attribute values).
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// [`plain`] with a link (`href`, HTML-escaped) after the messages.
pub fn plain_with_link(nl: &str, en: &str, href: &str, label: &str) -> String {
    let mut out = plain(nl, en, None);
    insert_link(&mut out, href, label);
    out
}

/// Inserts a link paragraph before `</body>`.
fn insert_link(out: &mut String, href: &str, label: &str) {
    let mut link = String::from("<p><a href=\"");
    escape_into(&mut link, href);
    link.push_str("\">");
    escape_into(&mut link, label);
    link.push_str("</a></p>");
    if let Some(at) = out.rfind("</body>") {
        out.insert_str(at, &link);
    }
}
