//! The rule check over this workspace, as part of `cargo test`: a new range
//! of rule IDs, an unknown ID, or a rule that loses its item or test module
//! fails the suite (the rulebook comparison runs in `.ci/run`, which has
//! `../shared`).

#[test]
fn workspace_rules_are_traceable() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let baseline =
        std::fs::read_to_string(root.join("xtask/rules-baseline.txt")).unwrap_or_default();
    let verdict = xtask::judge(xtask::check(root, None), &baseline);
    let mut report = String::new();
    for f in &verdict.new {
        report.push_str(&format!("{f}\n"));
    }
    for s in &verdict.stale {
        report.push_str(&format!("stale baseline line: {s}\n"));
    }
    assert!(verdict.ok(), "cargo xtask rules:\n{report}");
}
