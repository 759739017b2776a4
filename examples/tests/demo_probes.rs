//! The demo network as an attacker probes it: every class of bad input against
//! the front and back channels of both gateways. For each probe: no HTTP 500
//! (MedMij OAUTH-12: no exception ever becomes one), the answer the rules
//! prescribe, and exactly one new NEN 7513 entry per refusal, with the source
//! address (LOG-1). curl plays the attacker (through the front door on the front
//! channel, directly with or without the PGO GW's certificate on the back
//! channel). Fails (never skips) when `curl` is missing.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use medmij_examples::demo::{ConsentChoice, FrontDoor, Network, PGO_HOST, ZA_HOST};

fn require_curl() {
    let ok = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "curl is required (Debian package curl; .ci/test installs it)"
    );
}

/// One curl answer: HTTP status (0 when no HTTP was spoken), the response
/// headers, the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    /// How many times header `name` occurs in the (last) response head.
    fn count(&self, name: &str) -> usize {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .count()
    }
    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
}

/// Runs curl with `args`; the answer is parsed from `-D` and `--write-out`.
fn curl(args: &[String]) -> Answer {
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head");
    let out = Command::new("curl")
        .args(["--silent", "--max-time", "20", "-D"])
        .arg(&head)
        .args(["--write-out", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    Answer {
        status: code.trim().parse().unwrap_or(0),
        // The last response head only (not the proxy's answer to CONNECT).
        headers: std::fs::read_to_string(&head)
            .unwrap_or_default()
            .replace('\r', "")
            .split("\n\n")
            .filter(|h| !h.trim().is_empty())
            .last()
            .unwrap_or_default()
            .to_owned(),
        body: body.to_owned(),
    }
}

/// The attacker's view of the network.
struct Probe {
    net: Network,
    door: FrontDoor,
    root: PathBuf,
    chain: PathBuf,
    key: PathBuf,
}

impl Probe {
    async fn start() -> Probe {
        require_curl();
        let net = Network::start(false).await.expect("network starts");
        let door = net.open_front_door().await.expect("front door opens");
        let root = net.write_root_pem().unwrap();
        let (chain, key) = net.write_pgo_credentials().unwrap();
        Probe {
            net,
            door,
            root,
            chain,
            key,
        }
    }

    /// A browser without cookies on the front channel (through the front door).
    fn front(&self, extra: &[&str], url: &str) -> Answer {
        let mut args: Vec<String> = vec![
            "--proxy".into(),
            self.door.proxy_url(),
            "--cacert".into(),
            self.root.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(url.into());
        curl(&args)
    }

    /// The back channel of the ZA GW, as the PGO GW (`with_cert`) or as anyone.
    fn back(&self, with_cert: bool, extra: &[&str], path: &str) -> Answer {
        let port = self.net.za_back_port();
        let mut args: Vec<String> = vec![
            "--cacert".into(),
            self.root.display().to_string(),
            "--resolve".into(),
            format!("{ZA_HOST}:{port}:127.0.0.1"),
        ];
        if with_cert {
            args.extend([
                "--cert".into(),
                self.chain.display().to_string(),
                "--key".into(),
                self.key.display().to_string(),
            ]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(format!("https://{ZA_HOST}:{port}{path}"));
        curl(&args)
    }

    /// The number of entries in the ZA GW and PGO GW logs (after every refusal
    /// reported so far is written, anonymous ones counted so far included).
    async fn counts(&self) -> (u64, u64) {
        self.net.verify_logs().await.expect("logs verify")
    }

    /// Asserts that the logs grew by exactly `by` (ZA GW, PGO GW) since `before`.
    /// Waits up to 5 s for a refusal a server reports after its client has gone
    /// (a refused handshake), then once more to see that no second entry follows.
    async fn assert_logged(&self, what: &str, before: (u64, u64), by: (u64, u64)) {
        let want = (before.0 + by.0, before.1 + by.1);
        let t = Instant::now();
        let mut now = self.counts().await;
        while (now.0 < want.0 || now.1 < want.1) && t.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            now = self.counts().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = self.counts().await;
        assert_eq!(
            now,
            want,
            "{what}: log entries before {before:?}, expected +{by:?}; ZA GW log: {:#?}",
            self.net.za_log().await.unwrap()
        );
    }
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

/// The `action` of the first form in a rendered page (HTML-unescaped).
fn form_action(page: &str) -> String {
    let at = page
        .find("<form")
        .unwrap_or_else(|| panic!("no form in {page}"));
    let tag = &page[at..at + page[at..].find('>').unwrap()];
    let v = tag.find("action=\"").unwrap() + "action=\"".len();
    tag[v..v + tag[v..].find('"').unwrap()].replace("&amp;", "&")
}

fn pgo(path: &str) -> String {
    format!("https://{PGO_HOST}{path}")
}

fn za(path: &str) -> String {
    format!("https://{ZA_HOST}{path}")
}

mod oauth_12 {
    use super::*;

    // MedMij OAUTH-12, LOG-1: the PGO GW's start links refuse missing or unknown
    // input with a plain page, and log each refusal.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn bad_start_and_share_links_get_400_and_one_log_entry_each() {
        let p = Probe::start().await;
        let collected = p
            .net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs")
            .collected
            .expect("collected");
        let probes = [
            "/start",
            "/start?zorgaanbieder=&gegevensdienst=",
            "/start?zorgaanbieder=umcdemo@medmij",
            "/start?zorgaanbieder=nobody@medmij&gegevensdienst=4",
            "/start?zorgaanbieder=umcdemo@medmij&gegevensdienst=999",
            "/start?zorgaanbieder=%FF%FE&gegevensdienst=%00",
            "/share?zorgaanbieder=huisartsdemo@medmij&gegevensdienst=4",
            "/share?zorgaanbieder=huisartsdemo@medmij&gegevensdienst=4&item=no-such-item",
            "/share?zorgaanbieder=huisartsdemo@medmij&gegevensdienst=4&item=%0A%0D",
        ];
        for path in probes {
            let before = p.counts().await;
            let a = p.front(&[], &pgo(path));
            assert_eq!(a.status, 400, "{path}: {a:?}");
            assert_eq!(a.count("content-type"), 1, "{path}: {}", a.headers);
            assert!(
                a.body.contains("<h1>Ongeldige aanvraag</h1>"),
                "{path}: {}",
                a.body
            );
            assert!(
                a.header("set-cookie").is_none(),
                "{path}: no session started"
            );
            p.assert_logged(path, before, (0, 1)).await;
        }
        // Nobody was sent to log in: no authorization waits at the PGO GW, none at
        // the ZA GW.
        assert_eq!(p.net.pgo_pending_flows(), 0);
        assert_eq!(p.net.pending_flows(), 0);
        let log = p.net.pgo_log().await.unwrap();
        let last = log.last().unwrap();
        assert_eq!(last.outcome, "refused");
        assert_eq!(last.source.as_deref(), Some("127.0.0.1"));
        // The real item still shares.
        let d = p.net.delen(&collected).await.expect("Delen runs");
        assert!(d.placed, "{}", d.message);
    }

    // MedMij OAUTH-12 case 1, LOG-1: an invalid authorization request is told to
    // the person directly and logged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn bad_authorization_requests_get_400_and_one_log_entry_each() {
        let p = Probe::start().await;
        for path in [
            "/oauth/authorize",
            "/oauth/authorize?response_type=token&client_id=x",
            "/oauth/authorize?response_type=code&client_id=evil.example.nl&redirect_uri=https://evil.example.nl/cb&scope=umcdemo~4&state=s",
            "/lezer/oauth/authorize?%FF=%FE",
        ] {
            let before = p.counts().await;
            let a = p.front(&[], &za(path));
            assert_eq!(a.status, 400, "{path}: {a:?}");
            assert!(a.header("location").is_none(), "{path}: no redirect");
            p.assert_logged(path, before, (1, 0)).await;
        }
        // A consent form that is not UTF-8 at all: refused by the gateway, logged.
        let not_utf8 = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(not_utf8.path(), [0xff, 0xfe, b'=', 0x80]).unwrap();
        let raw = format!("@{}", not_utf8.path().display());
        let before = p.counts().await;
        let a = p.front(&["--data-binary", &raw], &za("/oauth/authorize/consent"));
        assert_eq!(a.status, 400, "consent form not UTF-8: {a:?}");
        p.assert_logged("consent form not UTF-8", before, (1, 0))
            .await;
        let log = p.net.za_log().await.unwrap();
        assert!(
            log.iter()
                .all(|l| l.source.as_deref() == Some("127.0.0.1") && l.outcome == "refused"),
            "{log:#?}"
        );
    }

    // MedMij OAUTH-10, LOG-1: the PGO GW's redirect URI without an authorization of
    // this browser.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_stray_callback_gets_400_and_one_log_entry() {
        let p = Probe::start().await;
        let before = p.counts().await;
        let a = p.front(&[], &pgo("/cb?code=x&state=y"));
        assert_eq!(a.status, 400, "{a:?}");
        p.assert_logged("stray callback", before, (0, 1)).await;
        let before = p.counts().await;
        let a = p.front(&["-H", "Cookie: pgo_session=0123"], &pgo("/cb?error=x"));
        assert_eq!(a.status, 400, "{a:?}");
        p.assert_logged("stray callback with a session", before, (0, 1))
            .await;
    }
}

mod oauth_14 {
    use super::*;

    // MedMij OAUTH-14 (RFC 6819 4.4.1.8): a flow continues only in the browser that
    // started it; a flow id alone is refused with a plain page and logged, and the
    // flow still waits for its own browser.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_flow_id_without_the_browser_cookie_is_refused_and_logged() {
        let p = Probe::start().await;
        let run = p.net.verzamelen(ConsentChoice::Leave).await.unwrap();
        let (flow, csrf) = (
            hidden(&run.final_page, "flow"),
            hidden(&run.final_page, "csrf_token"),
        );
        assert_eq!(p.net.pending_flows(), 1);
        let consent_page = za(&format!("/oauth/authorize/consent?flow={flow}"));
        let answer = format!("flow={flow}&csrf_token={csrf}&decision=grant");
        let stand_in = za(&format!("/oauth/authorize/login?flow={flow}"));
        let login = format!("flow={flow}&csrf_token={csrf}&action=login");
        let forged = format!(
            "Cookie: {}=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            medmij_oauth::adapter::ZA_COOKIE
        );
        let probes: [(&str, Vec<&str>, &str); 5] = [
            ("consent page", vec![], &consent_page),
            ("consent answer", vec!["--data", &answer], &consent_page),
            (
                "consent answer with a forged cookie",
                vec!["--data", &answer, "-H", &forged],
                &consent_page,
            ),
            ("stand-in page", vec![], &stand_in),
            ("stand-in answer", vec!["--data", &login], &stand_in),
        ];
        for (what, extra, url) in &probes {
            let before = p.counts().await;
            let a = p.front(extra, url);
            assert_eq!(a.status, 400, "{what}: {a:?}");
            assert!(a.header("location").is_none(), "{what}: no redirect");
            assert_eq!(a.count("content-type"), 1, "{what}");
            p.assert_logged(what, before, (1, 0)).await;
        }
        // The flow still waits for the person's own browser.
        assert_eq!(p.net.pending_flows(), 1);
        let log = p.net.za_log().await.unwrap();
        assert!(
            log.iter().any(|l| l.event_type == "oauth.flow.foreign"),
            "{log:#?}"
        );
    }

    // The consent page carries exactly one Content-Type (and its frame-busting
    // headers), walked by curl as a browser with a cookie jar.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_consent_page_has_one_content_type() {
        let p = Probe::start().await;
        let jar = tempfile::tempdir().unwrap();
        let jar = jar.path().join("cookies");
        let jar = jar.display().to_string();
        let with_jar = |extra: &[&str], url: &str| {
            let mut args = vec!["-b", jar.as_str(), "-c", jar.as_str()];
            args.extend_from_slice(extra);
            p.front(&args, url)
        };
        let a = with_jar(
            &[],
            &pgo("/start?zorgaanbieder=umcdemo@medmij&gegevensdienst=4"),
        );
        assert_eq!(a.status, 302, "{a:?}");
        // The TEST DigiD stand-in's page, with the cookie that binds the flow to this
        // browser.
        let a = with_jar(&[], &a.header("location").unwrap());
        assert_eq!(a.status, 200, "{a:?}");
        let set_cookie = a.header("set-cookie").unwrap_or_default();
        let name = format!("{}=", medmij_oauth::adapter::ZA_COOKIE);
        for attr in [name.as_str(), "HttpOnly", "Secure", "SameSite=Lax"] {
            assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
        }
        assert_eq!(a.count("content-type"), 1, "{}", a.headers);
        assert_eq!(a.count("x-frame-options"), 1, "{}", a.headers);
        // The stand-in's own headers for its login page (the adapter's `HostAnswer::Page`,
        // RFC 6819 4.4.1.9), one of each: a CSP whose form-action allows the PGO GW (a
        // cancel is answered by the redirect to it), no referrer (the URL holds the flow
        // id), nosniff; the adapter's no-store where the page names none.
        for name in [
            "content-security-policy",
            "referrer-policy",
            "x-content-type-options",
            "cache-control",
        ] {
            assert_eq!(a.count(name), 1, "{name}: {}", a.headers);
        }
        let csp = a.header("content-security-policy").unwrap();
        let to_pgo = format!(
            "form-action 'self' https://{}",
            medmij_examples::demo::PGO_HOST
        );
        for part in [
            "default-src 'none'",
            to_pgo.as_str(),
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{part} in {csp}");
        }
        assert_eq!(a.header("referrer-policy").as_deref(), Some("no-referrer"));
        assert_eq!(a.header("cache-control").as_deref(), Some("no-store"));
        let form = format!(
            "flow={}&csrf_token={}&action=login",
            hidden(&a.body, "flow"),
            hidden(&a.body, "csrf_token")
        );
        let a = with_jar(&["--data", &form], &za(&form_action(&a.body)));
        assert_eq!(a.status, 200, "{a:?}");
        assert!(a.body.contains("<title>Toestemming</title>"));
        assert_eq!(a.count("content-type"), 1, "{}", a.headers);
        assert_eq!(a.count("x-frame-options"), 1, "{}", a.headers);
        // medmij-consent's headers for this page (RFC 6819 4.4.1.9), one of each: its CSP
        // with the hash of the page's own style, no referrer, nosniff, no caching.
        for name in [
            "content-security-policy",
            "referrer-policy",
            "x-content-type-options",
            "cache-control",
        ] {
            assert_eq!(a.count(name), 1, "{name}: {}", a.headers);
        }
        let csp = a.header("content-security-policy").unwrap();
        assert!(
            csp.starts_with("default-src 'none'; style-src 'sha256-"),
            "{csp}"
        );
        // The answer's redirect goes to the PGO GW: its origin is allowed by form-action
        // (browsers apply it to the redirect after the POST).
        let form_action = format!(
            "form-action 'self' https://{}",
            medmij_examples::demo::PGO_HOST
        );
        for part in [
            form_action.as_str(),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{part} in {csp}");
        }
        assert_eq!(a.header("referrer-policy").as_deref(), Some("no-referrer"));
        assert_eq!(
            a.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(a.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );
    }
}

mod oauth_4 {
    use super::*;

    // MedMij OAUTH-4, OAUTH-12: a redirect_uri whose port is outside 1..65535 is
    // either refused at the authorization endpoint (case 1, logged) or, while the
    // authorization server still lets it through, walks the whole flow without an
    // HTTP 500 at any step. (The port check itself belongs to medmij-oauth.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_redirect_uri_with_a_bad_port_never_answers_500() {
        let p = Probe::start().await;
        for port in ["0", "99999", "65536"] {
            let jar = tempfile::tempdir().unwrap();
            let jar = jar.path().join("cookies").display().to_string();
            let with_jar = |extra: &[&str], url: &str| {
                let mut args = vec!["-b", jar.as_str(), "-c", jar.as_str()];
                args.extend_from_slice(extra);
                p.front(&args, url)
            };
            let start = with_jar(
                &[],
                &pgo("/start?zorgaanbieder=umcdemo@medmij&gegevensdienst=4"),
            );
            let url = start.header("location").unwrap();
            let ours = "redirect_uri=https%3A%2F%2Fpgo-gw.mijnpgo-demo.nl%2Fcb";
            assert!(url.contains(ours), "{url}");
            let bad = url.replace(
                ours,
                &format!("redirect_uri=https%3A%2F%2Fpgo-gw.mijnpgo-demo.nl%3A{port}%2Fcb"),
            );
            let before = p.counts().await;
            let a = with_jar(&[], &bad);
            assert_ne!(a.status, 500, "port {port}: {a:?}");
            if a.status == 400 {
                p.assert_logged(&format!("port {port}"), before, (1, 0))
                    .await;
                continue;
            }
            // The TEST DigiD stand-in's page.
            assert_eq!(a.status, 200, "port {port}: {a:?}");
            let form = format!(
                "flow={}&csrf_token={}&action=login",
                hidden(&a.body, "flow"),
                hidden(&a.body, "csrf_token")
            );
            let a = with_jar(&["--data", &form], &za(&form_action(&a.body)));
            assert_ne!(a.status, 500, "port {port}: {a:?}");
            if a.status != 200 {
                continue;
            }
            let form = format!(
                "flow={}&csrf_token={}&decision=grant",
                hidden(&a.body, "flow"),
                hidden(&a.body, "csrf_token")
            );
            let a = with_jar(&["--data", &form], &za(&form_action(&a.body)));
            assert_ne!(a.status, 500, "port {port}: {a:?}");
        }
    }
}

mod log_1 {
    use super::*;

    // MedMij LOG-1, OAUTH-12 case 6, OAUTH-12 case 7: refused token and resource
    // requests on the back channel, each logged with the client and the source.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn refused_token_and_resource_requests_are_logged_once_each() {
        let p = Probe::start().await;
        let bogus = "Authorization: Bearer 8a0c3d3e-6f1b-4c55-9d7e-0b6a1f2e3c4d";
        let token_probes: [(&str, &str); 3] = [
            (
                "password grant",
                "grant_type=password&username=a&password=b",
            ),
            (
                "unknown code",
                "grant_type=authorization_code&code=8a0c3d3e-6f1b-4c55-9d7e-0b6a1f2e3c4d&redirect_uri=https://pgo-gw.mijnpgo-demo.nl/cb&client_id=pgo-gw.mijnpgo-demo.nl",
            ),
            ("garbage", "%FF%FE=="),
        ];
        // A body that is not UTF-8 at all: refused by the gateway, and logged.
        let not_utf8 = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(not_utf8.path(), [0xff, 0xfe, b'=', 0x80]).unwrap();
        let raw = format!("@{}", not_utf8.path().display());
        let before = p.counts().await;
        let a = p.back(true, &["--data-binary", &raw], "/oauth/token");
        assert_eq!(a.status, 400, "not UTF-8: {a:?}");
        p.assert_logged("token request not UTF-8", before, (1, 0))
            .await;

        for (what, body) in token_probes {
            let before = p.counts().await;
            let a = p.back(true, &["--data", body], "/oauth/token");
            assert_eq!(a.status, 400, "{what}: {a:?}");
            assert_eq!(a.header("cache-control").as_deref(), Some("no-store"));
            p.assert_logged(what, before, (1, 0)).await;
        }
        for (what, extra) in [
            ("no token", vec![]),
            ("bogus token", vec!["-H", bogus]),
            ("not a bearer", vec!["-H", "Authorization: Basic YTpi"]),
        ] {
            let before = p.counts().await;
            let a = p.back(true, &extra, "/fhir/MedicationStatement");
            assert_eq!(a.status, 401, "{what}: {a:?}");
            assert_eq!(a.header("cache-control").as_deref(), Some("no-store"));
            assert_eq!(a.count("content-type"), 1);
            assert!(a.body.contains("suppressed"), "{what}: {}", a.body);
            p.assert_logged(what, before, (1, 0)).await;
            let before = p.counts().await;
            let a = p.back(
                true,
                &[extra.as_slice(), &["--data", "{}"]].concat(),
                "/lezer/fhir/Bundle",
            );
            assert_eq!(a.status, 401, "write, {what}: {a:?}");
            p.assert_logged(what, before, (1, 0)).await;
        }
        let log = p.net.za_log().await.unwrap();
        assert!(
            log.iter().all(|l| l.outcome == "refused"
                && l.actor == PGO_HOST
                && l.source.as_deref() == Some("127.0.0.1")),
            "{log:#?}"
        );

        // A token revoked after the replay of its code (OAUTH-8): the replay and
        // each read with the revoked token are refused and logged.
        let run = p.net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some());
        let token = p.net.last_access_token().unwrap();
        let ok = p.back(
            true,
            &["-H", &format!("Authorization: Bearer {token}")],
            "/fhir/MedicationStatement",
        );
        assert_eq!(ok.status, 200);
        assert_eq!(ok.header("cache-control").as_deref(), Some("no-store"));
        let before = p.counts().await;
        let replay = p.net.replay_code().await.unwrap();
        assert_eq!((replay.status, replay.resource_status_after), (400, 401));
        p.assert_logged("replay and read after it", before, (2, 0))
            .await;
        let before = p.counts().await;
        let a = p.back(
            true,
            &["-H", &format!("Authorization: Bearer {token}")],
            "/fhir/MedicationStatement",
        );
        assert_eq!(a.status, 401, "{a:?}");
        p.assert_logged("read with the revoked token", before, (1, 0))
            .await;
        let last = p.net.za_log().await.unwrap().pop().unwrap();
        assert_eq!(
            (last.event_type.as_str(), last.outcome.as_str()),
            ("fhir.read", "refused")
        );
    }

    // MedMij LOG-1, TLS-2: a back-channel handshake without a client certificate is
    // refused and logged with the source address.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_handshake_without_a_client_certificate_is_logged() {
        let p = Probe::start().await;
        for n in 0..3 {
            let before = p.counts().await;
            let a = p.back(false, &[], "/fhir/MedicationStatement");
            assert_eq!(a.status, 0, "no HTTP without a client certificate: {a:?}");
            p.assert_logged(&format!("handshake {n}"), before, (1, 0))
                .await;
        }
        let log = p.net.za_log().await.unwrap();
        assert_eq!(log.len(), 3, "{log:#?}");
        assert_eq!(log[0].event_type, "tls.refused");
        assert_eq!(log[0].source.as_deref(), Some("127.0.0.1"));
        // The second and third are counted per source (OAUTH-14), each flushed here
        // as one counting entry.
        assert!(log[1..].iter().all(|l| {
            l.event_type == "refusals.counted"
                && l.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("tls.refused x1"))
        }));
        // A plain TCP connection that never starts a handshake is refused too.
        let before = p.counts().await;
        let port = p.net.za_back_port();
        let sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        drop(sock);
        p.assert_logged("no handshake at all", before, (1, 0)).await;
    }
}
