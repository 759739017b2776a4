//! The 2.x screens (MedMij CONSENT-6, OAUTH-19, OAUTH-22, OAUTH-23): the
//! consent screen "Toestemming geven" with the indefinite-period choice,
//! the overview of a person's long-lasting consents with a withdraw action
//! per consent, the termination statement ("Beëindigingsverklaring
//! Toestemming") with a confirm button, and the technical-failure page.
//!
//! The wording is **provisional** (the sources do not give it): the
//! defaults are [`ScreenTexts::nl`] and [`ScreenTexts::en`], kept with the
//! crate's other provisional values in [`crate::provisional`], and the host
//! replaces them as a whole with its own [`ScreenTexts`]. Every page has the same anti-framing and CSP headers as
//! the 1.x screen ([`crate::render_page`]); every form carries the host's
//! anti-CSRF token.
//!
//! ```
//! use medmij_consent::v2::*;
//! use medmij_consent::{CsrfToken, FlowId};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let names = Names::new("UMC Harderwijk", "Mijn PGO B.V.")?;
//! let flow = FlowId::new("flow-2")?;
//! let csrf = CsrfToken::new("0123456789abcdefXYZ")?;
//! let page = render_consent(&ScreenTexts::nl(), &names, &ScreenOptions::new("/toestemming", &csrf).with_flow(&flow))?;
//! assert!(page.html().contains("type=\"checkbox\" id=\"mc-indefinite\" name=\"indefinite\" value=\"yes\">"));
//! let posted = PostedV2Decision::from_form("flow=flow-2&csrf_token=0123456789abcdefXYZ&indefinite=yes&decision=grant")?;
//! assert!(posted.long_lasting());
//! # Ok(())
//! # }
//! ```

use std::time::SystemTime;

use medmij_types::RuleId;

use crate::decision::{Decision, FormError};
use crate::evidence::{EvidenceError, ShownText};
use crate::page::{
    ConsentPage, PageError, body_class, check_path, head, page_error, security_headers, style_sheet,
};
use crate::text::Language;
use crate::vars::{
    CsrfToken, FlowId, PgoLeverancierNaam, VariableError, ZorgaanbiederNaam, escape_html,
};

/// Placeholder for the Aanbieder's name in [`ScreenTexts`].
pub const PLACEHOLDER_AANBIEDER: &str = "{Naam Aanbieder}";
/// Placeholder for the ZA GW's name in [`ScreenTexts::failure_contact`].
pub const PLACEHOLDER_ZA_GW: &str = "{Naam ZA GW}";
/// Placeholder for the contact in [`ScreenTexts::failure_contact`].
pub const PLACEHOLDER_CONTACT: &str = "{Contact}";
/// Placeholder for the PGO's name in [`ScreenTexts`].
pub const PLACEHOLDER_PGO_V2: &str = "{Naam PGO}";

/// Every text of the 2.x screens. **Provisional**: replace as a whole. Texts
/// are plain (escaped when rendered); `{Naam Aanbieder}` and `{Naam PGO}`
/// are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenTexts {
    /// The language the texts are in.
    pub language: Language,
    /// Consent screen: the heading ("Toestemming geven").
    pub consent_title: String,
    /// Consent screen: who asks whom (names Aanbieder and PGO, no
    /// Gegevensdienst, OAUTH-20).
    pub consent_intro: String,
    /// Consent screen: the four points of CONSENT-6, in order: nothing is
    /// shared without consent; it can be for an indefinite period; it
    /// lapses after six months without collecting (then DigiD and consent
    /// again); it can be changed in the PGO via "Toestemmingen aanpassen".
    pub consent_points: [String; 4],
    /// Consent screen: the statement the buttons answer.
    pub consent_statement: String,
    /// Consent screen: the label of the indefinite-period checkbox.
    pub indefinite_label: String,
    /// Consent screen: the grant button.
    pub grant: String,
    /// Consent screen: the refuse button.
    pub refuse: String,
    /// Overview: the heading.
    pub overview_title: String,
    /// Overview: the sentence above the list.
    pub overview_intro: String,
    /// Overview: shown when there is no long-lasting consent.
    pub overview_empty: String,
    /// Overview: "given on" before the date.
    pub overview_given_on: String,
    /// Overview: the withdraw button of each consent.
    pub withdraw: String,
    /// Overview and termination: the link back to the PGO.
    pub back_to_pgo: String,
    /// Termination statement: the heading ("Beëindigingsverklaring
    /// Toestemming").
    pub termination_title: String,
    /// Termination statement: the text.
    pub termination_text: String,
    /// Termination statement: the confirm button.
    pub termination_confirm: String,
    /// Termination statement: the cancel button.
    pub termination_cancel: String,
    /// Failure page: the heading.
    pub failure_title: String,
    /// Failure page: what happened.
    pub failure_text: String,
    /// Failure page: whom to contact; must hold `{Naam ZA GW}` and
    /// `{Contact}` (MedMij OAUTH-23: the ZA GW's name and a contact).
    pub failure_contact: String,
    /// Failure page: the label of the Trace ID (`MedMij-Request-ID`).
    pub trace_id_label: String,
    /// Failure page: the label of the Session ID (`X-Correlation-ID`).
    pub session_id_label: String,
    /// Failure page: shown for an identifier that was not received.
    pub id_missing: String,
}

