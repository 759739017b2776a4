//! A generated test PKI shaped like PKIoverheid (root, intermediate, server
//! certificates with dNSName subjectAltNames) and a small OCSP responder for it
//! (feature `test-pki`). For tests and examples only: never for production keys.
//!
//! [`TestPki::new`] is a two-level hierarchy (root, issuing CA). For the 2.x
//! profile (MedMij TLS-6), [`TestPki::new_g1`] is shaped like PKIoverheid
//! Private Services under "Staat der Nederlanden Private Root CA – G1":
//!
//! ```text
//! TEST Staat der Nederlanden Private Root CA - G1          (root, trust anchor)
//! └─ TEST Domein Private Services CA - G1                  (domain CA, pathLen 1)
//!    └─ TEST <name> PKIoverheid Private Services CA - G1   (issuing CA, pathLen 0; signs OCSP)
//!       └─ leaf: C=NL, O=TEST <organisation>, serialNumber=<OIN-shaped>,
//!          CN=<first DNS name>; subjectAltName dNSNames; keyUsage
//!          digitalSignature; extKeyUsage serverAuth, clientAuth; OCSP URL in
//!          AuthorityInfoAccess; a CRL distribution point
//! ```
//!
//! Every CA name and every G1 leaf organisation starts with `TEST`. The keys
//! rcgen generates here are ECDSA (fast to make), so the CAs use P-384 where the
//! real G1 hierarchy uses RSA 4096, and the leaves carry no certificatePolicies
//! extension. A real deployment passes the real G1 root as trust anchor.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use aws_lc_rs::digest;
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString};
use der::{Decode, Encode};
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, SerialNumber, SigningKey,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    OcspResponseStatus, ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
};

use crate::certs::{OwnCertificate, TrustAnchors};
use crate::error::ConfigError;
use crate::ocsp::{ID_AD_OCSP, ID_PKIX_OCSP_BASIC};

const AIA_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const ECDSA_SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const SHA1: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Something went wrong generating test material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestPkiError {
    /// rcgen failed.
    #[error("rcgen: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// DER encoding or decoding failed.
    #[error("der: {0}")]
    Der(#[from] der::Error),
    /// The certificate is not one this PKI issued.
    #[error("{0}")]
    Other(String),
}

/// Options for an issued certificate.
#[derive(Debug, Clone)]
pub struct CertOptions {
    /// notBefore.
    pub not_before: SystemTime,
    /// notAfter.
    pub not_after: SystemTime,
    /// OCSP responder URL to put in AuthorityInfoAccess.
    pub ocsp_url: Option<String>,
    /// Extended key usages; PKIoverheid server certificates carry both.
    pub server_auth: bool,
    /// See `server_auth`.
    pub client_auth: bool,
    /// keyUsage digitalSignature (needed to sign handshakes); off only to test refusal.
    pub digital_signature: bool,
}

impl Default for CertOptions {
    /// Valid from a day ago for a year, serverAuth and clientAuth, no OCSP URL.
    fn default() -> Self {
        let now = SystemTime::now();
        Self {
            not_before: now - Duration::from_secs(86_400),
            not_after: now + Duration::from_secs(365 * 86_400),
            ocsp_url: None,
            server_auth: true,
            client_auth: true,
            digital_signature: true,
        }
    }
}

impl CertOptions {
    /// Default options with this OCSP responder URL.
    pub fn with_ocsp(url: &str) -> Self {
        Self {
            ocsp_url: Some(url.to_owned()),
            ..Self::default()
        }
    }
}

/// An issued certificate with its key.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// End-entity certificate, then the issuing CA, then any CA above it
    /// except the root (the G1 domain CA).
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 private key.
    pub key_pkcs8: Vec<u8>,
    /// Serial number as encoded in the certificate.
    pub serial: Vec<u8>,
    /// PEM of the end-entity certificate.
    pub cert_pem: String,
    /// PEM of the chain (as [`IssuedCert::chain`]).
    pub chain_pem: String,
    /// PEM of the private key.
    pub key_pem: String,
}

impl IssuedCert {
    /// The private key.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()))
    }

    /// As an [`OwnCertificate`].
    pub fn own_certificate(&self) -> Result<OwnCertificate, ConfigError> {
        OwnCertificate::new(self.chain.clone(), self.key())
    }
}

