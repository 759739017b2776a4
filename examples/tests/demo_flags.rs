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
                "ZAL release3: kliniektwee@medmij lists Gegevensdienst 4 under Interfaceversie 2.2.0",
                "refresh tokens in the PGO GW's vault: 1",
                "dossier item bundle-2x-1: unchanged since receipt = true",
                "every PGO GW request has its ZA GW counterpart: yes",
                "NEN 7513 logs verify",
            ],
        ),
        (
            Some("--refuse"),
            &[
                "[case 4] consent REFUSED and logged",
                "ended with: access_denied Authorization denied.",
                "person sees: You did not give permission.",
            ],
        ),
        (
            Some("--no-data"),
            &[
                "[case 3] no data of this person",
                "ended with: access_denied No such resources.",
            ],
        ),
        (
            Some("--no-login"),
            &[
                "[case 2] the person did not log in",
                "ended with: unauthorized_client",
            ],
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

/// The flags of the source releases' rules (MedMij OAUTH-16, LISTS-13, LISTS-14).
#[test]
fn source_flags_end_as_the_rulebook_prescribes() {
    let cases: &[(&str, &[&str])] = &[
        (
            "--bsn-in-payload",
            &[
                "left empty before sending; logged",
                "person sees: Uw Medicatieoverzicht van umcdemo@medmij is opgehaald.",
                "ended with: OAUTH-16",
                "bevatten een burgerservicenummer (BSN). Dat mag niet via MedMij",
                "answered case 8 (HTTP 503), logged",
                "token obtained: true; placed: false",
                "NEN 7513 logs verify",
            ],
        ),
        (
            "--withdrawn-service",
            &[
                "differs from the configuration: umcdemo@medmij Gegevensdienst 4 is configured but \
                 not on the ZAL",
                "person sees: Uw Medicatieoverzicht van umcdemo@medmij is opgehaald.",
                "3601 seconds later",
                "ended with: HTTP 400",
                "OAUTH-12, LISTS-13, LISTS-10 [case 1]",
                "NEN 7513 logs verify",
            ],
        ),
        (
            "--publish-invalid",
            &[
                "change refused: add Zorgaanbieder kliniekdemo@medmij",
                "reason (LISTS-14): ZAL entry kliniekdemo@medmij Gegevensdienst 4: host \
                 za-gw.kliniekdemo.nl is not on the Whitelist",
                "is not registered as qualified for Gegevensdienst 4",
                "published ZAL unchanged and nothing archived: true",
                "ZAL in force at the PGO GW after fetching: Volgnummer 1",
                "person sees: Uw Medicatieoverzicht van umcdemo@medmij is opgehaald.",
            ],
        ),
    ];
    for (flag, expected) in cases {
        let out = run(Some(flag));
        for e in *expected {
            assert!(out.contains(e), "demo {flag:?}: no {e:?} in\n{out}");
        }
    }
}

/// The release 2.x flags (MedMij OAUTH-19, OAUTH-22, LOG-6): collect again by refresh
/// with rotation, withdrawal, and the replay of a retired refresh token.
#[test]
fn release2_flags_end_as_the_rulebook_prescribes() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--release", "2"],
            &[
                "FHIR read with the first access token: HTTP 401",
                "refreshed without the person: true; collected: bundle-2x-2",
                "rotation: 2 refresh tokens received; the vault holds #2; #1 is retired",
                "long-lasting consents listed and withdrawn: 1; back at the PGO: true",
                "refresh refused (invalid_grant); the PGO GW starts a full flow: true",
                "every PGO GW request has its ZA GW counterpart: yes",
                "\"type\":\"receive_refresh_token_request\"",
                "in plain words: with a consent \"until I withdraw it\"",
                "release 2.x sides verify too: ZA GW 2.x",
            ],
        ),
        (
            &["--refresh-replay"],
            &[
                "FHIR read with the current access token: HTTP 200",
                "refresh token replayed (OAUTH-19 breach): consent chain revoked",
                "refresh refused (invalid_grant), full flow needed: true; FHIR read with the \
                 current access token now: HTTP 401",
                "refused too, full flow needed: true",
                "in plain words: a replaced key that shows up again",
            ],
        ),
    ];
    for (args, expected) in cases {
        let out = run_args(args);
        for e in *expected {
            assert!(out.contains(e), "demo {args:?}: no {e:?} in\n{out}");
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

/// `--bench 0` (or a concurrency of 0) is a usage error, not a panic on an
/// empty set of timings; then `--bench 3 --concurrency 2` runs and reports.
#[test]
fn bench_refuses_zero_and_runs_a_small_count() {
    for args in [
        &["--bench", "0"][..],
        &["--bench", "2", "--concurrency", "0"],
    ] {
        let out = Command::new(demo())
            .args(args)
            .output()
            .expect("the demo runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains("usage: demo --bench"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let out = run_args(&["--bench", "3", "--concurrency", "2"]);
    assert!(
        out.contains("UCI Verzamelen, 3 runs, 2 at a time: median"),
        "{out}"
    );
}

/// As [`run`], with several arguments.
fn run_args(args: &[&str]) -> String {
    let out = Command::new(demo())
        .args(args)
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demo {args:?} exited {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn require_curl() {
    let curl_ok = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        curl_ok,
        "curl is required (Debian package curl; .ci/test installs it)"
    );
}

/// `demo --serve` (with `extra` flags), running, with its standard output read
/// line by line.
struct Serving {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Serving {
    fn start(extra: &[&str]) -> Serving {
        let mut child = Command::new(demo())
            .arg("--serve")
            .args(extra)
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
        Serving {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// The rest of the first line that starts (after blanks) with `prefix`;
    /// waits at most 60 s.
    fn line(&mut self, prefix: &str) -> String {
        let t = Instant::now();
        loop {
            if let Some(rest) = self.seen.iter().find_map(|l| l.trim().strip_prefix(prefix)) {
                return rest.trim().to_owned();
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "demo --serve printed no {prefix:?} line in 60 s: {:#?}",
                self.seen
            );
            if let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
                self.seen.push(line);
            }
        }
    }

    /// The directory of the "files in:" line.
    fn dir(&mut self) -> PathBuf {
        let line = self.line("files in:");
        PathBuf::from(line.split(" (").next().unwrap())
    }

    /// Stops it as a person does (Ctrl-C: SIGINT) and waits at most 20 s for it to
    /// exit; returns whether it exited by itself.
    fn interrupt(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a printed curl command line (words separated by blanks) as printed,
/// plus options that only make curl quiet and report the HTTP status.
fn run_printed(line: &str) -> Result<(String, String), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() != Some(&"curl") {
        return Err(format!("not a curl command: {line}"));
    }
    let out = Command::new("curl")
        .args(&words[1..])
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(["--write-out", "\n%{http_code}"])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("{line}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    Ok((body.to_owned(), code.to_owned()))
}

#[test]
fn serve_prints_a_curl_line_that_works_as_printed() {
    require_curl();
    let mut serving = Serving::start(&[]);
    let line = serving.line("curl:");
    let (body, code) = run_printed(&line).expect("the printed curl command works");
    assert_eq!(code, "200");
    assert!(body.contains("<title>MijnPGO Demo</title>"), "{body}");
    assert!(serving.interrupt(), "demo --serve stops on Ctrl-C");
}

// MedMij OAUTH-3, TLS-2: the printed back-channel curl lines reach the ZA GW's
// token and FHIR endpoints over mutual TLS and get a real HTTP answer (the
// placeholders are refused: OAUTH-12 case 6 and case 7), not a TLS failure.
#[test]
fn serve_prints_back_channel_curl_lines_that_work_as_printed() {
    require_curl();
    let mut serving = Serving::start(&[]);
    let fhir = serving.line("FHIR by hand:");
    let token = serving.line("token by hand:");
    let dir = serving.dir();
    for file in ["test-root.pem", "pgo-gw.chain.pem", "pgo-gw.key.pem"] {
        assert!(
            dir.join(file).exists(),
            "{file} next to the root in {dir:?}"
        );
    }
    assert!(
        fhir.contains("--cert") && fhir.contains("--resolve"),
        "{fhir}"
    );
    let (body, code) = run_printed(&fhir).expect("the FHIR line works");
    assert_eq!(code, "401", "{body}");
    assert!(body.contains("OperationOutcome"), "{body}");
    let (body, code) = run_printed(&token).expect("the token line works");
    assert_eq!(code, "400", "{body}");
    assert!(body.contains("invalid_"), "{body}");
    assert!(serving.interrupt(), "demo --serve stops on Ctrl-C");
    assert!(!dir.exists(), "{dir:?} removed on exit");
}

#[test]
fn serve_keeps_its_directory_only_with_keep() {
    let mut serving = Serving::start(&["--keep"]);
    let dir = serving.dir();
    assert!(dir.join("test-root.pem").exists());
    assert!(serving.interrupt(), "demo --serve --keep stops on Ctrl-C");
    assert!(dir.join("za-gw.audit.jsonl").exists(), "{dir:?} kept");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_removes_its_directory_unless_keep() {
    for (flags, kept) in [
        (&["--no-login"][..], false),
        (&["--no-login", "--keep"], true),
    ] {
        let out = Command::new(demo())
            .args(flags)
            .output()
            .expect("the demo runs");
        assert!(out.status.success(), "{flags:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("files in:"))
            .unwrap_or_else(|| panic!("no files line: {stdout}"));
        let dir = PathBuf::from(line.trim().split(" (").next().unwrap());
        assert_eq!(dir.exists(), kept, "{flags:?}: {dir:?}");
        if kept {
            assert!(dir.join("za-gw.audit.jsonl").exists());
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

mod oauth_5 {
    use super::*;

    /// `--multi` (MedMij OAUTH-5, OAUTH-17): both Gegevensdiensten collected with
    /// one login, one consent and one token.
    #[test]
    fn multi_flag_collects_both_gegevensdiensten_with_one_consent() {
        let out = run(Some("--multi"));
        for e in [
            "for scope umcdemo~4 umcdemo~5",
            "'Medicatieoverzicht' en 'Basisgegevens Zorg'",
            "person sees: Uw Medicatieoverzicht en Basisgegevens Zorg van umcdemo@medmij zijn \
             opgehaald.",
            "collected Medicatieoverzicht: dossier item",
            "collected Basisgegevens Zorg: dossier item",
            "NEN 7513 logs verify",
        ] {
            assert!(out.contains(e), "demo --multi: no {e:?} in\n{out}");
        }
        assert_eq!(out.matches("person presses \"login\"").count(), 1, "{out}");
    }
}

mod consent_7 {
    use super::*;

    /// `--move-dossier` (MedMij CONSENT-7): the dossier moves to a second PGO with
    /// provenance and placements; a changed export flags the changed item.
    #[test]
    fn move_dossier_flag_shows_provenance_and_flags_a_changed_item() {
        let out = run(Some("--move-dossier"));
        for e in [
            "The person moves to another PGO: export, import",
            "from umcdemo@medmij (Medicatieoverzicht) via MedMij: unchanged since receipt",
            "placed with huisartsdemo@medmij (Medicatieoverzicht)",
            "content of",
            "via MedMij: CHANGED since receipt",
            "NEN 7513 logs verify",
        ] {
            assert!(out.contains(e), "demo --move-dossier: no {e:?} in\n{out}");
        }
    }
}
