//! The short consent screen as a self-contained HTML page, and the response
//! headers that stop it from being framed (MedMij CONSENT-1, OAUTH-14 /
//! RFC 6819 4.4.1.9).

use sha2::{Digest, Sha256};

use crate::text::{ConsentKind, Language, Wording};
use crate::vars::{CsrfToken, FlowId, VariableError, escape_html};

/// The built-in style sheet: readable, large targets, visible focus,
/// responsive from 320 px wide, honours dark mode and reduced motion.
const BASE_CSS: &str = "\
*{box-sizing:border-box}\
html{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;font-size:100%;line-height:1.5;color:#1a1a1a;background:#fff}\
body{margin:0;padding:1rem}\
main{max-width:40rem;margin:0 auto}\
h1{font-size:1.5rem;margin:0 0 1rem}\
h2{font-size:1.2rem;margin:2rem 0 .5rem}\
.mc-short{font-size:1.125rem}\
.mc-choice{display:flex;gap:.75rem;align-items:flex-start;font-size:1.125rem}\
.mc-choice input{width:1.5rem;height:1.5rem;margin:.15rem 0 0;flex:none}\
.mc-consent form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.5rem 0}\
.mc-consent button{min-height:2.75rem;padding:.5rem 1rem;font:inherit;font-weight:600;border-radius:.375rem;border:2px solid #154273;cursor:pointer}\
.mc-buttons{display:flex;flex-wrap:wrap;gap:1rem;margin:1.5rem 0}\
.mc-buttons button{flex:1 1 12rem;min-height:2.75rem;padding:.75rem 1rem;font:inherit;font-weight:600;border-radius:.375rem;border:2px solid #154273;cursor:pointer}\
.mc-grant{background:#154273;color:#fff}\
.mc-refuse{background:#fff;color:#154273}\
a{color:#154273}\
a:focus-visible,button:focus-visible,input:focus-visible,section:focus-visible{outline:3px solid #d52b1e;outline-offset:3px}\
@media (prefers-color-scheme:dark){html{background:#121212;color:#eee}a{color:#9cc3ff}.mc-refuse{background:#121212;color:#9cc3ff;border-color:#9cc3ff}.mc-grant{background:#9cc3ff;color:#121212;border-color:#9cc3ff}}\
";

/// Why a page could not be rendered.
pub type PageError = VariableError;

/// The host application's choices for the page: where the form posts to,
/// the flow and anti-CSRF token it carries, the language, and styling hooks.
/// The wording itself comes from the [`Wording`] and cannot be changed here.
#[derive(Debug, Clone)]
pub struct PageOptions<'a> {
    /// The path the form posts to, e.g. `/authorize/consent`: must start
    /// with `/` (same origin; the page's CSP allows `form-action 'self'`),
    /// no `//` at the start, 1..512 visible ASCII characters.
    pub action: &'a str,
    /// The flow the decision is for (posted as field `flow`).
    pub flow: &'a FlowId,
    /// The anti-CSRF token (posted as field `csrf_token`).
    pub csrf: &'a CsrfToken,
    /// The language, Dutch by default.
    pub language: Language,
    /// Extra CSS appended after the built-in style sheet (styling hook); it
    /// may not contain `<`. Hashed into the page's CSP.
    pub extra_css: Option<&'a str>,
    /// An extra class on `<body>` (styling hook): `[A-Za-z0-9_-]`, 1..64.
    pub body_class: Option<&'a str>,
    /// The origin the answer to the decision redirects to: that of the
    /// client's validated redirect URI (MedMij OAUTH-4, OAUTH-11), as
    /// `https://host` or `https://host:port` (lowercase host). Browsers apply
    /// the CSP `form-action` to the redirect that follows the form POST, so
    /// without it the 302 back to the PGO is blocked; it is added to
    /// `form-action` next to `'self'`.
    pub redirect_origin: Option<&'a str>,
    /// Where the full text is served ([`render_full_text_page`]), e.g.
    /// `/consent/volledige-tekst`: the screen's link "Lees de volledige
    /// tekst" points there (MedMij CONSENT-1: the screen shows the short
    /// version with a link to the full text). Same rules as `action`. When
    /// `None`, the full text follows the form on the same page and the link
    /// points to it.
    pub full_text_path: Option<&'a str>,
}

