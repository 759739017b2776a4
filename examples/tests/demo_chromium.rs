//! A real browser on the front channel: headless Chromium follows the PGO GW's
//! redirect to the ZA GW's authorization endpoint over TLS (front-channel profile,
//! MedMij TLS-1) and renders the Toestemming screen (CONSENT-1). Skipped, with a
//! message, when no `chromium` is on the PATH.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use medmij_examples::demo::Network;

#[test]
fn headless_chromium_reaches_the_consent_screen() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        eprintln!("SKIPPED: no chromium on the PATH");
        return;
    };
    let net = Network::start(false).expect("network starts");
    let profile = tempfile::tempdir().unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
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
    assert!(dom.contains("<title>Toestemming</title>"), "{dom}");
    assert!(
        dom.contains(
            "'UMC Demo' toestemming om 'Medicatieoverzicht' uit te wisselen met 'MijnPGO Demo B.V.'"
        ),
        "{dom}"
    );
    assert!(dom.contains("id=\"mc-grant\""), "{dom}");
    // The ZA GW saw a valid authorization request from the PGO GW's redirect.
    assert!(
        net.trace()
            .steps()
            .iter()
            .any(|s| s.text.contains("Toestemming page shown"))
    );
}
