//! The 2.x screens in headless Chromium, driven with the keyboard (MedMij
//! CONSENT-6, OAUTH-22, OAUTH-23): the indefinite-period choice starts
//! unchecked and is checked with Space; grant and refuse each post the
//! right decision; the withdrawal is confirmed on the termination
//! statement; the failure page shows both ids. Fails, never skips, when
//! Chromium or chromedriver is missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use medmij_consent::v2::*;
use medmij_consent::*;
use serde_json::json;

mod support;
use support::webdriver::{Driver, artifacts};

const CSRF: &str = "csrf-v2_Zx81kq2Lw0PpT7";
const FLOW: &str = "flow-v2-browser";
const TRACE: &str = "3f2b8c1e-9d4a-4e7b-8a6f-0c1d2e3f4a5b";
const SESSION: &str = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";

/// What the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Posted {
    Consent(PostedV2Decision),
    Manage(PostedManagement),
}

type Log = Arc<Mutex<Vec<Posted>>>;

fn names() -> Names {
    Names::new("UMC Harderwijk", "Mijn PGO B.V.").unwrap()
}

fn consents() -> Vec<LongLastingConsent> {
    vec![
        LongLastingConsent {
            handle: ConsentHandle::new("c1").unwrap(),
            aanbieder: ZorgaanbiederNaam::new("UMC Harderwijk").unwrap(),
            given_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        },
        LongLastingConsent {
            handle: ConsentHandle::new("c2").unwrap(),
            aanbieder: ZorgaanbiederNaam::new("Huisartsenpraktijk West").unwrap(),
            given_at: UNIX_EPOCH + Duration::from_secs(1_710_000_000),
        },
    ]
}

fn done(text: &str) -> (&'static str, Vec<(&'static str, String)>, String) {
    (
        "200 OK",
        vec![("Content-Type", "text/html; charset=utf-8".to_string())],
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><title>done</title></head><body><p id=\"done\">{}</p></body></html>",
            escape_html(text)
        ),
    )
}

fn bad(text: String) -> (&'static str, Vec<(&'static str, String)>, String) {
    (
        "400 Bad Request",
        vec![("Content-Type", "text/plain".to_string())],
        text,
    )
}

fn route(
    method: &str,
    path: &str,
    body: &str,
    log: &Log,
) -> (&'static str, Vec<(&'static str, String)>, String) {
    let csrf = CsrfToken::new(CSRF).unwrap();
    let flow = FlowId::new(FLOW).unwrap();
    let texts = ScreenTexts::nl();
    let page = |p: ConsentPage| ("200 OK", p.headers().to_vec(), p.html().to_string());
    match (method, path) {
        ("GET", "/v2/consent") => page(
            render_consent(
                &texts,
                &names(),
                &ScreenOptions::new("/v2/consent", &csrf).with_flow(&flow),
            )
            .unwrap(),
        ),
        ("POST", "/v2/consent") => match PostedV2Decision::from_form(body) {
            // The anti-CSRF token is checked as the 1.x page's is.
            Ok(p) if csrf.matches(&p.csrf_token) && p.flow == flow => {
                let text = format!("{:?} indefinite={}", p.decision, p.indefinite);
                log.lock().unwrap().push(Posted::Consent(p));
                done(&text)
            }
            Ok(_) => bad("csrf or flow mismatch".into()),
            Err(e) => bad(e.to_string()),
        },
        ("GET", "/v2/overview") => {
            let back = ReturnUrl::new("https://pgo.example.nl/cb?state=s1").unwrap();
            page(
                render_overview(
                    &texts,
                    &names().pgo,
                    &consents(),
                    Some(&back),
                    &ScreenOptions::new("/v2/manage", &csrf),
                )
                .unwrap(),
            )
        }
        ("POST", "/v2/manage") => match PostedManagement::from_form(body) {
            Ok(p) if csrf.matches(&p.csrf_token) => {
                log.lock().unwrap().push(Posted::Manage(p.clone()));
                match p.action {
                    ManageAction::Withdraw => {
                        let c = consents()
                            .into_iter()
                            .find(|c| c.handle == p.consent)
                            .unwrap();
                        let n = Names {
                            aanbieder: c.aanbieder,
                            pgo: names().pgo,
                        };
                        page(
                            render_termination(
                                &texts,
                                &n,
                                &p.consent,
                                &ScreenOptions::new("/v2/manage", &csrf),
                            )
                            .unwrap(),
                        )
                    }
                    a => done(&format!("{a:?} {}", p.consent.as_str())),
                }
            }
            Ok(_) => bad("csrf mismatch".into()),
            Err(e) => bad(e.to_string()),
        },
        ("GET", "/v2/failure") | ("GET", "/v2/failure-noback") => {
            let back =
                ReturnUrl::new("https://pgo.example.nl/cb?error=access_denied&state=s1").unwrap();
            let pgo = names().pgo;
            let info = FailureInfo {
                trace_id: Some(TRACE),
                session_id: Some(SESSION),
                za_gw_name: "DVZA Oost B.V.",
                contact: "support@dvza-oost.example.nl",
                back: (path == "/v2/failure").then_some(&back),
                pgo: Some(&pgo),
            };
            page(render_failure(&texts, &info).unwrap())
        }
        _ => bad("not found".into()),
    }
}

