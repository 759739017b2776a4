//! `cargo xtask rules`: every MedMij rule traced in one hop.
//!
//! The check reads the project's own files and reports, naming the rule:
//!
//! - **unknown**: a citation such as `OAUTH-99` that is not a
//!   [`RuleId`] variant;
//! - **range**: a range or list of IDs (`OAUTH-3..5`, `TLS-1 to TLS-4`,
//!   `OAUTH-1, 3, 4`) that a search for one ID misses: cite one full ID per
//!   citation;
//! - **no-item**: a variant that no library source file (`crates/*/src`,
//!   outside medmij-types' own definition of the variants) cites;
//! - **no-test**: a variant without a test module named after it
//!   (`mod oauth_7`), so that `cargo test oauth_7` runs that rule's tests;
//! - with `--rulebook PATH` (CI, which has `../shared`): **rulebook** when the
//!   variants and the rule IDs defined in the rulebook differ.
//!
//! Gaps that are known and planned are listed in `xtask/rules-baseline.txt`,
//! one finding a line. The check fails on any finding not in the baseline,
//! and on a baseline line that is no longer a finding, so the baseline can
//! only shrink and always says exactly what is missing.
//!
//! A line that must show a range on purpose (a test that a range is refused)
//! carries the marker `rules-check: allow`.

use medmij_types::RuleId;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// One thing the check found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    /// A citation of an ID that is not a rule.
    Unknown {
        /// The cited text.
        id: String,
        /// Where (`path:line`).
        at: String,
    },
    /// A range or list of rule IDs.
    Range {
        /// The matched text.
        text: String,
        /// Where (`path:line`).
        at: String,
    },
    /// No library item cites the rule.
    NoItem(RuleId),
    /// No test module is named after the rule.
    NoTest(RuleId),
    /// The rulebook defines a rule that has no variant.
    MissingVariant(String),
    /// A variant that the rulebook does not define.
    ExtraVariant(RuleId),
}

impl Finding {
    /// The baseline key: findings about a rule are stable across edits
    /// (`no-test OAUTH-7`); findings at a place are never baselined.
    pub fn key(&self) -> Option<String> {
        match self {
            Finding::NoItem(r) => Some(format!("no-item {r}")),
            Finding::NoTest(r) => Some(format!("no-test {r}")),
            _ => None,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Unknown { id, at } => write!(f, "{at}: unknown rule ID {id}"),
            Finding::Range { text, at } => write!(
                f,
                "{at}: range or list of rule IDs `{text}`: cite one full ID per citation"
            ),
            Finding::NoItem(r) => write!(f, "{r}: no item in crates/*/src cites it (no-item {r})"),
            Finding::NoTest(r) => write!(
                f,
                "{r}: no test module `mod {}` (no-test {r})",
                module_name(*r)
            ),
            Finding::MissingVariant(id) => {
                write!(f, "{id}: in the rulebook but not a RuleId variant")
            }
            Finding::ExtraVariant(r) => {
                write!(f, "{r}: a RuleId variant the rulebook does not define")
            }
        }
    }
}

/// The test module name for a rule: `OAUTH-7` → `oauth_7`.
pub fn module_name(rule: RuleId) -> String {
    rule.as_str().to_ascii_lowercase().replace('-', "_")
}

/// The files the check reads, relative to the workspace root: sources,
/// docs, manifests and CI scripts; never `target/` or fuzz artifacts.
fn project_files(root: &Path) -> Vec<PathBuf> {
    let wanted = |p: &Path| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("rs" | "md" | "toml" | "xsd" | "sh")
        ) || p.parent().and_then(Path::file_name) == Some(std::ffi::OsStr::new(".ci"))
            && !name.starts_with('.')
    };
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_str().unwrap_or_default();
            !(e.file_type().is_dir()
                && (name == "target"
                    || name == ".git"
                    || name == "corpus"
                    || name == "artifacts"
                    || name == "coverage"
                    // The checker's own sources and tests cite bad IDs on purpose.
                    || e.path().ends_with("xtask/src")))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && wanted(e.path()))
        .filter_map(|e| e.path().strip_prefix(root).ok().map(Path::to_path_buf))
        .collect();
    files.sort();
    files
}

/// Where a module is named after a rule: `mod oauth_7` (with `{` or `;`).
fn test_modules(text: &str) -> BTreeSet<String> {
    let re = Regex::new(r"\bmod\s+((?:lists|oauth|tls|consent|log)_[0-9]+)\s*[{;]")
        .unwrap_or_else(|_| unreachable!("constant pattern"));
    re.captures_iter(text).map(|c| c[1].to_owned()).collect()
}

