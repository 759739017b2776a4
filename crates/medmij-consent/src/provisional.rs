//! Every provisional value of this crate, in one place (see "Releases, side
//! by side" in the MedMij rules: values the public material does not state
//! are configuration with a default, named in the docs).
//!
//! | value | default | replaced through |
//! |---|---|---|
//! | Bevestiging wording (CONSENT-2) | [`BEVESTIGING_NL`], [`BEVESTIGING_EN`] and their short forms | [`crate::BevestigingTemplate`] |
//! | 2.x screen texts (CONSENT-6, OAUTH-22, OAUTH-23) | [`crate::v2::ScreenTexts::nl`], [`crate::v2::ScreenTexts::en`] | a host-built [`crate::v2::ScreenTexts`] |
//!
//! Not provisional, but a host setting with a documented default: the
//! retention of the consent evidence (CONSENT-5), see
//! [`crate::evidence::EvidenceRetention`].

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