/// Who signs an OCSP answer made by [`TestPki::ocsp_response`].
#[derive(Debug, Clone, Copy)]
pub enum OcspSigner<'a> {
    /// The issuing CA (the intermediate) itself.
    Issuer,
    /// A delegated responder certificate (made with [`TestPki::issue_ocsp_responder`]
    /// or, to test refusals, any other certificate).
    Delegated(&'a IssuedCert),
    /// A key that is not the issuer's, while claiming to be the issuer.
    WrongKey,
}

/// The status an OCSP answer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    /// good
    Good,
    /// revoked at the given time
    Revoked(SystemTime),
    /// unknown
    Unknown,
}

/// A PKIoverheid-shaped test PKI: root CA, intermediate CA, end-entity
/// certificates with dNSName SANs, ECDSA keys (P-384 for the CAs, P-256 below).
pub struct TestPki {
    root_der: CertificateDer<'static>,
    root_pem: String,
    root_key: KeyPair,
    intermediate_der: CertificateDer<'static>,
    intermediate_pem: String,
    intermediate: Issuer<'static, KeyPair>,
    intermediate_name_der: Vec<u8>,
    intermediate_key_bits: Vec<u8>,
    /// CA certificates between the issuing CA and the root (the G1 domain CA).
    upper_cas: Vec<CertificateDer<'static>>,
    upper_cas_pem: String,
    shape: Shape,
    issued: Mutex<HashSet<Vec<u8>>>,
}

/// The subject shape of issued end-entity certificates.
#[derive(Debug, Clone)]
enum Shape {
    /// C=NL, O=Test Zorg B.V., CN.
    Plain,
    /// PKIoverheid Private Services (G1): C=NL, O, serialNumber (OIN), CN,
    /// and a CRL distribution point.
    PrivateServicesG1 { crl_url: String },
}

/// The organisation of a G1 leaf made by [`TestPki::issue`].
pub const TEST_ORGANIZATION: &str = "TEST Zorg B.V.";

/// The OIN-shaped (20 digits) subject serialNumber of a G1 leaf made by
/// [`TestPki::issue`]; not a real OIN.
pub const TEST_OIN: &str = "00000099000000000000";

/// id-at-serialNumber.
const SERIAL_NUMBER_ATTR: &[u64] = &[2, 5, 4, 5];

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

fn random_serial() -> Vec<u8> {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 12];
    // SystemRandom only fails if the OS has no randomness; fall back to the clock.
    if aws_lc_rs::rand::SystemRandom::new().fill(&mut b).is_err() {
        let n = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b[..12].copy_from_slice(&n.to_be_bytes()[4..]);
    }
    b[0] = (b[0] & 0x7f) | 0x10; // positive, no leading zero byte
    b.to_vec()
}

fn ca_params(cn: &str, org: &str, constraints: BasicConstraints) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CountryName, "NL");
    p.distinguished_name.push(DnType::OrganizationName, org);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(constraints);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = SystemTime::now();
    p.not_before = (now - Duration::from_secs(2 * 86_400)).into();
    p.not_after = (now + Duration::from_secs(10 * 365 * 86_400)).into();
    p.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    p
}

fn gtime(t: SystemTime) -> Result<OcspGeneralizedTime, TestPkiError> {
    // GeneralizedTime in OCSP has whole seconds.
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| TestPkiError::Other("time before 1970".into()))?
        .as_secs();
    Ok(OcspGeneralizedTime(GeneralizedTime::from_unix_duration(
        Duration::from_secs(secs),
    )?))
}

impl TestPki {
    /// A new root and intermediate; `name` goes into the CA names.
    pub fn new(name: &str) -> Result<Self, TestPkiError> {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
        let root_params = ca_params(
            &format!("Staat der Nederlanden Test Root CA - {name}"),
            "Staat der Nederlanden",
            BasicConstraints::Unconstrained,
        );
        let root_cert = root_params.self_signed(&root_key)?;
        let root = Issuer::from_params(&root_params, &root_key);
        let int_params = ca_params(
            &format!("Test PKIoverheid Private Services CA - {name}"),
            "Test TSP B.V.",
            BasicConstraints::Unconstrained,
        );
        let int_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
        let int_cert = int_params.signed_by(&int_key, &root)?;
        Self::assemble(
            (root_cert, root_key),
            Vec::new(),
            (int_cert, int_params, int_key),
            Shape::Plain,
        )
    }

