//! Shared code for the medmij-rs examples.