impl<'a> PageOptions<'a> {
    /// Options with Dutch, no extra CSS and no extra class.
    pub fn new(action: &'a str, flow: &'a FlowId, csrf: &'a CsrfToken) -> Self {
        Self {
            action,
            flow,
            csrf,
            language: Language::Nl,
            extra_css: None,
            body_class: None,
            redirect_origin: None,
            full_text_path: None,
        }
    }
}

/// A rendered consent page: the HTML and the headers to send with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ConsentPage {
    html: String,
    headers: Vec<(&'static str, String)>,
}

impl ConsentPage {
    pub(crate) fn new(html: String, headers: Vec<(&'static str, String)>) -> Self {
        Self { html, headers }
    }

    /// The HTML document (UTF-8).
    pub fn html(&self) -> &str {
        &self.html
    }

    /// The response headers to send with it, among them
    /// `X-Frame-Options: DENY` and a `Content-Security-Policy` with
    /// `frame-ancestors 'none'` (RFC 6819 4.4.1.9), and `Cache-Control:
    /// no-store`.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }
}

struct Labels {
    title: &'static str,
    grant: &'static str,
    refuse: &'static str,
    read_full: &'static str,
    full_title: &'static str,
    back: &'static str,
}

fn labels(kind: ConsentKind, lang: Language) -> Labels {
    match (kind, lang) {
        (ConsentKind::Toestemming, Language::Nl) => Labels {
            title: "Toestemming",
            grant: "Toestemming geven",
            refuse: "Weigeren",
            read_full: "Lees de volledige tekst",
            full_title: "Volledige tekst",
            back: "Terug",
        },
        (ConsentKind::Toestemming, Language::En) => Labels {
            title: "Consent",
            grant: "Give consent",
            refuse: "Refuse",
            read_full: "Read the full text",
            full_title: "Full text",
            back: "Back",
        },
        (ConsentKind::Bevestiging, Language::Nl) => Labels {
            title: "Bevestiging",
            grant: "Bevestigen",
            refuse: "Niet bevestigen",
            read_full: "Lees de volledige tekst",
            full_title: "Volledige tekst",
            back: "Terug",
        },
        (ConsentKind::Bevestiging, Language::En) => Labels {
            title: "Confirmation",
            grant: "Confirm",
            refuse: "Do not confirm",
            read_full: "Read the full text",
            full_title: "Full text",
            back: "Back",
        },
    }
}

pub(crate) fn page_error(field: &'static str, reason: impl Into<String>) -> PageError {
    VariableError {
        field,
        reason: reason.into(),
        rule: medmij_types::RuleId::Consent1,
    }
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(bytes: &[u8]) -> String {
    <base64ct::Base64 as base64ct::Encoding>::encode_string(bytes)
}

/// Checks a same-origin path (`action`, `full_text_path`, …).
pub(crate) fn check_path(field: &'static str, path: &str) -> Result<(), PageError> {
    if !path.starts_with('/')
        || path.starts_with("//")
        || path.len() > 512
        || !path.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(page_error(
            field,
            "must be a path starting with a single '/', up to 512 visible ASCII characters",
        ));
    }
    Ok(())
}

/// The built-in style sheet plus the host's extra CSS, checked.
pub(crate) fn style_sheet(extra: Option<&str>) -> Result<String, PageError> {
    let mut css = String::from(BASE_CSS);
    if let Some(extra) = extra {
        if extra.contains('<') || extra.len() > 16_384 {
            return Err(page_error(
                "extra_css",
                "may not contain '<' or exceed 16 KiB",
            ));
        }
        css.push_str(extra);
    }
    Ok(css)
}

/// `" class"` for `<body>`, checked.
pub(crate) fn body_class(class: Option<&str>) -> Result<String, PageError> {
    match class {
        None => Ok(String::new()),
        Some(c)
            if !c.is_empty()
                && c.len() <= 64
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(format!(" {c}"))
        }
        Some(_) => Err(page_error("body_class", "must be 1..64 of A-Z a-z 0-9 - _")),
    }
}