/// Runs the check over the workspace at `root`; with `rulebook`, also
/// compares the variants with the rule IDs the rulebook defines.
pub fn check(root: &Path, rulebook: Option<&str>) -> Vec<Finding> {
    let prefix = r"(?:LISTS|OAUTH|TLS|CONSENT|LOG)";
    let id_re = Regex::new(&format!(r"\b{prefix}-[0-9]+\b"))
        .unwrap_or_else(|_| unreachable!("constant pattern"));
    let range_re = Regex::new(&format!(
        r"\b{prefix}-[0-9]+\s*(?:\.\.=?|–|—|\bto\b|\bthrough\b|\btot\b)\s*(?:{prefix}-)?[0-9]+\b|\b{prefix}-[0-9]+(?:\s*,\s*[0-9]+\b(?:[^.\w]|$))+"
    ))
    .unwrap_or_else(|_| unreachable!("constant pattern"));

    let mut findings = BTreeSet::new();
    let mut cited_in_src: BTreeSet<RuleId> = BTreeSet::new();
    let mut modules: BTreeSet<String> = BTreeSet::new();
    let mut variant_refs: BTreeMap<String, RuleId> = BTreeMap::new();
    for &r in RuleId::ALL {
        variant_refs.insert(format!("{r:?}"), r);
    }
    let variant_re = Regex::new(r"\bRuleId::([A-Z][a-z]+[0-9]+)\b")
        .unwrap_or_else(|_| unreachable!("constant pattern"));

    for rel in project_files(root) {
        let Ok(text) = std::fs::read_to_string(root.join(&rel)) else {
            continue;
        };
        let rel_s = rel.to_string_lossy().replace('\\', "/");
        let is_lib_src = rel_s.starts_with("crates/") && rel_s.contains("/src/");
        let defines_variants = rel_s == "crates/medmij-types/src/rule.rs";
        modules.extend(test_modules(&text));
        for (n, line) in text.lines().enumerate() {
            let at = format!("{rel_s}:{}", n + 1);
            if line.contains("rules-check: allow") {
                continue;
            }
            for m in range_re.find_iter(line) {
                findings.insert(Finding::Range {
                    text: m
                        .as_str()
                        .trim_end_matches(|c: char| !c.is_alphanumeric())
                        .to_owned(),
                    at: at.clone(),
                });
            }
            for m in id_re.find_iter(line) {
                match m.as_str().parse::<RuleId>() {
                    Ok(r) if is_lib_src && !defines_variants => {
                        cited_in_src.insert(r);
                    }
                    Ok(_) => {}
                    Err(_) => {
                        findings.insert(Finding::Unknown {
                            id: m.as_str().to_owned(),
                            at: at.clone(),
                        });
                    }
                }
            }
            if is_lib_src && !defines_variants {
                for c in variant_re.captures_iter(line) {
                    if let Some(&r) = variant_refs.get(&c[1]) {
                        cited_in_src.insert(r);
                    }
                }
            }
        }
    }
    for &r in RuleId::ALL {
        if !cited_in_src.contains(&r) {
            findings.insert(Finding::NoItem(r));
        }
        if !modules.contains(&module_name(r)) {
            findings.insert(Finding::NoTest(r));
        }
    }
    if let Some(book) = rulebook {
        let defined = rulebook_ids(book);
        for id in &defined {
            if id.parse::<RuleId>().is_err() {
                findings.insert(Finding::MissingVariant(id.clone()));
            }
        }
        for &r in RuleId::ALL {
            if !defined.contains(r.as_str()) {
                findings.insert(Finding::ExtraVariant(r));
            }
        }
    }
    findings.into_iter().collect()
}

/// The rule IDs the rulebook defines: each rule starts a list item,
/// `- OAUTH-7 Lifetime: …` or `- LISTS-15 (2.x) …`.
pub fn rulebook_ids(book: &str) -> BTreeSet<String> {
    let re = Regex::new(r"(?m)^- ((?:LISTS|OAUTH|TLS|CONSENT|LOG)-[0-9]+)\b")
        .unwrap_or_else(|_| unreachable!("constant pattern"));
    re.captures_iter(book).map(|c| c[1].to_owned()).collect()
}

