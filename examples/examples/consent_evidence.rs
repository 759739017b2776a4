//! The consent evidence on the command line (MedMij CONSENT-5): export one
//! person's decisions from a ledger as a signed document, and verify such a
//! document the way the Zorgaanbieder does, on its own.
//!
//! ```text
//! cargo run -p medmij-examples --example consent_evidence -- export LEDGER --person ID --key-file FILE [--trust HEX]... [--enc-key-file FILE] [--out FILE]
//! cargo run -p medmij-examples --example consent_evidence -- verify EXPORT [--public-key HEX]
//! ```
//!
//! `--key-file` holds the DVZA's Ed25519 key as 64 hex digits (the seed);
//! the ledger must be signed with it or with a key named by `--trust` (an
//! Ed25519 public key, 64 hex digits; repeat it for keys used before a key
//! rotation). `--enc-key-file` holds the 32-byte
//! key (64 hex digits) of a ledger encrypted at rest (MedMij TLS-5).
//! `--public-key` pins the DVZA's Ed25519 public key (64 hex digits);
//! without it, the export is checked against the key it names (integrity
//! only). Exit status: 0 when the export was written or verifies, 1 when it
//! does not verify, 2 on usage errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use ed25519_dalek::{SigningKey, VerifyingKey};
use medmij_consent::evidence::{
    EvidenceCipher, EvidenceExport, PersonId, lookup_file, verify_export,
};

const USAGE: &str = "usage: consent_evidence export LEDGER --person ID --key-file FILE [--trust HEX]... [--enc-key-file FILE] [--out FILE]\n       consent_evidence verify EXPORT [--public-key HEX]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = run(&args, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code)
}

fn hex32(s: &str, what: &str) -> Result<[u8; 32], String> {
    let s = s.trim();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{what}: expected 64 hex digits"));
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(out)
}

fn read_hex32(path: &str, what: &str) -> Result<[u8; 32], String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{what} {path}: {e}"))?;
    hex32(&text, what)
}

#[derive(Default)]
struct Opts {
    file: Option<String>,
    person: Option<String>,
    key_file: Option<String>,
    enc_key_file: Option<String>,
    out: Option<String>,
    public_key: Option<String>,
    trust: Vec<String>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--person" => o.person = Some(value("--person")?),
            "--key-file" => o.key_file = Some(value("--key-file")?),
            "--enc-key-file" => o.enc_key_file = Some(value("--enc-key-file")?),
            "--out" => o.out = Some(value("--out")?),
            "--public-key" => o.public_key = Some(value("--public-key")?),
            "--trust" => o.trust.push(value("--trust")?),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s if o.file.is_none() => o.file = Some(s.to_string()),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    Ok(o)
}

/// Runs the CLI; returns the exit status (0 ok, 1 does not verify, 2 usage).
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run_inner(args, out) {
        Ok(code) => code,
        Err((code, msg)) => {
            let _ = writeln!(err, "consent_evidence: {msg}");
            if code == 2 {
                let _ = writeln!(err, "{USAGE}");
            }
            code
        }
    }
}

fn run_inner(args: &[String], out: &mut dyn Write) -> Result<u8, (u8, String)> {
    let usage = |m: String| (2u8, m);
    let (cmd, rest) = args
        .split_first()
        .ok_or_else(|| usage("no command".into()))?;
    let o = parse(rest).map_err(usage)?;
    let file = o
        .file
        .clone()
        .ok_or_else(|| usage("no file given".into()))?;
    match cmd.as_str() {
        "export" => {
            let person = PersonId::new(
                o.person
                    .clone()
                    .ok_or_else(|| usage("--person is required".into()))?,
            )
            .map_err(|e| usage(e.to_string()))?;
            let key_file = o
                .key_file
                .clone()
                .ok_or_else(|| usage("--key-file is required".into()))?;
            let key = SigningKey::from_bytes(&read_hex32(&key_file, "key").map_err(usage)?);
            let cipher = match &o.enc_key_file {
                Some(f) => Some(EvidenceCipher::new(
                    &read_hex32(f, "encryption key").map_err(usage)?,
                )),
                None => None,
            };
            let mut trust = vec![key.verifying_key()];
            for h in &o.trust {
                trust.push(
                    VerifyingKey::from_bytes(&hex32(h, "--trust").map_err(usage)?)
                        .map_err(|e| usage(format!("--trust: {e}")))?,
                );
            }
            let records = lookup_file(&PathBuf::from(&file), trust, cipher, &person)
                .map_err(|e| (1, e.to_string()))?;
            let export = EvidenceExport::build(&person, &records, &key, SystemTime::now())
                .map_err(|e| (1, e.to_string()))?;
            match &o.out {
                Some(p) => std::fs::write(p, export.to_json())
                    .map_err(|e| (2, format!("writing {p}: {e}")))?,
                None => writeln!(out, "{}", export.to_json()).map_err(|e| (2, e.to_string()))?,
            }
            Ok(0)
        }
        "verify" => {
            let pinned = match &o.public_key {
                Some(h) => Some(
                    VerifyingKey::from_bytes(&hex32(h, "--public-key").map_err(usage)?)
                        .map_err(|e| usage(format!("--public-key: {e}")))?,
                ),
                None => None,
            };
            let json =
                std::fs::read_to_string(&file).map_err(|e| (2, format!("reading {file}: {e}")))?;
            match verify_export(&json, pinned.as_ref()) {
                Ok(v) => {
                    let _ = writeln!(
                        out,
                        "{file}: ok: {} decision(s) of {}, exported {}{}",
                        v.records.len(),
                        v.person,
                        medmij_types_rfc3339(v.exported_at),
                        if pinned.is_some() {
                            ", signed with the pinned key"
                        } else {
                            " (key not pinned: integrity only)"
                        }
                    );
                    for (seq, r) in &v.records {
                        let _ = writeln!(
                            out,
                            "  #{seq} {} {:?} {} {} {} flow {} text {}",
                            medmij_types_rfc3339(r.at),
                            r.decision,
                            r.zorgaanbieder.as_str(),
                            r.client.as_str(),
                            r.scope,
                            r.flow.as_str(),
                            r.shown.version
                        );
                    }
                    Ok(0)
                }
                Err(e) => Err((1, format!("{file}: {e}"))),
            }
        }
        other => Err(usage(format!("unknown command {other:?}"))),
    }
}

fn medmij_types_rfc3339(t: SystemTime) -> String {
    medmij_log::format_time(t)
}
