//! The `lists` CLI: validate, summarise and compare MedMij list files
//! (medmij-lists). `examples/lists.rs` is its thin `main`.

use medmij_lists::{
    AnyList, Gegevensdienst, ParseOptions, ZalRelease, Zorgaanbiederslijst, parse_any,
};
use std::collections::BTreeMap;
use std::io::Write;

/// Usage text.
pub const USAGE: &str =
    "usage: lists validate FILE...\n       lists show FILE\n       lists diff OLD NEW";

/// Runs the CLI with `args` (without the program name), writing to `out`
/// and `err`; returns the exit code: 0 all valid, 1 any invalid, 2 usage or
/// I/O error.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match args.first().map(String::as_str) {
        Some("validate") if args.len() >= 2 => validate(&args[1..], out),
        Some("show") if args.len() == 2 => match load(&args[1], err) {
            Ok(list) => {
                show(&args[1], &list, out);
                0
            }
            Err(code) => code,
        },
        Some("diff") if args.len() == 3 => match (load(&args[1], err), load(&args[2], err)) {
            (Ok(old), Ok(new)) => diff(&old, &new, out, err),
            (Err(code), _) | (_, Err(code)) => code,
        },
        _ => {
            let _ = writeln!(err, "{USAGE}");
            2
        }
    }
}

fn validate(files: &[String], out: &mut dyn Write) -> u8 {
    let opts = ParseOptions::default();
    let mut invalid = false;
    let mut io_error = false;
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(out, "{file}: error: {e}");
                io_error = true;
                continue;
            }
        };
        match parse_any(&bytes, &opts) {
            Ok(_) => {
                let _ = writeln!(out, "{file}: ok");
            }
            Err(errors) => {
                invalid = true;
                for e in errors.errors() {
                    let _ = writeln!(out, "{file}:{e}");
                }
            }
        }
    }
    if io_error {
        2
    } else if invalid {
        1
    } else {
        0
    }
}

/// Reads and parses a file for `show` and `diff`; prints the problem and
/// gives the exit code (1 invalid, 2 unreadable) on failure.
fn load(file: &str, err: &mut dyn Write) -> Result<AnyList, u8> {
    let bytes = std::fs::read(file).map_err(|e| {
        let _ = writeln!(err, "{file}: error: {e}");
        2
    })?;
    parse_any(&bytes, &ParseOptions::default()).map_err(|errors| {
        for e in errors.errors() {
            let _ = writeln!(err, "{file}:{e}");
        }
        1
    })
}

fn show(file: &str, list: &AnyList, out: &mut dyn Write) {
    let _ = writeln!(
        out,
        "{file}: {} ({})",
        list.kind().root_element(),
        list.kind()
    );
    let _ = writeln!(out, "  Tijdstempel  {}", list.tijdstempel());
    let _ = writeln!(out, "  Volgnummer   {}", list.volgnummer());
    match list {
        AnyList::Zal(zal) => {
            let release = zal.release();
            let line = match release {
                ZalRelease::Release2 => "1.x",
                _ => "2.x",
            };
            let _ = writeln!(out, "  Release      {release} ({line})");
            let versies: usize = zal
                .zorgaanbieders()
                .iter()
                .map(|z| z.interfaceversies().len())
                .sum();
            let diensten: usize = zal
                .zorgaanbieders()
                .iter()
                .map(|z| z.gegevensdiensten().count())
                .sum();
            let rollen: usize = zal
                .zorgaanbieders()
                .iter()
                .flat_map(|z| z.gegevensdiensten())
                .map(|g| g.systeemrollen().len())
                .sum();
            let versies = if release == ZalRelease::Release2 {
                String::new()
            } else {
                format!("Interfaceversies {versies}, ")
            };
            let _ = writeln!(
                out,
                "  Zorgaanbieders {}, {versies}Gegevensdiensten {diensten}, Systeemrollen {rollen}",
                zal.len()
            );
            for z in zal.zorgaanbieders().iter().take(10) {
                let per_versie: Vec<String> = z
                    .interfaceversies()
                    .iter()
                    .map(|v| {
                        let ids: Vec<&str> = v
                            .gegevensdiensten()
                            .iter()
                            .map(|g| g.id().as_str())
                            .collect();
                        match v.id() {
                            Some(id) => format!("{id} [{}]", ids.join(", ")),
                            None => format!("[{}]", ids.join(", ")),
                        }
                    })
                    .collect();
                match z.aanbiedertype() {
                    Some(t) => {
                        let _ = writeln!(out, "    {} ({t}) {}", z.naam(), per_versie.join("; "));
                    }
                    None => {
                        let _ = writeln!(out, "    {} {}", z.naam(), per_versie.join("; "));
                    }
                }
            }
            if zal.len() > 10 {
                let _ = writeln!(out, "    … {} more", zal.len() - 10);
            }
        }
        AnyList::Ocl(ocl) => {
            let _ = writeln!(out, "  OAuthclients {}", ocl.len());
            for c in ocl.clients().iter().take(10) {
                let _ = writeln!(out, "    {} ({})", c.hostname(), c.organisatienaam());
            }
        }
        AnyList::Gnl(gnl) => {
            let _ = writeln!(out, "  Gegevensdiensten {}", gnl.len());
            for e in gnl.entries().iter().take(20) {
                let _ = writeln!(out, "    {}: {}", e.id(), e.weergavenaam());
            }
        }
        AnyList::Whl(whl) => {
            let _ = writeln!(out, "  MedMijNodes {}", whl.len());
            for n in whl.nodes().iter().take(10) {
                let _ = writeln!(out, "    {n}");
            }
        }
    }
}

