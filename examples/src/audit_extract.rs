//! The `audit extract` and `audit verify-extract` commands (MedMij LOG-5):
//! hand over the entries of one person or one period as an extract the
//! receiver verifies on its own.
//!
//! ```text
//! audit extract (--subject ID | --from T --until T | both) --sign-key-file KEYFILE FILE [--key HEX]... > extract.json
//! audit verify-extract EXTRACT.json --key HEX [--key HEX]...
//! ```
//!
//! `KEYFILE` holds the log's Ed25519 secret key as 64 hex digits (the key
//! its checkpoints are signed with); the extract is signed with it.
//! `--key` pins the public key(s) accepted; `verify-extract` requires at
//! least one. Exit status: 0 on success, 1 when the log or the extract does
//! not verify, 2 on usage or I/O errors.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use ed25519_dalek::{SigningKey, VerifyingKey};
use medmij_log::{
    Domain, Extract, LogError, Selection, SubjectId, Trust, extract, format_time, parse_time,
    verify_extract,
};

fn hex32(h: &str, what: &str) -> Result<[u8; 32], String> {
    let h = h.trim();
    let bytes: Option<Vec<u8>> = (0..h.len())
        .step_by(2)
        .map(|i| h.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect();
    bytes
        .and_then(|b| b.try_into().ok())
        .ok_or(format!("{what} takes 64 hex digits"))
}

fn parse_when(s: &str) -> Result<SystemTime, String> {
    parse_time(s)
        .or_else(|| parse_time(&format!("{s}T00:00:00.000000Z")))
        .ok_or_else(|| format!("not a date or date-time: {s:?}"))
}

#[derive(Default)]
struct Opts {
    file: Option<PathBuf>,
    keys: Vec<VerifyingKey>,
    sign_key: Option<PathBuf>,
    subject: Option<String>,
    from: Option<SystemTime>,
    until: Option<SystemTime>,
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--key" => {
                let arr = hex32(&value("--key")?, "--key")?;
                o.keys
                    .push(VerifyingKey::from_bytes(&arr).map_err(|e| format!("--key: {e}"))?);
            }
            "--sign-key-file" => o.sign_key = Some(PathBuf::from(value("--sign-key-file")?)),
            "--subject" => o.subject = Some(value("--subject")?),
            "--from" => o.from = Some(parse_when(&value("--from")?)?),
            "--until" => o.until = Some(parse_when(&value("--until")?)?),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            f => {
                if o.file.replace(PathBuf::from(f)).is_some() {
                    return Err("more than one FILE".into());
                }
            }
        }
    }
    Ok(o)
}

/// Runs `extract` or `verify-extract` (`args[0]`), writing the result to
/// `out` and messages to `err`; returns the exit status (0 ok, 1 does not
/// verify, 2 usage or I/O error).
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run_inner(args, out, err) {
        Ok(code) => code,
        Err(msg) => {
            let _ = writeln!(err, "audit: {msg}");
            2
        }
    }
}

fn run_inner(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, String> {
    let (cmd, rest) = args.split_first().ok_or("no command")?;
    let o = parse_opts(rest)?;
    let file = o.file.clone().ok_or("no FILE")?;
    let io = |e: std::io::Error| e.to_string();
    match cmd.as_str() {
        "extract" => {
            let key_file = o
                .sign_key
                .as_ref()
                .ok_or("extract needs --sign-key-file (the log's signing key)")?;
            let hex = std::fs::read_to_string(key_file)
                .map_err(|e| format!("{}: {e}", key_file.display()))?;
            let key = SigningKey::from_bytes(&hex32(&hex, "the signing key file")?);
            let subject = o
                .subject
                .as_ref()
                .map(|s| SubjectId::new(s.as_str(), Domain::Zorgaanbieder))
                .transpose()
                .map_err(|e| e.to_string())?;
            if subject.is_none() && o.from.is_none() && o.until.is_none() {
                return Err("extract needs --subject ID or --from T --until T".into());
            }
            let selection = Selection {
                subject,
                from: o.from,
                until: o.until,
            };
            let trust = if o.keys.is_empty() {
                Trust::Keys(vec![key.verifying_key()])
            } else {
                Trust::Keys(o.keys.clone())
            };
            let f = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            match extract(
                std::io::BufReader::with_capacity(1 << 20, f),
                trust,
                &selection,
                &key,
                SystemTime::now(),
            ) {
                Ok(x) => {
                    writeln!(out, "{}", x.to_json()).map_err(io)?;
                    Ok(0)
                }
                Err(e @ (LogError::Corrupt { .. } | LogError::Unsigned { .. })) => {
                    writeln!(err, "FAILED {}: {e}", file.display()).map_err(io)?;
                    Ok(1)
                }
                Err(e) => Err(e.to_string()),
            }
        }
        "verify-extract" => {
            if o.keys.is_empty() {
                return Err("verify-extract needs --key HEX (the log keeper's public key)".into());
            }
            let json =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let result =
                Extract::from_json(&json).and_then(|x| verify_extract(&x, &Trust::Keys(o.keys)));
            match result {
                Ok(r) => {
                    writeln!(
                        out,
                        "OK {}: {} selected events, entries {}..{} covered ({} omitted, {} checkpoints), head {}, made {}",
                        file.display(),
                        r.events.len(),
                        r.first_seq,
                        r.through_seq,
                        r.omitted,
                        r.checkpoints,
                        r.head,
                        format_time(r.created)
                    )
                    .map_err(io)?;
                    for (seq, e) in &r.events {
                        writeln!(
                            out,
                            "{seq}\t{}\t{}\t{}",
                            format_time(e.time),
                            e.event_type,
                            e.id
                        )
                        .map_err(io)?;
                    }
                    Ok(0)
                }
                Err(e) => {
                    writeln!(out, "FAILED {}: {e}", file.display()).map_err(io)?;
                    Ok(1)
                }
            }
        }
        other => Err(format!("unknown command {other:?}")),
    }
}
