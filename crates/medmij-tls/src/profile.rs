//! NCSC-profiled protocol versions, cipher suites, key-exchange groups and
//! signature schemes (MedMij TLS-1); explained under "Profiles" on the crate root.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::crypto::aws_lc_rs as provider;
use rustls::{SignatureScheme, SupportedCipherSuite, SupportedProtocolVersion};
use webpki::aws_lc_rs as algs;

/// Protocol versions of both profiles, strongest first (MedMij TLS-1).
pub static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Cipher suites of the back-channel profile, in server preference order (MedMij TLS-1).
pub static BACK_CHANNEL_CIPHER_SUITES: &[SupportedCipherSuite] = &[
    provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
    provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
    provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    provider::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
];

/// Key-exchange groups of both channels, strongest first (server preference;
/// MedMij TLS-1, TLS-6: ECDHE only).
pub static KX_GROUPS: &[&dyn rustls::crypto::SupportedKxGroup] = &[
    provider::kx_group::SECP384R1,
    provider::kx_group::X25519,
    provider::kx_group::SECP256R1,
];

/// Signature schemes accepted in handshakes and certificates: SHA-2 only, no SHA-1
/// (MedMij TLS-1).
pub static SIGNATURE_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ED25519,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA256,
];

/// Which MedMij channel a configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Gateway to gateway: mutual TLS, NCSC "good" only (MedMij TLS-1, TLS-2).
    Back,
    /// User agent to gateway: the same NCSC "good" set, no client certificate
    /// (MedMij TLS-1, TLS-6).
    Front,
}

/// The `aws-lc-rs` crypto provider (rustls' default; its P-384 arithmetic is several times
/// faster than `ring`'s, see BENCHMARKS.md) restricted to the profile of `channel`; both
/// channels get the same NCSC "good" set (MedMij TLS-1, TLS-6).
pub fn crypto_provider(channel: Channel) -> CryptoProvider {
    let base = provider::default_provider();
    // Both channels: the same "good" set (MedMij TLS-6).
    let _ = channel;
    CryptoProvider {
        cipher_suites: BACK_CHANNEL_CIPHER_SUITES.to_vec(),
        kx_groups: KX_GROUPS.to_vec(),
        signature_verification_algorithms: signature_algorithms(),
        ..base
    }
}

