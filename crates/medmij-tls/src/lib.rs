//! NCSC-profiled rustls configurations with hard-fail OCSP and Whitelist checks (rules TLS-1..4).
//!
//! Work in progress: see the project's open issues.
