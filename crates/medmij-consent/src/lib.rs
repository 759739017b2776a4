//! MedMij consent (Toestemming) and confirmation (Bevestiging) texts, screens, decisions and provenance (rules CONSENT-1..4).
//!
//! Work in progress: see the project's open issues.
