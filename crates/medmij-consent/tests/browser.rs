//! The consent screen in a real browser (MedMij CONSENT-1, OAUTH-14 /
//! RFC 6819 4.4.1.9): rendered, served on loopback by a tiny std::net
//! server, and driven in headless Debian Chromium through chromedriver
//! (WebDriver, spoken here over plain HTTP). Fails, never skips, when
//! Chromium or chromedriver is missing. Writes screenshots to
//! `target/tmp/medmij-consent/`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use medmij_consent::*;
use serde_json::{Value, json};

mod support;
use support::webdriver::{Driver, artifacts};

const CSRF: &str = "csrf-Zx81_kq2Lw0PpT7";
const FLOW: &str = "flow-browser-1";

fn page(protected: bool) -> (String, Vec<(&'static str, String)>) {
    let vars = Variables::new(
        "Ziekenhuis <Oost> & Zn",
        "Medicatiegegevens",
        "Mijn PGO B.V.",
    )
    .unwrap();
    let flow = FlowId::new(FLOW).unwrap();
    let csrf = CsrfToken::new(CSRF).unwrap();
    let p = render_page(
        &Toestemming::new(vars),
        &PageOptions::new("/consent", &flow, &csrf),
    )
    .unwrap();
    let headers = if protected {
        p.headers().to_vec()
    } else {
        // Control: the same page without the anti-framing headers, to show
        // that the frame check below can tell the difference.
        vec![("Content-Type", "text/html; charset=utf-8".to_string())]
    };
    (p.html().to_string(), headers)
}

/// A tiny HTTP/1.1 server: one connection at a time, `Connection: close`.
fn serve(listener: TcpListener, posted: Arc<Mutex<Vec<PostedDecision>>>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = handle(stream, &posted);
    }
}

fn handle(mut stream: TcpStream, posted: &Mutex<Vec<PostedDecision>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            content_length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length.min(8192)];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, headers, html) = match (method, path) {
        ("GET", "/consent") => {
            let (h, hd) = page(true);
            ("200 OK", hd, h)
        }
        ("GET", "/consent-unprotected") => {
            let (h, hd) = page(false);
            ("200 OK", hd, h)
        }
        ("GET", "/consent-linked") | ("GET", "/consent/volledige-tekst") => {
            let t = Toestemming::new(
                Variables::several(
                    "Ziekenhuis Oost",
                    &["Medicatiegegevens", "Labuitslagen", "Vaccinaties"],
                    "Mijn PGO B.V.",
                )
                .unwrap(),
            );
            let p = if path == "/consent-linked" {
                let flow = FlowId::new(FLOW).unwrap();
                let csrf = CsrfToken::new(CSRF).unwrap();
                let mut o = PageOptions::new("/consent", &flow, &csrf);
                o.full_text_path = Some("/consent/volledige-tekst");
                render_page(&t, &o).unwrap()
            } else {
                render_full_text_page(&t, Language::Nl, Some("/consent-linked")).unwrap()
            };
            ("200 OK", p.headers().to_vec(), p.html().to_string())
        }
        ("GET", "/frame") | ("GET", "/frame-control") => {
            let src = if path == "/frame" {
                "/consent"
            } else {
                "/consent-unprotected"
            };
            let h = format!(
                "<!DOCTYPE html><html lang=\"en\"><head><title>framing page</title></head><body>\
                 <iframe id=\"f\" title=\"framed\" src=\"{src}\" width=\"600\" height=\"400\"></iframe></body></html>"
            );
            (
                "200 OK",
                vec![("Content-Type", "text/html; charset=utf-8".to_string())],
                h,
            )
        }
        ("POST", "/consent") => {
            let text = String::from_utf8_lossy(&body).into_owned();
            match PostedDecision::from_form(&text) {
                Ok(p) => {
                    let d = format!("{:?}", p.decision);
                    posted.lock().unwrap().push(p);
                    (
                        "200 OK",
                        vec![("Content-Type", "text/html; charset=utf-8".to_string())],
                        format!(
                            "<!DOCTYPE html><html lang=\"en\"><head><title>done</title></head><body><p id=\"done\">{d}</p></body></html>"
                        ),
                    )
                }
                Err(e) => (
                    "400 Bad Request",
                    vec![("Content-Type", "text/plain".to_string())],
                    e.to_string(),
                ),
            }
        }
        _ => (
            "404 Not Found",
            vec![("Content-Type", "text/plain".to_string())],
            "not found".to_string(),
        ),
    };
    let mut resp = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        html.len()
    );
    for (k, v) in headers {
        resp.push_str(&format!("{k}: {v}\r\n"));
    }
    resp.push_str("\r\n");
    stream.write_all(resp.as_bytes())?;
    stream.write_all(html.as_bytes())?;
    stream.flush()
}

