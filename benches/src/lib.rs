//! Deterministic data generators for the medmij-rs benchmarks.