/// Signature verification algorithms for [`SIGNATURE_SCHEMES`] (MedMij TLS-1: SHA-2 only),
/// `aws-lc-rs` implementations through rustls-webpki. The same table rustls' `ring` provider
/// has: the `aws-lc-rs` provider's own also maps P-521, which is outside the profile.
static SUPPORTED_SIG_ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        algs::ECDSA_P256_SHA256,
        algs::ECDSA_P256_SHA384,
        algs::ECDSA_P384_SHA256,
        algs::ECDSA_P384_SHA384,
        algs::ED25519,
        algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        algs::RSA_PKCS1_2048_8192_SHA256,
        algs::RSA_PKCS1_2048_8192_SHA384,
        algs::RSA_PKCS1_2048_8192_SHA512,
        algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // For TLS 1.2 the curve is not fixed by the scheme; for TLS 1.3 it is.
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[algs::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[algs::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[algs::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[algs::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};

/// The signature verification algorithms of both profiles: [`SIGNATURE_SCHEMES`] only
/// (MedMij TLS-1: SHA-2 only). Used for handshakes, certificate chains and OCSP responses.
pub fn signature_algorithms() -> WebPkiSupportedAlgorithms {
    SUPPORTED_SIG_ALGS
}

pub(crate) fn provider_arc(channel: Channel) -> Arc<CryptoProvider> {
    Arc::new(crypto_provider(channel))
}

#[cfg(test)]
mod tls_1 {
    use super::*;

    #[test]
    fn back_channel_has_only_good_suites() {
        // MedMij TLS-1: ECDHE + AEAD (AES-GCM, ChaCha20-Poly1305) only, no CBC, no RSA kx.
        let p = crypto_provider(Channel::Back);
        for s in &p.cipher_suites {
            let name = format!("{:?}", s.suite());
            assert!(
                name.contains("GCM") || name.contains("CHACHA20_POLY1305"),
                "{name}"
            );
            assert!(!name.contains("CBC") && !name.contains("SHA1"), "{name}");
            if let SupportedCipherSuite::Tls12(_) = s {
                assert!(name.starts_with("TLS_ECDHE_"), "{name}");
            }
        }
        assert_eq!(p.cipher_suites.len(), 9);
        let groups: Vec<String> = p
            .kx_groups
            .iter()
            .map(|g| format!("{:?}", g.name()))
            .collect();
        assert_eq!(groups, ["secp384r1", "X25519", "secp256r1"]);
    }

    #[test]
    fn strongest_suite_first() {
        // MedMij TLS-1: server preference, strongest option first.
        let p = crypto_provider(Channel::Back);
        assert_eq!(
            p.cipher_suites[0].suite(),
            rustls::CipherSuite::TLS13_AES_256_GCM_SHA384
        );
    }

    #[test]
    fn the_provider_carries_the_profile_in_its_order() {
        // MedMij TLS-1: the provider handed to rustls has exactly the profile's suites, in
        // the profile's order (AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM; not the
        // provider's default order), and only the profile's signature schemes (no P-521,
        // which the aws-lc-rs default table adds).
        let p = crypto_provider(Channel::Back);
        let suites: Vec<_> = p.cipher_suites.iter().map(|s| s.suite()).collect();
        let profile: Vec<_> = BACK_CHANNEL_CIPHER_SUITES
            .iter()
            .map(|s| s.suite())
            .collect();
        assert_eq!(suites, profile);
        assert_eq!(
            suites[..3],
            [
                rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
                rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
                rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
            ]
        );
        let schemes = p.signature_verification_algorithms.supported_schemes();
        assert_eq!(schemes, signature_algorithms().supported_schemes());
        assert!(!schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[test]
    fn signature_schemes_are_sha2_only() {
        // MedMij TLS-1: no SHA-1.
        let algs = signature_algorithms();
        for s in algs.supported_schemes() {
            assert!(SIGNATURE_SCHEMES.contains(&s), "{s:?} outside profile");
            assert!(!format!("{s:?}").contains("SHA1"));
        }
    }
}

#[cfg(test)]
mod tls_6 {
    use super::*;

    #[test]
    fn front_channel_is_the_good_set_without_dhe() {
        // MedMij TLS-6: both channels "good" only: no DHE suites, no ffdhe groups.
        let f = crypto_provider(Channel::Front);
        let b = crypto_provider(Channel::Back);
        let suites = |p: &CryptoProvider| {
            p.cipher_suites
                .iter()
                .map(|s| s.suite())
                .collect::<Vec<_>>()
        };
        assert_eq!(suites(&f), suites(&b));
        for s in suites(&f) {
            assert!(!format!("{s:?}").contains("_DHE_"), "{s:?}");
        }
        let groups: Vec<String> = f
            .kx_groups
            .iter()
            .map(|g| format!("{:?}", g.name()))
            .collect();
        assert_eq!(groups, ["secp384r1", "X25519", "secp256r1"]);
    }
}

/// Largest OCSP response the reqwest-based fetchers accept, in bytes.
#[cfg(any(feature = "tokio", feature = "blocking"))]
pub(crate) const MAX_OCSP_RESPONSE: usize = 64 * 1024;

/// The TLS configuration handed to the reqwest clients of the OCSP fetchers.
///
/// OCSP is plain HTTP (RFC 6960 A.1), but a reqwest built with rustls sets up
/// TLS anyway, and without a configuration of its own it takes the
/// process-wide crypto provider and panics if none is installed. This one has
/// this crate's provider: never used for an `http://` responder, and no panic
/// whatever the host installed.
#[cfg(any(feature = "tokio", feature = "blocking"))]
pub(crate) fn ocsp_http_tls() -> Result<rustls::ClientConfig, crate::ConfigError> {
    Ok(
        rustls::ClientConfig::builder_with_provider(provider_arc(Channel::Back))
            .with_safe_default_protocol_versions()
            .map_err(|e| crate::ConfigError::BadCertificate(format!("HTTP client: {e}")))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    )
}
