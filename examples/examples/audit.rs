//! The audit log on the command line (MedMij LOG-1, LOG-3, LOG-4, LOG-5), and where
//! `medmij-consent` meets `medmij-log`.
//!
//! ```text
//! cargo run -p medmij-examples --example audit -- verify FILE [--key HEX]...
//! cargo run -p medmij-examples --example audit -- show --subject ID [--from T] [--until T] FILE [--key HEX]...
//! cargo run -p medmij-examples --example audit -- demo FILE
//! cargo run -p medmij-examples --example audit -- extract --subject ID --sign-key-file KEYFILE FILE > extract.json
//! cargo run -p medmij-examples --example audit -- verify-extract extract.json --key HEX
//! ```
//!
//! `extract` and `verify-extract` (MedMij LOG-5) are in
//! `medmij_examples::audit_extract`: `extract` selects by `--subject ID`
//! and/or `--from T --until T` and signs with the log's secret key (64 hex
//! digits in KEYFILE); `verify-extract` checks an extract on its own against
//! the pinned `--key`.
//!
//! `--key` pins the Ed25519 public key(s), 64 hex digits, that checkpoints
//! must be signed with; without it, each signature is checked against the
//! key written next to it (integrity only). `T` is `YYYY-MM-DD` or
//! `YYYY-MM-DDThh:mm:ss.ffffffZ`. `demo` writes a small log, with a consent
//! decision (CONSENT-3) logged as an event, signed with a fixed demo key.
//! Exit status: 0 when the log verifies, 1 when it does not, 2 on usage
//! errors.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use ed25519_dalek::{SigningKey, VerifyingKey};
use medmij_consent::{
    ClientId, ConsentKind, ConsentRequest, CsrfToken, FlowId, PostedDecision, Scope, Side,
    Zorgaanbiedernaam,
};
use medmij_log::{
    Action, Actor, ActorKind, AuditSink, Domain, Event, FileLog, FileLogConfig, Object, Outcome,
    Query, Source, SubjectId, Trust, format_time, parse_time, query_file, verify_only,
};