    /// A PKIoverheid Private Services-shaped hierarchy for the 2.x profile
    /// (MedMij TLS-6): root "TEST Staat der Nederlanden Private Root CA - G1",
    /// domain CA "TEST Domein Private Services CA - G1", issuing CA
    /// "TEST `name` PKIoverheid Private Services CA - G1"; the leaves it
    /// issues have the Private Services subject shape (see the module docs).
    /// Chains are leaf, issuing CA, domain CA; the trust anchor is the root.
    pub fn new_g1(name: &str) -> Result<Self, TestPkiError> {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
        let root_params = ca_params(
            "TEST Staat der Nederlanden Private Root CA - G1",
            "TEST Staat der Nederlanden",
            BasicConstraints::Unconstrained,
        );
        let root_cert = root_params.self_signed(&root_key)?;
        let root = Issuer::from_params(&root_params, &root_key);
        let domain_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
        let mut domain_params = ca_params(
            "TEST Domein Private Services CA - G1",
            "TEST Staat der Nederlanden",
            BasicConstraints::Constrained(1),
        );
        domain_params.use_authority_key_identifier_extension = true;
        let domain_cert = domain_params.signed_by(&domain_key, &root)?;
        let domain = Issuer::new(domain_params, domain_key);
        let mut int_params = ca_params(
            &format!("TEST {name} PKIoverheid Private Services CA - G1"),
            &format!("TEST {name} TSP B.V."),
            BasicConstraints::Constrained(0),
        );
        int_params.use_authority_key_identifier_extension = true;
        let crl_url = format!(
            "http://crl.test.invalid/TEST-{}-PrivateServicesCA-G1.crl",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        );
        let int_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
        let int_cert = int_params.signed_by(&int_key, &domain)?;
        Self::assemble(
            (root_cert, root_key),
            vec![domain_cert],
            (int_cert, int_params, int_key),
            Shape::PrivateServicesG1 { crl_url },
        )
    }

    /// A PKI from its root, the CAs above the issuing CA, and the issuing CA.
    fn assemble(
        (root_cert, root_key): (rcgen::Certificate, KeyPair),
        upper: Vec<rcgen::Certificate>,
        (int_cert, int_params, int_key): (rcgen::Certificate, CertificateParams, KeyPair),
        shape: Shape,
    ) -> Result<Self, TestPkiError> {
        let parsed = x509_cert::Certificate::from_der(int_cert.der())?;
        let intermediate_name_der = parsed.tbs_certificate.subject.to_der()?;
        let intermediate_key_bits = parsed
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec();
        Ok(Self {
            root_der: root_cert.der().clone(),
            root_pem: root_cert.pem(),
            root_key,
            intermediate_der: int_cert.der().clone(),
            intermediate_pem: int_cert.pem(),
            intermediate: Issuer::new(int_params, int_key),
            intermediate_name_der,
            intermediate_key_bits,
            upper_cas_pem: upper.iter().map(rcgen::Certificate::pem).collect(),
            upper_cas: upper.iter().map(|c| c.der().clone()).collect(),
            shape,
            issued: Mutex::new(HashSet::new()),
        })
    }

    /// The CA certificates between the issuing CA and the root, issuing CA's
    /// issuer first: the domain CA of a [`TestPki::new_g1`] hierarchy, none
    /// for [`TestPki::new`].
    pub fn upper_cas(&self) -> &[CertificateDer<'static>] {
        &self.upper_cas
    }

    /// Whether this is a [`TestPki::new_g1`] hierarchy.
    pub fn is_g1(&self) -> bool {
        matches!(self.shape, Shape::PrivateServicesG1 { .. })
    }

