//! The wording of the Toestemming (CONSENT-1) and the Bevestiging (CONSENT-2).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
            Self::Nl => "nl",
            Self::En => "en",
        }
    }
}

/// The three variables CONSENT-1 and CONSENT-2 fill in.
///
/// With a release-1.5 scope of several Gegevensdiensten (OAUTH-5),
/// `{MedMij-gegevensdienst}` names every Weergavenaam as MedMij CONSENT-1
/// writes it: `'A' en 'B'`, `'A', 'B' en 'C'` (English: `and`); see
/// [`Variables::several`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variables {
    /// `{naam Zorgaanbieder}`.
    pub zorgaanbieder: ZorgaanbiederNaam,
    /// `{MedMij-gegevensdienst}`: the (first) Gegevensdienst.
    pub gegevensdienst: GegevensdienstNaam,
    /// The further Gegevensdiensten of a multi-pair scope, in scope order;
    /// empty for a scope of one pair.
    pub more_gegevensdiensten: Vec<GegevensdienstNaam>,
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
            more_gegevensdiensten: Vec::new(),
            pgo: PgoLeverancierNaam::new(pgo)?,
        })
    }

    /// Validates the values for a release-1.5 scope of one or more
    /// Gegevensdiensten (MedMij CONSENT-1, OAUTH-5): `gegevensdiensten` are
    /// the GNL Weergavenamen in scope order; at least one, at most 64.
    pub fn several(
        zorgaanbieder: &str,
        gegevensdiensten: &[&str],
        pgo: &str,
    ) -> Result<Self, VariableError> {
        let field = "MedMij-gegevensdienst";
        let (first, rest) = gegevensdiensten.split_first().ok_or(VariableError {
            field,
            reason: "no Gegevensdienst given; at least one is needed".into(),
            rule: medmij_types::RuleId::Consent1,
        })?;
        if gegevensdiensten.len() > 64 {
            return Err(VariableError {
                field,
                reason: format!(
                    "{} Gegevensdiensten given; at most 64 are shown",
                    gegevensdiensten.len()
                ),
                rule: medmij_types::RuleId::Consent1,
            });
        }
        let mut v = Self::new(zorgaanbieder, first, pgo)?;
        v.more_gegevensdiensten = rest
            .iter()
            .map(|g| GegevensdienstNaam::new(*g))
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// The variables for a 1.x `scope` (MedMij CONSENT-1, OAUTH-5): every
    /// Gegevensdienst of the scope, in scope order, by its GNL Weergavenaam
    /// as `weergavenaam` gives it (e.g. from `medmij-lists`); an id it does
    /// not know is refused, naming the id.
    pub fn from_scope(
        zorgaanbieder: &str,
        scope: &medmij_types::Scope,
        weergavenaam: impl Fn(&str) -> Option<String>,
        pgo: &str,
    ) -> Result<Self, VariableError> {
        let names = scope
            .gegevensdiensten()
            .iter()
            .map(|id| {
                weergavenaam(id.as_str()).ok_or_else(|| VariableError {
                    field: "MedMij-gegevensdienst",
                    reason: format!("GegevensdienstId {} has no Weergavenaam", id.as_str()),
                    rule: medmij_types::RuleId::Consent1,
                })
            })
            .collect::<Result<Vec<String>, _>>()?;
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        Self::several(zorgaanbieder, &refs, pgo)
    }

    /// Every Gegevensdienst, in scope order.
    pub fn gegevensdiensten(&self) -> impl Iterator<Item = &GegevensdienstNaam> {
        std::iter::once(&self.gegevensdienst).chain(&self.more_gegevensdiensten)
    }
}

