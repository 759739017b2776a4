//! Revocation checking with OCSP (MedMij TLS-3, RFC 6960); explained on [`OcspCache`]
//! and on the crate root.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::digest;
use der::asn1::{Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest,
};

use crate::error::OcspFailure;

/// id-pkix-ocsp-basic (RFC 6960 4.2.1).
pub const ID_PKIX_OCSP_BASIC: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-ad-ocsp, the access method of an OCSP responder in AuthorityInfoAccess.
pub const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// id-kp-OCSPSigning, the extended key usage of a delegated responder.
pub const ID_KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
const ID_KP_OCSP_SIGNING_DER: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 9];
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
#[cfg(test)]
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
#[cfg(test)]
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Timing rules for OCSP answers (MedMij TLS-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspPolicy {
    /// How long to wait for an [`OcspSource`]; no answer in time refuses.
    pub timeout: Duration,
    /// How far thisUpdate may lie in the future (clock differences).
    pub clock_skew: Duration,
    /// How long an answer without nextUpdate counts as fresh after its thisUpdate.
    pub max_age_without_next_update: Duration,
}

impl Default for OcspPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            clock_skew: Duration::from_secs(300),
            max_age_without_next_update: Duration::from_secs(600),
        }
    }
}

/// One OCSP question for an [`OcspSource`].
#[derive(Debug, Clone)]
pub struct OcspQuery {
    /// The DER OCSPRequest (RFC 6960 4.1), one certificate, unsigned.
    pub request: Vec<u8>,
    /// The responder URLs in the certificate's AuthorityInfoAccess, in order.
    pub responder_urls: Vec<String>,
    /// How long the source may take; the verifier gives up after this anyway.
    pub timeout: Duration,
}

/// Why an [`OcspSource`] could not deliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcspSourceError {
    /// No responder answered in time.
    #[error("timeout")]
    Timeout,
    /// There is no responder to ask.
    #[error("no OCSP responder URL")]
    NoResponder,
    /// The responder could not be reached or answered with an HTTP error.
    #[error("{0}")]
    Transport(String),
}

/// Fetches OCSP answers, blocking, e.g. `BlockingOcspFetcher` (feature `blocking`, RFC
/// 6960 over HTTP POST). Used only where the host runs [`crate::OcspDriver::refresh_blocking`]
/// on a thread of its own choosing; never by the verifier.
pub trait OcspSource: Send + Sync {
    /// Ask a responder; returns the DER OCSPResponse.
    fn fetch(&self, query: &OcspQuery) -> Result<Vec<u8>, OcspSourceError>;
}

impl<F> OcspSource for F
where
    F: Fn(&OcspQuery) -> Result<Vec<u8>, OcspSourceError> + Send + Sync,
{
    fn fetch(&self, query: &OcspQuery) -> Result<Vec<u8>, OcspSourceError> {
        self(query)
    }
}

/// The key of a certificate in the [`OcspCache`]: SHA-256 of its DER encoding.
pub type CertKey = [u8; 32];

/// The [`CertKey`] of a DER certificate.
pub fn cert_key(cert_der: &[u8]) -> CertKey {
    let mut k = [0u8; 32];
    k.copy_from_slice(digest::digest(&digest::SHA256, cert_der).as_ref());
    k
}

#[derive(Debug, Clone, Copy)]
struct CachedAnswer {
    revoked_at: Option<u64>,
    this_update: u64,
    next_update: Option<u64>,
    fresh_until: u64,
}

#[derive(Debug, Clone, Default)]
struct CacheEntry {
    answer: Option<CachedAnswer>,
    /// Why the last fetch gave no usable answer (cleared by the next good one).
    last_failure: Option<OcspFailure>,
}

/// What the cache knows about one certificate at a given time (MedMij TLS-3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum CachedStatus {
    /// A validated, fresh "good" answer.
    Good,
    /// No usable answer: revoked, stale, or the last fetch failed. Refuse.
    Refused(OcspFailure),
    /// Nothing known yet (first contact).
    Unknown,
}

