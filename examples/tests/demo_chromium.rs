//! A real browser on the front channel: headless Chromium opens the PGO GW's home
//! page, follows its link and the redirect to the ZA GW's authorization endpoint
//! over TLS (front-channel profile, MedMij TLS-1), logs in at the TEST DigiD
//! stand-in (OAUTH-11), renders the Toestemming screen (CONSENT-1), and, driven
//! over the DevTools protocol, presses "grant" and ends on the PGO page showing
//! the data. The demo's host names reach the loopback ports by Chromium's
//! `--host-resolver-rules` here; `demo_front_door.rs` walks the same flow through
//! the front door `demo --serve` opens. Fails (never skips) when no `chromium`
//! is on the PATH.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use medmij_examples::demo::Network;
use medmij_examples::demo::{Actor, StepOutcome};
use medmij_types::RuleId;

#[path = "support/chromium.rs"]
mod chromium;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn headless_chromium_reaches_the_digid_stand_in() {
    let chromium = chromium::binary();
    let net = Network::start(false).await.expect("network starts");
    let profile = tempfile::tempdir().unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(chromium)
        .args(chromium::HEADLESS)
        .args(net.chromium_args(profile.path()))
        .arg("--dump-dom")
        .arg(net.start_url())
        .stdout(out.reopen().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if t.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let dom = std::fs::read_to_string(out.path()).unwrap();
    // The stand-in says plainly that it is not DigiD.
    assert!(dom.contains("<title>TEST DigiD stand-in</title>"), "{dom}");
    assert!(dom.contains("Dit is niet DigiD."), "{dom}");
    assert!(dom.contains("id=\"digid-login\""), "{dom}");
    assert!(dom.contains("id=\"digid-cancel\""), "{dom}");
    // The ZA GW saw a valid authorization request from the PGO GW's redirect.
    assert!(net.trace().steps().iter().any(|s| s.is(
        Actor::ZaGw,
        RuleId::Oauth4,
        StepOutcome::Done
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn headless_chromium_walks_the_whole_front_channel() {
    let chromium = chromium::binary();
    let net = Network::start(false).await.expect("network starts");
    let profile = tempfile::tempdir().unwrap();
    let devtools = chromium::free_port();
    let mut child = Command::new(chromium)
        .args(chromium::HEADLESS)
        .arg(format!("--remote-debugging-port={devtools}"))
        .args(net.chromium_args(profile.path()))
        .arg(net.home_url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let result = tokio::task::spawn_blocking(move || chromium::walk_verzamelen(devtools))
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = result.expect("chromium walks the flow");
    assert!(text.contains("Metoprolol"), "the data is shown: {text}");
    let steps = net.trace().steps();
    assert!(
        steps
            .iter()
            .any(|s| s.is(Actor::PgoGw, RuleId::Consent4, StepOutcome::Done)),
        "{steps:#?}"
    );
    net.verify_logs().await.expect("logs verify");
}
