//! NCSC-profiled protocol versions, cipher suites, key-exchange groups and
//! signature schemes (MedMij TLS-1).
//!
//! The crypto provider is rustls' `ring` provider (small build, no C toolchain
//! beyond what `ring` needs), restricted to the sets below.
//!
//! | what | back channel ("good") | front channel ("good" + "sufficient") |
//! |---|---|---|
//! | versions | TLS 1.3, TLS 1.2 | TLS 1.3, TLS 1.2 |
//! | key exchange | ECDHE: secp384r1, X25519, secp256r1 | the same, then DHE: ffdhe4096, ffdhe3072 ("sufficient") |
//! | bulk cipher | AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM | same |
//! | TLS 1.2 suites | ECDHE-ECDSA and ECDHE-RSA with those ciphers | the same, then DHE-RSA with those ciphers ("sufficient") |
//! | signatures | ECDSA, RSA-PSS, RSA-PKCS#1 v1.5 and Ed25519 with SHA-2 only | same |
//!
//! Of the NCSC "sufficient" algorithms the front channel adds finite-field DHE
//! ([`crate::ffdhe`]); AES-CBC suites are "sufficient" too, but rustls implements
//! no CBC at all, so a user agent that offers only CBC suites cannot connect.
//! Nothing weaker (TLS 1.1 and older, RSA key transport, SHA-1, ffdhe2048) is
//! offered on either channel.

use std::sync::{Arc, LazyLock};

use rustls::Tls12CipherSuite;
use rustls::crypto::ring as ring_provider;
use rustls::crypto::{CipherSuiteCommon, CryptoProvider, KeyExchangeAlgorithm};
use rustls::{SignatureScheme, SupportedCipherSuite, SupportedProtocolVersion};

/// Protocol versions of both profiles, strongest first (MedMij TLS-1).
pub static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Cipher suites of the back-channel profile, in server preference order (MedMij TLS-1).
pub static BACK_CHANNEL_CIPHER_SUITES: &[SupportedCipherSuite] = &[
    ring_provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
    ring_provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ring_provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
    ring_provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ring_provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ring_provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
];

fn dhe_rsa(base: SupportedCipherSuite, suite: rustls::CipherSuite) -> Option<Tls12CipherSuite> {
    match base {
        SupportedCipherSuite::Tls12(b) => Some(Tls12CipherSuite {
            common: CipherSuiteCommon { suite, ..b.common },
            prf_provider: b.prf_provider,
            kx: KeyExchangeAlgorithm::DHE,
            sign: b.sign,
            aead_alg: b.aead_alg,
        }),
        SupportedCipherSuite::Tls13(_) => None,
    }
}

static DHE_RSA_AES_256_GCM: LazyLock<Option<Tls12CipherSuite>> = LazyLock::new(|| {
    dhe_rsa(
        ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        rustls::CipherSuite::TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    )
});
static DHE_RSA_CHACHA20: LazyLock<Option<Tls12CipherSuite>> = LazyLock::new(|| {
    dhe_rsa(
        ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        rustls::CipherSuite::TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    )
});
static DHE_RSA_AES_128_GCM: LazyLock<Option<Tls12CipherSuite>> = LazyLock::new(|| {
    dhe_rsa(
        ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        rustls::CipherSuite::TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    )
});

/// Cipher suites of the front-channel profile, in server preference order: the
/// back-channel set, then DHE-RSA with AES-GCM and ChaCha20-Poly1305 (NCSC
/// "sufficient"; MedMij TLS-1).
pub fn front_channel_cipher_suites() -> Vec<SupportedCipherSuite> {
    let mut v = BACK_CHANNEL_CIPHER_SUITES.to_vec();
    for s in [
        &DHE_RSA_AES_256_GCM,
        &DHE_RSA_CHACHA20,
        &DHE_RSA_AES_128_GCM,
    ] {
        let s: &'static Option<Tls12CipherSuite> = s;
        if let Some(s) = s {
            v.push(SupportedCipherSuite::Tls12(s));
        }
    }
    v
}

/// Key-exchange groups of the front channel: [`KX_GROUPS`], then ffdhe4096 and
/// ffdhe3072 (NCSC "sufficient"; MedMij TLS-1).
pub fn front_channel_kx_groups() -> Vec<&'static dyn rustls::crypto::SupportedKxGroup> {
    let mut v = KX_GROUPS.to_vec();
    v.push(crate::ffdhe::FFDHE4096);
    v.push(crate::ffdhe::FFDHE3072);
    v
}

/// Key-exchange groups, strongest first (MedMij TLS-1: ECDHE only).
pub static KX_GROUPS: &[&dyn rustls::crypto::SupportedKxGroup] = &[
    ring_provider::kx_group::SECP384R1,
    ring_provider::kx_group::X25519,
    ring_provider::kx_group::SECP256R1,
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
    /// User agent to gateway: NCSC "good" or "sufficient" (MedMij TLS-1).
    Front,
}

/// The `ring` crypto provider restricted to the profile of `channel` (MedMij TLS-1).
pub fn crypto_provider(channel: Channel) -> CryptoProvider {
    let base = ring_provider::default_provider();
    let (cipher_suites, kx_groups) = match channel {
        Channel::Back => (BACK_CHANNEL_CIPHER_SUITES.to_vec(), KX_GROUPS.to_vec()),
        Channel::Front => (front_channel_cipher_suites(), front_channel_kx_groups()),
    };
    CryptoProvider {
        cipher_suites,
        kx_groups,
        signature_verification_algorithms: signature_algorithms(),
        ..base
    }
}

/// The provider's signature verification algorithms restricted to
/// [`SIGNATURE_SCHEMES`] (MedMij TLS-1: SHA-2 only).
pub fn signature_algorithms() -> rustls::crypto::WebPkiSupportedAlgorithms {
    // The ring provider's table holds no SHA-1 algorithm; it is checked in tests
    // that every scheme it maps is in SIGNATURE_SCHEMES.
    ring_provider::default_provider().signature_verification_algorithms
}

pub(crate) fn provider_arc(channel: Channel) -> Arc<CryptoProvider> {
    Arc::new(crypto_provider(channel))
}

#[cfg(test)]
mod tests {
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
    fn signature_schemes_are_sha2_only() {
        // MedMij TLS-1: no SHA-1.
        let algs = signature_algorithms();
        for s in algs.supported_schemes() {
            assert!(SIGNATURE_SCHEMES.contains(&s), "{s:?} outside profile");
            assert!(!format!("{s:?}").contains("SHA1"));
        }
    }

    #[test]
    fn front_channel_adds_only_sufficient_dhe() {
        // MedMij TLS-1: front = back + DHE-RSA AEAD suites and ffdhe3072/4096.
        let f = crypto_provider(Channel::Front);
        let added: Vec<rustls::CipherSuite> = f
            .cipher_suites
            .iter()
            .filter(|s| !BACK_CHANNEL_CIPHER_SUITES.contains(s))
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            added,
            [
                rustls::CipherSuite::TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
                rustls::CipherSuite::TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                rustls::CipherSuite::TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
            ]
        );
        let groups: Vec<String> = f
            .kx_groups
            .iter()
            .map(|g| format!("{:?}", g.name()))
            .collect();
        assert_eq!(
            groups,
            ["secp384r1", "X25519", "secp256r1", "FFDHE4096", "FFDHE3072"]
        );
        // The back channel stays "good" only.
        let b = crypto_provider(Channel::Back);
        assert!(
            b.kx_groups
                .iter()
                .all(|g| !format!("{:?}", g.name()).contains("FFDHE"))
        );
    }
}
