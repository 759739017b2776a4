//! Every provisional value of this crate, in one place (see "Releases, side
//! by side" in the MedMij rules: values the public material does not state
//! are configuration with a default, named in the docs).
//!
//! | value | default | replaced through |
//! |---|---|---|
//! | Bevestiging wording (CONSENT-2) | [`BEVESTIGING_NL`], [`BEVESTIGING_EN`] and their short forms | [`crate::BevestigingTemplate`] |
//! | 2.x screen texts (CONSENT-6, OAUTH-22, OAUTH-23) | [`ScreenTexts::nl`], [`ScreenTexts::en`] | a host-built [`crate::v2::ScreenTexts`] |
//!
//! The 2.x texts are the bodies of [`ScreenTexts::nl`] and
//! [`ScreenTexts::en`], defined in this module.
//!
//! Not provisional, but a host setting with a documented default: the
//! retention of the consent evidence (CONSENT-5), see
//! [`crate::evidence::EvidenceRetention`].

use crate::text::Language;
use crate::v2::ScreenTexts;

/// The default Bevestiging (MedMij CONSENT-2), Dutch. **Provisional**: the
/// sources give no wording; replace it as a whole with
/// [`crate::BevestigingTemplate`].
pub const BEVESTIGING_NL: &str = "U bevestigt hierbij dat '{MedMij-gegevensdienst}' uit uw persoonlijke gezondheidsomgeving bij '{naam leverancier PGO}' beschikbaar wordt gesteld aan '{naam Zorgaanbieder}'.";
/// The default Bevestiging (MedMij CONSENT-2), English. **Provisional**, as
/// [`BEVESTIGING_NL`].
pub const BEVESTIGING_EN: &str = "You hereby confirm that '{MedMij-gegevensdienst}' from your personal health environment at '{naam leverancier PGO}' is made available to '{naam Zorgaanbieder}'.";
/// The short form of [`BEVESTIGING_NL`] shown above the buttons.
/// **Provisional**.
pub const BEVESTIGING_SHORT_NL: &str = "Bevestigt u dat '{MedMij-gegevensdienst}' uit uw persoonlijke gezondheidsomgeving bij '{naam leverancier PGO}' beschikbaar wordt gesteld aan '{naam Zorgaanbieder}'?";
/// The short form of [`BEVESTIGING_EN`]. **Provisional**.
pub const BEVESTIGING_SHORT_EN: &str = "Do you confirm that '{MedMij-gegevensdienst}' from your personal health environment at '{naam leverancier PGO}' is made available to '{naam Zorgaanbieder}'?";

fn s(v: &str) -> String {
    v.to_string()
}