impl ScreenTexts {
    fn all(&self) -> [(&'static str, &str); 26] {
        [
            ("consent_title", &self.consent_title),
            ("consent_intro", &self.consent_intro),
            ("consent_points[0]", &self.consent_points[0]),
            ("consent_points[1]", &self.consent_points[1]),
            ("consent_points[2]", &self.consent_points[2]),
            ("consent_points[3]", &self.consent_points[3]),
            ("consent_statement", &self.consent_statement),
            ("indefinite_label", &self.indefinite_label),
            ("grant", &self.grant),
            ("refuse", &self.refuse),
            ("overview_title", &self.overview_title),
            ("overview_intro", &self.overview_intro),
            ("overview_empty", &self.overview_empty),
            ("overview_given_on", &self.overview_given_on),
            ("withdraw", &self.withdraw),
            ("back_to_pgo", &self.back_to_pgo),
            ("termination_title", &self.termination_title),
            ("termination_text", &self.termination_text),
            ("termination_confirm", &self.termination_confirm),
            ("termination_cancel", &self.termination_cancel),
            ("failure_title", &self.failure_title),
            ("failure_text", &self.failure_text),
            ("failure_contact", &self.failure_contact),
            ("trace_id_label", &self.trace_id_label),
            ("session_id_label", &self.session_id_label),
            ("id_missing", &self.id_missing),
        ]
    }

    /// Checks the texts: each 1..2000 characters without control
    /// characters; the consent screen names `{Naam Aanbieder}` and
    /// `{Naam PGO}` and never the Gegevensdienst (CONSENT-6, OAUTH-20).
    pub fn check(&self) -> Result<(), VariableError> {
        let err = |field: &'static str, reason: &str| VariableError {
            field,
            reason: reason.to_string(),
            rule: RuleId::Consent6,
        };
        for (field, t) in self.all() {
            if t.trim().is_empty() || t.chars().count() > 2000 || t.chars().any(char::is_control) {
                return Err(err(
                    field,
                    "must be 1 to 2000 characters without control characters",
                ));
            }
            if t.contains(crate::PLACEHOLDER_GEGEVENSDIENST) {
                return Err(err(
                    field,
                    "names the Gegevensdienst; the 2.x screens do not (OAUTH-20)",
                ));
            }
        }
        for p in [PLACEHOLDER_ZA_GW, PLACEHOLDER_CONTACT] {
            if self.failure_contact.matches(p).count() != 1 {
                return Err(VariableError {
                    field: "failure_contact",
                    reason: format!("must hold {p} exactly once"),
                    rule: RuleId::Oauth23,
                });
            }
        }
        let screen = format!(
            "{} {} {}",
            self.consent_title, self.consent_intro, self.consent_statement
        );
        for p in [PLACEHOLDER_AANBIEDER, PLACEHOLDER_PGO_V2] {
            if !screen.contains(p) {
                return Err(err(
                    "consent_intro",
                    "the consent screen must name {Naam Aanbieder} and {Naam PGO}",
                ));
            }
        }
        Ok(())
    }
}