fn handle(mut stream: TcpStream, log: &Log) -> std::io::Result<()> {
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
    let (status, headers, html) = route(method, path, &String::from_utf8_lossy(&body), log);
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

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";
const DONE: &str =
    "return document.getElementById('done') && document.getElementById('done').innerText";

fn active(d: &Driver) -> String {
    d.js("return document.activeElement.id")
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn checked(d: &Driver) -> serde_json::Value {
    d.js("return document.getElementById('mc-indefinite').checked")
}

mod consent_6 {
    use super::*;

    #[test]
    fn v2_screens_in_headless_chromium_with_the_keyboard() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log: Log = Arc::default();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for s in listener.incoming().flatten() {
                    let _ = handle(s, &log);
                }
            });
        }
        let out = artifacts();
        let profile = out.join(format!("chromium-profile-v2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let d = Driver::start(&profile);

        // MedMij CONSENT-6: the choice starts unchecked; Space checks it;
        // grant posts the grant with the choice.
        d.goto(&format!("{base}/v2/consent"));
        assert_eq!(d.js("return document.documentElement.lang"), json!("nl"));
        let text = d
            .js("return document.body.innerText")
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.contains("Toestemming geven") && text.contains("UMC Harderwijk"));
        assert!(text.contains("Mijn PGO B.V.") && text.contains("Toestemmingen aanpassen"));
        assert_eq!(checked(&d), json!(false), "preselected");
        d.screenshot(&out.join("v2-consent.png"));
        d.keys(&[TAB]);
        assert_eq!(active(&d), "mc-indefinite");
        d.keys(&[SPACE]);
        assert_eq!(checked(&d), json!(true), "Space did not check the box");
        d.keys(&[TAB]);
        assert_eq!(active(&d), "mc-grant");
        d.keys(&[ENTER]);
        assert_eq!(
            d.wait_for(DONE, "the grant"),
            json!("Granted indefinite=true")
        );

        // Grant without the choice.
        d.goto(&format!("{base}/v2/consent"));
        assert_eq!(checked(&d), json!(false));
        d.keys(&[TAB, TAB]);
        assert_eq!(active(&d), "mc-grant");
        d.keys(&[ENTER]);
        assert_eq!(
            d.wait_for(DONE, "the grant"),
            json!("Granted indefinite=false")
        );

        // Refuse with Space.
        d.goto(&format!("{base}/v2/consent"));
        d.keys(&[TAB, TAB, TAB]);
        assert_eq!(active(&d), "mc-refuse");
        d.keys(&[SPACE]);
        assert_eq!(
            d.wait_for(DONE, "the refusal"),
            json!("Refused indefinite=false")
        );
        {
            let l = log.lock().unwrap();
            let decisions: Vec<(Decision, bool)> = l
                .iter()
                .filter_map(|p| match p {
                    Posted::Consent(c) => Some((c.decision, c.long_lasting())),
                    Posted::Manage(_) => None,
                })
                .collect();
            assert_eq!(
                decisions,
                [
                    (Decision::Granted, true),
                    (Decision::Granted, false),
                    (Decision::Refused, false)
                ]
            );
        }

        // MedMij OAUTH-22: withdraw the second consent from the overview,
        // confirm on the termination statement.
        d.goto(&format!("{base}/v2/overview"));
        let text = d
            .js("return document.body.innerText")
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.contains("UMC Harderwijk") && text.contains("Huisartsenpraktijk West"));
        d.screenshot(&out.join("v2-overview.png"));
        d.keys(&[TAB, TAB]);
        assert_eq!(active(&d), "mc-withdraw-c2");
        d.keys(&[ENTER]);
        d.wait_for(
            "return document.getElementById('mc-confirm') !== null",
            "the termination statement",
        );
        let text = d
            .js("return document.body.innerText")
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            text.contains("Beëindigingsverklaring Toestemming"),
            "{text}"
        );
        assert!(text.contains("Huisartsenpraktijk West"), "{text}");
        d.screenshot(&out.join("v2-termination.png"));
        d.keys(&[TAB]);
        assert_eq!(active(&d), "mc-confirm");
        d.keys(&[ENTER]);
        assert_eq!(d.wait_for(DONE, "the confirmation"), json!("Confirm c2"));
        {
            let l = log.lock().unwrap();
            let manage: Vec<(String, ManageAction)> = l
                .iter()
                .filter_map(|p| match p {
                    Posted::Manage(m) => Some((m.consent.as_str().to_string(), m.action)),
                    Posted::Consent(_) => None,
                })
                .collect();
            assert_eq!(
                manage,
                [
                    ("c2".to_string(), ManageAction::Withdraw),
                    ("c2".to_string(), ManageAction::Confirm)
                ]
            );
        }

        // MedMij OAUTH-23: both ids, the name and contact; a way back only
        // with a valid return URL.
        d.goto(&format!("{base}/v2/failure"));
        let text = d
            .js("return document.body.innerText")
            .as_str()
            .unwrap()
            .to_string();
        for needle in [
            TRACE,
            SESSION,
            "Trace ID",
            "Session ID",
            "DVZA Oost B.V.",
            "support@dvza-oost.example.nl",
        ] {
            assert!(text.contains(needle), "{needle} missing in:\n{text}");
        }
        assert_eq!(
            d.js("return document.getElementById('mc-back').getAttribute('href')"),
            json!("https://pgo.example.nl/cb?error=access_denied&state=s1")
        );
        d.screenshot(&out.join("v2-failure.png"));
        d.goto(&format!("{base}/v2/failure-noback"));
        assert!(
            d.js("return document.body.innerText")
                .as_str()
                .unwrap()
                .contains(TRACE)
        );
        assert_eq!(
            d.js("return document.getElementById('mc-back') === null"),
            json!(true)
        );
        drop(d);
        let _ = std::fs::remove_dir_all(&profile);
    }
}