mod consent_1 {
    use super::*;

    #[test]
    fn consent_page_in_headless_chromium() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let posted: Arc<Mutex<Vec<PostedDecision>>> = Arc::default();
        {
            let posted = posted.clone();
            std::thread::spawn(move || serve(listener, posted));
        }
        let out = artifacts();
        let profile = out.join(format!("chromium-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let driver = Driver::start(&profile);

        // MedMij CONSENT-1: the text with the variables filled (escaped markup
        // shows as text), lang set.
        driver.goto(&format!("{base}/consent"));
        assert_eq!(
            driver.js("return document.documentElement.lang"),
            json!("nl")
        );
        let text = driver
            .js("return document.body.innerText")
            .as_str()
            .unwrap()
            .to_string();
        let expected = Toestemming::new(
            Variables::new(
                "Ziekenhuis <Oost> & Zn",
                "Medicatiegegevens",
                "Mijn PGO B.V.",
            )
            .unwrap(),
        )
        .full_text(Language::Nl);
        assert!(text.contains(&expected), "full text missing in:\n{text}");
        assert!(text.contains("U verleent hierbij 'Ziekenhuis <Oost> & Zn' toestemming om 'Medicatiegegevens' uit te wisselen met 'Mijn PGO B.V.'"));
        assert!(text.contains("Toestemming geven") && text.contains("Weigeren"));
        driver.screenshot(&out.join("consent-page.png"));

        // Screen readers: the accessibility tree names the controls.
        for (css, role, label) in [
            ("#mc-grant", "button", "Toestemming geven"),
            ("#mc-refuse", "button", "Weigeren"),
            ("#mc-read-full", "link", "Lees de volledige tekst"),
            ("h1", "heading", "Toestemming"),
        ] {
            let el = driver.cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            );
            let id = el
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
                .unwrap()
                .to_string();
            assert_eq!(
                driver.cmd("GET", &format!("/element/{id}/computedrole"), None),
                json!(role),
                "{css}"
            );
            assert_eq!(
                driver.cmd("GET", &format!("/element/{id}/computedlabel"), None),
                json!(label),
                "{css}"
            );
        }

        // Responsive: no horizontal scrolling at phone width.
        driver.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": 360, "height": 740})),
        );
        let fits = driver.js("return document.documentElement.scrollWidth <= window.innerWidth");
        assert_eq!(fits, json!(true), "the page scrolls sideways at 360 px");
        driver.screenshot(&out.join("consent-page-narrow.png"));
        driver.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": 1024, "height": 768})),
        );

        // Keyboard: Tab reaches the link, then grant; Enter posts grant.
        driver.keys(&["\u{E004}"]);
        assert_eq!(
            driver.js("return document.activeElement.id"),
            json!("mc-read-full")
        );
        driver.keys(&["\u{E004}"]);
        assert_eq!(
            driver.js("return document.activeElement.id"),
            json!("mc-grant")
        );
        driver.keys(&["\u{E007}"]); // Enter
        assert_eq!(
            driver.wait_for(
                "return document.getElementById('done') && document.getElementById('done').innerText",
                "the grant to be posted"
            ),
            json!("Granted")
        );
        {
            let p = posted.lock().unwrap();
            assert_eq!(p.len(), 1);
            assert_eq!(
                (p[0].flow.as_str(), p[0].csrf_token.as_str(), p[0].decision),
                (FLOW, CSRF, Decision::Granted)
            );
        }

        // Keyboard: a third Tab reaches refuse; Space presses it.
        driver.goto(&format!("{base}/consent"));
        driver.keys(&["\u{E004}", "\u{E004}", "\u{E004}"]);
        assert_eq!(
            driver.js("return document.activeElement.id"),
            json!("mc-refuse")
        );
        driver.keys(&["\u{E00D}"]); // Space
        assert_eq!(
            driver.wait_for(
                "return document.getElementById('done') && document.getElementById('done').innerText",
                "the refusal to be posted"
            ),
            json!("Refused")
        );
        {
            let p = posted.lock().unwrap();
            assert_eq!(p.len(), 2);
            assert_eq!(
                (p[1].csrf_token.as_str(), p[1].decision),
                (CSRF, Decision::Refused)
            );
        }
        // The posted decisions are accepted once by a DecisionBook.
        let mut book = DecisionBook::new();
        book.ask(ConsentRequest {
            kind: ConsentKind::Toestemming,
            flow: FlowId::new(FLOW).unwrap(),
            scope: "oost~5".parse::<Scope>().unwrap(),
            client: ClientId::new("pgo.example.nl").unwrap(),
            zorgaanbieder: Zorgaanbiedernaam::new("ziekenhuisoost@medmij").unwrap(),
            csrf: CsrfToken::new(CSRF).unwrap(),
            asked_at: UNIX_EPOCH,
        })
        .unwrap();
        let p = posted.lock().unwrap().clone();
        assert!(book.decide(&p[0], Side::Bron, UNIX_EPOCH).is_ok());
        assert!(matches!(
            book.decide(&p[1], Side::Bron, UNIX_EPOCH),
            Err(DecisionError::AlreadyDecided { .. })
        ));

        // MedMij CONSENT-1: the screen shows the operative paragraph (three
        // Gegevensdiensten named 'A', 'B' en 'C') and links to the full text,
        // reached with the keyboard.
        driver.goto(&format!("{base}/consent-linked"));
        let short = driver
            .js("return document.getElementById('mc-short').innerText")
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            short.starts_with(
                "U verleent hierbij 'Ziekenhuis Oost' toestemming om 'Medicatiegegevens', \
                 'Labuitslagen' en 'Vaccinaties' uit te wisselen met 'Mijn PGO B.V.'"
            ),
            "{short}"
        );
        let text = driver.js("return document.body.innerText");
        assert!(!text.as_str().unwrap().contains("Het doel van het MedMij"));
        driver.keys(&["\u{E004}"]);
        assert_eq!(
            driver.js("return document.activeElement.id"),
            json!("mc-read-full")
        );
        driver.keys(&["\u{E007}"]);
        let full = driver.wait_for(
            "return document.getElementById('mc-full-text') && document.getElementById('mc-full-text').innerText",
            "the full text page",
        );
        let full = full.as_str().unwrap();
        assert!(
            full.starts_with("Het doel van het MedMij Afsprakenstelsel"),
            "{full}"
        );
        assert!(full.contains("\u{2018}anderen\u{2019}"), "{full}");
        assert!(
            full.contains("'Medicatiegegevens', 'Labuitslagen' en 'Vaccinaties'"),
            "{full}"
        );
        assert_eq!(
            driver.js("return document.querySelectorAll('#mc-full-text p').length"),
            json!(4)
        );
        driver.screenshot(&out.join("consent-full-text.png"));

        // RFC 6819 4.4.1.9: framed, the page does not render. Control first: the
        // same page without the headers does render in the frame.
        let framed = "const f = document.getElementById('f'); \
                      try { const d = f.contentDocument; return d && d.body ? d.body.innerText : ''; } \
                      catch (e) { return ''; }";
        driver.goto(&format!("{base}/frame-control"));
        let shown = driver.wait_for(framed, "the unprotected page to render in the frame");
        assert!(
            shown.as_str().unwrap().contains("U verleent hierbij"),
            "control frame: {shown}"
        );
        driver.goto(&format!("{base}/frame"));
        // Give it the same chance to load.
        std::thread::sleep(Duration::from_millis(1500));
        let shown = driver.js(framed);
        assert!(
            !shown.as_str().unwrap_or("").contains("U verleent hierbij"),
            "the consent page rendered inside a frame: {shown}"
        );
        driver.screenshot(&out.join("consent-page-framed.png"));
        drop(driver);
        let _ = std::fs::remove_dir_all(&profile);
    }
}