/// Cache of validated OCSP answers, keyed by certificate ([`CertKey`]) (MedMij TLS-3).
///
/// An answer is used only while `thisUpdate - clock_skew <= now < nextUpdate` (or,
/// without nextUpdate, `now < thisUpdate + max_age_without_next_update`); `now` is
/// the verification time rustls passes to the verifier. A failed fetch is kept
/// as the reason to refuse until a usable answer replaces it; a still-fresh
/// answer wins over a later failed refresh.
///
/// The verifier reads only the stapled answer and the [`OcspCache`]: it never
/// fetches, never blocks and never starts a thread. Answers get into the cache
/// through the host-driven [`crate::OcspDriver`] (prefetch, refresh ahead of
/// nextUpdate, first contacts). Any failure, timeout or stale answer is a refusal
/// (hard fail); a certificate with no answer yet is refused, or, with
/// [`OnCacheMiss::Provisional`], accepted *provisionally* and recorded as a
/// pending check that the host must settle before serving a request.
pub struct OcspCache {
    entries: Mutex<HashMap<CertKey, CacheEntry>>,
    capacity: usize,
    clock_skew: u64,
}

impl fmt::Debug for OcspCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for OcspCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl OcspCache {
    /// A cache holding at most `capacity` certificates.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            clock_skew: OcspPolicy::default().clock_skew.as_secs(),
        }
    }

    /// Number of cached certificates (fresh or not).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop every cached answer.
    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
    }

    /// The status of the certificate `key` at `now` (seconds since the epoch),
    /// from the cache only (MedMij TLS-3).
    pub fn status(&self, key: &CertKey, now: u64) -> CachedStatus {
        let Ok(e) = self.entries.lock() else {
            return CachedStatus::Unknown;
        };
        let Some(entry) = e.get(key) else {
            return CachedStatus::Unknown;
        };
        let fresh = entry.answer.filter(|a| {
            a.this_update <= now.saturating_add(self.clock_skew) && now < a.fresh_until
        });
        match (fresh, &entry.last_failure, entry.answer) {
            (Some(a), _, _) => match a.revoked_at {
                None => CachedStatus::Good,
                Some(t) => CachedStatus::Refused(OcspFailure::Revoked { revocation_time: t }),
            },
            (None, Some(f), _) => CachedStatus::Refused(f.clone()),
            (None, None, Some(a)) if a.this_update > now.saturating_add(self.clock_skew) => {
                CachedStatus::Refused(OcspFailure::NotYetValid {
                    this_update: a.this_update,
                    now,
                })
            }
            (None, None, Some(a)) => CachedStatus::Refused(OcspFailure::Stale {
                this_update: a.this_update,
                next_update: a.next_update,
                now,
            }),
            (None, None, None) => CachedStatus::Unknown,
        }
    }

    fn with_entry(&self, key: CertKey, now: u64, f: impl FnOnce(&mut CacheEntry)) {
        let Ok(mut e) = self.entries.lock() else {
            return;
        };
        if e.len() >= self.capacity && !e.contains_key(&key) {
            e.retain(|_, v| v.answer.is_some_and(|a| now < a.fresh_until));
            if e.len() >= self.capacity {
                e.clear();
            }
        }
        f(e.entry(key).or_default());
    }

    pub(crate) fn put(&self, key: CertKey, c: Checked, now: u64) {
        self.with_entry(key, now, |e| {
            e.answer = Some(CachedAnswer {
                revoked_at: c.revoked_at,
                this_update: c.this_update,
                next_update: c.next_update,
                fresh_until: c.fresh_until,
            });
            e.last_failure = None;
        });
    }

    pub(crate) fn put_failure(&self, key: CertKey, failure: OcspFailure, now: u64) {
        self.with_entry(key, now, |e| e.last_failure = Some(failure));
    }
}

/// What is needed to ask about and check an answer for one certificate.
#[derive(Clone)]
pub(crate) struct OcspTarget {
    pub(crate) key: CertKey,
    issuer_name_der: Vec<u8>,
    issuer_key_bits: Vec<u8>,
    issuer_spki: SubjectPublicKeyInfoOwned,
    issuer_anchor: TrustAnchor<'static>,
    serial: x509_cert::serial_number::SerialNumber,
    pub(crate) responder_urls: Vec<String>,
}