impl ScreenTexts {
    /// The Dutch default. **Provisional** (MedMij CONSENT-6: the exact 2.x
    /// wording is not in the sources).
    pub fn nl() -> Self {
        Self {
            language: Language::Nl,
            consent_title: s("Toestemming geven"),
            consent_intro: s(
                "{Naam PGO} wil uw gezondheidsgegevens ophalen bij {Naam Aanbieder}. Daarvoor is uw toestemming nodig.",
            ),
            consent_points: [
                s("Zonder uw toestemming worden er geen gegevens gedeeld."),
                s(
                    "U kunt toestemming geven voor onbepaalde tijd. Dan kan {Naam PGO} uw gegevens ophalen zonder dat u elke keer opnieuw toestemming geeft.",
                ),
                s(
                    "Haalt {Naam PGO} zes maanden lang geen gegevens op, dan vervalt de toestemming. U logt dan opnieuw in met DigiD en geeft opnieuw toestemming.",
                ),
                s(
                    "U kunt uw toestemming altijd wijzigen in {Naam PGO} via \u{2018}Toestemmingen aanpassen\u{2019}.",
                ),
            ],
            consent_statement: s(
                "Geeft u {Naam Aanbieder} toestemming om uw gezondheidsgegevens te delen met {Naam PGO}?",
            ),
            indefinite_label: s("Toestemming geven voor onbepaalde tijd"),
            grant: s("Toestemming geven"),
            refuse: s("Geen toestemming geven"),
            overview_title: s("Uw toestemmingen"),
            overview_intro: s(
                "U heeft {Naam PGO} toestemming voor onbepaalde tijd gegeven om gegevens op te halen bij:",
            ),
            overview_empty: s("U heeft {Naam PGO} geen toestemming voor onbepaalde tijd gegeven."),
            overview_given_on: s("gegeven op"),
            withdraw: s("Toestemming intrekken"),
            back_to_pgo: s("Terug naar {Naam PGO}"),
            termination_title: s("Beëindigingsverklaring Toestemming"),
            termination_text: s(
                "U trekt de toestemming in die u {Naam Aanbieder} heeft gegeven om uw gezondheidsgegevens te delen met {Naam PGO}. Daarna kan {Naam PGO} geen gegevens meer ophalen bij {Naam Aanbieder}. Wilt u later weer gegevens ophalen, dan logt u opnieuw in met DigiD en geeft u opnieuw toestemming.",
            ),
            termination_confirm: s("Intrekken bevestigen"),
            termination_cancel: s("Annuleren"),
            failure_title: s("Er ging iets mis"),
            failure_text: s(
                "Door een technische fout kon uw verzoek niet worden afgehandeld. Probeer het later opnieuw.",
            ),
            failure_contact: s(
                "Heeft u vragen? Neem dan contact op met {Naam ZA GW} ({Contact}) en noem de Trace ID en de Session ID hieronder.",
            ),
            trace_id_label: s("Trace ID"),
            session_id_label: s("Session ID"),
            id_missing: s("niet ontvangen"),
        }
    }

    /// The English default. **Provisional**, as [`ScreenTexts::nl`].
    pub fn en() -> Self {
        Self {
            language: Language::En,
            consent_title: s("Give consent"),
            consent_intro: s(
                "{Naam PGO} wants to collect your health data from {Naam Aanbieder}. This needs your consent.",
            ),
            consent_points: [
                s("Nothing is shared without your consent."),
                s(
                    "You can give consent for an indefinite period. {Naam PGO} can then collect your data without asking you for consent each time.",
                ),
                s(
                    "If {Naam PGO} collects no data for six months, the consent lapses. You then log in with DigiD again and give consent again.",
                ),
                s(
                    "You can change your consent at any time in {Naam PGO} via \u{2018}Toestemmingen aanpassen\u{2019} (manage consents).",
                ),
            ],
            consent_statement: s(
                "Do you give {Naam Aanbieder} consent to share your health data with {Naam PGO}?",
            ),
            indefinite_label: s("Give consent for an indefinite period"),
            grant: s("Give consent"),
            refuse: s("Do not give consent"),
            overview_title: s("Your consents"),
            overview_intro: s(
                "You gave {Naam PGO} consent for an indefinite period to collect data from:",
            ),
            overview_empty: s("You gave {Naam PGO} no consent for an indefinite period."),
            overview_given_on: s("given on"),
            withdraw: s("Withdraw consent"),
            back_to_pgo: s("Back to {Naam PGO}"),
            termination_title: s("Beëindigingsverklaring Toestemming (termination of consent)"),
            termination_text: s(
                "You withdraw the consent you gave {Naam Aanbieder} to share your health data with {Naam PGO}. {Naam PGO} can then no longer collect data from {Naam Aanbieder}. To collect data again later, you log in with DigiD again and give consent again.",
            ),
            termination_confirm: s("Confirm withdrawal"),
            termination_cancel: s("Cancel"),
            failure_title: s("Something went wrong"),
            failure_text: s(
                "A technical error prevented us from handling your request. Please try again later.",
            ),
            failure_contact: s(
                "If you have questions, contact {Naam ZA GW} ({Contact}) and mention the Trace ID and Session ID below.",
            ),
            trace_id_label: s("Trace ID"),
            session_id_label: s("Session ID"),
            id_missing: s("not received"),
        }
    }
}