/// The response headers of every page of this crate: no framing (RFC 6819
/// 4.4.1.9, MedMij OAUTH-14), a CSP that allows only the page's own style
/// sheet and form posts to itself (and to `redirect_origin`), no caching.
pub(crate) fn security_headers(
    css: &str,
    redirect_origin: Option<&str>,
) -> Result<Vec<(&'static str, String)>, PageError> {
    let style_hash = base64(&Sha256::digest(css.as_bytes()));
    let form_action = match redirect_origin {
        None => String::new(),
        Some(o) if is_https_origin(o) => format!(" {o}"),
        Some(_) => {
            return Err(page_error(
                "redirect_origin",
                "must be https://host or https://host:port with a lowercase DNS host",
            ));
        }
    };
    Ok(vec![
        ("Content-Type", "text/html; charset=utf-8".to_string()),
        // RFC 6819 4.4.1.9: the consent page must not be framed.
        ("X-Frame-Options", "DENY".to_string()),
        (
            "Content-Security-Policy",
            format!(
                "default-src 'none'; style-src 'sha256-{style_hash}'; \
                 form-action 'self'{form_action}; frame-ancestors 'none'; base-uri 'none'"
            ),
        ),
        ("Cache-Control", "no-store".to_string()),
        ("Referrer-Policy", "no-referrer".to_string()),
        ("X-Content-Type-Options", "nosniff".to_string()),
    ])
}

/// The head of every page: charset, viewport, no referrer, title, style.
pub(crate) fn head(lang: Language, title: &str, css: &str, body_class: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<title>{title}</title>\n<style>{css}</style>\n</head>\n\
<body class=\"medmij-consent{body_class}\">\n",
        lang = lang.tag(),
        title = escape_html(title),
    )
}

/// Already escaped text with paragraphs separated by an empty line, as
/// `<p>` elements.
fn paragraphs(html_text: &str) -> String {
    html_text
        .split("\n\n")
        .map(|p| format!("<p>{p}</p>\n"))
        .collect()
}