/// Prints the added (+), removed (-) and changed (~) entries of two maps.
fn diff_maps(
    out: &mut dyn Write,
    what: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> usize {
    let mut n = 0;
    for (k, v) in new {
        match old.get(k) {
            None => {
                let _ = writeln!(out, "+ {what} {k}: {v}");
            }
            Some(o) if o != v => {
                let _ = writeln!(out, "~ {what} {k}: {o} -> {v}");
            }
            Some(_) => continue,
        }
        n += 1;
    }
    for (k, v) in old {
        if !new.contains_key(k) {
            let _ = writeln!(out, "- {what} {k}: {v}");
            n += 1;
        }
    }
    n
}

fn diff(old: &AnyList, new: &AnyList, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if old.kind() != new.kind() {
        let _ = writeln!(err, "cannot compare a {} with a {}", old.kind(), new.kind());
        return 2;
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
    let _ = writeln!(
        out,
        "{} Volgnummer {} -> {}{step}, {direction}",
        old.kind(),
        old.volgnummer(),
        new.volgnummer()
    );
    let changes = match (old, new) {
        (AnyList::Zal(a), AnyList::Zal(b)) => {
            if a.release() != b.release() {
                let _ = writeln!(out, "ZAL {} -> {}", a.release(), b.release());
            }
            let providers = |l: &Zorgaanbiederslijst| -> BTreeMap<String, String> {
                l.zorgaanbieders()
                    .iter()
                    .map(|z| {
                        let t = z.aanbiedertype().map_or("", |t| t.as_str());
                        (z.naam().to_string(), t.to_owned())
                    })
                    .collect()
            };
            // (naam~id or naam~id@versie, Gegevensdienst) of every entry.
            let keyed = |l: &Zorgaanbiederslijst| -> Vec<(String, Gegevensdienst)> {
                let mut v = Vec::new();
                for z in l.zorgaanbieders() {
                    for iv in z.interfaceversies() {
                        for g in iv.gegevensdiensten() {
                            let key = match iv.id() {
                                Some(id) => format!("{}~{}@{id}", z.naam(), g.id()),
                                None => format!("{}~{}", z.naam(), g.id()),
                            };
                            v.push((key, g.clone()));
                        }
                    }
                }
                v
            };
            let entries = |l: &Zorgaanbiederslijst| -> BTreeMap<String, String> {
                let mut m = BTreeMap::new();
                for (key, g) in keyed(l) {
                    if let Some(e) = g.authorization_endpoint() {
                        m.insert(format!("{key} authorization"), e.to_string());
                    }
                    if let Some(e) = g.token_endpoint() {
                        m.insert(format!("{key} token"), e.to_string());
                    }
                    if let Some(ab) = g.abonneren() {
                        m.insert(
                            format!("{key} abonneren"),
                            format!(
                                "{} days at {}",
                                ab.maximale_duur(),
                                ab.subscription_endpoint()
                            ),
                        );
                    }
                    for s in g.systeemrollen() {
                        m.insert(
                            format!("{key} resource {}", s.code()),
                            s.resource_endpoint().to_string(),
                        );
                    }
                }
                m
            };
            let (pa, pb) = (providers(a), providers(b));
            let mut n = 0;
            for p in pb.keys().filter(|p| !pa.contains_key(*p)) {
                let _ = writeln!(out, "+ Zorgaanbieder {p}");
                n += 1;
            }
            for p in pa.keys().filter(|p| !pb.contains_key(*p)) {
                let _ = writeln!(out, "- Zorgaanbieder {p}");
                n += 1;
            }
            let types = |m: &BTreeMap<String, String>, other: &BTreeMap<String, String>| {
                m.iter()
                    .filter(|(k, _)| other.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<BTreeMap<_, _>>()
            };
            n += diff_maps(out, "Aanbiedertype", &types(&pa, &pb), &types(&pb, &pa));
            let dienst = |l: &Zorgaanbiederslijst| -> BTreeMap<String, String> {
                keyed(l)
                    .into_iter()
                    .map(|(k, _)| (k, String::from("offered")))
                    .collect()
            };
            n += diff_maps(out, "Gegevensdienst", &dienst(a), &dienst(b));
            n + diff_maps(out, "endpoint", &entries(a), &entries(b))
        }
        (AnyList::Ocl(a), AnyList::Ocl(b)) => {
            let m = |l: &medmij_lists::OAuthclientlist| -> BTreeMap<String, String> {
                l.clients()
                    .iter()
                    .map(|c| (c.hostname().to_string(), c.organisatienaam().to_string()))
                    .collect()
            };
            diff_maps(out, "OAuthclient", &m(a), &m(b))
        }
        (AnyList::Gnl(a), AnyList::Gnl(b)) => {
            let m = |l: &medmij_lists::Gegevensdienstnamenlijst| -> BTreeMap<String, String> {
                l.entries()
                    .iter()
                    .map(|e| (e.id().to_string(), e.weergavenaam().to_string()))
                    .collect()
            };
            diff_maps(out, "Gegevensdienst", &m(a), &m(b))
        }
        (AnyList::Whl(a), AnyList::Whl(b)) => {
            let m = |l: &medmij_lists::Whitelist| -> BTreeMap<String, String> {
                l.nodes()
                    .iter()
                    .map(|h| (h.to_string(), String::from("whitelisted")))
                    .collect()
            };
            diff_maps(out, "MedMijNode", &m(a), &m(b))
        }
        _ => 0,
    };
    let _ = writeln!(out, "{changes} change(s)");
    0
}