impl ScreenTexts {
    /// Names this wording for the consent evidence (MedMij CONSENT-5):
    /// `toestemming-2.x/default-provisional-nl` (or `-en`) for a default,
    /// else `toestemming-2.x/custom-<16 hex>` from a SHA-256 over every
    /// text, so that each wording has its own version.
    pub fn version(&self) -> String {
        if *self == Self::nl() {
            return "toestemming-2.x/default-provisional-nl".to_string();
        }
        if *self == Self::en() {
            return "toestemming-2.x/default-provisional-en".to_string();
        }
        crate::text::custom_version(
            "toestemming-2.x",
            self.language.tag().as_bytes(),
            self.all().into_iter().map(|t| t.1),
        )
    }

    /// What the person was shown on the consent screen, for the consent
    /// evidence (MedMij CONSENT-5): the intro, the four points and the
    /// statement and the label of the indefinite-period choice, with the
    /// names filled, one per line. Whether the choice was made is the
    /// record's [`EvidenceRecord::indefinite`](crate::evidence::EvidenceRecord::indefinite).
    pub fn shown_consent(&self, names: &Names) -> Result<ShownText, EvidenceError> {
        let (a, g) = (names.aanbieder.as_str(), names.pgo.as_str());
        let mut lines = vec![plain(&self.consent_intro, a, g)];
        lines.extend(self.consent_points.iter().map(|p| plain(p, a, g)));
        lines.push(plain(&self.consent_statement, a, g));
        lines.push(plain(&self.indefinite_label, a, g));
        ShownText::custom(
            &self.version(),
            self.language,
            shown_vars(a, g),
            &lines.join("\n"),
        )
    }

    /// What the person was shown on the termination statement, for the
    /// consent evidence of a withdrawal (MedMij CONSENT-5, OAUTH-22).
    pub fn shown_termination(&self, names: &Names) -> Result<ShownText, EvidenceError> {
        let (a, g) = (names.aanbieder.as_str(), names.pgo.as_str());
        ShownText::custom(
            &self.version(),
            self.language,
            shown_vars(a, g),
            &format!(
                "{}\n{}",
                plain(&self.termination_title, a, g),
                plain(&self.termination_text, a, g)
            ),
        )
    }
}

fn plain(template: &str, aanbieder: &str, pgo: &str) -> String {
    substitute(
        template,
        &[
            (PLACEHOLDER_AANBIEDER, aanbieder),
            (PLACEHOLDER_PGO_V2, pgo),
        ],
    )
}

fn shown_vars(aanbieder: &str, pgo: &str) -> [(String, String); 2] {
    [
        ("Naam Aanbieder".to_string(), aanbieder.to_string()),
        ("Naam PGO".to_string(), pgo.to_string()),
    ]
}

/// The names the 2.x screens fill in: `<Naam Aanbieder>` (from the DVZA's
/// own relation) and `<Naam PGO>` (the OCL organisation name of the
/// client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `<Naam Aanbieder>`.
    pub aanbieder: ZorgaanbiederNaam,
    /// `<Naam PGO>`.
    pub pgo: PgoLeverancierNaam,
}

impl Names {
    /// Validates both names.
    pub fn new(aanbieder: &str, pgo: &str) -> Result<Self, VariableError> {
        Ok(Self {
            aanbieder: ZorgaanbiederNaam::new(aanbieder)?,
            pgo: PgoLeverancierNaam::new(pgo)?,
        })
    }
}

/// Replaces each placeholder by its value in one pass, so that a value
/// holding a placeholder is not expanded again.
fn substitute(template: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    loop {
        let next = pairs
            .iter()
            .filter_map(|(p, v)| rest.find(p).map(|i| (i, *p, *v)))
            .min_by_key(|(i, _, _)| *i);
        match next {
            None => {
                out.push_str(rest);
                return out;
            }
            Some((i, p, v)) => {
                out.push_str(&rest[..i]);
                out.push_str(v);
                rest = &rest[i + p.len()..];
            }
        }
    }
}

/// Escapes `template` and fills the two names (escaped). The placeholders
/// hold no character that escaping changes.
fn fill(template: &str, aanbieder: &str, pgo: &str) -> String {
    substitute(
        &escape_html(template),
        &[
            (PLACEHOLDER_AANBIEDER, &escape_html(aanbieder)),
            (PLACEHOLDER_PGO_V2, &escape_html(pgo)),
        ],
    )
}