/// Writes the Gegevensdiensten as MedMij CONSENT-1 does: `A', 'B' en 'C`
/// when the placeholder stands between single quotes (the quotes of the
/// template close and open around each name), else `A, B en C`.
fn list_names(vars: &Variables, lang: Language, quoted: bool, escape: bool, out: &mut String) {
    let names: Vec<&str> = vars.gegevensdiensten().map(|g| g.as_str()).collect();
    let (comma, and) = match (quoted, lang) {
        (true, Language::Nl) => ("', '", "' en '"),
        (true, Language::En) => ("', '", "' and '"),
        (false, Language::Nl) => (", ", " en "),
        (false, Language::En) => (", ", " and "),
    };
    let n = names.len();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == n { and } else { comma });
        }
        push_text(out, name, escape);
    }
}

/// Placeholder in a template for `{naam Zorgaanbieder}`.
pub const PLACEHOLDER_ZORGAANBIEDER: &str = "{naam Zorgaanbieder}";
/// Placeholder in a template for `{MedMij-gegevensdienst}`.
pub const PLACEHOLDER_GEGEVENSDIENST: &str = "{MedMij-gegevensdienst}";
/// Placeholder in a template for `{naam leverancier PGO}`.
pub const PLACEHOLDER_PGO: &str = "{naam leverancier PGO}";

/// The operative paragraph of the Toestemming of release 1.0, word for word
/// (MedMij CONSENT-1): the short version the consent screen shows, with the
/// variables filled.
pub const TOESTEMMING_NL: &str = "U verleent hierbij '{naam Zorgaanbieder}' toestemming om '{MedMij-gegevensdienst}' uit te wisselen met '{naam leverancier PGO}' voor het doel deze (persoons)gegevens en gezondheidsinformatie in uw persoonlijke gezondheidsomgeving op te nemen.";
/// English translation of [`TOESTEMMING_NL`] (not the legal text).
pub const TOESTEMMING_EN: &str = "You hereby give '{naam Zorgaanbieder}' permission to exchange '{MedMij-gegevensdienst}' with '{naam leverancier PGO}' for the purpose of including these (personal) data and health information in your personal health environment.";

/// The full Toestemming of release 1.0, word for word (MedMij CONSENT-1):
/// three paragraphs of explanation and the operative paragraph
/// ([`TOESTEMMING_NL`]), separated by an empty line (`"\n\n"`). The consent
/// screen links to it ([`crate::render_full_text_page`]).
pub const TOESTEMMING_VOLLEDIG_NL: &str = "Het doel van het MedMij Afsprakenstelsel is dat eenieder die dat wil, kan beschikken over een Persoonlijke Gezondheidsomgeving (PGO) waarin - onder uw eigen regie - (persoons)gegevens en/of informatie over uw gezondheid wordt opgenomen. Om de PGO te voorzien van de door u gewenste (persoons)gegevens en/of gezondheidsinformatie zijn in het MedMij Afsprakenstelsel afspraken gemaakt over de uitwisseling van deze gegevens. Het uitwisselen van gegevens tussen de zorgaanbieder en uw PGO verloopt zodoende via partijen die voldoen aan deze MedMij-afspraken.

Op grond van de Wet geneeskundige behandelingsovereenkomst (WGBO) is de zorgaanbieder verplicht ervoor te zorgen dat \u{2018}anderen\u{2019} dan de patiënt (lees: u) geen inlichtingen hebben over, inzage hebben in of een afschrift hebben van uw medisch dossier, tenzij u hiervoor toestemming heeft verleend.

Aangezien uw PGO (en eventuele achterliggende partij die werkt volgens de MedMij-afspraken) een zogenaamde \u{2018}andere\u{2019} is (in de zin van de WGBO) dient u de zorgaanbieder voor deze gegevensuitwisseling toestemming te verlenen. Deze toestemming heeft specifiek betrekking op de set van (persoons) gegevens en gezondheidsinformatie die, op uw verzoek, door de zorgaanbieder - overeenkomstig de afspraken in het MedMij Afsprakenstelsel - worden uitgewisseld met uw PGO.

U verleent hierbij '{naam Zorgaanbieder}' toestemming om '{MedMij-gegevensdienst}' uit te wisselen met '{naam leverancier PGO}' voor het doel deze (persoons)gegevens en gezondheidsinformatie in uw persoonlijke gezondheidsomgeving op te nemen.";

