//! Interoperability with clients that are not ours (issue 6, item 4).
//!
//! A third-party OAuth 2.0 client, Python's requests-oauthlib (oauthlib + requests,
//! see `tests/interop/oauth_client.py`), completes the authorization-code flow
//! against the demo's ZA GW as the PGO GW: it builds the authorization request,
//! the script's `requests` session plays the person's browser up to the consent
//! page and presses "grant", and the client redeems the code over mutual TLS with
//! the PGO GW's certificate (MedMij OAUTH-1, OAUTH-3, OAUTH-4, OAUTH-10). Then curl
//! (OpenSSL), with the same certificate, reads the FHIR resource with that token
//! (OAUTH-2). A client dropped from the Whitelist (TLS-4) or with a revoked
//! certificate (TLS-3) gets no HTTP answer at all: both clients are refused at the
//! handshake.
//!
//! Requires `python3` with the modules `requests` and `requests_oauthlib`, and
//! `curl`; the tests fail (never skip) when one is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use medmij_examples::demo::{Actor, StepOutcome};
use medmij_examples::demo::{GEGEVENSDIENST, Network, PGO_HOST, ZA_HOST, ZORGAANBIEDER};
use medmij_types::RuleId;

const INSTALL_HINT: &str =
    "python3 -m pip install --break-system-packages requests-oauthlib==2.0.0";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/oauth_client.py")
}

/// Fails the test, with what to install, unless python3 with requests-oauthlib and
/// curl are there.
fn require_tools() {
    let python = Command::new("python3")
        .args(["-c", "import requests, requests_oauthlib, oauthlib"])
        .stdout(Stdio::null())
        .output();
    match python {
        Err(e) => panic!("python3 is required for this test and could not be run: {e}"),
        Ok(out) if !out.status.success() => panic!(
            "python3 lacks the modules requests / requests_oauthlib (install: {INSTALL_HINT}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(_) => {}
    }
    let curl = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        curl.is_ok_and(|s| s.success()),
        "curl is required for this test (Debian package curl; .ci/test installs it)"
    );
}

/// The PEM files another client needs to act as the PGO GW: its certificate chain
/// and key, and the test PKI's root.
struct Pems {
    chain: PathBuf,
    key: PathBuf,
    root: PathBuf,
}

fn pems(net: &Network) -> Pems {
    let (chain, key) = net.write_pgo_credentials().expect("PGO GW PEMs written");
    let root = net.write_root_pem().expect("root PEM written");
    Pems { chain, key, root }
}

/// The Verzamelen scope of the demo (MedMij OAUTH-5), e.g. `umcdemo~4`.
fn scope() -> String {
    let za = ZORGAANBIEDER
        .strip_suffix("@medmij")
        .expect("a Zorgaanbiedernaam");
    format!("{za}~{GEGEVENSDIENST}")
}

fn token_url(net: &Network) -> String {
    format!("https://{ZA_HOST}:{}/oauth/token", net.za_back_port())
}

