//! Typed reasons why a handshake was refused, and why a configuration could not be built.

use medmij_types::RuleId;
use std::fmt;

use rustls::CertificateError;

/// What was wrong with the peer's certificate itself (MedMij TLS-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// The certificate could not be parsed.
    BadEncoding,
    /// The certificate (or one in its chain) has expired.
    Expired,
    /// The certificate (or one in its chain) is not yet valid.
    NotYetValid,
    /// The chain does not lead to one of the configured trust anchors.
    UnknownIssuer,
    /// A signature in the chain does not verify, or uses an algorithm outside the profile.
    BadSignature,
    /// Key usage or extended key usage does not allow this use.
    InvalidPurpose,
    /// The certificate has a critical extension that is not understood.
    UnhandledCriticalExtension,
    /// Any other path-validation failure.
    Other,
}

impl fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadEncoding => "bad encoding",
            Self::Expired => "expired",
            Self::NotYetValid => "not yet valid",
            Self::UnknownIssuer => "unknown issuer",
            Self::BadSignature => "bad or unsupported signature",
            Self::InvalidPurpose => "key usage or extended key usage does not allow this use",
            Self::UnhandledCriticalExtension => "unhandled critical extension",
            Self::Other => "path validation failed",
        })
    }
}

/// Why an OCSP check did not give a usable "good" answer (MedMij TLS-3, RFC 6960).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcspFailure {
    /// The responder says the certificate is revoked.
    #[error("certificate is revoked (revocation time {revocation_time} s since epoch)")]
    Revoked {
        /// Revocation time, seconds since the Unix epoch.
        revocation_time: u64,
    },
    /// The responder does not know the certificate.
    #[error("responder answered status \"unknown\"")]
    UnknownStatus,
    /// The answer's nextUpdate has passed (or, without nextUpdate, thisUpdate is too old).
    #[error(
        "OCSP answer is stale (thisUpdate {this_update}, nextUpdate {next_update:?}, now {now})"
    )]
    Stale {
        /// thisUpdate, seconds since epoch.
        this_update: u64,
        /// nextUpdate, seconds since epoch, if present.
        next_update: Option<u64>,
        /// The verification time, seconds since epoch.
        now: u64,
    },
    /// The answer's thisUpdate lies in the future beyond the allowed clock skew.
    #[error("OCSP answer is not yet valid (thisUpdate {this_update}, now {now})")]
    NotYetValid {
        /// thisUpdate, seconds since epoch.
        this_update: u64,
        /// The verification time, seconds since epoch.
        now: u64,
    },
    /// The signature on the answer does not verify with the signer's key.
    #[error("OCSP answer signature does not verify")]
    BadSignature,
    /// The answer is signed by someone who is neither the issuer nor a delegated
    /// responder (issued by the issuer, with id-kp-OCSPSigning).
    #[error("OCSP answer signed by an unauthorised responder: {0}")]
    UnauthorisedSigner(String),
    /// The signature algorithm of the answer is outside the profile (e.g. SHA-1).
    #[error("OCSP answer uses an unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The answer holds no SingleResponse for this certificate (issuer hashes and serial).
    #[error("OCSP answer does not cover this certificate (issuer or serial mismatch)")]
    NoMatchingResponse,
    /// The responder returned a non-successful responseStatus.
    #[error("OCSP responder returned status {0}")]
    ResponderStatus(String),
    /// The answer could not be parsed.
    #[error("malformed OCSP answer: {0}")]
    Malformed(String),
    /// No answer within the timeout.
    #[error("OCSP responder did not answer within {0} ms")]
    Timeout(u128),
    /// No answer could be fetched (responder down, HTTP error, ...).
    #[error("OCSP answer unavailable: {0}")]
    Unavailable(String),
    /// No stapled answer and none in the cache yet (a first contact); the
    /// certificate is now pending for the [`crate::OcspDriver`].
    #[error("no OCSP answer known yet for this certificate (fetch pending)")]
    NotYetChecked,
}

