//! NEN 7513 audit log for MedMij systems: hash-chained, signed checkpoints, retention (rules LOG-1..4).
//!
//! Work in progress: see the project's open issues.