/// Renders the short consent screen for `wording` (MedMij CONSENT-1 /
/// CONSENT-2): a heading, the short statement (for the Toestemming: the
/// operative paragraph with the variables filled), a link to the full text
/// (to `options.full_text_path`, else to the same page), and two submit
/// buttons, grant and refuse, that post `flow`, `csrf_token` and `decision`
/// (`grant` | `refuse`) to `options.action` (parse the body with
/// [`PostedDecision::from_form`](crate::PostedDecision::from_form)). No
/// external resources, no script.
pub fn render_page(
    wording: &dyn Wording,
    options: &PageOptions<'_>,
) -> Result<ConsentPage, PageError> {
    let action = options.action;
    check_path("action", action)?;
    if let Some(p) = options.full_text_path {
        check_path("full_text_path", p)?;
    }
    let css = style_sheet(options.extra_css)?;
    let body_class = body_class(options.body_class)?;
    let lang = options.language;
    let l = labels(wording.kind(), lang);
    let (href, full_section) = match options.full_text_path {
        Some(p) => (escape_html(p), String::new()),
        None => (
            "#mc-full".to_string(),
            format!(
                "<section id=\"mc-full\" aria-labelledby=\"mc-full-title\" tabindex=\"-1\">\n\
<h2 id=\"mc-full-title\">{full_title}</h2>\n\
<div id=\"mc-full-text\">\n{full}</div>\n\
</section>\n",
                full_title = l.full_title,
                full = paragraphs(&wording.full_html(lang)),
            ),
        ),
    };
    let html = format!(
        "{head}<main aria-labelledby=\"mc-title\">\n\
<h1 id=\"mc-title\">{title}</h1>\n\
<p id=\"mc-short\" class=\"mc-short\">{short}</p>\n\
<p><a id=\"mc-read-full\" href=\"{href}\">{read_full}</a></p>\n\
<form method=\"post\" action=\"{action}\" aria-describedby=\"mc-short\">\n\
<input type=\"hidden\" name=\"flow\" value=\"{flow}\">\n\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
<div class=\"mc-buttons\" role=\"group\" aria-labelledby=\"mc-title\">\n\
<button type=\"submit\" id=\"mc-grant\" class=\"mc-grant\" name=\"decision\" value=\"grant\">{grant}</button>\n\
<button type=\"submit\" id=\"mc-refuse\" class=\"mc-refuse\" name=\"decision\" value=\"refuse\">{refuse}</button>\n\
</div>\n</form>\n\
{full_section}</main>\n</body>\n</html>\n",
        head = head(lang, l.title, &css, &body_class),
        title = l.title,
        short = wording.short_html(lang),
        read_full = l.read_full,
        action = escape_html(action),
        flow = escape_html(options.flow.as_str()),
        csrf = escape_html(options.csrf.as_str()),
        grant = l.grant,
        refuse = l.refuse,
    );
    let headers = security_headers(&css, options.redirect_origin)?;
    Ok(ConsentPage { html, headers })
}

/// Renders the full text of `wording` as its own page (MedMij CONSENT-1:
/// the screen links to the full text): a heading and the text in
/// paragraphs, with the variables filled and escaped. `back` is the path
/// of the consent screen (same rules as [`PageOptions::action`]); when
/// given, the page links back to it. Same headers as [`render_page`].
pub fn render_full_text_page(
    wording: &dyn Wording,
    language: Language,
    back: Option<&str>,
) -> Result<ConsentPage, PageError> {
    if let Some(b) = back {
        check_path("back", b)?;
    }
    let css = style_sheet(None)?;
    let l = labels(wording.kind(), language);
    let back_link = match back {
        Some(b) => format!(
            "<p><a id=\"mc-back\" href=\"{}\">{}</a></p>\n",
            escape_html(b),
            l.back
        ),
        None => String::new(),
    };
    let html = format!(
        "{head}<main aria-labelledby=\"mc-full-title\">\n\
<h1 id=\"mc-full-title\">{title}: {full_title}</h1>\n\
<div id=\"mc-full-text\">\n{full}</div>\n{back_link}</main>\n</body>\n</html>\n",
        head = head(language, l.title, &css, ""),
        title = l.title,
        full_title = l.full_title,
        full = paragraphs(&wording.full_html(language)),
    );
    let headers = security_headers(&css, None)?;
    Ok(ConsentPage { html, headers })
}

/// `https://host[:port]` with a lowercase DNS host: safe to place in a CSP
/// source list (no spaces, quotes, semicolons or wildcards).
fn is_https_origin(o: &str) -> bool {
    let Some(rest) = o.strip_prefix("https://") else {
        return false;
    };
    let (host, port) = match rest.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::{base64, is_https_origin};

    #[test]
    fn redirect_origins_are_checked_before_entering_the_csp() {
        for ok in [
            "https://pgo.example.nl",
            "https://pgo.example.nl:8443",
            "https://a",
        ] {
            assert!(is_https_origin(ok), "{ok}");
        }
        for bad in [
            "http://pgo.example.nl",
            "https://pgo.example.nl/",
            "https://PGO.example.nl",
            "https://pgo.example.nl; script-src *",
            "https://*.example.nl",
            "https://pgo.example.nl:",
            "https://pgo..nl",
            "https://",
        ] {
            assert!(!is_https_origin(bad), "{bad}");
        }
    }

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