/// The host's choices for a 2.x page: where forms post to, the anti-CSRF
/// token, the flow (consent screen), styling hooks and the origin of the
/// redirect after a post.
#[derive(Debug, Clone)]
pub struct ScreenOptions<'a> {
    /// The path the forms post to (same rules as
    /// [`crate::PageOptions::action`]).
    pub action: &'a str,
    /// The flow (consent screen only; posted as `flow`).
    pub flow: Option<&'a FlowId>,
    /// The anti-CSRF token (posted as `csrf_token`).
    pub csrf: &'a CsrfToken,
    /// Extra CSS (as [`crate::PageOptions::extra_css`]).
    pub extra_css: Option<&'a str>,
    /// An extra class on `<body>` (as [`crate::PageOptions::body_class`]).
    pub body_class: Option<&'a str>,
    /// The origin the answer redirects to (as
    /// [`crate::PageOptions::redirect_origin`]).
    pub redirect_origin: Option<&'a str>,
}

impl<'a> ScreenOptions<'a> {
    /// Options without flow, extra CSS, class or redirect origin.
    pub fn new(action: &'a str, csrf: &'a CsrfToken) -> Self {
        Self {
            action,
            flow: None,
            csrf,
            extra_css: None,
            body_class: None,
            redirect_origin: None,
        }
    }

    /// With the flow the consent screen is for.
    #[must_use]
    pub fn with_flow(mut self, flow: &'a FlowId) -> Self {
        self.flow = Some(flow);
        self
    }
}

struct Prepared {
    css: String,
    body_class: String,
    headers: Vec<(&'static str, String)>,
}

fn prepare(
    texts: &ScreenTexts,
    options: &ScreenOptions<'_>,
    form_action: bool,
) -> Result<Prepared, PageError> {
    texts.check()?;
    if form_action {
        check_path("action", options.action)?;
    }
    let css = style_sheet(options.extra_css)?;
    let body_class = body_class(options.body_class)?;
    let headers = security_headers(&css, options.redirect_origin)?;
    Ok(Prepared {
        css,
        body_class,
        headers,
    })
}

/// The 2.x consent screen "Toestemming geven" (MedMij CONSENT-6,
/// OAUTH-19): names the Aanbieder and the PGO but no Gegevensdienst,
/// explains the four points, offers the indefinite-period choice as a
/// checkbox that is never preselected, and posts `flow`, `csrf_token`,
/// `indefinite=yes` (only when checked) and `decision` = `grant` |
/// `refuse` to `options.action` (parse with [`PostedV2Decision::from_form`]).
pub fn render_consent(
    texts: &ScreenTexts,
    names: &Names,
    options: &ScreenOptions<'_>,
) -> Result<ConsentPage, PageError> {
    let p = prepare(texts, options, true)?;
    let flow = options
        .flow
        .ok_or_else(|| page_error("flow", "the consent screen needs the flow"))?;
    let (a, g) = (names.aanbieder.as_str(), names.pgo.as_str());
    let f = |t: &str| fill(t, a, g);
    let points: String = texts
        .consent_points
        .iter()
        .enumerate()
        .map(|(i, t)| format!("<li id=\"mc-point-{}\">{}</li>\n", i + 1, f(t)))
        .collect();
    let html = format!(
        "{head}<main aria-labelledby=\"mc-title\">\n\
<h1 id=\"mc-title\">{title}</h1>\n\
<p id=\"mc-intro\">{intro}</p>\n\
<ul id=\"mc-points\">\n{points}</ul>\n\
<form method=\"post\" action=\"{action}\" aria-describedby=\"mc-statement\">\n\
<input type=\"hidden\" name=\"flow\" value=\"{flow}\">\n\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
<p id=\"mc-statement\" class=\"mc-short\">{statement}</p>\n\
<p class=\"mc-choice\"><input type=\"checkbox\" id=\"mc-indefinite\" name=\"indefinite\" value=\"yes\">\n\
<label for=\"mc-indefinite\">{indefinite}</label></p>\n\
<div class=\"mc-buttons\" role=\"group\" aria-labelledby=\"mc-title\">\n\
<button type=\"submit\" id=\"mc-grant\" class=\"mc-grant\" name=\"decision\" value=\"grant\">{grant}</button>\n\
<button type=\"submit\" id=\"mc-refuse\" class=\"mc-refuse\" name=\"decision\" value=\"refuse\">{refuse}</button>\n\
</div>\n</form>\n</main>\n</body>\n</html>\n",
        head = head(texts.language, &texts.consent_title, &p.css, &p.body_class),
        title = f(&texts.consent_title),
        intro = f(&texts.consent_intro),
        action = escape_html(options.action),
        flow = escape_html(flow.as_str()),
        csrf = escape_html(options.csrf.as_str()),
        statement = f(&texts.consent_statement),
        indefinite = f(&texts.indefinite_label),
        grant = f(&texts.grant),
        refuse = f(&texts.refuse),
    );
    Ok(ConsentPage::new(html, p.headers))
}

/// The decision posted by [`render_consent`]'s form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct PostedV2Decision {
    /// The `flow` field.
    pub flow: FlowId,
    /// The `csrf_token` field as posted (compare with
    /// [`CsrfToken::matches`]).
    pub csrf_token: String,
    /// Granted or refused.
    pub decision: Decision,
    /// The indefinite-period checkbox was checked.
    pub indefinite: bool,
}