/// Runs the third-party client once; returns its JSON report.
fn python_client(net: &Network, p: &Pems) -> serde_json::Value {
    let back = net.za_back_port();
    let out = Command::new("python3")
        .arg(script())
        // Front-channel URIs carry no port (MedMij LISTS-3): the name goes to the
        // ZA GW's front port, as DNS would send it; the back channel keeps its port.
        .arg("--map")
        .arg(format!("{ZA_HOST}:443=127.0.0.1:{}", net.za_front_port()))
        .arg("--map")
        .arg(format!("{ZA_HOST}:{back}=127.0.0.1:{back}"))
        .arg("--authorize-url")
        .arg(format!("https://{ZA_HOST}/oauth/authorize"))
        .arg("--token-url")
        .arg(token_url(net))
        // MedMij OAUTH-3: the client_id is the PGO GW's hostname; OAUTH-4: the
        // redirect URI is on that host (the one the PGO GW itself uses).
        .arg("--client-id")
        .arg(PGO_HOST)
        .arg("--redirect-uri")
        .arg(format!("https://{PGO_HOST}/cb"))
        .arg("--scope")
        .arg(scope())
        .arg("--cert")
        .arg(&p.chain)
        .arg("--key")
        .arg(&p.key)
        .arg("--root")
        .arg(&p.root)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(3),
        "a Python module is missing (install: {INSTALL_HINT}):\n{stderr}"
    );
    assert!(
        out.status.success(),
        "the Python OAuth client failed ({}):\n{stderr}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the Python OAuth client printed no JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// GET the FHIR resource with curl as the PGO GW (client certificate), with
/// `token` as Bearer token. Returns curl's exit status, the HTTP status curl saw
/// (`000` when there was no HTTP answer), the body and curl's stderr.
fn curl_fhir(
    net: &Network,
    p: &Pems,
    token: &str,
) -> (std::process::ExitStatus, String, String, String) {
    let port = net.za_back_port();
    let body = p
        .root
        .with_file_name(format!("fhir-{}.json", std::process::id()));
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .arg("--cacert")
        .arg(&p.root)
        .arg("--cert")
        .arg(&p.chain)
        .arg("--key")
        .arg(&p.key)
        .arg("--resolve")
        .arg(format!("{ZA_HOST}:{port}:127.0.0.1"))
        // MedMij OAUTH-2: the token in the Authorization header, never in the URL.
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("--output")
        .arg(&body)
        .args(["--write-out", "%{http_code}"])
        .arg(format!("https://{ZA_HOST}:{port}/fhir/MedicationStatement"))
        .output()
        .expect("curl runs");
    let text = std::fs::read_to_string(&body).unwrap_or_default();
    let _ = std::fs::remove_file(&body);
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        text,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts the client was refused at the handshake: no HTTP answer, and the ZA GW
/// recorded a refused handshake for `reason` in its trace and its NEN 7513 log.
async fn assert_refused_at_handshake(net: &Network, p: &Pems, rule: RuleId) {
    // The third-party OAuth client: the consent is given on the front channel (no
    // mutual TLS there), but the token request never gets an HTTP answer.
    let report = python_client(net, p);
    assert_eq!(report["outcome"], "refused", "{report:#}");
    assert_eq!(report["stage"], "token", "{report:#}");
    // A TLS alert (access denied / certificate revoked), or the connection closed
    // under the request: either way no HTTP status line came back.
    assert!(
        matches!(
            report["error_type"].as_str(),
            Some("SSLError" | "ConnectionError")
        ),
        "{report:#}"
    );

    // curl, with a token-shaped value: refused before any HTTP is spoken.
    let (status, http, _, stderr) = curl_fhir(net, p, "8a0c3d3e-6f1b-4c55-9d7e-0b6a1f2e3c4d");
    assert!(!status.success(), "curl got through: HTTP {http}");
    assert_eq!(http, "000", "no HTTP answer expected; curl: {stderr}");

    let steps = net.trace().steps();
    let refusals = steps
        .iter()
        .filter(|s| s.is(Actor::ZaGw, rule, StepOutcome::Refused))
        .count();
    assert!(
        refusals >= 2,
        "two refused handshakes under {rule}: {steps:#?}"
    );
    let events = net.za_log_event_types().await.expect("ZA GW log readable");
    assert!(
        events.iter().filter(|e| *e == "tls.refused").count() >= 2,
        "LOG-1: refusals logged: {events:?}"
    );
    assert!(!events.iter().any(|e| e == "fhir.read"), "{events:?}");
    net.verify_logs().await.expect("logs verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_oauthlib_gets_a_token_and_curl_reads_the_fhir_resource() {
    require_tools();
    let net = Network::start(false).await.expect("network starts");
    let p = pems(&net);

    let report = python_client(&net, &p);
    assert_eq!(report["outcome"], "token", "{report:#}");
    // OAUTH-10: requests-oauthlib drew the state and found it unchanged on the redirect.
    assert_eq!(report["state_checked"], true);
    let token = &report["token"];
    // OAUTH-2: a Bearer token; OAUTH-7: valid 900 s; OAUTH-5: exactly the scope asked.
    assert!(
        token["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "{token:#}"
    );
    assert_eq!(token["expires_in"], 900, "{token:#}");
    let granted = match &token["scope"] {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        v => v.as_str().unwrap_or_default().to_owned(),
    };
    assert_eq!(granted, scope(), "{token:#}");
    // OAUTH-1: no refresh token, ever.
    assert!(token.get("refresh_token").is_none(), "{token:#}");
    // OAUTH-6: a UUID version 4 in canonical lowercase form.
    let access = token["access_token"].as_str().expect("an access_token");
    assert_eq!(access.len(), 36, "{access}");
    assert_eq!(&access[14..15], "4", "UUID v4: {access}");
    assert!(
        access
            .bytes()
            .all(|c| c == b'-' || c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
        "{access}"
    );

    // Another third-party client (curl) uses the token on the resource endpoint.
    let (status, http, body, stderr) = curl_fhir(&net, &p, access);
    assert!(status.success(), "curl failed: {stderr}");
    assert_eq!(http, "200", "{body}");
    let bundle: serde_json::Value = serde_json::from_str(&body).expect("FHIR JSON");
    assert_eq!(bundle["resourceType"], "Bundle", "{body}");
    assert_eq!(
        bundle["entry"][0]["resource"]["resourceType"],
        "MedicationStatement"
    );

    // The ZA GW saw one ordinary flow (OAUTH-11) and logged it (LOG-1).
    net.verify_logs().await.expect("logs verify");
    assert_eq!(
        net.za_log_event_types().await.unwrap(),
        ["consent.granted", "oauth.token", "fhir.read"]
    );
    let steps = net.trace().steps();
    assert!(
        steps
            .iter()
            .any(|s| s.is(Actor::ZaGw, RuleId::Oauth9, StepOutcome::Done)),
        "{steps:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_dropped_from_the_whitelist_is_refused_at_the_handshake() {
    require_tools();
    let net = Network::start(false).await.expect("network starts");
    let p = pems(&net);
    // As `demo -- --not-whitelisted`: Whitelist version 2 without the PGO GW, fetched
    // by the ZA GW (LISTS-6, LISTS-8); from the next handshake on: TLS-4.
    net.drop_pgo_from_whitelist()
        .await
        .expect("new Whitelist installed");
    assert_refused_at_handshake(&net, &p, RuleId::Tls4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_with_a_revoked_certificate_is_refused_at_the_handshake() {
    require_tools();
    let net = Network::start(false).await.expect("network starts");
    let p = pems(&net);
    // As `demo -- --revoked-cert`: the OCSP responder reports the PGO GW's
    // certificate revoked; the ZA GW hard-fails the handshake (TLS-3).
    net.revoke_pgo_certificate().await;
    assert_refused_at_handshake(&net, &p, RuleId::Tls3).await;
}