impl OcspTarget {
    /// `ee` is the checked certificate, `issuer_spki` the DER SubjectPublicKeyInfo of
    /// its issuer and `issuer_anchor` the issuer as a trust anchor (for delegated
    /// responders).
    pub(crate) fn new(
        ee_der: &[u8],
        ee: &x509_cert::Certificate,
        issuer_spki_der: &[u8],
        issuer_anchor: TrustAnchor<'static>,
    ) -> Result<Self, OcspFailure> {
        let issuer_spki = SubjectPublicKeyInfoOwned::from_der(issuer_spki_der)
            .map_err(|e| OcspFailure::Malformed(format!("issuer key: {e}")))?;
        let issuer_name_der = ee
            .tbs_certificate
            .issuer
            .to_der()
            .map_err(|e| OcspFailure::Malformed(e.to_string()))?;
        let issuer_key_bits = issuer_spki.subject_public_key.raw_bytes().to_vec();
        let responder_urls = match ee.tbs_certificate.get::<AuthorityInfoAccessSyntax>() {
            Ok(Some((_, aia))) => aia
                .0
                .iter()
                .filter(|d| d.access_method == ID_AD_OCSP)
                .filter_map(|d| match &d.access_location {
                    GeneralName::UniformResourceIdentifier(u) => Some(u.as_str().to_owned()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            key: cert_key(ee_der),
            issuer_name_der,
            issuer_key_bits,
            issuer_spki,
            issuer_anchor,
            serial: ee.tbs_certificate.serial_number.clone(),
            responder_urls,
        })
    }

    fn cert_id(
        &self,
        alg: &'static digest::Algorithm,
        oid: ObjectIdentifier,
    ) -> Result<CertId, OcspFailure> {
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: Some(Null.into()),
            },
            issuer_name_hash: octets(digest::digest(alg, &self.issuer_name_der).as_ref())?,
            issuer_key_hash: octets(digest::digest(alg, &self.issuer_key_bits).as_ref())?,
            serial_number: self.serial.clone(),
        })
    }

    /// DER OCSPRequest for this certificate; CertID hashed with SHA-1 as RFC 6960
    /// responders expect (identification only, not a signature).
    pub(crate) fn request_der(&self) -> Result<Vec<u8>, OcspFailure> {
        let req = OcspRequest {
            tbs_request: TbsRequest {
                version: x509_ocsp::Version::V1,
                requestor_name: None,
                request_list: vec![Request {
                    req_cert: self.cert_id(&digest::SHA1_FOR_LEGACY_USE_ONLY, ID_SHA1)?,
                    single_request_extensions: None,
                }],
                request_extensions: None,
            },
            optional_signature: None,
        };
        req.to_der()
            .map_err(|e| OcspFailure::Malformed(format!("request: {e}")))
    }

    fn matches(&self, id: &CertId) -> bool {
        let ours = if id.hash_algorithm.oid == ID_SHA1 {
            self.cert_id(&digest::SHA1_FOR_LEGACY_USE_ONLY, ID_SHA1)
        } else if id.hash_algorithm.oid == ID_SHA256 {
            self.cert_id(&digest::SHA256, ID_SHA256)
        } else {
            return false;
        };
        let Ok(ours) = ours else {
            return false;
        };
        ours.issuer_name_hash == id.issuer_name_hash
            && ours.issuer_key_hash == id.issuer_key_hash
            && ours.serial_number == id.serial_number
    }
}

/// The OCSP target of a chain holding the end-entity certificate first and its
/// issuer second.
pub(crate) fn target_from_chain(chain: &[CertificateDer<'_>]) -> Result<OcspTarget, OcspFailure> {
    let (Some(ee_der), Some(issuer)) = (chain.first(), chain.get(1)) else {
        return Err(OcspFailure::Malformed(
            "chain holds no issuer certificate".into(),
        ));
    };
    let malformed = |e: String| OcspFailure::Malformed(e);
    let ee = x509_cert::Certificate::from_der(ee_der).map_err(|e| malformed(e.to_string()))?;
    let issuer_parsed =
        x509_cert::Certificate::from_der(issuer).map_err(|e| malformed(e.to_string()))?;
    let spki = issuer_parsed
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| malformed(e.to_string()))?;
    let anchor = webpki::anchor_from_trusted_cert(issuer)
        .map_err(|e| malformed(format!("{e:?}")))?
        .to_owned();
    OcspTarget::new(ee_der, &ee, &spki, anchor)
}