/// English translation of [`TOESTEMMING_VOLLEDIG_NL`] (not the legal text).
pub const TOESTEMMING_VOLLEDIG_EN: &str = "The aim of the MedMij framework is that everyone who wishes can have a Personal Health Environment (PGO) in which - under your own control - (personal) data and/or information about your health is kept. To supply the PGO with the (personal) data and/or health information you want, the MedMij framework sets out agreements on the exchange of these data. Data are therefore exchanged between the care provider and your PGO through parties that meet these MedMij agreements.

Under the Medical Treatment Contracts Act (WGBO) the care provider must ensure that \u{2018}others\u{2019} than the patient (that is: you) have no information about, no access to and no copy of your medical record, unless you have given your consent.

As your PGO (and any party behind it that works according to the MedMij agreements) is such an \u{2018}other\u{2019} (within the meaning of the WGBO), you need to give the care provider your consent for this exchange of data. This consent relates specifically to the set of (personal) data and health information that, at your request, the care provider exchanges with your PGO - in accordance with the agreements of the MedMij framework.

You hereby give '{naam Zorgaanbieder}' permission to exchange '{MedMij-gegevensdienst}' with '{naam leverancier PGO}' for the purpose of including these (personal) data and health information in your personal health environment.";

pub use crate::provisional::{BEVESTIGING_EN, BEVESTIGING_NL};
use crate::provisional::{BEVESTIGING_SHORT_EN, BEVESTIGING_SHORT_NL};

/// Fills the three placeholders of a (validated) template; `escape` decides
/// whether the variables are HTML-escaped. The template's own text is
/// written as it is: the templates of this crate contain no markup.
fn fill(template: &str, vars: &Variables, lang: Language, escape: bool) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    loop {
        let next = [
            (PLACEHOLDER_ZORGAANBIEDER, vars.zorgaanbieder.as_str()),
            (PLACEHOLDER_GEGEVENSDIENST, ""),
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
                let after = &rest[i + p.len()..];
                if p == PLACEHOLDER_GEGEVENSDIENST {
                    let quoted = out.ends_with('\'') && after.starts_with('\'');
                    list_names(vars, lang, quoted, escape, &mut out);
                } else {
                    push_text(&mut out, v, escape);
                }
                rest = after;
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
    /// Names the exact wording (text and version) for the consent evidence
    /// (MedMij CONSENT-5), e.g. `toestemming/release-1.0`.
    fn text_version(&self) -> String {
        "unversioned".to_string()
    }
    /// The filled variables by placeholder name, for the consent evidence
    /// (MedMij CONSENT-5).
    fn variable_values(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// The version of the Toestemming text this crate shows (MedMij CONSENT-1:
/// the text of release 1.0).
pub const TOESTEMMING_TEXT_VERSION: &str = "toestemming/release-1.0";

fn variable_values(vars: &Variables, lang: Language) -> Vec<(&'static str, String)> {
    let mut list = String::new();
    list_names(vars, lang, true, false, &mut list);
    vec![
        (
            "naam Zorgaanbieder",
            vars.zorgaanbieder.as_str().to_string(),
        ),
        ("MedMij-gegevensdienst", format!("'{list}'")),
        ("naam leverancier PGO", vars.pgo.as_str().to_string()),
    ]
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
        fill(toestemming_full(lang), &self.vars, lang, false)
    }
    fn full_html(&self, lang: Language) -> String {
        fill(toestemming_full(lang), &self.vars, lang, true)
    }
    fn short_text(&self, lang: Language) -> String {
        fill(toestemming_short(lang), &self.vars, lang, false)
    }
    fn short_html(&self, lang: Language) -> String {
        fill(toestemming_short(lang), &self.vars, lang, true)
    }
    fn text_version(&self) -> String {
        TOESTEMMING_TEXT_VERSION.to_string()
    }
    fn variable_values(&self) -> Vec<(&'static str, String)> {
        variable_values(&self.vars, Language::Nl)
    }
}

fn toestemming_full(lang: Language) -> &'static str {
    match lang {
        Language::Nl => TOESTEMMING_VOLLEDIG_NL,
        Language::En => TOESTEMMING_VOLLEDIG_EN,
    }
}

/// MedMij CONSENT-1: the screen shows the short version, the last paragraph.
fn toestemming_short(lang: Language) -> &'static str {
    match lang {
        Language::Nl => TOESTEMMING_NL,
        Language::En => TOESTEMMING_EN,
    }
}