const USAGE: &str = "usage: audit verify FILE [--key HEX]...\n       audit show --subject ID [--from T] [--until T] FILE [--key HEX]...\n       audit demo FILE\n       audit extract [--subject ID] [--from T --until T] --sign-key-file KEYFILE FILE [--key HEX]...\n       audit verify-extract EXTRACT --key HEX [--key HEX]...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(
        args.first().map(String::as_str),
        Some("extract" | "verify-extract")
    ) {
        let code = medmij_examples::audit_extract::run(
            &args,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        );
        if code == 2 {
            eprintln!("{USAGE}");
        }
        return ExitCode::from(code);
    }
    match run(&args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("audit: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

struct Opts {
    file: Option<PathBuf>,
    keys: Vec<VerifyingKey>,
    subject: Option<String>,
    from: Option<SystemTime>,
    until: Option<SystemTime>,
}

fn parse_when(s: &str) -> Result<SystemTime, String> {
    parse_time(s)
        .or_else(|| parse_time(&format!("{s}T00:00:00.000000Z")))
        .ok_or_else(|| format!("not a date or date-time: {s:?}"))
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        file: None,
        keys: Vec::new(),
        subject: None,
        from: None,
        until: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--key" => {
                let h = value("--key")?;
                let bytes: Option<Vec<u8>> = (0..h.len())
                    .step_by(2)
                    .map(|i| h.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
                    .collect();
                let arr: [u8; 32] = bytes
                    .and_then(|b| b.try_into().ok())
                    .ok_or("--key takes 64 hex digits")?;
                o.keys
                    .push(VerifyingKey::from_bytes(&arr).map_err(|e| format!("--key: {e}"))?);
            }
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

fn trust(o: &Opts) -> Trust {
    if o.keys.is_empty() {
        Trust::Embedded
    } else {
        Trust::Keys(o.keys.clone())
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let (cmd, rest) = args.split_first().ok_or("no command")?;
    let o = parse_opts(rest)?;
    let file = o.file.clone().ok_or("no FILE")?;
    match cmd.as_str() {
        "verify" => {
            let f = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            match verify_only(std::io::BufReader::with_capacity(1 << 20, f), trust(&o)) {
                Ok(r) => {
                    println!(
                        "OK {}: {} lines, {} events, {} checkpoints, entries {}..{}, last checkpoint {}, {} entries after it, head {}",
                        file.display(),
                        r.lines,
                        r.events,
                        r.checkpoints,
                        r.first_seq.map_or("-".into(), |s| s.to_string()),
                        r.last_seq.map_or("-".into(), |s| s.to_string()),
                        r.last_checkpoint.map_or("none".into(), |s| s.to_string()),
                        r.unsigned_tail,
                        r.head.as_deref().unwrap_or("-"),
                    );
                    if let Some(a) = &r.anchor {
                        println!(
                            "pruned (LOG-3): entries through {} removed, cutoff {}",
                            a.seq,
                            format_time(a.cutoff)
                        );
                    }
                    if o.keys.is_empty() {
                        println!(
                            "signatures checked against the keys in the log itself; pass --key to pin the signer"
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED {}: {e}", file.display());
                    Ok(ExitCode::from(1))
                }
            }
        }
        "show" => {
            let subject = o.subject.clone().ok_or("show needs --subject ID")?;
            let subject =
                SubjectId::new(subject, Domain::Zorgaanbieder).map_err(|e| e.to_string())?;
            let q = Query {
                subject: Some(subject),
                from: o.from,
                until: o.until,
            };
            match query_file(&file, trust(&o), &q) {
                Ok(events) => {
                    for (seq, e) in &events {
                        let json = describe(e);
                        println!("{seq}\t{}\t{json}", format_time(e.time));
                    }
                    eprintln!("{} events", events.len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        "demo" => demo(&file),
        other => Err(format!("unknown command {other:?}")),
    }
}

fn describe(e: &Event) -> String {
    format!(
        "{} {:?} {} by {} ({}) object {}:{} outcome {:?}{}",
        e.event_type,
        e.action,
        e.id,
        e.actor.id,
        e.actor.role.as_deref().unwrap_or("-"),
        e.object.kind,
        e.object.id,
        e.outcome,
        e.detail
            .as_deref()
            .map(|d| format!(" detail {d}"))
            .unwrap_or_default()
    )
}

fn demo(file: &PathBuf) -> Result<ExitCode, String> {
    let key = SigningKey::from_bytes(&[7; 32]);
    println!(
        "demo key (public): {}",
        key.verifying_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
    let (log, _) = FileLog::open(file, FileLogConfig::new(key), now).map_err(|e| e.to_string())?;
    let sink: &dyn AuditSink = &log;
    // MedMij CONSENT-3: the Bron logs the decision.
    let flow = FlowId::new("flow-demo-1").map_err(|x| x.to_string())?;
    let request = ConsentRequest {
        kind: ConsentKind::Toestemming,
        flow: flow.clone(),
        scope: "umcharderwijk~5"
            .parse::<Scope>()
            .map_err(|x| x.to_string())?,
        client: ClientId::new("pgo.example.nl").map_err(|x| x.to_string())?,
        zorgaanbieder: Zorgaanbiedernaam::new("umcharderwijk@medmij").map_err(|x| x.to_string())?,
        csrf: CsrfToken::new("demo-csrf-token-0001").map_err(|x| x.to_string())?,
        asked_at: now,
    };
    let posted = PostedDecision::from_form(
        "flow=flow-demo-1&csrf_token=demo-csrf-token-0001&decision=grant",
    )
    .map_err(|x| x.to_string())?;
    let record = request
        .decide(&posted, Side::Bron, now + Duration::from_secs(12))
        .map_err(|(_, x)| x.to_string())?;
    let subject = SubjectId::new("person-7f3a", Domain::Pgo).map_err(|x| x.to_string())?;
    let actor = Actor {
        id: "person-7f3a".into(),
        kind: ActorKind::User,
        role: None,
        on_behalf_of: None,
    };
    let source = Source {
        system: "za.umcharderwijk.example.nl".into(),
        location: Some("203.0.113.9".into()),
    };
    let events = [
        Event {
            id: "demo-1".into(),
            event_type: "consent.decision".into(),
            action: Action::Execute,
            time: record.recorded_at,
            actor: actor.clone(),
            subject: Some(subject.clone()),
            object: Object::new("consent", record.reference().as_str()),
            source: source.clone(),
            outcome: Outcome::Success,
            detail: Some(record.to_json()),
        },
        Event {
            id: "demo-2".into(),
            event_type: "fhir.read".into(),
            action: Action::Read,
            time: now + Duration::from_secs(40),
            actor: Actor {
                id: "pgo.example.nl".into(),
                kind: ActorKind::System,
                role: Some("PGO GW".into()),
                on_behalf_of: Some("person-7f3a".into()),
            },
            subject: Some(subject),
            object: Object::secret("access-token", "0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70"),
            source,
            outcome: Outcome::Success,
            detail: None,
        },
    ];
    for ev in &events {
        let seq = sink.append(ev).map_err(|x| x.to_string())?;
        println!("appended {} as entry {seq}", ev.id);
    }
    log.checkpoint(now + Duration::from_secs(60))
        .map_err(|x| x.to_string())?;
    println!("wrote {}", file.display());
    Ok(ExitCode::SUCCESS)
}