impl OcspFailure {
    /// The failure for a source that could not deliver.
    pub(crate) fn from_source(e: OcspSourceError, timeout: Duration) -> Self {
        match e {
            OcspSourceError::Timeout => Self::Timeout(timeout.as_millis()),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

fn octets(b: &[u8]) -> Result<OctetString, OcspFailure> {
    OctetString::new(b.to_vec()).map_err(|e| OcspFailure::Malformed(e.to_string()))
}

/// A checked "good" or "revoked" answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checked {
    revoked_at: Option<u64>,
    this_update: u64,
    next_update: Option<u64>,
    fresh_until: u64,
}

fn secs(t: &x509_ocsp::OcspGeneralizedTime) -> u64 {
    t.0.to_unix_duration().as_secs()
}

/// The signature algorithms an OCSP response may be signed with (MedMij
/// TLS-3): ECDSA (P-256, P-384) and RSA PKCS#1 v1.5 with SHA-256 or SHA-384
/// (RSA also SHA-512), and Ed25519. Verified with the crypto provider's
/// algorithms ([`crate::profile::signature_algorithms`]).
const OCSP_SIGNATURE_ALGORITHMS: [ObjectIdentifier; 6] = [
    ECDSA_SHA256,
    ECDSA_SHA384,
    RSA_SHA256,
    RSA_SHA384,
    RSA_SHA512,
    ED25519,
];

/// A `rustls` algorithm identifier (the contents of the DER SEQUENCE) as a
/// parsed `AlgorithmIdentifier`.
fn parse_alg_id(id: &rustls::pki_types::AlgorithmIdentifier) -> Option<AlgorithmIdentifierOwned> {
    let body: &[u8] = id.as_ref();
    let len = u8::try_from(body.len()).ok().filter(|l| *l < 0x80)?;
    let mut der = Vec::with_capacity(body.len() + 2);
    der.extend_from_slice(&[0x30, len]);
    der.extend_from_slice(body);
    AlgorithmIdentifierOwned::from_der(&der).ok()
}

/// The named curve of an `id-ecPublicKey` algorithm identifier, else `None`.
fn ec_curve(alg: &AlgorithmIdentifierOwned) -> Option<ObjectIdentifier> {
    if alg.oid != EC_PUBLIC_KEY {
        return None;
    }
    alg.parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
}

/// The provider's verification algorithms for signature algorithm `alg`
/// with a key of algorithm `key_alg`: the signature OID must be one of
/// [`OCSP_SIGNATURE_ALGORITHMS`]; an EC key must be on the algorithm's
/// curve, any other key must not be an EC key.
fn verification_algorithms(
    alg: &AlgorithmIdentifierOwned,
    key_alg: &AlgorithmIdentifierOwned,
) -> Vec<&'static dyn rustls::pki_types::SignatureVerificationAlgorithm> {
    if !OCSP_SIGNATURE_ALGORITHMS.contains(&alg.oid) {
        return Vec::new();
    }
    let curve = ec_curve(key_alg);
    let is_ec = key_alg.oid == EC_PUBLIC_KEY;
    crate::profile::signature_algorithms()
        .all
        .iter()
        .copied()
        .filter(|a| {
            let (Some(sig), Some(key)) = (
                parse_alg_id(&a.signature_alg_id()),
                parse_alg_id(&a.public_key_alg_id()),
            ) else {
                return false;
            };
            sig.oid == alg.oid
                && if is_ec {
                    curve.is_some() && ec_curve(&key) == curve
                } else {
                    key.oid != EC_PUBLIC_KEY
                }
        })
        .collect()
}

/// Verify `signature` over `msg` with `spki` and the signature algorithm `alg`,
/// through the crypto provider's signature verification algorithms.
fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    msg: &[u8],
    signature: &[u8],
) -> Result<(), OcspFailure> {
    let key = spki.subject_public_key.raw_bytes();
    let candidates = verification_algorithms(alg, &spki.algorithm);
    if candidates.is_empty() {
        return Err(OcspFailure::UnsupportedAlgorithm(alg.oid.to_string()));
    }
    if candidates
        .iter()
        .any(|a| a.verify_signature(key, msg, signature).is_ok())
    {
        Ok(())
    } else {
        Err(OcspFailure::BadSignature)
    }
}

