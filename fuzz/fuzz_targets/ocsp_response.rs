//! medmij-tls: OCSP response validation (MedMij TLS-3, RFC 6960) on arbitrary
//! bytes. A fixed end-entity certificate and its issuer (`fixtures/ocsp`, made
//! once with `medmij_tls::TestPki`) are watched by an `OcspDriver`; every
//! input is handed back as the responder's DER answer, which `complete`
//! validates (status, responseBytes, BasicOCSPResponse, signer: the issuer or
//! a delegated responder checked with webpki, signature, CertID, freshness)
//! and caches. Never panics, and a watched certificate always has a verdict
//! afterwards. The seeds in `corpus/ocsp_response` were signed for these
//! fixtures at `SEEDS_MADE_AT`; the target's clock stands a minute later.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use medmij_tls::{CachedStatus, CertKey, OcspChecker, OcspDriver};
use rustls_pki_types::CertificateDer;

const EE: &[u8] = include_bytes!("../fixtures/ocsp/ee.der");
const ISSUER: &[u8] = include_bytes!("../fixtures/ocsp/issuer.der");
const SEEDS_MADE_AT: u64 = 1_796_432_094;

struct Fixture {
    driver: OcspDriver,
    key: CertKey,
    now: SystemTime,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let driver = OcspDriver::new(&OcspChecker::new());
        let chain = [CertificateDer::from(EE), CertificateDer::from(ISSUER)];
        driver
            .watch_chain(&chain)
            .expect("the fixture chain is watchable");
        Fixture {
            driver,
            key: medmij_tls::cert_key(EE),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(SEEDS_MADE_AT + 60),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let job = f
        .driver
        .job_now(&f.key)
        .expect("the fixture is watched and not in flight");
    let status = f.driver.complete(&job, Ok(data.to_vec()), f.now);
    assert!(
        !matches!(status, CachedStatus::Unknown),
        "a watched certificate has a verdict"
    );
});
