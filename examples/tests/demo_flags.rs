//! The demo program itself, as a user runs it: every flag ends the way the
//! rulebook prescribes (exit status 0 means the program checked that), and
//! `--serve` prints instructions that work as printed.
//!
//! Runs the `demo` example that `cargo test` builds next to this test.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/demo`, next to `target/<profile>/deps/<this test>`.
fn demo() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let demo = profile_dir
        .join("examples")
        .join(format!("demo{}", std::env::consts::EXE_SUFFIX));
    assert!(
        demo.exists(),
        "{} is missing: run the tests with `cargo test` (which builds the examples)",
        demo.display()
    );
    demo
}

/// Runs the demo with `flag`; returns its standard output, after asserting exit 0.
fn run(flag: Option<&str>) -> String {
    let out = Command::new(demo())
        .args(flag)
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demo {flag:?} exited {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn every_flag_ends_as_the_rulebook_prescribes() {
    let cases: [(Option<&str>, &[&str]); 9] = [
        (
            None,
            &[
                "person sees: Uw Medicatieoverzicht van umcdemo@medmij is opgehaald.",
                "placed: true",
                "NEN 7513 logs verify",
            ],
        ),
        (
            Some("--refuse"),
            &[
                "OAUTH-12 case 4",
                "ended with: access_denied Authorization denied.",
                "person sees: You did not give permission.",
            ],
        ),
        (
            Some("--no-data"),
            &[
                "OAUTH-12 case 3",
                "ended with: access_denied No such resources.",
            ],
        ),
        (
            Some("--no-login"),
            &["OAUTH-12 case 2", "ended with: unauthorized_client"],
        ),
        (
            Some("--replay-code"),
            &[
                "token endpoint: HTTP 400 invalid_grant; FHIR read with the earlier token: HTTP 401",
                "in plain words: an authorization code works once",
            ],
        ),
        (
            Some("--expired-token"),
            &[
                "FHIR read: HTTP 401, OperationOutcome issue code suppressed",
                "in plain words: the access token lasts 900 seconds",
            ],
        ),
        (
            Some("--revoked-cert"),
            &[
                "handshake REFUSED",
                "certificate is revoked",
                "token obtained: false",
            ],
        ),
        (
            Some("--not-whitelisted"),
            &[
                "handshake REFUSED",
                "is not on the Whitelist",
                "token obtained: false",
            ],
        ),
        (
            Some("--stale-list"),
            &[
                "fetched WHL: REFUSED",
                "cannot determine whether",
                "token obtained: false",
            ],
        ),
    ];
    for (flag, expected) in cases {
        let out = run(flag);
        for e in expected {
            assert!(out.contains(e), "demo {flag:?}: no {e:?} in\n{out}");
        }
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let out = Command::new(demo())
        .arg("--no-such-flag")
        .output()
        .expect("the demo runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: demo"));
}

#[test]
fn serve_prints_a_curl_line_that_works_as_printed() {
    let curl_ok = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        curl_ok,
        "curl is required (Debian package curl; .ci/test installs it)"
    );
    let mut child = Command::new(demo())
        .arg("--serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo --serve starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let t = Instant::now();
    let mut curl_line = None;
    while curl_line.is_none() && t.elapsed() < Duration::from_secs(60) {
        if let Ok(line) = rx.recv_timeout(Duration::from_secs(1))
            && let Some(cmd) = line.trim().strip_prefix("curl:")
        {
            curl_line = Some(cmd.trim().to_owned());
        }
    }
    let result = (|| {
        let line = curl_line.ok_or("demo --serve printed no curl line in 60 s")?;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"curl") {
            return Err(format!("not a curl command: {line}"));
        }
        let out = Command::new("curl")
            .args(&words[1..])
            .args(["--silent", "--show-error", "--max-time", "30"])
            .output()
            .map_err(|e| e.to_string())?;
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!("{line}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(body)
    })();
    let _ = child.kill();
    let _ = child.wait();
    let body = result.expect("the printed curl command works");
    assert!(body.contains("<title>MijnPGO Demo</title>"), "{body}");
}