impl PostedV2Decision {
    /// Parses the form body. `indefinite` may be absent (unchecked) or
    /// `yes`; the other three fields must each be present once.
    pub fn from_form(body: &str) -> Result<Self, FormError> {
        let f = Fields::parse(body, &["flow", "csrf_token", "decision", "indefinite"])?;
        let flow = f.flow()?;
        let csrf_token = f.required("csrf_token")?;
        let decision = match f.required("decision")?.as_str() {
            "grant" => Decision::Granted,
            "refuse" => Decision::Refused,
            other => {
                return Err(FormError::Invalid {
                    field: "decision",
                    reason: format!("{other:?} is neither \"grant\" nor \"refuse\""),
                });
            }
        };
        let indefinite = match f.get("indefinite").as_deref() {
            None => false,
            Some("yes") => true,
            Some(other) => {
                return Err(FormError::Invalid {
                    field: "indefinite",
                    reason: format!("{other:?} is not \"yes\""),
                });
            }
        };
        Ok(Self {
            flow,
            csrf_token,
            decision,
            indefinite,
        })
    }

    /// The decision as the 1.x form's, to hand to a
    /// [`DecisionBook`](crate::DecisionBook): it checks the flow and the
    /// anti-CSRF token and accepts the decision once. Keep
    /// [`Self::long_lasting`] next to the record it returns.
    pub fn as_posted(&self) -> crate::PostedDecision {
        crate::PostedDecision {
            flow: self.flow.clone(),
            csrf_token: self.csrf_token.clone(),
            decision: self.decision,
        }
    }

    /// Consent for an indefinite period: granted with the box checked
    /// (OAUTH-19: only then a refresh token is issued).
    #[must_use]
    pub fn long_lasting(&self) -> bool {
        self.decision == Decision::Granted && self.indefinite
    }
}

/// The form fields this module reads, each at most once.
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn parse(body: &str, known: &[&'static str]) -> Result<Self, FormError> {
        if body.len() > 4096 {
            return Err(FormError::Malformed("longer than 4096 bytes".into()));
        }
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = crate::decision::percent_decode(k)?;
            let Some(name) = known.iter().find(|n| **n == k) else {
                continue;
            };
            if out.iter().any(|(n, _)| n == name) {
                return Err(FormError::Repeated(name));
            }
            out.push((name, crate::decision::percent_decode(v)?));
        }
        Ok(Self(out))
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    fn required(&self, name: &'static str) -> Result<String, FormError> {
        self.get(name).ok_or(FormError::Missing(name))
    }

    fn flow(&self) -> Result<FlowId, FormError> {
        FlowId::new(self.required("flow")?).map_err(|e| FormError::Invalid {
            field: "flow",
            reason: e.reason,
        })
    }
}

/// Identifies one long-lasting consent on the overview (e.g. the ledger
/// sequence number of the grant, or the host's own id): 1 to 128 characters
/// of `A-Z a-z 0-9 - _ . ~`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsentHandle(String);

