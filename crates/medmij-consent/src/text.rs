//! The wording of the Toestemming (CONSENT-1) and the Bevestiging (CONSENT-2).

use serde::{Deserialize, Serialize};

use crate::vars::{
    GegevensdienstNaam, PgoLeverancierNaam, VariableError, ZorgaanbiederNaam, escape_html,
};

/// The language a text is shown in. Dutch is the default; the Dutch
/// Toestemming is the legal text of CONSENT-1, the English one a translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Language {
    /// Dutch (`nl`), the default.
    #[default]
    Nl,
    /// English (`en`).
    En,
}

impl Language {
    /// The BCP 47 tag for the HTML `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::En => "en",
        }
    }
}

/// The three variables CONSENT-1 and CONSENT-2 fill in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variables {
    /// `{naam Zorgaanbieder}`.
    pub zorgaanbieder: ZorgaanbiederNaam,
    /// `{MedMij-gegevensdienst}`.
    pub gegevensdienst: GegevensdienstNaam,
    /// `{naam leverancier PGO}`.
    pub pgo: PgoLeverancierNaam,
}

impl Variables {
    /// Validates the three values (see the types for the rules).
    pub fn new(
        zorgaanbieder: &str,
        gegevensdienst: &str,
        pgo: &str,
    ) -> Result<Self, VariableError> {
        Ok(Self {
            zorgaanbieder: ZorgaanbiederNaam::new(zorgaanbieder)?,
            gegevensdienst: GegevensdienstNaam::new(gegevensdienst)?,
            pgo: PgoLeverancierNaam::new(pgo)?,
        })
    }
}

/// Placeholder in a template for `{naam Zorgaanbieder}`.
pub const PLACEHOLDER_ZORGAANBIEDER: &str = "{naam Zorgaanbieder}";
/// Placeholder in a template for `{MedMij-gegevensdienst}`.
pub const PLACEHOLDER_GEGEVENSDIENST: &str = "{MedMij-gegevensdienst}";
/// Placeholder in a template for `{naam leverancier PGO}`.
pub const PLACEHOLDER_PGO: &str = "{naam leverancier PGO}";

/// The Toestemming of release 1.0, word for word (MedMij CONSENT-1).
pub const TOESTEMMING_NL: &str = "U verleent hierbij '{naam Zorgaanbieder}' toestemming om '{MedMij-gegevensdienst}' uit te wisselen met '{naam leverancier PGO}' voor het doel deze (persoons)gegevens en gezondheidsinformatie in uw persoonlijke gezondheidsomgeving op te nemen.";
/// English translation of [`TOESTEMMING_NL`] (not the legal text).
pub const TOESTEMMING_EN: &str = "You hereby give '{naam Zorgaanbieder}' permission to exchange '{MedMij-gegevensdienst}' with '{naam leverancier PGO}' for the purpose of including these (personal) data and health information in your personal health environment.";
const TOESTEMMING_SHORT_NL: &str = "Geeft u '{naam Zorgaanbieder}' toestemming om '{MedMij-gegevensdienst}' uit te wisselen met '{naam leverancier PGO}'?";
const TOESTEMMING_SHORT_EN: &str = "Do you give '{naam Zorgaanbieder}' permission to exchange '{MedMij-gegevensdienst}' with '{naam leverancier PGO}'?";

/// The default Bevestiging (MedMij CONSENT-2), Dutch.
pub const BEVESTIGING_NL: &str = "U bevestigt hierbij dat '{MedMij-gegevensdienst}' uit uw persoonlijke gezondheidsomgeving bij '{naam leverancier PGO}' beschikbaar wordt gesteld aan '{naam Zorgaanbieder}'.";
/// The default Bevestiging (MedMij CONSENT-2), English.
pub const BEVESTIGING_EN: &str = "You hereby confirm that '{MedMij-gegevensdienst}' from your personal health environment at '{naam leverancier PGO}' is made available to '{naam Zorgaanbieder}'.";
const BEVESTIGING_SHORT_NL: &str = "Bevestigt u dat '{MedMij-gegevensdienst}' uit uw persoonlijke gezondheidsomgeving bij '{naam leverancier PGO}' beschikbaar wordt gesteld aan '{naam Zorgaanbieder}'?";
const BEVESTIGING_SHORT_EN: &str = "Do you confirm that '{MedMij-gegevensdienst}' from your personal health environment at '{naam leverancier PGO}' is made available to '{naam Zorgaanbieder}'?";

/// Fills the three placeholders of a (validated) template; `escape` decides
/// whether the variables are HTML-escaped. The template's own text is
/// written as it is: the templates of this crate contain no markup.
fn fill(template: &str, vars: &Variables, escape: bool) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    loop {
        let next = [
            (PLACEHOLDER_ZORGAANBIEDER, vars.zorgaanbieder.as_str()),
            (PLACEHOLDER_GEGEVENSDIENST, vars.gegevensdienst.as_str()),
            (PLACEHOLDER_PGO, vars.pgo.as_str()),
        ]
        .into_iter()
        .filter_map(|(p, v)| rest.find(p).map(|i| (i, p, v)))
        .min_by_key(|(i, _, _)| *i);
        match next {
            None => {
                out.push_str(rest);
                return out;
            }
            Some((i, p, v)) => {
                out.push_str(&rest[..i]);
                push_text(&mut out, v, escape);
                rest = &rest[i + p.len()..];
            }
        }
    }
}

fn push_text(out: &mut String, s: &str, escape: bool) {
    if escape {
        out.push_str(&escape_html(s));
    } else {
        out.push_str(s);
    }
}

/// Which question is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsentKind {
    /// The legal consent of UC Verzamelen (CONSENT-1).
    Toestemming,
    /// The confirmation of UC Delen (CONSENT-2), not a legal consent.
    Bevestiging,
}