/// Why a peer certificate was refused: the typed reason of a failed handshake.
///
/// Each variant maps onto the fitting TLS alert through [`Refusal::to_rustls_error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[must_use]
pub enum Refusal {
    /// Chain, validity or key-usage check failed (MedMij TLS-3).
    #[error("peer certificate refused: {problem} ({detail})")]
    Certificate {
        /// The kind of problem.
        problem: CertificateProblem,
        /// The validator's own words.
        detail: String,
    },
    /// The server's certificate is not valid for the name we connected to.
    #[error("server certificate not valid for {expected}")]
    NameMismatch {
        /// The name we connected to.
        expected: String,
    },
    /// The peer certificate carries no dNSName (or we connected by IP address),
    /// so no hostname can be checked against the Whitelist (MedMij TLS-4).
    #[error("peer has no DNS name to check against the Whitelist")]
    NoDnsName,
    /// The peer's hostname is not on the current Whitelist (MedMij TLS-4).
    #[error("peer hostname {hostname} is not on the Whitelist")]
    NotOnWhitelist {
        /// The hostname that was looked up.
        hostname: String,
    },
    /// Whether the peer is on the Whitelist cannot be determined (MedMij TLS-4).
    #[error("cannot determine whether {hostname} is on the Whitelist")]
    WhitelistUndetermined {
        /// The hostname that was looked up.
        hostname: String,
    },
    /// Revocation check failed or gave no result (MedMij TLS-3, hard fail).
    #[error("OCSP check failed: {0}")]
    Ocsp(#[from] OcspFailure),
    /// Under the 2.x profile ([`crate::TlsProfile::V2`]) the peer certificate
    /// names a wildcard (in a dNSName or its subject commonName): never
    /// wildcard certificates (MedMij TLS-6).
    #[error("peer certificate names the wildcard {name} (MedMij TLS-6: no wildcard certificates)")]
    Wildcard {
        /// The first wildcard name found.
        name: String,
    },
}

impl Refusal {
    /// The rule this refusal enforces: TLS-3 for chain, validity, key usage and
    /// OCSP, TLS-4 for the name and Whitelist checks, TLS-6 for a wildcard
    /// certificate under the 2.x profile.
    #[must_use]
    pub fn rule(&self) -> RuleId {
        match self {
            Self::Certificate { .. } | Self::Ocsp(_) => RuleId::Tls3,
            Self::NameMismatch { .. }
            | Self::NoDnsName
            | Self::NotOnWhitelist { .. }
            | Self::WhitelistUndetermined { .. } => RuleId::Tls4,
            Self::Wildcard { .. } => RuleId::Tls6,
        }
    }

    /// The rustls error for this refusal; rustls turns it into the fitting alert:
    /// `certificate_expired`, `unknown_ca`, `bad_certificate`, `decrypt_error` (bad
    /// signature), `unsupported_certificate` (key usage), `certificate_unknown`
    /// (other path failures), `certificate_revoked`,
    /// `access_denied` (Whitelist; a wildcard certificate under the 2.x profile), `bad_certificate_status_response` (a bad or stale
    /// OCSP answer) or `unknown_ca` (no revocation answer, as OpenSSL does).
    pub fn to_rustls_error(&self) -> rustls::Error {
        let e = match self {
            Self::Certificate { problem, .. } => match problem {
                CertificateProblem::BadEncoding => CertificateError::BadEncoding,
                CertificateProblem::Expired => CertificateError::Expired,
                CertificateProblem::NotYetValid => CertificateError::NotValidYet,
                CertificateProblem::UnknownIssuer => CertificateError::UnknownIssuer,
                #[allow(deprecated)]
                CertificateProblem::BadSignature => CertificateError::BadSignature,
                CertificateProblem::InvalidPurpose => CertificateError::InvalidPurpose,
                CertificateProblem::UnhandledCriticalExtension => {
                    CertificateError::UnhandledCriticalExtension
                }
                CertificateProblem::Other => {
                    CertificateError::Other(rustls::OtherError(std::sync::Arc::new(self.clone())))
                }
            },
            Self::NameMismatch { .. } | Self::NoDnsName => CertificateError::NotValidForName,
            Self::NotOnWhitelist { .. }
            | Self::WhitelistUndetermined { .. }
            | Self::Wildcard { .. } => CertificateError::ApplicationVerificationFailure,
            Self::Ocsp(f) => match f {
                OcspFailure::Revoked { .. } => CertificateError::Revoked,
                OcspFailure::UnknownStatus
                | OcspFailure::Timeout(_)
                | OcspFailure::Unavailable(_)
                | OcspFailure::NotYetChecked
                | OcspFailure::ResponderStatus(_) => CertificateError::UnknownRevocationStatus,
                OcspFailure::Stale { .. }
                | OcspFailure::NotYetValid { .. }
                | OcspFailure::BadSignature
                | OcspFailure::UnauthorisedSigner(_)
                | OcspFailure::UnsupportedAlgorithm(_)
                | OcspFailure::NoMatchingResponse
                | OcspFailure::Malformed(_) => CertificateError::InvalidOcspResponse,
            },
        };
        rustls::Error::InvalidCertificate(e)
    }

    /// The TLS alert rustls sends for this refusal.
    pub fn alert(&self) -> rustls::AlertDescription {
        match self.to_rustls_error() {
            rustls::Error::InvalidCertificate(e) => e.into(),
            _ => rustls::AlertDescription::BadCertificate,
        }
    }
}

#[allow(deprecated)]
pub(crate) fn refusal_from_webpki(e: &webpki::Error) -> Refusal {
    use webpki::Error as W;
    let problem = match e {
        W::BadDer | W::BadDerTime | W::TrailingData(_) => CertificateProblem::BadEncoding,
        W::CertExpired { .. } => CertificateProblem::Expired,
        W::CertNotValidYet { .. } => CertificateProblem::NotYetValid,
        W::UnknownIssuer | W::CaUsedAsEndEntity => CertificateProblem::UnknownIssuer,
        W::InvalidSignatureForPublicKey
        | W::UnsupportedSignatureAlgorithm
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKey
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            CertificateProblem::BadSignature
        }
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) => {
            CertificateProblem::InvalidPurpose
        }
        W::UnsupportedCriticalExtension => CertificateProblem::UnhandledCriticalExtension,
        _ => CertificateProblem::Other,
    };
    Refusal::Certificate {
        problem,
        detail: format!("{e:?}"),
    }
}

