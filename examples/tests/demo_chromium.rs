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

/// A minimal Chrome DevTools Protocol client over a hand-written WebSocket
/// (RFC 6455 client frames, text only, no fragmentation): enough to evaluate
/// JavaScript in the page.
mod cdp {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub(crate) struct Page {
        sock: TcpStream,
        next_id: u64,
    }

    fn http_get(port: u16, path: &str) -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        )?;
        // DevTools may keep the connection open: read what arrives within 2 s.
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let out = String::from_utf8_lossy(&out).into_owned();
        Ok(out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default())
    }

    /// The WebSocket path of the first page target.
    pub(crate) fn page_path(port: u16) -> Option<String> {
        let body = http_get(port, "/json/list").ok()?;
        let list: serde_json::Value = serde_json::from_str(&body).ok()?;
        let url = list.as_array()?.iter().find(|t| t["type"] == "page")?["webSocketDebuggerUrl"]
            .as_str()?
            .to_owned();
        url.splitn(4, '/').nth(3).map(|p| format!("/{p}"))
    }

    impl Page {
        pub(crate) fn connect(port: u16, path: &str) -> std::io::Result<Page> {
            let mut sock = TcpStream::connect(("127.0.0.1", port))?;
            sock.set_read_timeout(Some(Duration::from_secs(30)))?;
            write!(
                sock,
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n"
            )?;
            let mut r = BufReader::new(sock.try_clone()?);
            let mut line = String::new();
            r.read_line(&mut line)?;
            if !line.contains(" 101 ") {
                return Err(std::io::Error::other(format!("no upgrade: {line}")));
            }
            loop {
                line.clear();
                r.read_line(&mut line)?;
                if line == "\r\n" {
                    break;
                }
            }
            Ok(Page { sock, next_id: 1 })
        }

        fn send(&mut self, text: &str) -> std::io::Result<()> {
            let p = text.as_bytes();
            let mut f = vec![0x81u8];
            match p.len() {
                n if n < 126 => f.push(0x80 | n as u8),
                n if n < 65536 => {
                    f.push(0x80 | 126);
                    f.extend_from_slice(&(n as u16).to_be_bytes());
                }
                n => {
                    f.push(0x80 | 127);
                    f.extend_from_slice(&(n as u64).to_be_bytes());
                }
            }
            let mask = [0x11u8, 0x22, 0x33, 0x44];
            f.extend_from_slice(&mask);
            f.extend(p.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            self.sock.write_all(&f)
        }

        fn recv(&mut self) -> std::io::Result<String> {
            let mut h = [0u8; 2];
            self.sock.read_exact(&mut h)?;
            let len = match h[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.sock.read_exact(&mut b)?;
                    u16::from_be_bytes(b) as usize
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.sock.read_exact(&mut b)?;
                    u64::from_be_bytes(b) as usize
                }
                n => n as usize,
            };
            let mut p = vec![0u8; len];
            self.sock.read_exact(&mut p)?;
            Ok(String::from_utf8_lossy(&p).into_owned())
        }

        /// Evaluates `expr` in the page; returns the result value.
        pub(crate) fn eval(&mut self, expr: &str) -> std::io::Result<serde_json::Value> {
            let id = self.next_id;
            self.next_id += 1;
            let msg = serde_json::json!({
                "id": id, "method": "Runtime.evaluate",
                "params": { "expression": expr, "returnByValue": true }
            });
            self.send(&msg.to_string())?;
            loop {
                let m: serde_json::Value = serde_json::from_str(&self.recv()?).unwrap_or_default();
                if m["id"] == id {
                    return Ok(m["result"]["result"]["value"].clone());
                }
            }
        }
    }
}

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