    /// The root certificate.
    pub fn root_der(&self) -> &CertificateDer<'static> {
        &self.root_der
    }

    /// The root certificate as PEM.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The intermediate certificate.
    pub fn intermediate_der(&self) -> &CertificateDer<'static> {
        &self.intermediate_der
    }

    /// The intermediate certificate as PEM.
    pub fn intermediate_pem(&self) -> &str {
        &self.intermediate_pem
    }

    /// The intermediate's private key as PEM (e.g. for `openssl ocsp -rkey`).
    pub fn intermediate_key_pem(&self) -> String {
        self.intermediate.key().serialize_pem()
    }

    /// The root's private key as PEM.
    pub fn root_key_pem(&self) -> String {
        self.root_key.serialize_pem()
    }

    /// The root as the only trust anchor.
    pub fn trust_anchors(&self) -> Result<TrustAnchors, ConfigError> {
        TrustAnchors::from_der([&self.root_der])
    }

    /// Whether this PKI issued a certificate with this serial.
    pub fn issued(&self, serial: &[u8]) -> bool {
        self.issued
            .lock()
            .map(|s| s.contains(serial))
            .unwrap_or(false)
    }

    fn ee_params(&self, cn: &str, opts: &CertOptions) -> Result<CertificateParams, TestPkiError> {
        self.ee_params_for(cn, TEST_ORGANIZATION, TEST_OIN, opts)
    }

    fn ee_params_for(
        &self,
        cn: &str,
        organization: &str,
        oin: &str,
        opts: &CertOptions,
    ) -> Result<CertificateParams, TestPkiError> {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CountryName, "NL");
        match &self.shape {
            Shape::Plain => {
                p.distinguished_name
                    .push(DnType::OrganizationName, "Test Zorg B.V.");
                p.distinguished_name.push(DnType::CommonName, cn);
            }
            Shape::PrivateServicesG1 { crl_url } => {
                p.distinguished_name
                    .push(DnType::OrganizationName, organization);
                p.distinguished_name.push(
                    DnType::CustomDnType(SERIAL_NUMBER_ATTR.to_vec()),
                    DnValue::PrintableString(oin.try_into()?),
                );
                p.distinguished_name.push(DnType::CommonName, cn);
                p.crl_distribution_points = vec![CrlDistributionPoint {
                    uris: vec![crl_url.clone()],
                }];
            }
        }
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = if opts.digital_signature {
            vec![KeyUsagePurpose::DigitalSignature]
        } else {
            vec![KeyUsagePurpose::KeyAgreement]
        };
        p.not_before = opts.not_before.into();
        p.not_after = opts.not_after.into();
        p.use_authority_key_identifier_extension = true;
        if let Some(url) = &opts.ocsp_url {
            let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
                access_method: ID_AD_OCSP,
                access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(url)?),
            }]);
            p.custom_extensions
                .push(CustomExtension::from_oid_content(AIA_OID, aia.to_der()?));
        }
        Ok(p)
    }

    fn finish(&self, params: CertificateParams, key: KeyPair) -> Result<IssuedCert, TestPkiError> {
        let serial = random_serial();
        let mut params = params;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let cert = params.signed_by(&key, &self.intermediate)?;
        if let Ok(mut s) = self.issued.lock() {
            s.insert(serial.clone());
        }
        let mut chain = vec![cert.der().clone(), self.intermediate_der.clone()];
        chain.extend(self.upper_cas.iter().cloned());
        Ok(IssuedCert {
            chain,
            key_pkcs8: key.serialize_der(),
            serial,
            chain_pem: format!(
                "{}{}{}",
                cert.pem(),
                self.intermediate_pem,
                self.upper_cas_pem
            ),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Issue an end-entity certificate for `dns_names` (the first is also the
    /// CN); in a [`TestPki::new_g1`] hierarchy for [`TEST_ORGANIZATION`] with
    /// [`TEST_OIN`].
    pub fn issue(
        &self,
        dns_names: &[&str],
        opts: &CertOptions,
    ) -> Result<IssuedCert, TestPkiError> {
        self.issue_for_organization(dns_names, TEST_ORGANIZATION, TEST_OIN, opts)
    }

    /// As [`TestPki::issue`], for a G1 leaf with this subject organizationName
    /// and OIN-shaped subject serialNumber (a PrintableString); both are
    /// ignored outside a [`TestPki::new_g1`] hierarchy. Start `organization`
    /// with `TEST`.
    pub fn issue_for_organization(
        &self,
        dns_names: &[&str],
        organization: &str,
        oin: &str,
        opts: &CertOptions,
    ) -> Result<IssuedCert, TestPkiError> {
        let names: Vec<String> = dns_names.iter().map(|s| s.to_string()).collect();
        let mut p = self.ee_params_for(
            names.first().map(String::as_str).unwrap_or("test"),
            organization,
            oin,
            opts,
        )?;
        p.subject_alt_names = CertificateParams::new(names)?.subject_alt_names;
        if opts.server_auth {
            p.extended_key_usages
                .push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if opts.client_auth {
            p.extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        self.finish(p, KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?)
    }

    /// Issue an end-entity certificate for `dns_names` with a given key (PEM, e.g.
    /// an RSA key made by `openssl genpkey`).
    pub fn issue_with_key(
        &self,
        dns_names: &[&str],
        opts: &CertOptions,
        key_pem: &str,
    ) -> Result<IssuedCert, TestPkiError> {
        let names: Vec<String> = dns_names.iter().map(|s| s.to_string()).collect();
        let mut p = self.ee_params(names.first().map(String::as_str).unwrap_or("test"), opts)?;
        p.subject_alt_names = CertificateParams::new(names)?.subject_alt_names;
        p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        if opts.server_auth {
            p.extended_key_usages
                .push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if opts.client_auth {
            p.extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        self.finish(p, KeyPair::from_pem(key_pem)?)
    }

    /// Issue a delegated OCSP responder certificate (id-kp-OCSPSigning, RFC 6960
    /// 4.2.2.2); with `ocsp_signing` false, one without that usage (to test refusal).
    pub fn issue_ocsp_responder(&self, ocsp_signing: bool) -> Result<IssuedCert, TestPkiError> {
        let mut p = self.ee_params("Test OCSP Responder", &CertOptions::default())?;
        p.extended_key_usages = vec![if ocsp_signing {
            ExtendedKeyUsagePurpose::OcspSigning
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        self.finish(p, KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?)
    }

    /// The CertID (SHA-1, as OpenSSL asks) of a certificate this PKI issued.
    pub fn cert_id(&self, serial: &[u8]) -> Result<CertId, TestPkiError> {
        self.cert_id_with(serial, &digest::SHA1_FOR_LEGACY_USE_ONLY, SHA1)
    }

    /// The CertID hashed with SHA-256 (RFC 6960 allows any hash; some responders
    /// answer with SHA-256) of a certificate this PKI issued.
    pub fn cert_id_sha256(&self, serial: &[u8]) -> Result<CertId, TestPkiError> {
        self.cert_id_with(serial, &digest::SHA256, SHA256)
    }

    fn cert_id_with(
        &self,
        serial: &[u8],
        alg: &'static digest::Algorithm,
        oid: der::asn1::ObjectIdentifier,
    ) -> Result<CertId, TestPkiError> {
        let h = |b: &[u8]| OctetString::new(digest::digest(alg, b).as_ref().to_vec());
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: Some(der::asn1::Null.into()),
            },
            issuer_name_hash: h(&self.intermediate_name_der)?,
            issuer_key_hash: h(&self.intermediate_key_bits)?,
            serial_number: x509_cert::serial_number::SerialNumber::new(serial)?,
        })
    }

    /// Build a signed DER OCSPResponse about `cert_id`; the responder is named by
    /// the SHA-1 hash of its key (ResponderID byKey).
    pub fn ocsp_response_for(
        &self,
        cert_id: CertId,
        status: TestStatus,
        this_update: SystemTime,
        next_update: Option<SystemTime>,
        signer: OcspSigner<'_>,
    ) -> Result<Vec<u8>, TestPkiError> {
        self.response(cert_id, status, this_update, next_update, signer, false)
    }

    /// As [`TestPki::ocsp_response_for`], the responder named by its subject Name
    /// (ResponderID byName, RFC 6960 4.2.2.3): the issuing CA's for
    /// [`OcspSigner::Issuer`] and [`OcspSigner::WrongKey`], the responder
    /// certificate's for [`OcspSigner::Delegated`].
    pub fn ocsp_response_by_name(
        &self,
        cert_id: CertId,
        status: TestStatus,
        this_update: SystemTime,
        next_update: Option<SystemTime>,
        signer: OcspSigner<'_>,
    ) -> Result<Vec<u8>, TestPkiError> {
        self.response(cert_id, status, this_update, next_update, signer, true)
    }

    fn response(
        &self,
        cert_id: CertId,
        status: TestStatus,
        this_update: SystemTime,
        next_update: Option<SystemTime>,
        signer: OcspSigner<'_>,
        by_name: bool,
    ) -> Result<Vec<u8>, TestPkiError> {
        let cert_status = match status {
            TestStatus::Good => CertStatus::good(),
            TestStatus::Revoked(t) => CertStatus::Revoked(RevokedInfo {
                revocation_time: gtime(t)?,
                revocation_reason: None,
            }),
            TestStatus::Unknown => CertStatus::unknown(),
        };
        let wrong;
        let delegated_key;
        let (key, key_bits, certs): (&KeyPair, Vec<u8>, Option<Vec<x509_cert::Certificate>>) =
            match signer {
                OcspSigner::Issuer => (
                    self.intermediate.key(),
                    self.intermediate_key_bits.clone(),
                    None,
                ),
                OcspSigner::WrongKey => {
                    wrong = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
                    (&wrong, self.intermediate_key_bits.clone(), None)
                }
                OcspSigner::Delegated(r) => {
                    delegated_key = KeyPair::try_from(r.key_pkcs8.as_slice())?;
                    let ee = r.chain.first().ok_or_else(|| {
                        TestPkiError::Other("the delegated responder has no certificate".into())
                    })?;
                    let c = x509_cert::Certificate::from_der(ee)?;
                    let bits = c
                        .tbs_certificate
                        .subject_public_key_info
                        .subject_public_key
                        .raw_bytes()
                        .to_vec();
                    (&delegated_key, bits, Some(vec![c]))
                }
            };
        let tbs = ResponseData {
            version: x509_ocsp::Version::V1,
            responder_id: if by_name {
                ResponderId::ByName(match certs.as_ref().and_then(|c| c.first()) {
                    Some(c) => c.tbs_certificate.subject.clone(),
                    None => x509_cert::name::Name::from_der(&self.intermediate_name_der)?,
                })
            } else {
                ResponderId::ByKey(OctetString::new(
                    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &key_bits)
                        .as_ref()
                        .to_vec(),
                )?)
            },
            produced_at: gtime(SystemTime::now())?,
            responses: vec![SingleResponse {
                cert_id,
                cert_status,
                this_update: gtime(this_update)?,
                next_update: next_update.map(gtime).transpose()?,
                single_extensions: None,
            }],
            response_extensions: None,
        };
        let oid = if key.algorithm() == &PKCS_ECDSA_P384_SHA384 {
            ECDSA_SHA384
        } else {
            ECDSA_SHA256
        };
        let signature = key.sign(&tbs.to_der()?)?;
        let basic = BasicOcspResponse {
            tbs_response_data: tbs,
            signature_algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: None,
            },
            signature: BitString::from_bytes(&signature)?,
            certs,
        };
        Ok(OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: ID_PKIX_OCSP_BASIC,
                response: OctetString::new(basic.to_der()?)?,
            }),
        }
        .to_der()?)
    }

    /// Build a signed DER OCSPResponse about the certificate with `serial`.
    pub fn ocsp_response(
        &self,
        serial: &[u8],
        status: TestStatus,
        this_update: SystemTime,
        next_update: Option<SystemTime>,
        signer: OcspSigner<'_>,
    ) -> Result<Vec<u8>, TestPkiError> {
        self.ocsp_response_for(
            self.cert_id(serial)?,
            status,
            this_update,
            next_update,
            signer,
        )
    }
}

/// How the [`OcspResponder`] behaves.
#[derive(Debug, Clone)]
pub enum ResponderMode {
    /// Correct answers signed by the issuer, valid for `validity` from now.
    Normal {
        /// nextUpdate - thisUpdate.
        validity: Duration,
    },
    /// Answers whose nextUpdate has passed.
    Stale,
    /// Answers signed with a key that is not the issuer's.
    WrongKey,
    /// Answers signed by this delegated responder.
    Delegated(IssuedCert),
    /// Accept the connection and never answer.
    Silent,
    /// Answer correctly after this delay.
    Slow(Duration),
}

struct ResponderState {
    pki: Arc<TestPki>,
    mode: Mutex<ResponderMode>,
    revoked: Mutex<HashMap<Vec<u8>, SystemTime>>,
    requests: AtomicUsize,
    stop: AtomicBool,
}

/// A small OCSP responder over HTTP for a [`TestPki`] on 127.0.0.1 (RFC 6960 A.1).
/// Stops when dropped.
pub struct OcspResponder {
    addr: SocketAddr,
    url: String,
    state: Arc<ResponderState>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for OcspResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcspResponder")
            .field("url", &self.url)
            .finish()
    }
}