/// Which side's certificate was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRole {
    /// We are the client and checked the server's certificate.
    Server,
    /// We are the server and checked the client's certificate.
    Client,
}

/// A refused handshake, as handed to the [`RefusalLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RefusalEvent {
    /// Whose certificate was refused.
    pub peer: PeerRole,
    /// The DNS names in the peer certificate, as far as they could be read.
    pub peer_names: Vec<String>,
    /// Why.
    pub refusal: Refusal,
}

/// Receives every refusal, so that the application can log it (MedMij TLS-3, TLS-4).
pub type RefusalLog = std::sync::Arc<dyn Fn(&RefusalEvent) + Send + Sync>;

/// A configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No trust anchors were given.
    #[error("no trust anchors configured")]
    NoTrustAnchors,
    /// No own certificate was given.
    #[error("no own certificate configured (MedMij TLS-2 needs one)")]
    NoOwnCertificate,
    /// A certificate could not be read or used.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// A private key could not be read or used.
    #[error("bad private key: {0}")]
    BadKey(String),
    /// PEM input could not be parsed.
    #[error("bad PEM: {0}")]
    Pem(String),
    /// The [`crate::OcspDriver`] handed to an adapter fills another cache than
    /// the one the configuration's verifiers read.
    #[error("the OCSP driver is not built on this configuration's OCSP checker")]
    OcspDriverMismatch,
    /// rustls refused the configuration.
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
    /// Under the 2.x profile ([`crate::TlsProfile::V2`]) an own certificate
    /// names a wildcard (in a dNSName or its subject commonName): never
    /// wildcard certificates (MedMij TLS-6).
    #[error(
        "own certificate names the wildcard {name} (MedMij TLS-6: no wildcard certificates under the 2.x profile)"
    )]
    WildcardCertificate {
        /// The first wildcard name found.
        name: String,
    },
    /// Under the 2.x profile an own front-channel certificate is not
    /// Organization Validated: its subject names no organisation
    /// (organizationName), as a Domain Validated certificate (MedMij TLS-6).
    #[error(
        "own front-channel certificate {subject} is not Organization Validated (no organizationName; MedMij TLS-6)"
    )]
    NotOrganizationValidated {
        /// The certificate's subject.
        subject: String,
    },
}

impl ConfigError {
    /// The rule a configuration error enforces, where it enforces one:
    /// [`RuleId::Tls2`] for a missing own certificate, [`RuleId::Tls6`] for a
    /// wildcard own certificate under the 2.x profile.
    pub fn rule(&self) -> Option<RuleId> {
        match self {
            Self::NoOwnCertificate => Some(RuleId::Tls2),
            Self::WildcardCertificate { .. } | Self::NotOrganizationValidated { .. } => {
                Some(RuleId::Tls6)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tls_3 {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn a_refused_chain_names_the_problem_webpki_found() {
        // MedMij TLS-3: a chain refused by path validation carries the typed problem
        // (and with it the alert rustls sends): bad encoding, a bad or unsupported
        // signature and an unhandled critical extension each as such, what has no kind of
        // its own as `Other`; all under TLS-3.
        use CertificateProblem as P;
        use rustls::AlertDescription as A;
        use webpki::Error as W;
        let cases = [
            (W::BadDer, P::BadEncoding, A::BadCertificate),
            (W::BadDerTime, P::BadEncoding, A::BadCertificate),
            (W::UnknownIssuer, P::UnknownIssuer, A::UnknownCA),
            (W::CaUsedAsEndEntity, P::UnknownIssuer, A::UnknownCA),
            (
                W::InvalidSignatureForPublicKey,
                P::BadSignature,
                A::DecryptError,
            ),
            (
                W::UnsupportedSignatureAlgorithm,
                P::BadSignature,
                A::DecryptError,
            ),
            (
                W::UnsupportedSignatureAlgorithmForPublicKey,
                P::BadSignature,
                A::DecryptError,
            ),
            (
                W::RequiredEkuNotFound,
                P::InvalidPurpose,
                A::UnsupportedCertificate,
            ),
            (
                W::UnsupportedCriticalExtension,
                P::UnhandledCriticalExtension,
                A::BadCertificate,
            ),
            (W::NameConstraintViolation, P::Other, A::CertificateUnknown),
        ];
        for (e, problem, alert) in cases {
            let r = refusal_from_webpki(&e);
            assert!(
                matches!(&r, Refusal::Certificate { problem: p, .. } if *p == problem),
                "{e:?}: {r:?}"
            );
            assert_eq!(r.rule(), RuleId::Tls3, "{e:?}");
            assert_eq!(r.alert(), alert, "{e:?}");
        }
    }
}
