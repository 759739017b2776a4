//! The `lists` CLI (issue: validate / show / diff, exit codes 0, 1, 2).

use medmij_examples::lists_cli::run;
use std::path::{Path, PathBuf};

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn cli(args: &[&str]) -> (u8, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn validate_reports_ok_and_exits_0() {
    let files: Vec<String> = ["zal.xml", "ocl.xml", "gnl.xml", "whl.xml"]
        .iter()
        .map(|f| data(f))
        .collect();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, _) = cli(&args);
    assert_eq!(code, 0);
    for f in &files {
        assert!(out.contains(&format!("{f}: ok")), "{out}");
    }
}

#[test]
fn validate_reports_each_error_with_position_and_rule() {
    let bad = data("invalid/whl.xml");
    let good = data("whl.xml");
    let (code, out, _) = cli(&["validate", &good, &bad]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with(&bad)).collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with(&format!("{bad}:4:5: /Whitelist/Tijdstempel: ")),
        "{}",
        lines[0]
    );
    assert!(lines.iter().all(|l| l.contains("(MedMij LISTS-")), "{out}");
    assert!(
        lines[3].contains("duplicate Hostname") && lines[3].ends_with("(MedMij LISTS-6)"),
        "{}",
        lines[3]
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(cli(&[]).0, 2);
    assert_eq!(cli(&["frobnicate", "x"]).0, 2);
    assert_eq!(cli(&["diff", "only-one"]).0, 2);
    let missing = PathBuf::from("/nonexistent/zal.xml");
    let (code, out, _) = cli(&["validate", &data("whl.xml"), missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.contains("error:"), "{out}");
}

#[test]
fn show_summarises() {
    let (code, out, _) = cli(&["show", &data("zal.xml")]);
    assert_eq!(code, 0);
    assert!(out.contains("Volgnummer   42"), "{out}");
    assert!(
        out.contains("Zorgaanbieders 2, Gegevensdiensten 3, Systeemrollen 3"),
        "{out}"
    );
    assert!(out.contains("ziekenhuisdemo@medmij [1, 4]"), "{out}");
}

#[test]
fn diff_lists_changes_and_the_volgnummer_step() {
    let dir = tempfile::tempdir().unwrap();
    let old = data("zal.xml");
    let text = std::fs::read_to_string(&old).unwrap();
    let new_text = text
        .replace("<Volgnummer>42<", "<Volgnummer>44<")
        .replace(
            "https://ha.demo.medmij-rs.test/token",
            "https://ha.demo.medmij-rs.test:9443/token",
        )
        .replace(
            "<Systeemrolcode>LAB-1.0-LRB-FHIR</Systeemrolcode>",
            "<Systeemrolcode>LAB-2.0-LRB-FHIR</Systeemrolcode>",
        );
    let new = dir.path().join("zal44.xml");
    std::fs::write(&new, new_text).unwrap();
    let (code, out, _) = cli(&["diff", &old, new.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("ZAL Volgnummer 42 -> 44 (+2), newer"),
        "{out}"
    );
    assert!(out.contains("~ endpoint huisartsdemo@medmij~3 token: https://ha.demo.medmij-rs.test/token -> https://ha.demo.medmij-rs.test:9443/token"), "{out}");
    assert!(
        out.contains("+ endpoint ziekenhuisdemo@medmij~4 resource LAB-2.0-LRB-FHIR"),
        "{out}"
    );
    assert!(
        out.contains("- endpoint ziekenhuisdemo@medmij~4 resource LAB-1.0-LRB-FHIR"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("3 change(s)"), "{out}");
    // Backwards: the step is negative and the store would refuse it.
    let (_, out, _) = cli(&["diff", new.to_str().unwrap(), &old]);
    assert!(
        out.contains("NOT newer") && out.contains("LISTS-9"),
        "{out}"
    );
    // Different kinds cannot be compared.
    assert_eq!(cli(&["diff", &old, &data("whl.xml")]).0, 2);
}

/// The ZAL release3 (MedMij LISTS-15) beside release2.
mod lists_15 {
    use super::{cli, data};

    #[test]
    fn validate_accepts_both_releases() {
        let (code, out, _) = cli(&["validate", &data("zal.xml"), &data("zal-release3.xml")]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(
            out.lines().filter(|l| l.ends_with(": ok")).count(),
            2,
            "{out}"
        );
    }

    #[test]
    fn validate_reports_release3_errors_with_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("zal3-bad.xml");
        let text = std::fs::read_to_string(data("zal-release3.xml")).unwrap();
        std::fs::write(
            &bad,
            text.replace(
                "<InterfaceversieId>2.0.0</InterfaceversieId>",
                "<InterfaceversieId>1.6.0</InterfaceversieId>",
            ),
        )
        .unwrap();
        let (code, out, _) = cli(&["validate", bad.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(
            out.contains("duplicate InterfaceversieId \"1.6.0\"")
                && out.contains("(MedMij LISTS-15)"),
            "{out}"
        );
        assert!(
            out.contains("/Interfaceversie[2]/InterfaceversieId"),
            "{out}"
        );
    }

    #[test]
    fn show_names_release_aanbiedertype_and_interfaceversies() {
        let (code, out, _) = cli(&["show", &data("zal-release3.xml")]);
        assert_eq!(code, 0);
        assert!(out.contains("Release      release3 (2.x)"), "{out}");
        assert!(
            out.contains(
                "Zorgaanbieders 2, Interfaceversies 3, Gegevensdiensten 3, Systeemrollen 3"
            ),
            "{out}"
        );
        assert!(
            out.contains("    ziekenhuisdemo@medmij (ZA) 1.6.0 [4]; 2.0.0 [4]"),
            "{out}"
        );
        assert!(
            out.contains("    apotheekdemo@medmij (APD) 2.1.0 [6]"),
            "{out}"
        );
        let (_, out, _) = cli(&["show", &data("zal.xml")]);
        assert!(out.contains("Release      release2 (1.x)"), "{out}");
    }

    #[test]
    fn diff_compares_per_interfaceversie() {
        let dir = tempfile::tempdir().unwrap();
        let old = data("zal-release3.xml");
        let text = std::fs::read_to_string(&old).unwrap();
        let new_text = text
            .replace("<Volgnummer>43<", "<Volgnummer>50<")
            .replace("<MaximaleDuur>365<", "<MaximaleDuur>90<")
            .replace("<Aanbiedertype>APD<", "<Aanbiedertype>BAZB<");
        let new = dir.path().join("zal50.xml");
        std::fs::write(&new, new_text).unwrap();
        let (code, out, _) = cli(&["diff", &old, new.to_str().unwrap()]);
        assert_eq!(code, 0);
        assert!(
            out.starts_with("ZAL Volgnummer 43 -> 50 (+7), newer"),
            "{out}"
        );
        assert!(
            out.contains("~ Aanbiedertype apotheekdemo@medmij: APD -> BAZB"),
            "{out}"
        );
        assert!(
            out.contains("~ endpoint ziekenhuisdemo@medmij~4@2.0.0 abonneren: 365 days at https://za.demo.medmij-rs.test:8443/v2/subscription -> 90 days at"),
            "{out}"
        );
        assert!(out.trim_end().ends_with("2 change(s)"), "{out}");
        // From release2 to release3: the release change is named.
        let (code, out, _) = cli(&["diff", &data("zal.xml"), &old]);
        assert_eq!(code, 0);
        assert!(out.contains("ZAL release2 -> release3"), "{out}");
        assert!(
            out.contains("+ Gegevensdienst ziekenhuisdemo@medmij~4@2.0.0: offered"),
            "{out}"
        );
        assert!(
            out.contains("- Gegevensdienst ziekenhuisdemo@medmij~4: offered"),
            "{out}"
        );
    }
}
