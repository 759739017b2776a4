//! `lists`: validate, summarise and compare MedMij list files.
//!
//! ```text
//! cargo run --release -p medmij-examples --example lists -- validate FILE...
//! cargo run --release -p medmij-examples --example lists -- show FILE
//! cargo run --release -p medmij-examples --example lists -- diff OLD NEW
//! ```
//!
//! `validate` prints `FILE: ok` or one line per error
//! (`FILE:LINE:COLUMN: path: message (MedMij RULE)`), and exits 0 when all
//! files are valid, 1 when any is invalid, 2 on usage or I/O errors.

use medmij_lists::{AnyList, ParseOptions, parse_any};
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

const USAGE: &str =
    "usage: lists validate FILE...\n       lists show FILE\n       lists diff OLD NEW";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("validate") if args.len() >= 2 => validate(&args[1..]),
        Some("show") if args.len() == 2 => match load(&args[1]) {
            Ok(list) => {
                show(&args[1], &list);
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Some("diff") if args.len() == 3 => match (load(&args[1]), load(&args[2])) {
            (Ok(old), Ok(new)) => diff(&old, &new),
            (Err(code), _) | (_, Err(code)) => code,
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn validate(files: &[String]) -> ExitCode {
    let opts = ParseOptions::default();
    let mut invalid = false;
    let mut io_error = false;
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                println!("{file}: error: {e}");
                io_error = true;
                continue;
            }
        };
        match parse_any(&bytes, &opts) {
            Ok(_) => println!("{file}: ok"),
            Err(errors) => {
                invalid = true;
                for e in errors.errors() {
                    println!("{file}:{e}");
                }
            }
        }
    }
    if io_error {
        ExitCode::from(2)
    } else if invalid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Reads and parses a file for `show` and `diff`; prints the problem and
/// gives the exit code (1 invalid, 2 unreadable) on failure.
fn load(file: &str) -> Result<AnyList, ExitCode> {
    let bytes = std::fs::read(file).map_err(|e| {
        eprintln!("{file}: error: {e}");
        ExitCode::from(2)
    })?;
    parse_any(&bytes, &ParseOptions::default()).map_err(|errors| {
        for e in errors.errors() {
            eprintln!("{file}:{e}");
        }
        ExitCode::from(1)
    })
}

fn show(file: &str, list: &AnyList) {
    println!("{file}: {} ({})", list.kind().root_element(), list.kind());
    println!("  Tijdstempel  {}", list.tijdstempel());
    println!("  Volgnummer   {}", list.volgnummer());
    match list {
        AnyList::Zal(zal) => {
            let diensten: usize = zal
                .zorgaanbieders()
                .iter()
                .map(|z| z.gegevensdiensten().len())
                .sum();
            let rollen: usize = zal
                .zorgaanbieders()
                .iter()
                .flat_map(|z| z.gegevensdiensten())
                .map(|g| g.systeemrollen().len())
                .sum();
            println!(
                "  Zorgaanbieders {}, Gegevensdiensten {diensten}, Systeemrollen {rollen}",
                zal.len()
            );
            for z in zal.zorgaanbieders().iter().take(10) {
                let ids: Vec<&str> = z
                    .gegevensdiensten()
                    .iter()
                    .map(|g| g.id().as_str())
                    .collect();
                println!("    {} [{}]", z.naam(), ids.join(", "));
            }
            if zal.len() > 10 {
                println!("    … {} more", zal.len() - 10);
            }
        }
        AnyList::Ocl(ocl) => {
            println!("  OAuthclients {}", ocl.len());
            for c in ocl.clients().iter().take(10) {
                println!("    {} ({})", c.hostname(), c.organisatienaam());
            }
        }
        AnyList::Gnl(gnl) => {
            println!("  Gegevensdiensten {}", gnl.len());
            for e in gnl.entries().iter().take(20) {
                println!("    {}: {}", e.id(), e.weergavenaam());
            }
        }
        AnyList::Whl(whl) => {
            println!("  MedMijNodes {}", whl.len());
            for n in whl.nodes().iter().take(10) {
                println!("    {n}");
            }
        }
    }
}

/// Prints the added (+), removed (-) and changed (~) entries of two maps.
fn diff_maps(what: &str, old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> usize {
    let mut n = 0;
    for (k, v) in new {
        match old.get(k) {
            None => println!("+ {what} {k}: {v}"),
            Some(o) if o != v => println!("~ {what} {k}: {o} -> {v}"),
            Some(_) => continue,
        }
        n += 1;
    }
    for (k, v) in old {
        if !new.contains_key(k) {
            println!("- {what} {k}: {v}");
            n += 1;
        }
    }
    n
}

fn diff(old: &AnyList, new: &AnyList) -> ExitCode {
    if old.kind() != new.kind() {
        eprintln!("cannot compare a {} with a {}", old.kind(), new.kind());
        return ExitCode::from(2);
    }
    let step = match (old.volgnummer().as_u64(), new.volgnummer().as_u64()) {
        (Some(a), Some(b)) => format!(" ({:+})", i128::from(b) - i128::from(a)),
        _ => String::new(),
    };
    let direction = if new.volgnummer() > old.volgnummer() {
        "newer"
    } else {
        "NOT newer: a store refuses it (MedMij LISTS-9)"
    };
    println!(
        "{} Volgnummer {} -> {}{step}, {direction}",
        old.kind(),
        old.volgnummer(),
        new.volgnummer()
    );
    let changes = match (old, new) {
        (AnyList::Zal(a), AnyList::Zal(b)) => {
            let providers = |l: &medmij_lists::Zorgaanbiederslijst| -> BTreeSet<String> {
                l.zorgaanbieders()
                    .iter()
                    .map(|z| z.naam().to_string())
                    .collect()
            };
            let entries = |l: &medmij_lists::Zorgaanbiederslijst| -> BTreeMap<String, String> {
                let mut m = BTreeMap::new();
                for z in l.zorgaanbieders() {
                    for g in z.gegevensdiensten() {
                        let key = format!("{}~{}", z.naam(), g.id());
                        m.insert(
                            format!("{key} authorization"),
                            g.authorization_endpoint().to_string(),
                        );
                        m.insert(format!("{key} token"), g.token_endpoint().to_string());
                        for s in g.systeemrollen() {
                            m.insert(
                                format!("{key} resource {}", s.code()),
                                s.resource_endpoint().to_string(),
                            );
                        }
                    }
                }
                m
            };
            let (pa, pb) = (providers(a), providers(b));
            let mut n = 0;
            for p in pb.difference(&pa) {
                println!("+ Zorgaanbieder {p}");
                n += 1;
            }
            for p in pa.difference(&pb) {
                println!("- Zorgaanbieder {p}");
                n += 1;
            }
            let dienst = |l: &medmij_lists::Zorgaanbiederslijst| -> BTreeMap<String, String> {
                l.zorgaanbieders()
                    .iter()
                    .flat_map(|z| {
                        z.gegevensdiensten().iter().map(move |g| {
                            (format!("{}~{}", z.naam(), g.id()), String::from("offered"))
                        })
                    })
                    .collect()
            };
            n += diff_maps("Gegevensdienst", &dienst(a), &dienst(b));
            n + diff_maps("endpoint", &entries(a), &entries(b))
        }
        (AnyList::Ocl(a), AnyList::Ocl(b)) => {
            let m = |l: &medmij_lists::OAuthclientlist| -> BTreeMap<String, String> {
                l.clients()
                    .iter()
                    .map(|c| (c.hostname().to_string(), c.organisatienaam().to_string()))
                    .collect()
            };
            diff_maps("OAuthclient", &m(a), &m(b))
        }
        (AnyList::Gnl(a), AnyList::Gnl(b)) => {
            let m = |l: &medmij_lists::Gegevensdienstnamenlijst| -> BTreeMap<String, String> {
                l.entries()
                    .iter()
                    .map(|e| (e.id().to_string(), e.weergavenaam().to_string()))
                    .collect()
            };
            diff_maps("Gegevensdienst", &m(a), &m(b))
        }
        (AnyList::Whl(a), AnyList::Whl(b)) => {
            let m = |l: &medmij_lists::Whitelist| -> BTreeMap<String, String> {
                l.nodes()
                    .iter()
                    .map(|h| (h.to_string(), String::from("whitelisted")))
                    .collect()
            };
            diff_maps("MedMijNode", &m(a), &m(b))
        }
        _ => 0,
    };
    println!("{changes} change(s)");
    ExitCode::SUCCESS
}
