//! Interoperability on the back channel: curl (OpenSSL), presenting the PGO GW's
//! certificate, reads the FHIR resource from the ZA GW with the token the PGO GW
//! obtained (MedMij OAUTH-2, TLS-2); without a client certificate the handshake is
//! refused (TLS-2). Skipped, with a message, when no `curl` is on the PATH.

use std::process::{Command, Output, Stdio};

use medmij_examples::demo::{ConsentChoice, Network, ZA_HOST};

fn curl_available() -> bool {
    Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn curl(net: &Network, extra: &[String]) -> Output {
    let port = net.za_back_port();
    let root = net.write_root_pem().unwrap();
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .arg("--cacert")
        .arg(root)
        .arg("--resolve")
        .arg(format!("{ZA_HOST}:{port}:127.0.0.1"))
        .args(extra)
        .arg(format!("https://{ZA_HOST}:{port}/fhir/MedicationStatement"))
        .output()
        .expect("curl runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn curl_with_the_pgo_certificate_reads_the_fhir_resource() {
    assert!(
        curl_available(),
        "curl is required (Debian package curl; .ci/test installs it)"
    );
    let net = Network::start(false).await.expect("network starts");
    let run = net
        .verzamelen(ConsentChoice::Grant)
        .await
        .expect("flow runs");
    assert!(run.token_obtained);
    let token = net.last_access_token().expect("a token");
    let (chain, key) = net.write_pgo_credentials().unwrap();

    let out = curl(
        &net,
        &[
            "--cert".into(),
            chain.display().to_string(),
            "--key".into(),
            key.display().to_string(),
            "-H".into(),
            format!("Authorization: Bearer {token}"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");

    // No client certificate: no session (MedMij TLS-2, OAUTH-3).
    let out = curl(
        &net,
        &["-H".into(), format!("Authorization: Bearer {token}")],
    );
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
