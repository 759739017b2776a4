//! `cargo xtask rules [--rulebook PATH]`: see the library docs.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("rules") => {}
        _ => {
            eprintln!("usage: cargo xtask rules [--rulebook PATH]");
            return ExitCode::from(2);
        }
    }
    let rulebook = match args.get(1).map(String::as_str) {
        Some("--rulebook") => match args.get(2).map(std::fs::read_to_string) {
            Some(Ok(text)) => Some(text),
            Some(Err(e)) => {
                eprintln!("xtask rules: cannot read the rulebook: {e}");
                return ExitCode::from(2);
            }
            None => {
                eprintln!("xtask rules: --rulebook needs a path");
                return ExitCode::from(2);
            }
        },
        Some(other) => {
            eprintln!("xtask rules: unknown argument {other}");
            return ExitCode::from(2);
        }
        None => None,
    };
    let baseline =
        std::fs::read_to_string(root.join("xtask/rules-baseline.txt")).unwrap_or_default();
    let verdict = xtask::judge(xtask::check(&root, rulebook.as_deref()), &baseline);
    for f in &verdict.new {
        println!("FAIL {f}");
    }
    for s in &verdict.stale {
        println!("FAIL xtask/rules-baseline.txt: `{s}` no longer holds: remove the line");
    }
    println!(
        "xtask rules: {} new finding(s), {} stale baseline line(s), {} known gap(s) in the baseline{}",
        verdict.new.len(),
        verdict.stale.len(),
        verdict.known.len(),
        if rulebook.is_some() {
            ", variants compared with the rulebook"
        } else {
            ""
        }
    );
    if verdict.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
