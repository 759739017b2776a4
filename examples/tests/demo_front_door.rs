//! `--serve`: a person walks the front channel in a real browser. The browser
//! reaches the demo's host names (which carry no port, MedMij LISTS-3, and are in
//! no DNS) through the network's front door, a proxy on 127.0.0.1 configured by a
//! PAC file, exactly as `demo --serve` tells a person to do. Fails (never skips)
//! when `chromium` or `curl` is missing. Through the same door, curl plays a
//! browser sending bad input to the front channel.

use std::process::{Command, Stdio};

use medmij_examples::demo::{Actor, StepOutcome};
use medmij_examples::demo::{ConsentChoice, Network, PGO_HOST, ZA_HOST};
use medmij_types::RuleId;

#[path = "support/chromium.rs"]
mod chromium;

fn require(tool: &str, package: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{tool} is required (Debian package {package}; .ci/test installs it)"
    );
}

/// curl through the front door, verifying the gateway's certificate against the
/// test root (no `--insecure`): TLS is end to end through the tunnel.
fn curl(door_proxy: &str, root: &std::path::Path, url: &str) -> std::process::Output {
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(["--proxy", door_proxy, "--cacert"])
        .arg(root)
        .args(["--write-out", "\n%{http_code}", url])
        .output()
        .expect("curl runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn curl_reaches_the_pgo_home_page_through_the_front_door() {
    require("curl", "curl");
    let net = Network::start(false).await.expect("network starts");
    let door = net.open_front_door().await.expect("front door opens");
    let root = net.write_root_pem().unwrap();
    let out = curl(&door.proxy_url(), &root, &net.home_url());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.ends_with("\n200"), "{text}");
    assert!(text.contains("<title>MijnPGO Demo</title>"), "{text}");

    // The PAC file sends exactly the two front-channel hosts to the door.
    let pac = Command::new("curl")
        .args(["--silent", "--noproxy", "*", &door.pac_url()])
        .output()
        .unwrap();
    let pac = String::from_utf8_lossy(&pac.stdout);
    assert!(pac.contains("FindProxyForURL"), "{pac}");
    assert!(pac.contains(PGO_HOST), "{pac}");
    assert!(
        pac.contains(&format!("PROXY 127.0.0.1:{}", door.port())),
        "{pac}"
    );

    // Anything else is refused: the door is not an open proxy.
    let out = curl(&door.proxy_url(), &root, "https://example.org/");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chromium_walks_the_front_channel_through_the_front_door() {
    let chromium = chromium::binary();
    let net = Network::start(false).await.expect("network starts");
    let door = net.open_front_door().await.expect("front door opens");
    let profile = tempfile::tempdir().unwrap();
    let devtools = chromium::free_port();
    // The flags `demo --serve` prints, plus headless operation and DevTools.
    let mut child = Command::new(chromium)
        .args(chromium::HEADLESS)
        .arg(format!("--remote-debugging-port={devtools}"))
        .args(door.chromium_args(profile.path()))
        .arg(net.home_url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let walk = tokio::task::spawn_blocking(move || chromium::walk_verzamelen(devtools))
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = walk.expect("chromium walks the flow through the front door");
    assert!(text.contains("Metoprolol"), "the data is shown: {text}");
    assert!(net.trace().steps().iter().any(|s| s.is(
        Actor::PgoGw,
        RuleId::Consent4,
        StepOutcome::Done
    )));
    net.verify_logs().await.expect("logs verify");
}

/// The value of the hidden field `name` in a rendered form.
fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name} in {page}"));
    let tag_end = at + page[at..].find('>').unwrap();
    let tag = &page[..tag_end];
    let v = tag.rfind("value=\"").unwrap() + "value=\"".len();
    page[v..v + page[v..].find('"').unwrap()].to_owned()
}

/// Bad consent forms (MedMij OAUTH-14, OAUTH-12): a form without a flow changes nothing
/// (400, no redirect); a form of this browser's flow with a wrong anti-CSRF token is no
/// answer, so the flow ends as case 5 (redirect with `access_denied`, never a code) and
/// the real answer after it finds no flow. (tests/demo_probes.rs has the refusals of a
/// flow id without the browser's cookie, which leave the flow waiting.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_consent_forms_and_stray_callbacks_never_give_a_code() {
    require("curl", "curl");
    let net = Network::start(false).await.expect("network starts");
    let door = net.open_front_door().await.expect("front door opens");
    let root = net.write_root_pem().unwrap();
    let run = net.verzamelen(ConsentChoice::Leave).await.unwrap();
    let (flow, csrf) = (
        hidden(&run.final_page, "flow"),
        hidden(&run.final_page, "csrf_token"),
    );
    // The person's browser's cookie: the flow continues only with it.
    let cookie = format!(
        "Cookie: {}={}",
        medmij_oauth::adapter::ZA_COOKIE,
        run.za_cookie.expect("a ZA GW cookie")
    );
    let post = |url: &str, body: String| {
        let out = Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "30"])
            .args(["--proxy", &door.proxy_url(), "--cacert"])
            .arg(&root)
            .args(["-H", &cookie])
            .args([
                "--data",
                &body,
                "--write-out",
                "\n%{http_code} %{redirect_url}",
            ])
            .arg(url)
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let consent = format!("https://{ZA_HOST}/oauth/authorize/consent");
    let this_flow = format!("{consent}?flow={flow}");
    // Not a consent form of any flow: a plain refusal, no redirect; the flow waits on.
    let out = post(&consent, "hello".into());
    assert!(out.ends_with("\n400 "), "{out}");
    assert!(out.contains("niet (meer) geldig"), "{out}");
    assert_eq!(net.pending_flows(), 1);
    // This flow with a wrong anti-CSRF token (MedMij OAUTH-14): no answer, so OAUTH-12
    // case 5: back to the PGO with access_denied, and no code.
    let wrong = "0".repeat(csrf.len());
    let out = post(
        &this_flow,
        format!("flow={flow}&csrf_token={wrong}&decision=grant"),
    );
    assert!(
        out.contains(&format!("\n302 https://{PGO_HOST}/cb?error=access_denied")),
        "{out}"
    );
    assert!(!out.contains("code="), "{out}");
    assert_eq!(net.pending_flows(), 0);
    // The real answer after it: the flow is over, no code.
    let out = post(
        &this_flow,
        format!("flow={flow}&csrf_token={csrf}&decision=grant"),
    );
    assert!(out.ends_with("\n400 "), "{out}");
    let log = net.za_log().await.unwrap();
    assert!(
        log.iter().any(|l| l.event_type == "consent.undetermined"),
        "{log:#?}"
    );
    assert!(!log.iter().any(|l| l.event_type == "consent.granted"));

    // The PGO's redirect URI without an authorization from this browser (OAUTH-10).
    let out = curl(
        &door.proxy_url(),
        &root,
        &format!("https://{PGO_HOST}/cb?code=x&state=y"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n400"), "{text}");
    assert!(text.contains("Er loopt geen aanvraag"), "{text}");
}