/// The verdict against the baseline: findings that are not in it, and
/// baseline lines that are no longer findings (stale: remove them).
#[derive(Debug, Default)]
pub struct Verdict {
    /// Findings not covered by the baseline.
    pub new: Vec<Finding>,
    /// Baseline lines that no longer hold.
    pub stale: Vec<String>,
    /// Findings the baseline covers (known, planned gaps).
    pub known: Vec<Finding>,
}

impl Verdict {
    /// True if the check passes.
    pub fn ok(&self) -> bool {
        self.new.is_empty() && self.stale.is_empty()
    }
}

/// Compares findings with the baseline text (one key a line; `#` comments).
pub fn judge(findings: Vec<Finding>, baseline: &str) -> Verdict {
    let base: BTreeSet<&str> = baseline
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut v = Verdict::default();
    let mut seen = BTreeSet::new();
    for f in findings {
        match f.key() {
            Some(k) if base.contains(k.as_str()) => {
                seen.insert(k);
                v.known.push(f);
            }
            _ => v.new.push(f),
        }
    }
    v.stale = base
        .into_iter()
        .filter(|k| !seen.contains(*k))
        .map(str::to_owned)
        .collect();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(files: &[(&str, &str)]) -> Vec<Finding> {
        let dir = std::env::temp_dir().join(format!(
            "xtask-rules-{}-{}",
            std::process::id(),
            files.len()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (p, t) in files {
            let path = dir.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, t).unwrap();
        }
        let f = check(&dir, None);
        std::fs::remove_dir_all(&dir).unwrap();
        f
    }

    #[test]
    fn ranges_and_lists_are_found() {
        let f = scan(&[(
            "crates/a/src/lib.rs",
            "// MedMij OAUTH-3..5 and TLS-1 to TLS-4\n// OAUTH-1, 3, 4 here\n// OAUTH-3, OAUTH-4 fine\n// LISTS-5, 3 to 50 characters\n",
        )]);
        let ranges: Vec<String> = f
            .iter()
            .filter_map(|x| match x {
                Finding::Range { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(ranges.len(), 4, "{ranges:?}");
        assert!(ranges.iter().any(|r| r.starts_with("OAUTH-3..5")));
        assert!(ranges.iter().any(|r| r.starts_with("TLS-1 to TLS-4")));
        assert!(ranges.iter().any(|r| r.starts_with("OAUTH-1, 3")));
        assert!(ranges.iter().any(|r| r.starts_with("LISTS-5, 3")));
    }

    #[test]
    fn unknown_ids_items_and_test_modules() {
        let f = scan(&[
            (
                "crates/a/src/lib.rs",
                "// OAUTH-99\n// MedMij OAUTH-7\nconst R: RuleId = RuleId::Lists2;\n",
            ),
            ("crates/a/tests/t.rs", "mod oauth_7 {}\nmod lists_2;\n"),
        ]);
        assert!(f.contains(&Finding::Unknown {
            id: "OAUTH-99".into(),
            at: "crates/a/src/lib.rs:1".into()
        }));
        assert!(!f.contains(&Finding::NoItem(RuleId::Oauth7)));
        assert!(!f.contains(&Finding::NoItem(RuleId::Lists2)));
        assert!(!f.contains(&Finding::NoTest(RuleId::Oauth7)));
        assert!(!f.contains(&Finding::NoTest(RuleId::Lists2)));
        assert!(f.contains(&Finding::NoItem(RuleId::Tls3)));
        assert!(f.contains(&Finding::NoTest(RuleId::Tls3)));
    }

    #[test]
    fn baseline_is_exact() {
        let findings = vec![
            Finding::NoTest(RuleId::Oauth7),
            Finding::NoItem(RuleId::Log2),
        ];
        let v = judge(findings.clone(), "# gaps\nno-test OAUTH-7\nno-item LOG-2\n");
        assert!(v.ok());
        let v = judge(findings.clone(), "no-test OAUTH-7\n");
        assert!(!v.ok());
        assert_eq!(v.new, vec![Finding::NoItem(RuleId::Log2)]);
        let v = judge(findings, "no-test OAUTH-7\nno-item LOG-2\nno-test TLS-1\n");
        assert_eq!(v.stale, vec!["no-test TLS-1".to_owned()]);
    }

    #[test]
    fn rulebook_ids_are_read_from_list_items() {
        let ids = rulebook_ids(
            "- LISTS-1 ZAL: x\n- OAUTH-19 (2.x) y\n  - OAUTH-3 not a rule start\ntext OAUTH-4\n",
        );
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["LISTS-1", "OAUTH-19"]);
    }
}
