//! NCSC-profiled rustls configurations with hard-fail OCSP and Whitelist checks at
//! every handshake (MedMij rules TLS-1..4, LISTS-6, LISTS-8).
//!
//! ```
//! # #[cfg(feature = "test-pki")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use medmij_tls::{BackChannel, HttpOcspFetcher, OwnCertificates, WhitelistAnswer};
//! use medmij_tls::test_pki::{CertOptions, TestPki};
//!
//! // In production: the PKIoverheid roots and the gateway's own PKIoverheid
//! // server certificate(s); here a generated test PKI.
//! let pki = TestPki::new("Voorbeeld")?;
//! let own = pki.issue(&["pgo.example.nl"], &CertOptions::default())?;
//!
//! // MedMij TLS-4: answered from the current Whitelist at every handshake.
//! let whitelist = |host: &str, _now: std::time::SystemTime| match host {
//!     "za.example.nl" | "pgo.example.nl" => WhitelistAnswer::Listed,
//!     _ => WhitelistAnswer::NotListed,
//! };
//!
//! let back = BackChannel::new(
//!     pki.trust_anchors()?,
//!     Arc::new(whitelist),
//!     OwnCertificates::new(vec![own.own_certificate()?])?,
//! )
//! // MedMij TLS-3: OCSP via HTTP when the peer staples no answer.
//! .ocsp_source(Arc::new(HttpOcspFetcher::new()));
//!
//! let server: rustls::ServerConfig = back.server_config()?;
//! let client: rustls::ClientConfig = back.client_config()?;
//! assert!(server.ignore_client_order);
//! # let _ = client;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "test-pki"))]
//! # fn main() {}
//! ```
//!
//! # What every back-channel handshake checks
//!
//! In this order, in both directions (a server checks the client, a client checks
//! the server), refusing at the first failure with the fitting TLS alert and a typed
//! [`Refusal`] handed to the [`RefusalLog`]:
//!
//! 1. chain to the configured [`TrustAnchors`], validity period, key usage and
//!    extended key usage (serverAuth for servers, clientAuth for clients), with
//!    rustls-webpki (MedMij TLS-3);
//! 2. the peer's DNS name (the name we connected to, or the client certificate's
//!    dNSNames) against the current Whitelist through [`Whitelist`]; "not listed"
//!    and "cannot be determined" both refuse (MedMij TLS-4);
//! 3. revocation with OCSP (RFC 6960): the stapled answer if the server sent one,
//!    else an [`OcspSource`] (e.g. [`HttpOcspFetcher`]) with a timeout, through an
//!    [`OcspCache`] that honours thisUpdate/nextUpdate. The answer's signature
//!    (issuer, or a delegated responder issued by the issuer with
//!    id-kp-OCSPSigning), CertID (issuer hashes and serial), status and freshness
//!    are checked; any failure, timeout or stale answer refuses (MedMij TLS-3,
//!    hard fail).
//!
//! Every refusal is logged at level `warn` through the `log` crate and handed to
//! the optional [`RefusalLog`] as a [`RefusalEvent`]. Back-channel configs turn
//! session resumption off, so that these checks run at *every* handshake
//! (MedMij TLS-3, TLS-4), not only the first of a session.
//!
//! Details of the OCSP check: requests carry a SHA-1 CertID (what RFC 6960
//! responders, OpenSSL's included, expect; it identifies, it does not sign) and no
//! nonce (answers are cached, RFC 5019 style); answers with a SHA-1 signature are
//! refused (MedMij TLS-1); the CertID in the answer may use SHA-1 or SHA-256. The
//! Whitelist check of a client uses the dNSNames of its certificate (wildcard
//! names are never looked up); of a server, the name the client connected to.
//!
//! # Profiles
//!
//! The crypto provider is rustls' `ring` provider, chosen to keep the build small;
//! see [`profile`] for the exact sets. The back channel offers only what the NCSC
//! TLS guidelines rate "good": TLS 1.3 and 1.2, ECDHE (secp384r1, X25519,
//! secp256r1), AES-GCM and ChaCha20-Poly1305, SHA-2 signatures, with server
//! preference (MedMij TLS-1). The front channel adds the NCSC "sufficient"
//! finite-field DHE (DHE-RSA suites with AES-GCM or ChaCha20-Poly1305, groups
//! ffdhe4096 and ffdhe3072, see [`ffdhe`]) after the "good" options; the other
//! "sufficient" family, AES-CBC suites, is not implemented by rustls, so a user
//! agent offering only CBC cannot connect. Nothing weaker is offered.
//!
//! # Own certificates
//!
//! [`OwnCertificates`] holds several certificates at once for rollover (MedMij
//! TLS-2), picks one by SNI (else the newest valid one), and
//! [`OwnCertificates::key_age_report`] lists key material older than one year
//! (building a [`BackChannel`] config also logs it as a warning). A server can
//! staple an OCSP answer and refresh it while running
//! ([`OwnCertificate::refresh_ocsp_staple`]).
//!
//! # Whitelist at run time
//!
//! The [`Whitelist`] is asked at every handshake, so a new list version takes
//! effect on the next handshake without rebuilding configs (MedMij LISTS-8).
//! [`SharedWhitelist`] is a ready-made swappable set; any
//! `Fn(&str) -> WhitelistAnswer` works as well (e.g. a closure over the
//! application's list store).
//!
//! # Test support
//!
//! With the feature `test-pki`, the module `test_pki` generates a PKIoverheid-shaped test
//! PKI and runs a small OCSP responder for it (for tests and examples, e.g.
//! `examples/loopback_mtls.rs`).

pub mod certs;
pub mod config;
pub mod driver;
pub mod error;
pub mod http;
pub mod identity;
pub mod ocsp;
pub mod profile;
#[cfg(feature = "test-pki")]
pub mod test_pki;
#[cfg(feature = "tokio")]
pub mod tokio_adapter;
pub mod verify;
pub mod whitelist;

pub use certs::{KeyAgeWarning, OwnCertificate, OwnCertificates, TrustAnchors};
pub use config::{
    BackChannel, ServerConfigs, front_channel_server_config, front_channel_server_configs,
};
pub use driver::{DriverSettings, OcspDriver, OcspJob};
pub use error::{
    CertificateProblem, ConfigError, OcspFailure, PeerRole, Refusal, RefusalEvent, RefusalLog,
};
pub use http::HttpOcspFetcher;
pub use identity::PeerIdentity;
pub use ocsp::{
    CachedStatus, CertKey, OcspCache, OcspChecker, OcspPolicy, OcspQuery, OcspSource,
    OcspSourceError, OnCacheMiss,
};
pub use profile::Channel;
pub use verify::{MedmijClientVerifier, MedmijServerVerifier, PeerChecks};
pub use whitelist::{SharedWhitelist, Whitelist, WhitelistAnswer};
