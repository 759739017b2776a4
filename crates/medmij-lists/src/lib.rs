//! The four MedMij lists. Work in progress.