impl OcspResponder {
    /// Start on a free loopback port.
    pub fn start(pki: Arc<TestPki>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ResponderState {
            pki,
            mode: Mutex::new(ResponderMode::Normal {
                validity: Duration::from_secs(3600),
            }),
            revoked: Mutex::new(HashMap::new()),
            requests: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name("test-ocsp-responder".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if st.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(c) = conn {
                        let st = st.clone();
                        let _ = std::thread::Builder::new()
                            .name("test-ocsp-conn".into())
                            .spawn(move || serve(&st, c));
                    }
                }
            })?;
        Ok(Self {
            addr,
            url: format!("http://{addr}/"),
            state,
            thread: Some(thread),
        })
    }

    /// The responder's URL, for AuthorityInfoAccess.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Change the behaviour.
    pub fn set_mode(&self, mode: ResponderMode) {
        if let Ok(mut m) = self.state.mode.lock() {
            *m = mode;
        }
    }

    /// Report the certificate with `serial` as revoked from now on.
    pub fn revoke(&self, serial: &[u8]) {
        if let Ok(mut r) = self.state.revoked.lock() {
            r.insert(serial.to_vec(), SystemTime::now() - Duration::from_secs(60));
        }
    }

    /// How many requests were received.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for OcspResponder {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(c: &mut TcpStream) -> Option<Vec<u8>> {
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = c.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let (head, rest) = buf.split_at_checked(end)?;
            let head = std::str::from_utf8(head).ok()?;
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if let Some(body) = rest.get(4..4 + len) {
                return Some(body.to_vec());
            }
        }
        if buf.len() > 65_536 {
            return None;
        }
    }
}