impl ConsentHandle {
    /// Validates `value`.
    pub fn new(value: impl Into<String>) -> Result<Self, VariableError> {
        let value = value.into();
        // Same alphabet and limits as a flow id.
        FlowId::new(value.clone()).map_err(|e| VariableError {
            field: "consent",
            reason: e.reason,
            rule: RuleId::Oauth22,
        })?;
        Ok(Self(value))
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One long-lasting consent on the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongLastingConsent {
    /// Which consent (posted back on withdrawal).
    pub handle: ConsentHandle,
    /// The Aanbieder it was given to.
    pub aanbieder: ZorgaanbiederNaam,
    /// When it was given.
    pub given_at: SystemTime,
}

/// The overview of a person's long-lasting consents to one PGO (MedMij
/// CONSENT-6, OAUTH-22), each with a withdraw button that posts
/// `csrf_token`, `consent` and `action=withdraw` to `options.action`
/// (parse with [`PostedManagement::from_form`]); the host then shows the
/// termination statement. `back` is the way back to the PGO (the
/// validated redirect URI with `state`), when there is one.
pub fn render_overview(
    texts: &ScreenTexts,
    pgo: &PgoLeverancierNaam,
    consents: &[LongLastingConsent],
    back: Option<&ReturnUrl>,
    options: &ScreenOptions<'_>,
) -> Result<ConsentPage, PageError> {
    let p = prepare(texts, options, true)?;
    let g = pgo.as_str();
    let list = if consents.is_empty() {
        format!(
            "<p id=\"mc-empty\">{}</p>\n",
            fill(&texts.overview_empty, "", g)
        )
    } else {
        let items: String = consents
            .iter()
            .map(|c| {
                let date = medmij_types::rfc3339::format(c.given_at);
                format!(
                    "<li class=\"mc-consent\" id=\"mc-consent-{h}\">\n\
<form method=\"post\" action=\"{action}\">\n\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
<input type=\"hidden\" name=\"consent\" value=\"{h}\">\n\
<span class=\"mc-aanbieder\">{a}</span> <span class=\"mc-given\">({given} <time datetime=\"{date}\">{day}</time>)</span>\n\
<button type=\"submit\" class=\"mc-refuse\" id=\"mc-withdraw-{h}\" name=\"action\" value=\"withdraw\" aria-label=\"{withdraw}: {a}\">{withdraw}</button>\n\
</form>\n</li>\n",
                    h = escape_html(c.handle.as_str()),
                    action = escape_html(options.action),
                    csrf = escape_html(options.csrf.as_str()),
                    a = escape_html(c.aanbieder.as_str()),
                    given = fill(&texts.overview_given_on, "", g),
                    day = &date[..10],
                    withdraw = fill(&texts.withdraw, c.aanbieder.as_str(), g),
                )
            })
            .collect();
        format!(
            "<p id=\"mc-intro\">{}</p>\n<ul id=\"mc-consents\">\n{items}</ul>\n",
            fill(&texts.overview_intro, "", g)
        )
    };
    let html = format!(
        "{head}<main aria-labelledby=\"mc-title\">\n\
<h1 id=\"mc-title\">{title}</h1>\n{list}{back}</main>\n</body>\n</html>\n",
        head = head(texts.language, &texts.overview_title, &p.css, &p.body_class),
        title = fill(&texts.overview_title, "", g),
        back = back_link(texts, g, back),
    );
    Ok(ConsentPage::new(html, p.headers))
}

fn back_link(texts: &ScreenTexts, pgo: &str, back: Option<&ReturnUrl>) -> String {
    match back {
        Some(u) => format!(
            "<p><a id=\"mc-back\" href=\"{}\">{}</a></p>\n",
            escape_html(u.as_str()),
            fill(&texts.back_to_pgo, "", pgo)
        ),
        None => String::new(),
    }
}

/// The termination statement ("Beëindigingsverklaring Toestemming", MedMij
/// CONSENT-6, OAUTH-22) for one consent: the text and two buttons that post
/// `csrf_token`, `consent` and `action` = `confirm` | `cancel`.
pub fn render_termination(
    texts: &ScreenTexts,
    names: &Names,
    consent: &ConsentHandle,
    options: &ScreenOptions<'_>,
) -> Result<ConsentPage, PageError> {
    let p = prepare(texts, options, true)?;
    let (a, g) = (names.aanbieder.as_str(), names.pgo.as_str());
    let f = |t: &str| fill(t, a, g);
    let html = format!(
        "{head}<main aria-labelledby=\"mc-title\">\n\
<h1 id=\"mc-title\">{title}</h1>\n\
<p id=\"mc-termination\" class=\"mc-short\">{text}</p>\n\
<form method=\"post\" action=\"{action}\" aria-describedby=\"mc-termination\">\n\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
<input type=\"hidden\" name=\"consent\" value=\"{h}\">\n\
<div class=\"mc-buttons\" role=\"group\" aria-labelledby=\"mc-title\">\n\
<button type=\"submit\" id=\"mc-confirm\" class=\"mc-grant\" name=\"action\" value=\"confirm\">{confirm}</button>\n\
<button type=\"submit\" id=\"mc-cancel\" class=\"mc-refuse\" name=\"action\" value=\"cancel\">{cancel}</button>\n\
</div>\n</form>\n</main>\n</body>\n</html>\n",
        head = head(
            texts.language,
            &texts.termination_title,
            &p.css,
            &p.body_class
        ),
        title = f(&texts.termination_title),
        text = f(&texts.termination_text),
        action = escape_html(options.action),
        csrf = escape_html(options.csrf.as_str()),
        h = escape_html(consent.as_str()),
        confirm = f(&texts.termination_confirm),
        cancel = f(&texts.termination_cancel),
    );
    Ok(ConsentPage::new(html, p.headers))
}

/// What a management form asks.
///
/// Deliberately exhaustive (not `#[non_exhaustive]`): the host dispatches on
/// the action and each one has its own consequence (show the termination
/// statement, log and revoke, go back); an action added later must make that
/// `match` fail to compile rather than fall into a catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManageAction {
    /// Withdraw (overview): show the termination statement.
    Withdraw,
    /// Confirm the withdrawal (termination statement): log it (CONSENT-3,
    /// CONSENT-5), revoke the refresh-token chain (OAUTH-22).
    Confirm,
    /// Cancel (termination statement): back to the overview.
    Cancel,
}

/// A form posted by [`render_overview`] or [`render_termination`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedManagement {
    /// The `csrf_token` field as posted.
    pub csrf_token: String,
    /// The consent it is about.
    pub consent: ConsentHandle,
    /// What is asked.
    pub action: ManageAction,
}