/// What a consent screen shows: a short statement, the full text, and the
/// labels around them. Implemented by [`Toestemming`] and [`Bevestiging`].
pub trait Wording {
    /// Which question this is.
    fn kind(&self) -> ConsentKind;
    /// The full text, plain (variables not escaped).
    fn full_text(&self, lang: Language) -> String;
    /// The full text with the variables HTML-escaped.
    fn full_html(&self, lang: Language) -> String;
    /// The short statement shown above the buttons, plain.
    fn short_text(&self, lang: Language) -> String;
    /// The short statement with the variables HTML-escaped.
    fn short_html(&self, lang: Language) -> String;
}

/// The Toestemming of UC Verzamelen (MedMij CONSENT-1). The wording is
/// fixed: only the three variables vary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toestemming {
    vars: Variables,
}

impl Toestemming {
    /// The Toestemming for these three variables.
    pub fn new(vars: Variables) -> Self {
        Self { vars }
    }

    /// The variables.
    pub fn variables(&self) -> &Variables {
        &self.vars
    }
}

impl Wording for Toestemming {
    fn kind(&self) -> ConsentKind {
        ConsentKind::Toestemming
    }
    fn full_text(&self, lang: Language) -> String {
        fill(toestemming_full(lang), &self.vars, false)
    }
    fn full_html(&self, lang: Language) -> String {
        fill(toestemming_full(lang), &self.vars, true)
    }
    fn short_text(&self, lang: Language) -> String {
        fill(toestemming_short(lang), &self.vars, false)
    }
    fn short_html(&self, lang: Language) -> String {
        fill(toestemming_short(lang), &self.vars, true)
    }
}

fn toestemming_full(lang: Language) -> &'static str {
    match lang {
        Language::Nl => TOESTEMMING_NL,
        Language::En => TOESTEMMING_EN,
    }
}

fn toestemming_short(lang: Language) -> &'static str {
    match lang {
        Language::Nl => TOESTEMMING_SHORT_NL,
        Language::En => TOESTEMMING_SHORT_EN,
    }
}

/// A Bevestiging template: the default wording, or the DVZA's own, which
/// must contain each of the three placeholders exactly once, no other `{` or
/// `}`, and no markup characters (`<`, `>`, `&`, `"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BevestigingTemplate {
    full: [String; 2],
    short: [String; 2],
}

impl Default for BevestigingTemplate {
    fn default() -> Self {
        Self {
            full: [BEVESTIGING_NL.into(), BEVESTIGING_EN.into()],
            short: [BEVESTIGING_SHORT_NL.into(), BEVESTIGING_SHORT_EN.into()],
        }
    }
}

impl BevestigingTemplate {
    /// Replaces the wording for `lang` with `full` and `short`, after
    /// checking both (see the type's documentation).
    pub fn with_wording(
        mut self,
        lang: Language,
        full: &str,
        short: &str,
    ) -> Result<Self, VariableError> {
        check_template("Bevestiging full text", full)?;
        check_template("Bevestiging short text", short)?;
        let i = lang_index(lang);
        self.full[i] = full.into();
        self.short[i] = short.into();
        Ok(self)
    }
}

fn lang_index(lang: Language) -> usize {
    match lang {
        Language::Nl => 0,
        Language::En => 1,
    }
}

fn check_template(field: &'static str, t: &str) -> Result<(), VariableError> {
    let err = |reason: String| VariableError {
        field,
        reason,
        rule: medmij_types::RuleId::Consent2,
    };
    if t.chars().count() > 1000 {
        return Err(err("is longer than 1000 characters".into()));
    }
    let mut rest = t.to_string();
    for p in [
        PLACEHOLDER_ZORGAANBIEDER,
        PLACEHOLDER_GEGEVENSDIENST,
        PLACEHOLDER_PGO,
    ] {
        let n = rest.matches(p).count();
        if n != 1 {
            return Err(err(format!("contains {p} {n} times; must be exactly once")));
        }
        rest = rest.replace(p, "");
    }
    if let Some(c) = rest
        .chars()
        .find(|c| matches!(c, '{' | '}' | '<' | '>' | '&' | '"') || c.is_control())
    {
        return Err(err(format!("contains {c:?} outside the placeholders")));
    }
    Ok(())
}

/// The Bevestiging of UC Delen (MedMij CONSENT-2): the person confirms that
/// the data may be made available to the Zorgaanbieder. Not a legal consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bevestiging {
    vars: Variables,
    template: BevestigingTemplate,
}

impl Bevestiging {
    /// The Bevestiging with the default wording.
    pub fn new(vars: Variables) -> Self {
        Self::with_template(vars, BevestigingTemplate::default())
    }

    /// The Bevestiging with a checked custom wording.
    pub fn with_template(vars: Variables, template: BevestigingTemplate) -> Self {
        Self { vars, template }
    }

    /// The variables.
    pub fn variables(&self) -> &Variables {
        &self.vars
    }
}

impl Wording for Bevestiging {
    fn kind(&self) -> ConsentKind {
        ConsentKind::Bevestiging
    }
    fn full_text(&self, lang: Language) -> String {
        fill(&self.template.full[lang_index(lang)], &self.vars, false)
    }
    fn full_html(&self, lang: Language) -> String {
        fill(&self.template.full[lang_index(lang)], &self.vars, true)
    }
    fn short_text(&self, lang: Language) -> String {
        fill(&self.template.short[lang_index(lang)], &self.vars, false)
    }
    fn short_html(&self, lang: Language) -> String {
        fill(&self.template.short[lang_index(lang)], &self.vars, true)
    }
}
