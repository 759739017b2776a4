//! Shared code for the medmij-rs examples: the place where the crates meet.

pub mod audit_extract;
pub mod demo;
pub mod embed;
pub mod lists_cli;