impl PostedManagement {
    /// Parses the form body: `csrf_token`, `consent` and `action` =
    /// `withdraw` | `confirm` | `cancel`, each once.
    pub fn from_form(body: &str) -> Result<Self, FormError> {
        let f = Fields::parse(body, &["csrf_token", "consent", "action"])?;
        let csrf_token = f.required("csrf_token")?;
        let consent =
            ConsentHandle::new(f.required("consent")?).map_err(|e| FormError::Invalid {
                field: "consent",
                reason: e.reason,
            })?;
        let action = match f.required("action")?.as_str() {
            "withdraw" => ManageAction::Withdraw,
            "confirm" => ManageAction::Confirm,
            "cancel" => ManageAction::Cancel,
            other => {
                return Err(FormError::Invalid {
                    field: "action",
                    reason: format!("{other:?} is not withdraw, confirm or cancel"),
                });
            }
        };
        Ok(Self {
            csrf_token,
            consent,
            action,
        })
    }
}

/// A way back to the PGO (MedMij OAUTH-23: only when `client_id` and
/// `redirect_uri` were valid): the host builds it from the validated
/// redirect URI (OAUTH-4) with `error` and `state`. Checked again here:
/// absolute `https`, a host, no fragment, no white space, quotes or angle
/// brackets, at most 2048 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrl(String);

