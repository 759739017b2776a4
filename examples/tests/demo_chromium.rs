//! A real browser on the front channel: headless Chromium opens the PGO GW's home
//! page, follows its link and the redirect to the ZA GW's authorization endpoint
//! over TLS (front-channel profile, MedMij TLS-1), logs in at the TEST DigiD
//! stand-in (OAUTH-11), renders the Toestemming screen (CONSENT-1), and, driven
//! over the DevTools protocol, presses "grant" and ends on the PGO page showing
//! the data. Fails (never skips) when no `chromium` is on the PATH.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use medmij_examples::demo::Network;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn headless_chromium_reaches_the_digid_stand_in() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        panic!("chromium is required (Debian package chromium; .ci/test installs it)");
    };
    let net = Network::start(false).await.expect("network starts");
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
    // The stand-in says plainly that it is not DigiD.
    assert!(dom.contains("<title>TEST DigiD stand-in</title>"), "{dom}");
    assert!(dom.contains("Dit is niet DigiD."), "{dom}");
    assert!(dom.contains("id=\"digid-login\""), "{dom}");
    assert!(dom.contains("id=\"digid-cancel\""), "{dom}");
    // The ZA GW saw a valid authorization request from the PGO GW's redirect.
    assert!(
        net.trace()
            .steps()
            .iter()
            .any(|s| s.text.contains("person sent to the TEST DigiD stand-in"))
    );
}

#[path = "support/cdp.rs"]
mod cdp;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn headless_chromium_walks_the_whole_front_channel() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        panic!("chromium is required (Debian package chromium; .ci/test installs it)");
    };
    let net = Network::start(false).await.expect("network starts");
    let profile = tempfile::tempdir().unwrap();
    // A free port for DevTools.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--remote-debugging-port={port}"))
        .args(net.chromium_args(profile.path()))
        .arg(net.home_url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let result = (|| -> Result<String, String> {
        let t = Instant::now();
        let wait = |what: &str, f: &mut dyn FnMut() -> bool| -> Result<(), String> {
            while !f() {
                if t.elapsed() > Duration::from_secs(60) {
                    return Err(format!("timed out waiting for {what}"));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Ok(())
        };
        let mut path = None;
        wait("DevTools", &mut || {
            path = cdp::page_path(port);
            path.is_some()
        })?;
        let mut page = cdp::Page::connect(port, &path.unwrap()).map_err(|e| e.to_string())?;
        let mut title = String::new();
        // The PGO's home page: the person follows the link to collect.
        wait("the PGO home page", &mut || {
            title = page
                .eval("document.title")
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            title == "MijnPGO Demo"
        })?;
        page.eval("document.getElementById('collect').click(); true")
            .map_err(|e| e.to_string())?;
        // The TEST DigiD stand-in (MedMij OAUTH-11): the person logs in.
        wait("the DigiD stand-in", &mut || {
            title = page
                .eval("document.title")
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            title == "TEST DigiD stand-in"
        })?;
        page.eval("document.getElementById('digid-login').click(); true")
            .map_err(|e| e.to_string())?;
        wait("the consent screen", &mut || {
            title = page
                .eval("document.title")
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            title == "Toestemming"
        })?;
        // The person presses "grant" (MedMij CONSENT-1).
        page.eval("document.getElementById('mc-grant').click(); true")
            .map_err(|e| e.to_string())?;
        let mut text = String::new();
        wait("the PGO page", &mut || {
            text = page
                .eval("document.title + ' | ' + document.body.innerText")
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            text.starts_with("Gegevens opgehaald")
        })?;
        Ok(text)
    })();
    let _ = child.kill();
    let _ = child.wait();
    let text = result.expect("chromium walks the flow");
    assert!(text.contains("Metoprolol"), "the data is shown: {text}");
    let steps = net.trace().steps();
    assert!(
        steps
            .iter()
            .any(|s| s.text.contains("Bundle stored in the dossier")),
        "{steps:#?}"
    );
    net.verify_logs().await.expect("logs verify");
}