fn serve(st: &ResponderState, mut c: TcpStream) {
    let Some(body) = read_request(&mut c) else {
        return;
    };
    st.requests.fetch_add(1, Ordering::SeqCst);
    let mode = match st.mode.lock() {
        Ok(m) => m.clone(),
        Err(_) => return,
    };
    match &mode {
        ResponderMode::Silent => {
            for _ in 0..300 {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            return;
        }
        ResponderMode::Slow(d) => std::thread::sleep(*d),
        _ => {}
    }
    let answer = answer(st, &mode, &body).unwrap_or_else(|| {
        OcspResponse {
            response_status: OcspResponseStatus::MalformedRequest,
            response_bytes: None,
        }
        .to_der()
        .unwrap_or_default()
    });
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    let _ = c.write_all(head.as_bytes());
    let _ = c.write_all(&answer);
}

fn answer(st: &ResponderState, mode: &ResponderMode, body: &[u8]) -> Option<Vec<u8>> {
    let req = OcspRequest::from_der(body).ok()?;
    let cert_id = req.tbs_request.request_list.first()?.req_cert.clone();
    let serial = cert_id.serial_number.as_bytes().to_vec();
    let now = SystemTime::now();
    let revoked = st.revoked.lock().ok()?.get(&serial).copied();
    let status = match revoked {
        Some(t) => TestStatus::Revoked(t),
        None if st.pki.issued(&serial) => TestStatus::Good,
        None => TestStatus::Unknown,
    };
    let hour = Duration::from_secs(3600);
    let (this_update, next_update, signer) = match mode {
        ResponderMode::Normal { validity } => (now, now + *validity, OcspSigner::Issuer),
        ResponderMode::Slow(_) => (now, now + hour, OcspSigner::Issuer),
        ResponderMode::Stale => (now - 2 * hour, now - hour, OcspSigner::Issuer),
        ResponderMode::WrongKey => (now, now + hour, OcspSigner::WrongKey),
        ResponderMode::Delegated(r) => (now, now + hour, OcspSigner::Delegated(r)),
        ResponderMode::Silent => return None,
    };
    st.pki
        .ocsp_response_for(cert_id, status, this_update, Some(next_update), signer)
        .ok()
}