impl ReturnUrl {
    /// Validates `url`.
    pub fn new(url: &str) -> Result<Self, VariableError> {
        let err = |reason: &str| VariableError {
            field: "return_url",
            reason: reason.to_string(),
            rule: RuleId::Oauth23,
        };
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| err("must start with https://"))?;
        if url.len() > 2048 {
            return Err(err("is longer than 2048 bytes"));
        }
        if !url.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\')
        }) {
            return Err(err(
                "may hold only visible ASCII without quotes, angle brackets or backslashes",
            ));
        }
        if url.contains('#') {
            return Err(err("may not have a fragment"));
        }
        let host = rest.split(['/', '?', ':']).next().unwrap_or("");
        if host.is_empty() || rest.starts_with('@') || host.contains('@') {
            return Err(err("has no host"));
        }
        Ok(Self(url.to_string()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the technical-failure page shows (MedMij OAUTH-23).
#[derive(Debug, Clone)]
pub struct FailureInfo<'a> {
    /// The `MedMij-Request-ID` of the failed request, as received (shown
    /// only when it is a UUID; else the "not received" text).
    pub trace_id: Option<&'a str>,
    /// The `X-Correlation-ID` of the flow, as received (same rule).
    pub session_id: Option<&'a str>,
    /// The ZA GW's name (the DVZA).
    pub za_gw_name: &'a str,
    /// How to reach it (e-mail address, phone number or web address).
    pub contact: &'a str,
    /// The way back to the PGO, only when `client_id` and `redirect_uri`
    /// were valid.
    pub back: Option<&'a ReturnUrl>,
    /// The PGO's name for the back link, if known.
    pub pgo: Option<&'a PgoLeverancierNaam>,
}

/// True for the 8-4-4-4-12 hex form of a UUID (either case).
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn check_plain(field: &'static str, v: &str, max: usize) -> Result<(), PageError> {
    if v.trim().is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(VariableError {
            field,
            reason: format!("must be 1 to {max} characters without control characters"),
            rule: RuleId::Oauth23,
        });
    }
    Ok(())
}

/// The ZA GW's technical-failure page (MedMij OAUTH-23): what happened, the
/// ZA GW's name and contact, the Trace ID (`MedMij-Request-ID`) and the
/// Session ID (`X-Correlation-ID`), and a link back to the PGO only when
/// `info.back` is given. No form; the same headers as the other pages.
pub fn render_failure(
    texts: &ScreenTexts,
    info: &FailureInfo<'_>,
) -> Result<ConsentPage, PageError> {
    texts.check()?;
    check_plain("za_gw_name", info.za_gw_name, 200)?;
    check_plain("contact", info.contact, 200)?;
    let css = style_sheet(None)?;
    let headers = security_headers(&css, None)?;
    let id = |v: Option<&str>| match v {
        Some(v) if is_uuid(v) => format!("<code>{}</code>", escape_html(v)),
        _ => escape_html(&texts.id_missing),
    };
    let pgo = info.pgo.map(|p| p.as_str()).unwrap_or("PGO");
    let html = format!(
        "{head}<main aria-labelledby=\"mc-title\">\n\
<h1 id=\"mc-title\">{title}</h1>\n\
<p id=\"mc-failure\">{text}</p>\n\
<p id=\"mc-contact\">{contact}</p>\n\
<dl id=\"mc-ids\">\n\
<dt>{trace_label}</dt><dd id=\"mc-trace-id\">{trace}</dd>\n\
<dt>{session_label}</dt><dd id=\"mc-session-id\">{session}</dd>\n\
</dl>\n{back}</main>\n</body>\n</html>\n",
        head = head(texts.language, &texts.failure_title, &css, ""),
        title = escape_html(&texts.failure_title),
        text = escape_html(&texts.failure_text),
        contact = substitute(
            &escape_html(&texts.failure_contact),
            &[
                (
                    PLACEHOLDER_ZA_GW,
                    &format!(
                        "<strong id=\"mc-za-gw\">{}</strong>",
                        escape_html(info.za_gw_name)
                    ),
                ),
                (
                    PLACEHOLDER_CONTACT,
                    &format!(
                        "<span id=\"mc-contact-value\">{}</span>",
                        escape_html(info.contact)
                    ),
                ),
            ],
        ),
        trace_label = escape_html(&texts.trace_id_label),
        trace = id(info.trace_id),
        session_label = escape_html(&texts.session_id_label),
        session = id(info.session_id),
        back = back_link(texts, pgo, info.back),
    );
    Ok(ConsentPage::new(html, headers))
}
