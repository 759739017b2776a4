//! MedMij consent (Toestemming) and confirmation (Bevestiging): the fixed
//! texts, the consent screen, decisions bound to one flow, the records of
//! CONSENT-3 and the provenance of CONSENT-4.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use medmij_consent::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // MedMij CONSENT-1: the fixed wording, three validated variables.
//! let vars = Variables::new("Ziekenhuis Harderwijk", "Medicatiegegevens", "Mijn PGO B.V.")?;
//! let toestemming = Toestemming::new(vars);
//! assert!(toestemming.short_text(Language::Nl).starts_with(
//!     "U verleent hierbij 'Ziekenhuis Harderwijk' toestemming om 'Medicatiegegevens'"
//! ));
//!
//! // The question is bound to one run of the flow.
//! let flow = FlowId::new("flow-1")?;
//! let csrf = CsrfToken::new("k9W2x8Q4t7Z1p0Lm")?;
//! let asked_at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let request = ConsentRequest {
//!     kind: ConsentKind::Toestemming,
//!     flow: flow.clone(),
//!     scope: "umcharderwijk~5".parse()?,
//!     client: ClientId::new("pgo.example.nl")?,
//!     zorgaanbieder: Zorgaanbiedernaam::new("umcharderwijk@medmij")?,
//!     csrf: csrf.clone(),
//!     asked_at,
//! };
//!
//! // The screen: self-contained HTML plus anti-framing headers.
//! let page = render_page(&toestemming, &PageOptions::new("/consent", &flow, &csrf))?;
//! assert!(page.headers().contains(&("X-Frame-Options", "DENY".to_string())));
//!
//! // The form posts back; the decision is accepted once.
//! let mut book = DecisionBook::new();
//! book.ask(request)?;
//! let posted = PostedDecision::from_form("flow=flow-1&csrf_token=k9W2x8Q4t7Z1p0Lm&decision=grant")?;
//! let record = book.decide(&posted, Side::Bron, asked_at + Duration::from_secs(20))?;
//! assert_eq!(record.decision, Decision::Granted);
//! assert!(book.decide(&posted, Side::Bron, asked_at + Duration::from_secs(21)).is_err());
//!
//! // MedMij CONSENT-4: provenance with a SHA-256 of the content as received.
//! let item = CollectedItem::receive(
//!     ItemId::new("MedicationStatement-1")?,
//!     b"{\"resourceType\":\"MedicationStatement\"}".to_vec(),
//!     Zorgaanbiedernaam::new("umcharderwijk@medmij")?,
//!     GegevensdienstNaam::new("Medicatiegegevens")?,
//!     record.reference(),
//!     asked_at + Duration::from_secs(30),
//! );
//! assert_eq!(item.verify(), Integrity::Unchanged);
//! # Ok(())
//! # }
//! ```
//!
//! The crate is sans-IO: times are parameters, it does no networking and
//! keeps no files. Logging the records (CONSENT-3, LOG-1) is the host's job,
//! e.g. with `medmij-log`; [`ConsentRecord::to_json`] gives the line to log.

mod decision;
pub mod evidence;
pub mod page;
mod provenance;
pub mod provisional;
mod text;
pub mod v2;
mod vars;

pub use decision::{
    Channel, ConsentProfile, ConsentRecord, ConsentReference, ConsentRequest, Decision,
    DecisionBook, DecisionError, FormError, PostedDecision, Side,
};
/// The MedMij nouns of medmij-types that the records carry, re-exported.
pub use medmij_types::{ClientId, Scope, Zorgaanbiedernaam};
pub use page::{ConsentPage, PageOptions, render_full_text_page, render_page};
pub use provenance::{
    CollectedItem, ContentDigest, Dossier, DossierError, Integrity, Placement, Provenance,
};
pub use text::{
    BEVESTIGING_EN, BEVESTIGING_NL, Bevestiging, BevestigingTemplate, ConsentKind, Language,
    PLACEHOLDER_GEGEVENSDIENST, PLACEHOLDER_PGO, PLACEHOLDER_ZORGAANBIEDER, TOESTEMMING_EN,
    TOESTEMMING_NL, TOESTEMMING_TEXT_VERSION, TOESTEMMING_VOLLEDIG_EN, TOESTEMMING_VOLLEDIG_NL,
    Toestemming, Variables, Wording,
};
pub use vars::{
    CsrfToken, FlowId, GegevensdienstNaam, ItemId, PgoLeverancierNaam, VariableError,
    ZorgaanbiederNaam, escape_html,
};
