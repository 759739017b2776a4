//! MedMij consent (Toestemming) and confirmation (Bevestiging): the fixed
//! texts, the consent screens of both release lines, decisions bound to one
//! flow, the records of CONSENT-3, the consent evidence of CONSENT-5 and the
//! provenance of CONSENT-4.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use medmij_consent::*;
//! use medmij_consent::evidence::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // MedMij CONSENT-1: the fixed wording, three validated variables; a
//! // release-1.5 scope of several Gegevensdiensten names each of them.
//! let vars = Variables::several(
//!     "Ziekenhuis Harderwijk",
//!     &["Medicatiegegevens", "Labuitslagen"],
//!     "Mijn PGO B.V.",
//! )?;
//! let toestemming = Toestemming::new(vars);
//! assert!(toestemming.short_text(Language::Nl).starts_with(
//!     "U verleent hierbij 'Ziekenhuis Harderwijk' toestemming om 'Medicatiegegevens' en 'Labuitslagen'"
//! ));
//! assert!(toestemming.full_text(Language::Nl).starts_with("Het doel van het MedMij Afsprakenstelsel"));
//!
//! // The question is bound to one run of the flow.
//! let flow = FlowId::new("flow-1")?;
//! let csrf = CsrfToken::new("k9W2x8Q4t7Z1p0Lm")?;
//! let asked_at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let request = ConsentRequest {
//!     kind: ConsentKind::Toestemming,
//!     flow: flow.clone(),
//!     scope: "umcharderwijk~5 umcharderwijk~7".parse()?,
//!     client: ClientId::new("pgo.example.nl")?,
//!     zorgaanbieder: Zorgaanbiedernaam::new("umcharderwijk@medmij")?,
//!     csrf: csrf.clone(),
//!     asked_at,
//! };
//!
//! // The screen: the operative paragraph, a link to the full text (served
//! // by `render_full_text_page`), two buttons, anti-framing headers.
//! let mut options = PageOptions::new("/consent", &flow, &csrf);
//! options.full_text_path = Some("/consent/volledige-tekst");
//! let page = render_page(&toestemming, &options)?;
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
//! // MedMij CONSENT-5: the evidence, with the exact text shown, in a
//! // signed, chained ledger; one person's consents exported and verified.
//! let dir = std::env::temp_dir().join(format!("medmij-consent-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let (ledger, _) = FileEvidenceLedger::open(dir.join("evidence.jsonl"), EvidenceConfig::new(key.clone()))?;
//! let person = PersonId::new("subject-8f3a")?;
//! let evidence = EvidenceRecord::from_consent_record(
//!     &record,
//!     person.clone(),
//!     ShownText::of(&toestemming, Language::Nl),
//! )?;
//! ledger.append(&evidence)?;
//! let export = ledger.export(&person, &key, asked_at + Duration::from_secs(60))?;
//! let verified = verify_export(export.to_json(), Some(&key.verifying_key()))?;
//! assert_eq!(verified.records.len(), 1);
//! # drop(ledger);
//! # std::fs::remove_dir_all(&dir)?;
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
//! # Rules and where they live
//!
//! | rule | in this crate | the host's duty |
//! |---|---|---|
//! | CONSENT-1 Toestemming (1.x) | [`TOESTEMMING_VOLLEDIG_NL`] word for word, [`TOESTEMMING_NL`] (the operative paragraph), [`Toestemming`], [`Variables::several`] (`'A', 'B' en 'C'`), [`render_page`], [`render_full_text_page`], [`DecisionBook`] (one decision per run) | fill the variables from its own relation, the GNL and the OCL; serve both pages; ask anew each run |
//! | CONSENT-2 Bevestiging | [`Bevestiging`], [`BevestigingTemplate`] (provisional default, replaceable whole) | its own wording, if any |
//! | CONSENT-3 logging grant, refusal, withdrawal | [`ConsentRecord`] (with profile and channel) and [`ConsentRecord::to_json`] for grant and refusal; [`evidence::EvidenceRecord::withdrawal`] and [`evidence::EvidenceRecord::to_json`] for a 2.x withdrawal | write them to its NEN 7513 log (LOG-1), e.g. `medmij-log`; store the record with collected data |
//! | CONSENT-4 provenance | [`CollectedItem`], [`Dossier`], [`Placement`] | keep the dossier; show it to the person |
//! | CONSENT-5 consent evidence | [`evidence`]: [`evidence::EvidenceRecord`], [`evidence::FileEvidenceLedger`], `PgEvidenceLedger` (feature `postgres`), [`evidence::EvidenceExport`], [`evidence::verify_export`], [`evidence::EvidenceRetention`] | register every decision with the person's local id; choose the retention; keep the signing key and give the Zorgaanbieder its public key; keep the ledger head elsewhere to detect a cut-off tail |
//! | CONSENT-6 2.x screens | [`v2`]: [`v2::render_consent`], [`v2::render_overview`], [`v2::render_termination`], [`v2::render_failure`] (OAUTH-23), [`v2::PostedV2Decision`], [`v2::PostedManagement`], provisional [`v2::ScreenTexts`] (with [`v2::ScreenTexts::shown_consent`] for the evidence) | authenticate the person first (OAUTH-18); issue refresh tokens only on [`v2::PostedV2Decision::long_lasting`] (OAUTH-19); on a confirmed withdrawal log it and revoke the chain (OAUTH-22) |
//! | CONSENT-7 portability | [`portability::export`], [`portability::import`] (every item checked, changed ones flagged), [`portability::seal`] (TLS-5) | offer the person the export and accept imports (the PGO) |
//!
//! # Provisional values and settings
//!
//! Kept in one place, [`provisional`], with their defaults: the Bevestiging
//! wording ([`BEVESTIGING_NL`], [`BEVESTIGING_EN`]) and the 2.x screen texts
//! ([`v2::ScreenTexts::nl`], [`v2::ScreenTexts::en`]). Host settings with a
//! documented default: the evidence retention
//! ([`evidence::EvidenceRetention::Forever`]), encryption of the evidence at
//! rest (off; [`evidence::EvidenceConfig::cipher`], MedMij TLS-5), `fsync`
//! per append (on).
//!
//! # I/O
//!
//! The core is sans-IO: times are parameters, it does no networking, and
//! texts, pages, decisions, ledger lines ([`evidence::LedgerWriter`],
//! [`evidence::LedgerReader`]) and exports are made and checked in memory.
//! Storage sits behind it: the evidence file store (std only) and the
//! PostgreSQL store (cargo feature `postgres`).

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(clippy::use_self, unused_qualifications)]

mod decision;
pub mod evidence;
pub mod page;
pub mod portability;
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