/// A Bevestiging template (MedMij CONSENT-2): the default wording, which is
/// **provisional** (the sources give none; see [`crate::provisional`]), or
/// the DVZA's own, which replaces it as a whole ([`Self::replace_all`]) or
/// per language ([`Self::with_wording`]). A wording must contain each of the
/// three placeholders exactly once, no other `{` or `}`, and no markup
/// characters (`<`, `>`, `&`, `"`).
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
    /// The host's own wording, replacing the provisional default as a whole:
    /// full and short text in Dutch and in English, each checked (see the
    /// type's documentation).
    pub fn replace_all(
        full_nl: &str,
        short_nl: &str,
        full_en: &str,
        short_en: &str,
    ) -> Result<Self, VariableError> {
        Self::default()
            .with_wording(Language::Nl, full_nl, short_nl)?
            .with_wording(Language::En, full_en, short_en)
    }

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
        *for_lang_mut(&mut self.full, lang) = full.into();
        *for_lang_mut(&mut self.short, lang) = short.into();
        Ok(self)
    }

    /// Names this wording for the consent evidence (MedMij CONSENT-5):
    /// `bevestiging/default-provisional` for the default, else
    /// `bevestiging/custom-<16 hex>` from a SHA-256 over its four texts, so
    /// that each wording has its own version.
    pub fn version(&self) -> String {
        if *self == Self::default() {
            return "bevestiging/default-provisional".to_string();
        }
        custom_version(
            "bevestiging",
            b"",
            self.full.iter().chain(&self.short).map(String::as_str),
        )
    }
}

/// The version of a host's own wording (MedMij CONSENT-5):
/// `<kind>/custom-<16 hex>`, the hex the start of a SHA-256 over `prefix`
/// and then each text after a zero byte, so that each wording has its own.
pub(crate) fn custom_version<'a>(
    kind: &str,
    prefix: &[u8],
    texts: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut h = Sha256::new();
    h.update(prefix);
    for t in texts {
        h.update([0u8]);
        h.update(t.as_bytes());
    }
    let mut hex = crate::decision::hex(&h.finalize());
    hex.truncate(16);
    format!("{kind}/custom-{hex}")
}

/// The text for `lang` of a Dutch, English pair.
fn for_lang(texts: &[String; 2], lang: Language) -> &String {
    let [nl, en] = texts;
    match lang {
        Language::Nl => nl,
        Language::En => en,
    }
}

/// [`for_lang`], to replace the text.
fn for_lang_mut(texts: &mut [String; 2], lang: Language) -> &mut String {
    let [nl, en] = texts;
    match lang {
        Language::Nl => nl,
        Language::En => en,
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
        fill(for_lang(&self.template.full, lang), &self.vars, lang, false)
    }
    fn full_html(&self, lang: Language) -> String {
        fill(for_lang(&self.template.full, lang), &self.vars, lang, true)
    }
    fn short_text(&self, lang: Language) -> String {
        fill(
            for_lang(&self.template.short, lang),
            &self.vars,
            lang,
            false,
        )
    }
    fn short_html(&self, lang: Language) -> String {
        fill(for_lang(&self.template.short, lang), &self.vars, lang, true)
    }
    fn text_version(&self) -> String {
        self.template.version()
    }
    fn variable_values(&self) -> Vec<(&'static str, String)> {
        variable_values(&self.vars, Language::Nl)
    }
}