/// Validate a DER OCSPResponse for `target` at `now` (RFC 6960 3.2): status,
/// CertID (issuer hashes and serial), signer (issuer or delegated responder with
/// id-kp-OCSPSigning issued by the issuer), signature, freshness.
pub(crate) fn validate_response(
    der: &[u8],
    target: &OcspTarget,
    now: UnixTime,
    policy: &OcspPolicy,
) -> Result<Checked, OcspFailure> {
    let resp = OcspResponse::from_der(der).map_err(|e| OcspFailure::Malformed(e.to_string()))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(OcspFailure::ResponderStatus(format!(
            "{:?}",
            resp.response_status
        )));
    }
    let bytes = resp
        .response_bytes
        .ok_or_else(|| OcspFailure::Malformed("no responseBytes".into()))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(OcspFailure::Malformed(format!(
            "response type {}",
            bytes.response_type
        )));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| OcspFailure::Malformed(e.to_string()))?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| OcspFailure::Malformed(e.to_string()))?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| OcspFailure::Malformed("signature has unused bits".into()))?;

    // Who signed: the issuer itself, or a delegated responder (RFC 6960 4.2.2.2).
    let by_issuer = match &basic.tbs_response_data.responder_id {
        ResponderId::ByName(n) => n.to_der().ok().as_deref() == Some(&target.issuer_name_der),
        ResponderId::ByKey(h) => {
            digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &target.issuer_key_bits).as_ref()
                == h.as_bytes()
        }
    };
    if by_issuer {
        verify_signature(
            &target.issuer_spki,
            &basic.signature_algorithm,
            &tbs,
            signature,
        )?;
    } else {
        let responder = basic
            .certs
            .iter()
            .flatten()
            .find(|c| match &basic.tbs_response_data.responder_id {
                ResponderId::ByName(n) => &c.tbs_certificate.subject == n,
                ResponderId::ByKey(h) => {
                    digest::digest(
                        &digest::SHA1_FOR_LEGACY_USE_ONLY,
                        c.tbs_certificate
                            .subject_public_key_info
                            .subject_public_key
                            .raw_bytes(),
                    )
                    .as_ref()
                        == h.as_bytes()
                }
            })
            .ok_or_else(|| {
                OcspFailure::UnauthorisedSigner(
                    "responder is not the issuer and sent no matching certificate".into(),
                )
            })?;
        let rder = responder
            .to_der()
            .map_err(|e| OcspFailure::Malformed(e.to_string()))?;
        let rder = CertificateDer::from(rder);
        let ee = webpki::EndEntityCert::try_from(&rder)
            .map_err(|e| OcspFailure::UnauthorisedSigner(format!("{e:?}")))?;
        let anchors = [target.issuer_anchor.clone()];
        ee.verify_for_usage(
            crate::profile::signature_algorithms().all,
            &anchors,
            &[],
            now,
            webpki::KeyUsage::required(ID_KP_OCSP_SIGNING_DER),
            None,
            None,
        )
        .map_err(|e| {
            OcspFailure::UnauthorisedSigner(format!(
                "delegated responder not issued by the issuer for OCSP signing: {e:?}"
            ))
        })?;
        verify_signature(
            &responder.tbs_certificate.subject_public_key_info,
            &basic.signature_algorithm,
            &tbs,
            signature,
        )?;
    }

    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|s| target.matches(&s.cert_id))
        .ok_or(OcspFailure::NoMatchingResponse)?;
    let now_s = now.as_secs();
    let this_update = secs(&single.this_update);
    let next_update = single.next_update.as_ref().map(secs);
    if this_update > now_s.saturating_add(policy.clock_skew.as_secs()) {
        return Err(OcspFailure::NotYetValid {
            this_update,
            now: now_s,
        });
    }
    let fresh_until = next_update.unwrap_or_else(|| {
        this_update.saturating_add(policy.max_age_without_next_update.as_secs())
    });
    if now_s >= fresh_until {
        return Err(OcspFailure::Stale {
            this_update,
            next_update,
            now: now_s,
        });
    }
    let revoked_at = match &single.cert_status {
        CertStatus::Good(_) => None,
        CertStatus::Revoked(r) => Some(secs(&r.revocation_time)),
        CertStatus::Unknown(_) => return Err(OcspFailure::UnknownStatus),
    };
    Ok(Checked {
        revoked_at,
        this_update,
        next_update,
        fresh_until,
    })
}

