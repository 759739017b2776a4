//! Headless Chromium for the browser tests: finding the binary, its flags, and a
//! person walking UCI Verzamelen in it, driven over the Chrome DevTools protocol
//! (JSON over a WebSocket, by tungstenite). Included by the test files with
//! `#[path]`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The Chromium binary on the PATH. Fails the test (never skips) when there is
/// none.
pub(crate) fn binary() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .unwrap_or_else(|| {
            panic!("chromium is required (Debian package chromium; .ci/test installs it)")
        })
}

/// Headless operation as root on a machine without a network beyond loopback
/// (no background connections, no component updates).
pub(crate) const HEADLESS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A free loopback port (for `--remote-debugging-port`).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The person walks UCI Verzamelen in the Chromium whose DevTools listen on
/// `devtools` and which was started on the PGO GW's home page: home page →
/// "collect" link → TEST DigiD stand-in, log in (MedMij OAUTH-11) → Toestemming,
/// grant (CONSENT-1) → back at the PGO. Returns the final page's title and text.
/// Blocking; waits at most 60 s.
pub(crate) fn walk_verzamelen(devtools: u16) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let wait = |what: &str, f: &mut dyn FnMut() -> bool| -> Result<(), String> {
        while !f() {
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    };
    let mut url = None;
    wait("DevTools", &mut || {
        url = page_url(devtools);
        url.is_some()
    })?;
    let mut page = Page::connect(&url.unwrap())?;
    for (screen, button) in [
        ("MijnPGO Demo", "collect"),
        ("TEST DigiD stand-in", "digid-login"),
        ("Toestemming", "mc-grant"),
    ] {
        wait(screen, &mut || page.text("document.title") == screen)?;
        page.eval(&format!(
            "document.getElementById('{button}').click(); true"
        ))?;
    }
    let mut text = String::new();
    wait("the PGO page", &mut || {
        text = page.text("document.title + ' | ' + document.body.innerText");
        text.starts_with("Gegevens opgehaald")
    })?;
    Ok(text)
}

/// The WebSocket URL of the first page target.
fn page_url(devtools: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", devtools)).ok()?;
    write!(
        s,
        "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{devtools}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    // DevTools may keep the connection open: read what arrives within 2 s.
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    let list: serde_json::Value = serde_json::from_str(out.split_once("\r\n\r\n")?.1).ok()?;
    list.as_array()?.iter().find(|t| t["type"] == "page")?["webSocketDebuggerUrl"]
        .as_str()
        .map(str::to_owned)
}

/// One page, driven over DevTools.
struct Page {
    ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Page {
    fn connect(url: &str) -> Result<Page, String> {
        let (ws, _) = tungstenite::connect(url).map_err(|e| e.to_string())?;
        Ok(Page { ws, next_id: 1 })
    }

    /// Evaluates `expr` in the page; returns the result value.
    fn eval(&mut self, expr: &str) -> Result<serde_json::Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = serde_json::json!({
            "id": id, "method": "Runtime.evaluate",
            "params": { "expression": expr, "returnByValue": true }
        });
        self.ws
            .send(tungstenite::Message::text(msg.to_string()))
            .map_err(|e| e.to_string())?;
        loop {
            let m = self.ws.read().map_err(|e| e.to_string())?;
            let Ok(text) = m.to_text() else { continue };
            let m: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            if m["id"] == id {
                return Ok(m["result"]["result"]["value"].clone());
            }
        }
    }

    /// `expr` evaluated as a string ("" when it is not one or evaluation fails).
    fn text(&mut self, expr: &str) -> String {
        self.eval(expr)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}