/// What the verifier does with a certificate that has no OCSP answer in the
/// cache and no stapled one (a first contact) (MedMij TLS-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnCacheMiss {
    /// Refuse the handshake ([`OcspFailure::NotYetChecked`]) and record the
    /// certificate as pending, so that the [`crate::OcspDriver`] fetches its
    /// answer; a later handshake then succeeds. The default: safe with any host.
    #[default]
    Refuse,
    /// Let the handshake complete *provisionally* and record the certificate
    /// as pending. Only for hosts that settle the check before serving any
    /// request, as the `tokio` adapter does (it awaits the answer with a
    /// deadline and closes the connection unless it is "good").
    Provisional,
}

/// Certificates the verifier met without an OCSP answer, waiting for the
/// [`crate::OcspDriver`] (MedMij TLS-3). Bounded: beyond `capacity` the oldest
/// entries are dropped (their connections then fail their check).
pub(crate) struct PendingChecks {
    entries: Mutex<Vec<OcspTarget>>,
    capacity: usize,
}

impl PendingChecks {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn record(&self, target: &OcspTarget) {
        let Ok(mut e) = self.entries.lock() else {
            return;
        };
        if e.iter().any(|t| t.key == target.key) {
            return;
        }
        if e.len() >= self.capacity {
            e.remove(0);
        }
        e.push(target.clone());
    }

    pub(crate) fn take_all(&self) -> Vec<OcspTarget> {
        self.entries
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }

    pub(crate) fn take(&self, key: &CertKey) -> Option<OcspTarget> {
        let mut e = self.entries.lock().ok()?;
        let i = e.iter().position(|t| &t.key == key)?;
        Some(e.remove(i))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

/// Revocation checking as configured for a verifier (MedMij TLS-3): the stapled
/// answer, else the [`OcspCache`]; never a fetch. Clones share the cache and
/// the pending checks.
#[derive(Clone)]
pub struct OcspChecker {
    cache: Arc<OcspCache>,
    pending: Arc<PendingChecks>,
    policy: OcspPolicy,
    on_miss: OnCacheMiss,
}

impl fmt::Debug for OcspChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspChecker")
            .field("cache", &self.cache)
            .field("pending", &self.pending.len())
            .field("policy", &self.policy)
            .field("on_miss", &self.on_miss)
            .finish()
    }
}

impl Default for OcspChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl OcspChecker {
    /// A checker with its own empty cache, the default policy, refusing on a
    /// cache miss.
    pub fn new() -> Self {
        Self {
            cache: Arc::new(OcspCache::default()),
            pending: Arc::new(PendingChecks::new(1024)),
            policy: OcspPolicy::default(),
            on_miss: OnCacheMiss::Refuse,
        }
    }

    /// Use these timing rules.
    #[must_use]
    pub fn with_policy(mut self, policy: OcspPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Share this cache (e.g. between the server and client verifiers of one node).
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<OcspCache>) -> Self {
        self.cache = cache;
        self
    }

    /// What to do on a cache miss (default [`OnCacheMiss::Refuse`]).
    #[must_use]
    pub fn with_on_cache_miss(mut self, on_miss: OnCacheMiss) -> Self {
        self.on_miss = on_miss;
        self
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<OcspCache> {
        &self.cache
    }

    /// The timing rules.
    pub fn policy(&self) -> &OcspPolicy {
        &self.policy
    }

    /// What happens on a cache miss.
    pub fn on_cache_miss(&self) -> OnCacheMiss {
        self.on_miss
    }

    /// How many certificates wait for a first answer.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn pending(&self) -> &Arc<PendingChecks> {
        &self.pending
    }

    /// Stapled answer, else cache; a miss refuses or passes provisionally as
    /// configured, and is recorded as pending either way.
    pub(crate) fn check(
        &self,
        target: &OcspTarget,
        stapled: &[u8],
        now: UnixTime,
    ) -> Result<(), OcspFailure> {
        if !stapled.is_empty() {
            let c = validate_response(stapled, target, now, &self.policy)?;
            self.cache.put(target.key, c, now.as_secs());
            return match c.revoked_at {
                None => Ok(()),
                Some(t) => Err(OcspFailure::Revoked { revocation_time: t }),
            };
        }
        match self.cache.status(&target.key, now.as_secs()) {
            CachedStatus::Good => Ok(()),
            CachedStatus::Refused(f) => Err(f),
            CachedStatus::Unknown => {
                self.pending.record(target);
                match self.on_miss {
                    OnCacheMiss::Refuse => Err(OcspFailure::NotYetChecked),
                    OnCacheMiss::Provisional => Ok(()),
                }
            }
        }
    }

    /// Validate `der` for `target` and record the outcome in the cache; the
    /// checked answer on success.
    pub(crate) fn record_answer(
        &self,
        target: &OcspTarget,
        der: &[u8],
        now: UnixTime,
    ) -> Result<Checked, OcspFailure> {
        match validate_response(der, target, now, &self.policy) {
            Ok(c) => {
                self.cache.put(target.key, c, now.as_secs());
                Ok(c)
            }
            Err(f) => {
                self.cache.put_failure(target.key, f.clone(), now.as_secs());
                Err(f)
            }
        }
    }

    /// Record a failed fetch in the cache.
    pub(crate) fn record_failure(&self, target: &OcspTarget, f: OcspFailure, now: UnixTime) {
        self.cache.put_failure(target.key, f, now.as_secs());
    }
}

impl Checked {
    /// Revocation time, if revoked.
    pub(crate) fn revoked_at(&self) -> Option<u64> {
        self.revoked_at
    }

    /// thisUpdate and the end of freshness, seconds since the epoch.
    pub(crate) fn window(&self) -> (u64, u64) {
        (self.this_update, self.fresh_until)
    }
}

#[cfg(test)]
mod tls_3 {
    use super::*;

    fn alg(oid: ObjectIdentifier, curve: Option<ObjectIdentifier>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: curve.map(|c| der::Any::encode_from(&c).unwrap()),
        }
    }

    const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    const RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
    const RSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
    const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
    const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

    #[test]
    fn ocsp_signatures_accept_the_same_algorithms_through_the_provider() {
        // The table OCSP signatures were verified with before they went through
        // the provider (MedMij TLS-3): each pair still has a provider algorithm.
        let ec = |c| alg(EC_PUBLIC_KEY, Some(c));
        let accepted = [
            (ECDSA_SHA256, ec(P256)),
            (ECDSA_SHA384, ec(P256)),
            (ECDSA_SHA256, ec(P384)),
            (ECDSA_SHA384, ec(P384)),
            (RSA_SHA256, alg(RSA_ENCRYPTION, None)),
            (RSA_SHA384, alg(RSA_ENCRYPTION, None)),
            (RSA_SHA512, alg(RSA_ENCRYPTION, None)),
            (ED25519, alg(ED25519, None)),
        ];
        for (sig, key) in &accepted {
            assert!(
                !verification_algorithms(&alg(*sig, None), key).is_empty(),
                "{sig} with {key:?}"
            );
        }
        // And nothing else: SHA-1, RSA-PSS, P-521, ECDSA with SHA-512, an
        // algorithm that does not fit the key.
        let refused = [
            (RSA_SHA1, alg(RSA_ENCRYPTION, None)),
            (RSA_PSS, alg(RSA_ENCRYPTION, None)),
            (ECDSA_SHA256, ec(P521)),
            (ECDSA_SHA512, ec(P256)),
            (ECDSA_SHA256, alg(RSA_ENCRYPTION, None)),
            (RSA_SHA256, ec(P256)),
            (ECDSA_SHA256, alg(EC_PUBLIC_KEY, None)),
        ];
        for (sig, key) in &refused {
            assert!(
                verification_algorithms(&alg(*sig, None), key).is_empty(),
                "{sig} with {key:?}"
            );
        }
    }
}
