//! The MedMij demo network: UCI Verzamelen end to end on loopback, with real
//! mutual TLS, OCSP, the four lists, consent, provenance and NEN 7513 logs.
//!
//! ```text
//! cargo run -p medmij-examples --example demo            # the happy flow
//! cargo run -p medmij-examples --example demo -- --refuse          # OAUTH-12 case 4
//! cargo run -p medmij-examples --example demo -- --replay-code     # OAUTH-8, case 6
//! cargo run -p medmij-examples --example demo -- --not-whitelisted # TLS-4
//! cargo run -p medmij-examples --example demo -- --no-data         # OAUTH-12 case 3
//! cargo run -p medmij-examples --example demo -- --revoked-cert    # TLS-3
//! cargo run -p medmij-examples --example demo -- --expired-token   # OAUTH-7, case 7
//! cargo run -p medmij-examples --example demo -- --stale-list      # LISTS-8, LISTS-9
//! cargo run -p medmij-examples --example demo -- --no-login        # OAUTH-12 case 2
//! cargo run -p medmij-examples --example demo -- --bsn-in-payload  # OAUTH-16
//! cargo run -p medmij-examples --example demo -- --withdrawn-service # LISTS-13, LISTS-10
//! cargo run -p medmij-examples --example demo -- --publish-invalid # LISTS-14, LISTS-11
//! cargo run -p medmij-examples --example demo -- --move-dossier    # CONSENT-7
//! cargo run -p medmij-examples --example demo -- --multi           # OAUTH-5, OAUTH-17
//! cargo run -p medmij-examples --example demo -- --release 2       # OAUTH-19, OAUTH-22, LOG-6
//! cargo run -p medmij-examples --example demo -- --refresh-replay  # OAUTH-19
//! cargo run --release -p medmij-examples --example demo -- --bench 1000
//! cargo run --release -p medmij-examples --example demo -- --bench 1000 --concurrency 64
//! cargo run -p medmij-examples --example demo -- --serve           # walk it in a real browser
//! cargo run -p medmij-examples --example demo -- --serve --keep    # ... and keep its files
//! ```
//!
//! The network writes its NEN 7513 logs (and, with `--serve`, the test root and
//! the PGO GW's test certificate chain and key) into a temporary directory,
//! which is removed on exit (also on Ctrl-C or SIGTERM with `--serve`). With
//! `--keep` (allowed with every other flag) the directory stays; its path is
//! printed either way.

use std::process::ExitCode;
use std::sync::Arc;

use medmij_examples::demo::{
    ConsentChoice, DemoError, LEZER, Limits, List, ListChange, Network, PGO_HOST, ZA_HOST,
    ZA2_HOST, ZORGAANBIEDER_2X,
};

/// Which path to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Happy,
    Refuse,
    ReplayCode,
    NotWhitelisted,
    NoData,
    RevokedCert,
    ExpiredToken,
    StaleList,
    NoLogin,
    BsnInPayload,
    WithdrawnService,
    PublishInvalid,
    MoveDossier,
    Multi,
    Release2,
    RefreshReplay,
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let keep = args.iter().any(|a| a == "--keep");
    args.retain(|a| a != "--keep");
    let bench_args = match &args[..] {
        [flag, n] if flag == "--bench" => Some((n.parse(), Ok(1))),
        [flag, n, c, k] if flag == "--bench" && c == "--concurrency" => {
            Some((n.parse(), k.parse()))
        }
        _ => None,
    };
    if let Some((n, c)) = bench_args {
        let r = match (n, c) {
            (Ok(n), Ok(c)) if n > 0 && c > 0 => bench(n, c, keep).await,
            _ => Err("usage: demo --bench N [--concurrency C]".into()),
        };
        return match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args == ["--serve"] {
        return match serve(keep).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("serve failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mode = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Mode::Happy,
        ["--refuse"] => Mode::Refuse,
        ["--replay-code"] => Mode::ReplayCode,
        ["--not-whitelisted"] => Mode::NotWhitelisted,
        ["--no-data"] => Mode::NoData,
        ["--revoked-cert"] => Mode::RevokedCert,
        ["--expired-token"] => Mode::ExpiredToken,
        ["--stale-list"] => Mode::StaleList,
        ["--no-login"] => Mode::NoLogin,
        ["--bsn-in-payload"] => Mode::BsnInPayload,
        ["--withdrawn-service"] => Mode::WithdrawnService,
        ["--publish-invalid"] => Mode::PublishInvalid,
        ["--move-dossier"] => Mode::MoveDossier,
        ["--multi"] => Mode::Multi,
        ["--release", "2"] => Mode::Release2,
        ["--refresh-replay"] => Mode::RefreshReplay,
        _ => {
            eprintln!(
                "usage: demo [--refuse | --replay-code | --not-whitelisted | --no-data | \
                 --revoked-cert | --expired-token | --stale-list | --no-login | --bsn-in-payload | --withdrawn-service | --publish-invalid | --move-dossier | --multi | --release 2 | --refresh-replay | --bench N [--concurrency C] | --serve] [--keep]"
            );
            return ExitCode::from(2);
        }
    };
    match run(mode, keep).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the files are, and whether they stay.
fn files_line(net: &Network, keep: bool) -> String {
    format!(
        "files in: {} ({})",
        net.log_dir().display(),
        if keep {
            "kept after exit: --keep"
        } else {
            "removed on exit; --keep keeps them"
        }
    )
}

async fn run(mode: Mode, keep: bool) -> Result<(), DemoError> {
    println!("== MedMij demo network: starting on 127.0.0.1 ==");
    let net = Network::start(true).await?;
    net.keep_dir(keep);
    let special = match mode {
        Mode::BsnInPayload => Some(bsn_in_payload(&net).await?),
        Mode::WithdrawnService => Some(withdrawn_service(&net).await?),
        Mode::PublishInvalid => Some(publish_invalid(&net).await?),
        Mode::MoveDossier => Some(move_dossier(&net).await?),
        Mode::Multi => Some(multi(&net).await?),
        Mode::Release2 => Some(release2(&net).await?),
        Mode::RefreshReplay => Some(refresh_replay(&net).await?),
        _ => None,
    };
    if let Some(ok) = special {
        println!();
        let (za, pgo) = net.verify_logs().await?;
        println!(
            "NEN 7513 logs verify (hash chain + signed checkpoints): ZA GW {za} events, PGO GW {pgo} events"
        );
        println!("  ZA GW:  {:?}", net.za_log_event_types().await?);
        println!("  PGO GW: {:?}", net.pgo_log_event_types().await?);
        let (za2, pgo2) = net.verify_v2_logs()?;
        println!(
            "  release 2.x sides verify too: ZA GW 2.x {za2} events, PGO GW (2.x) {pgo2} events"
        );
        println!("  {}", files_line(&net, keep));
        return if ok {
            Ok(())
        } else {
            Err("the flow did not end as the rules prescribe".into())
        };
    }
    match mode {
        Mode::NotWhitelisted => {
            println!("\n== A new Whitelist without the PGO GW ==");
            net.drop_pgo_from_whitelist().await?;
        }
        Mode::NoData => net.za_has_no_data(),
        Mode::RevokedCert => net.revoke_pgo_certificate().await,
        Mode::StaleList => {
            println!("\n== A Whitelist with an equal Volgnummer, then no fresh Whitelist ==");
            net.stale_whitelist().await?;
        }
        _ => {}
    }
    let choice = match mode {
        Mode::Refuse => ConsentChoice::Refuse,
        Mode::NoLogin => ConsentChoice::CancelLogin,
        _ => ConsentChoice::Grant,
    };
    println!("\n== UCI Verzamelen ({mode:?}) ==");
    let run = net.verzamelen(choice).await?;
    println!("\n== Outcome ==");
    println!("token obtained: {}", run.token_obtained);
    if let Some(e) = &run.error {
        println!(
            "ended with: {e} {}",
            run.error_description.as_deref().unwrap_or("")
        );
    }
    println!("person sees: {}", run.message);
    if let Some(id) = &run.collected {
        let (unchanged, provenance) = net.dossier_item(id)?;
        println!("dossier item {id}: unchanged since receipt = {unchanged}");
        println!("provenance: {provenance}");
    }
    let mut delen_ok = true;
    if mode == Mode::Happy
        && let Some(id) = &run.collected
    {
        println!("\n== UCI Delen: the person shares {id} with {LEZER} ==");
        let d = net.delen(id).await?;
        println!("\n== Outcome ==");
        println!("token obtained: {}; placed: {}", d.token_obtained, d.placed);
        println!("person sees: {}", d.message);
        if let Some(p) = &d.placement {
            println!("placement: {p}");
        }
        delen_ok = d.placed;
    }
    let mut v2_ok = true;
    if mode == Mode::Happy {
        v2_ok = collect_v2(&net).await? && print_chain(&net)?;
    }
    let mut expired_ok = true;
    if mode == Mode::ExpiredToken {
        println!("\n== 901 seconds later: the PGO GW reads again with the same token ==");
        net.advance_za_clock(std::time::Duration::from_secs(901));
        let (status, code) = net.read_again().await?;
        println!(
            "FHIR read: HTTP {status}, OperationOutcome issue code {}",
            code.as_deref().unwrap_or("-")
        );
        expired_ok = status == 401 && code.as_deref() == Some("suppressed");
        println!(
            "in plain words: the access token lasts 900 seconds (OAUTH-7); after that the care \
             provider no longer hands out data with it, and the PGO must ask the person again"
        );
    }
    let mut replay_ok = true;
    if mode == Mode::ReplayCode {
        println!("\n== The PGO GW presents the same code again ==");
        let r = net.replay_code().await?;
        println!(
            "token endpoint: HTTP {} {}; FHIR read with the earlier token: HTTP {}",
            r.status,
            r.error.as_deref().unwrap_or(""),
            r.resource_status_after
        );
        replay_ok = r.status == 400
            && r.error.as_deref() == Some("invalid_grant")
            && r.resource_status_after == 401;
        println!(
            "in plain words: an authorization code works once (OAUTH-8); presented again, the \
             care provider refuses it and withdraws the token it gave for it, so the data \
             cannot be read with that token any more"
        );
    }
    println!();
    let (za, pgo) = net.verify_logs().await?;
    println!(
        "NEN 7513 logs verify (hash chain + signed checkpoints): ZA GW {za} events, PGO GW {pgo} events"
    );
    println!("  ZA GW:  {:?}", net.za_log_event_types().await?);
    println!("  PGO GW: {:?}", net.pgo_log_event_types().await?);
    let (za2, pgo2) = net.verify_v2_logs()?;
    println!("  release 2.x sides verify too: ZA GW 2.x {za2} events, PGO GW (2.x) {pgo2} events");
    println!("  {}", files_line(&net, keep));
    let ok = match mode {
        Mode::Happy => run.token_obtained && run.collected.is_some() && delen_ok && v2_ok,
        Mode::ReplayCode => run.collected.is_some() && replay_ok,
        Mode::Refuse => {
            run.error.as_deref() == Some("access_denied")
                && run.error_description.as_deref() == Some("Authorization denied.")
        }
        Mode::NotWhitelisted | Mode::RevokedCert | Mode::StaleList => {
            !run.token_obtained && run.collected.is_none()
        }
        Mode::NoLogin => run.error.as_deref() == Some("unauthorized_client"),
        Mode::NoData => {
            run.error.as_deref() == Some("access_denied")
                && run.error_description.as_deref() == Some("No such resources.")
        }
        Mode::ExpiredToken => run.collected.is_some() && expired_ok,
        Mode::BsnInPayload
        | Mode::WithdrawnService
        | Mode::PublishInvalid
        | Mode::MoveDossier
        | Mode::Multi
        | Mode::Release2
        | Mode::RefreshReplay => {
            unreachable!("handled above")
        }
    };
    if ok {
        Ok(())
    } else {
        Err("the flow did not end as the rules prescribe".into())
    }
}

/// `--bsn-in-payload` (MedMij OAUTH-16): the ZA GW's back end puts the person's BSN
/// in the Bundle. The ZA GW leaves it empty before sending, so the PGO GW stores a
/// Bundle without it; then, played non-conforming, the ZA GW sends it along and the
/// PGO GW refuses to store it; and a PGO GW that shares a Bundle with a BSN gets OAUTH-12
/// case 8 from the Lezer. Every refusal is logged. Returns whether all three ended so.
async fn bsn_in_payload(net: &Network) -> Result<bool, DemoError> {
    println!("\n== UCI Verzamelen: the back end puts the BSN in the Bundle ==");
    net.za_puts_bsn_in_payload(true);
    let first = net.verzamelen(ConsentChoice::Grant).await?;
    println!("\n== Outcome ==");
    println!("person sees: {}", first.message);
    println!(
        "in plain words: the care provider's system put the person's citizen service number \
         (BSN) in the data; the care provider's gateway removed it before sending, because no \
         BSN may travel via MedMij (OAUTH-16)"
    );

    println!("\n== Again, with a ZA GW that forgets to empty the BSN (non-conforming) ==");
    net.za_puts_bsn_in_payload(false);
    let second = net.verzamelen(ConsentChoice::Grant).await?;
    println!("\n== Outcome ==");
    println!(
        "ended with: {} {}",
        second.error.as_deref().unwrap_or("-"),
        second.error_description.as_deref().unwrap_or("")
    );
    println!("person sees: {}", second.message);

    let mut third_ok = false;
    if let Some(id) = &first.collected {
        println!(
            "\n== UCI Delen with a PGO GW that puts a BSN in what it shares (non-conforming) =="
        );
        net.pgo_shares_bsn();
        let d = net.delen(id).await?;
        println!("\n== Outcome ==");
        println!("token obtained: {}; placed: {}", d.token_obtained, d.placed);
        println!("person sees: {}", d.message);
        third_ok = d.token_obtained && !d.placed;
    }
    Ok(first.collected.is_some()
        && second.collected.is_none()
        && second.error.as_deref() == Some("OAUTH-16")
        && third_ok)
}

/// `--multi` (MedMij OAUTH-5, OAUTH-17, release 1.5): both Verzamelen
/// Gegevensdiensten of the Zorgaanbieder with one login and one Toestemming naming
/// both; one token for exactly both pairs reads each. Returns whether both were
/// collected, unchanged.
async fn multi(net: &Network) -> Result<bool, DemoError> {
    println!("\n== UCI Verzamelen of two Gegevensdiensten with one consent (release 1.5) ==");
    let run = net.verzamelen_multi(ConsentChoice::Grant).await?;
    println!("\n== Outcome ==");
    println!("token obtained: {}", run.token_obtained);
    println!("person sees: {}", run.message);
    let items = net.dossier_items();
    for (id, unchanged, naam) in &items {
        println!("collected {naam}: dossier item {id}, unchanged since receipt = {unchanged}");
    }
    println!(
        "in plain words: the person logged in once and gave one consent that named both kinds \
         of data; the PGO received one token for exactly those two and fetched each with it"
    );
    let mut names: Vec<&str> = items.iter().map(|i| i.2.as_str()).collect();
    names.sort_unstable();
    Ok(run.token_obtained
        && names == ["Basisgegevens Zorg", "Medicatieoverzicht"]
        && items.iter().all(|i| i.1))
}

/// `--move-dossier` (MedMij CONSENT-7): after a Verzamelen and a Delen, the PGO GW
/// exports the whole dossier and a second PGO imports it, showing per item that it
/// came via MedMij from which Bron and is unchanged since (CONSENT-4), and the
/// placements; then an export changed on the way flags the changed item. Returns
/// whether both ended so.
async fn move_dossier(net: &Network) -> Result<bool, DemoError> {
    println!("\n== UCI Verzamelen, then UCI Delen ==");
    let run = net.verzamelen(ConsentChoice::Grant).await?;
    let Some(id) = run.collected else {
        println!("nothing collected: {}", run.message);
        return Ok(false);
    };
    let d = net.delen(&id).await?;
    println!("collected {id}; placed with {LEZER}: {}", d.placed);

    println!("\n== The person moves to another PGO: export, import ==");
    let moved = net.move_dossier(None).await?;
    print_move(&moved);
    let first_ok = d.placed
        && !moved.items.is_empty()
        && moved.items.iter().all(|i| i.unchanged)
        && moved.placements.len() == 1
        && net.second_pgo_items() == moved.items.len();

    println!("\n== Again, with an export whose content of {id} was changed on the way ==");
    let tampered = net.move_dossier(Some(&id)).await?;
    print_move(&tampered);
    let changed: Vec<&str> = tampered
        .items
        .iter()
        .filter(|i| !i.unchanged)
        .map(|i| i.item.as_str())
        .collect();
    println!(
        "in plain words: the new PGO still shows where every item came from and whether it is \
         exactly what the care provider sent; an item changed since is flagged, never passed \
         off as unchanged"
    );
    Ok(first_ok && changed == [id.as_str()])
}

/// The 2.x part of the default run ("Releases, side by side"): UCI Verzamelen from the
/// second Zorgaanbieder, whose ZA GW speaks release 2.x (the release3 ZAL says so,
/// LISTS-15), with the long-lasting consent ticked (CONSENT-6, OAUTH-19). Returns
/// whether the Bundle was stored and a refresh token kept.
async fn collect_v2(net: &Network) -> Result<bool, DemoError> {
    println!(
        "\n== UCI Verzamelen over release 2.x from {ZORGAANBIEDER_2X} ({ZA2_HOST}), \
         long-lasting consent =="
    );
    let r = net.verzamelen_v2(true).await?;
    println!("\n== Outcome ==");
    let (refresh_tokens, _) = net.v2_refresh_tokens();
    println!("refresh tokens in the PGO GW's vault: {refresh_tokens}");
    if let Some(id) = &r.item {
        let (unchanged, provenance) = net.dossier_item(id)?;
        println!("dossier item {id}: unchanged since receipt = {unchanged}");
        println!("provenance: {provenance}");
    }
    println!(
        "in plain words: the PGO speaks the older release with the first care provider and the \
         newer one with the second, as the care-provider list says; the person ticked \
         \"until I withdraw it\", so the PGO can collect again later without asking"
    );
    Ok(r.item.is_some() && refresh_tokens == 1)
}

/// Prints both gateways' chain-monitoring events (MedMij LOG-6) as JSON lines, per
/// correlation id side by side, and whether every PGO GW request has its ZA GW
/// counterpart. Returns whether there were events and all were matched.
fn print_chain(net: &Network) -> Result<bool, DemoError> {
    println!("\n== Chain monitoring (LOG-6): events per X-Correlation-ID ==");
    let flows = net.v2_chain()?;
    let mut all = !flows.is_empty();
    for (session, flow) in &flows {
        println!("X-Correlation-ID {session}:");
        for e in &flow.pgo {
            println!("  PGO GW {}", e.to_json());
        }
        for e in &flow.za {
            println!("  ZA GW  {}", e.to_json());
        }
        let mut ids: Vec<String> = Vec::new();
        for e in flow.pgo.iter().chain(&flow.za) {
            let id = e.trace_id.to_string();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        println!("  {:<44} | ZA GW", "PGO GW");
        for id in &ids {
            let names = |es: &[medmij_log::ChainEvent]| {
                es.iter()
                    .filter(|e| e.trace_id.to_string() == *id)
                    .map(|e| format!("{:?}", e.event_type))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!("  {:<44} | {}", names(&flow.pgo), names(&flow.za));
        }
        let unmatched = flow.unmatched();
        println!(
            "  every PGO GW request has its ZA GW counterpart: {}",
            if unmatched.is_empty() {
                "yes".to_owned()
            } else {
                format!("NO ({} without)", unmatched.len())
            }
        );
        all &= unmatched.is_empty();
    }
    println!(
        "in plain words: both gateways report every step of a flow under one shared number, \
         so MedMij can follow a request from the PGO to the care provider and back"
    );
    Ok(all)
}

/// `--release 2` (MedMij OAUTH-19, OAUTH-22, LOG-6): Verzamelen with long-lasting consent
/// from the 2.x Zorgaanbieder; 901 s later the access token has lapsed; the PGO GW
/// refreshes on the back channel (rotation) and collects again; the person withdraws the
/// consent via "Toestemmingen aanpassen"; the next refresh is refused (invalid_grant) and
/// the PGO GW falls back to a full flow. Returns whether every step ended so.
async fn release2(net: &Network) -> Result<bool, DemoError> {
    println!(
        "\n== UCI Verzamelen over release 2.x from {ZORGAANBIEDER_2X}, long-lasting consent =="
    );
    let first = net.verzamelen_v2(true).await?;
    println!("collected: {}", first.item.as_deref().unwrap_or("nothing"));

    println!("\n== 901 seconds later: the access token has lapsed ==");
    net.advance_v2_clock(std::time::Duration::from_secs(901));
    let lapsed = net.v2_read_with_last_token().await?;
    println!("FHIR read with the first access token: HTTP {lapsed}");

    println!("\n== Collect again: the PGO GW refreshes on the back channel ==");
    let again = net.collect_again_v2(false).await?;
    let (received, current) = net.v2_refresh_tokens();
    println!(
        "refreshed without the person: {}; collected: {}",
        !again.full_flow,
        again.item.as_deref().unwrap_or("nothing")
    );
    println!(
        "rotation: {received} refresh tokens received; the vault holds #{}; #1 is retired",
        current.map_or("-".to_owned(), |c| c.to_string())
    );

    println!("\n== Toestemmingen aanpassen: the person withdraws the consent at {ZA2_HOST} ==");
    let (listed, back) = net.withdraw_v2().await?;
    println!("long-lasting consents listed and withdrawn: {listed}; back at the PGO: {back}");

    println!("\n== Collect again after the withdrawal ==");
    let after = net.collect_again_v2(false).await?;
    println!(
        "refresh refused (invalid_grant); the PGO GW starts a full flow: {} (the person is at {})",
        after.full_flow, after.at
    );
    let chain_ok = print_chain(net)?;
    println!(
        "in plain words: with a consent \"until I withdraw it\" the PGO collects again without \
         bothering the person, each time with a new key that replaces the old one; once the \
         person withdraws the consent at the care provider, the PGO can no longer collect and \
         must ask the person again"
    );
    Ok(first.item.is_some()
        && lapsed == 401
        && !again.full_flow
        && again.item.is_some()
        && received == 2
        && current == Some(2)
        && listed >= 1
        && back
        && after.full_flow
        && chain_ok)
}

/// `--refresh-replay` (MedMij OAUTH-19): after a refresh (rotation), a retired refresh token
/// is presented again: the ZA GW refuses it (invalid_grant) and revokes the whole chain,
/// so the current access token and the current refresh token are refused too. Returns
/// whether it ended so.
async fn refresh_replay(net: &Network) -> Result<bool, DemoError> {
    println!(
        "\n== UCI Verzamelen over release 2.x, long-lasting consent; 901 s later a refresh =="
    );
    let first = net.verzamelen_v2(true).await?;
    net.advance_v2_clock(std::time::Duration::from_secs(901));
    let again = net.collect_again_v2(false).await?;
    let before = net.v2_read_with_last_token().await?;
    println!(
        "collected {} then {} by refresh; FHIR read with the current access token: HTTP {before}",
        first.item.as_deref().unwrap_or("nothing"),
        again.item.as_deref().unwrap_or("nothing")
    );

    println!("\n== The retired refresh token #1 is presented again ==");
    net.v2_present_refresh_token(1)?;
    let replay = net.collect_again_v2(false).await?;
    let after = net.v2_read_with_last_token().await?;
    println!(
        "refresh refused (invalid_grant), full flow needed: {}; FHIR read with the current \
         access token now: HTTP {after}",
        replay.full_flow
    );

    println!("\n== The current refresh token #2 ==");
    net.v2_present_refresh_token(2)?;
    let current = net.collect_again_v2(false).await?;
    println!("refused too, full flow needed: {}", current.full_flow);
    let chain_ok = print_chain(net)?;
    println!(
        "in plain words: a replaced key that shows up again means someone copied it; the care \
         provider then cancels every key of that consent, so neither the copy nor the PGO's \
         current keys work any more, and the person has to give consent again"
    );
    Ok(first.item.is_some()
        && again.item.is_some()
        && !again.full_flow
        && before == 200
        && replay.full_flow
        && after == 401
        && current.full_flow
        && chain_ok)
}

fn print_move(m: &medmij_examples::demo::DossierMove) {
    println!("export: {} bytes", m.bytes);
    for i in &m.items {
        println!(
            "item {}: from {} ({}) via MedMij: {}",
            i.item,
            i.bron,
            i.gegevensdienst,
            if i.unchanged {
                "unchanged since receipt"
            } else {
                "CHANGED since receipt"
            }
        );
    }
    for p in &m.placements {
        println!("placement: {p}");
    }
}

/// `--withdrawn-service` (MedMij LISTS-13, LISTS-10): MedMij Beheer publishes a ZAL
/// without the Gegevensdienst; the ZA GW reports the difference with its
/// configuration, serves a flow within the 3600 s grace, and refuses one after it as
/// OAUTH-12 case 1. Returns whether both ended so.
async fn withdrawn_service(net: &Network) -> Result<bool, DemoError> {
    println!("\n== MedMij Beheer publishes a ZAL without umcdemo@medmij's Gegevensdienst ==");
    net.withdraw_service().await?;
    println!("\n== UCI Verzamelen right after (within the 3600 s grace) ==");
    let first = net.verzamelen(ConsentChoice::Grant).await?;
    println!("\n== Outcome ==");
    println!("token obtained: {}", first.token_obtained);
    println!("person sees: {}", first.message);

    println!("\n== 3601 seconds later: UCI Verzamelen again ==");
    net.advance_za_clock(std::time::Duration::from_secs(3601));
    let second = net.verzamelen(ConsentChoice::Grant).await?;
    println!("\n== Outcome ==");
    println!("token obtained: {}", second.token_obtained);
    println!(
        "ended with: {} (OAUTH-12 case 1: invalid_request, shown to the person directly)",
        second.error.as_deref().unwrap_or("-")
    );
    println!(
        "in plain words: the care provider stopped offering this data via MedMij; the gateway \
         finished what was under way for an hour (LISTS-10), and now tells the person the \
         request cannot be served, without sending them back to the PGO"
    );
    Ok(first.collected.is_some()
        && second.collected.is_none()
        && second.final_page.contains("invalid_request")
        && second.final_page.contains("LISTS-13"))
}

/// `--publish-invalid` (MedMij LISTS-14, LISTS-11): MedMij Beheer submits a ZAL
/// entry for a new Zorgaanbieder whose endpoints are on a host that is not on the
/// Whitelist, of a DVZA not registered as qualified. The Stelselnode refuses it with
/// its reasons and changes nothing; the gateways keep the list in force and a flow
/// still works. Returns whether it ended so.
async fn publish_invalid(net: &Network) -> Result<bool, DemoError> {
    use medmij_lists::{
        BackChannelUri, FrontChannelUri, Gegevensdienst, GegevensdienstId, Systeemrol,
        Systeemrolcode, Zorgaanbieder, Zorgaanbiedernaam,
    };
    let host = "za-gw.kliniekdemo.nl";
    let entry = Zorgaanbieder::new(
        Zorgaanbiedernaam::new("kliniekdemo@medmij")?,
        vec![Gegevensdienst::new(
            GegevensdienstId::new("4")?,
            FrontChannelUri::new(&format!("https://{host}/oauth/authorize"))?,
            BackChannelUri::new(&format!("https://{host}:8443/oauth/token"))?,
            vec![Systeemrol::new(
                Systeemrolcode::new("MOV-FHIR-BRON")?,
                BackChannelUri::new(&format!("https://{host}:8443/fhir"))?,
            )],
        )?],
    )?;
    println!("\n== MedMij Beheer adds kliniekdemo@medmij to the ZAL (endpoints on {host}) ==");
    let before = net.published(List::Zal);
    let archive = net.stelselnode_archive()?;
    let refused = match net.change_list(ListChange::AddZorgaanbieder(entry)).await {
        Ok((list, v)) => {
            println!("published {list:?} {v}: the checks let it through");
            return Ok(false);
        }
        Err(e) => e,
    };
    println!("\n== Outcome ==");
    println!("change refused: {}", refused.change);
    for r in &refused.reasons {
        println!("  reason ({}): {r}", r.rule());
    }
    let unchanged = net.published(List::Zal) == before && net.stelselnode_archive()? == archive;
    println!("published ZAL unchanged and nothing archived: {unchanged}");
    println!(
        "in plain words: MedMij Beheer only publishes a list whose every node is on the \
         Whitelist and whose every service is run by a supplier qualified for it; this change \
         was refused and the list everybody uses stays as it was"
    );
    net.refresh_lists().await?;
    let in_force = net.volgnummer_in_force(List::Zal);
    println!(
        "ZAL in force at the PGO GW after fetching: Volgnummer {}",
        in_force.as_deref().unwrap_or("-")
    );
    println!("archived versions: {:?}", net.stelselnode_archive()?);
    println!("\n== UCI Verzamelen on the list still in force ==");
    let run = net.verzamelen(ConsentChoice::Grant).await?;
    println!("person sees: {}", run.message);
    Ok(refused.reasons.len() == 2
        && unchanged
        && in_force.as_deref() == Some("1")
        && run.collected.is_some())
}

/// Runs `n` whole UCI Verzamelen flows on one network, `c` persons at a time (the
/// back channel keeps connections open, no resumption; every request on them is
/// re-checked against the Whitelist and OCSP status in force, MedMij TLS-4), and
/// prints the median and p99 wall time of a flow and the flows per second.
async fn bench(n: usize, c: usize, keep: bool) -> Result<(), DemoError> {
    // Every simulated person comes from 127.0.0.1: the per-source limits (MedMij
    // OAUTH-14) are raised to fit `c` persons at a time; everything else keeps its
    // default.
    let defaults = Limits::default();
    let limits = Limits {
        max_pending_per_source: defaults.max_pending_per_source.max(c),
        max_pgo_pending_per_source: defaults.max_pgo_pending_per_source.max(c),
        max_connections_per_source: defaults.max_connections_per_source.max(4 * c),
        max_handshakes_per_source: defaults.max_handshakes_per_source.max(4 * c),
        max_connections: defaults.max_connections.max(4 * c),
        ..defaults
    };
    let net = Arc::new(Network::start_with(false, limits).await?);
    net.keep_dir(keep);
    // One warm-up flow (first OCSP fetches).
    net.verzamelen(ConsentChoice::Grant).await?;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = std::time::Instant::now();
    let mut persons = tokio::task::JoinSet::new();
    for _ in 0..c {
        let net = net.clone();
        let next = next.clone();
        persons.spawn(async move {
            let mut times = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                let t = std::time::Instant::now();
                let run = net
                    .verzamelen(ConsentChoice::Grant)
                    .await
                    .map_err(|e| e.to_string())?;
                times.push(t.elapsed());
                if run.collected.is_none() {
                    return Err(format!("a flow did not collect: {run:?}"));
                }
            }
            Ok::<_, String>(times)
        });
    }
    let mut times = Vec::with_capacity(n);
    while let Some(r) = persons.join_next().await {
        times.extend(r??);
    }
    let wall = start.elapsed();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    println!(
        "UCI Verzamelen, {n} runs, {c} at a time: median {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         {:.1} flows/s",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        n as f64 / wall.as_secs_f64()
    );
    Ok(())
}
/// Keeps the network running, opens the front door (a proxy on 127.0.0.1 that
/// takes a browser to the front-channel hosts) and prints how to walk the front
/// channel in a real browser, and how to call the ZA GW's back channel (token and
/// FHIR endpoints, mutual TLS) by hand as the PGO GW. Stops on Ctrl-C or SIGTERM.
async fn serve(keep: bool) -> Result<(), DemoError> {
    let net = Network::start(true).await?;
    net.keep_dir(keep);
    let door = net.open_front_door().await?;
    let profile = net.log_dir().join("chromium-profile");
    let root = net.write_root_pem()?;
    let (chain, key) = net.write_pgo_credentials()?;
    let home = net.home_url();
    println!("\n== The network is running; press Ctrl-C to stop ==\n");
    println!("Walk UCI Verzamelen as the person: open {home}");
    println!(
        "The demo's host names reach this machine through its front door, a proxy on \
         127.0.0.1:{}:\n",
        door.port()
    );
    let args: Vec<String> = door
        .chromium_args(&profile)
        .into_iter()
        .map(|a| format!("'{a}'"))
        .collect();
    println!("  Chromium/Chrome:  chromium {} '{home}'", args.join(" "));
    println!(
        "  Firefox:          Settings > Network Settings > Automatic proxy configuration URL \
         {}\n                    and import the test root {} (or accept the warning)",
        door.pac_url(),
        root.display()
    );
    println!(
        "  curl:             curl --proxy {} --cacert {} {home}",
        door.proxy_url(),
        root.display()
    );
    println!(
        "\nThese instructions, the PAC file and the root: {}",
        door.instructions_url()
    );
    // The back channel (MedMij OAUTH-3, TLS-2): mutual TLS with the PGO GW's test
    // certificate; the host name is mapped to the loopback port, as DNS would.
    let port = net.za_back_port();
    let base = format!("https://{ZA_HOST}:{port}");
    let tls = format!(
        "--cert {} --key {} --cacert {} --resolve {ZA_HOST}:{port}:127.0.0.1",
        chain.display(),
        key.display(),
        root.display()
    );
    println!("\nThe ZA GW's back channel (mutual TLS) on 127.0.0.1:{port}:");
    println!("  token endpoint:   {base}/oauth/token");
    println!("  FHIR endpoint:    {base}/fhir/MedicationStatement");
    println!(
        "  PGO GW test certificate chain {} and key {} (test PKI only)",
        chain.display(),
        key.display()
    );
    println!(
        "  token by hand:    curl {tls} --data-urlencode grant_type=authorization_code \
         --data-urlencode code=PUT-THE-CODE-HERE --data-urlencode \
         redirect_uri=https://{PGO_HOST}/cb --data-urlencode client_id={PGO_HOST} \
         {base}/oauth/token"
    );
    println!(
        "  FHIR by hand:     curl {tls} --oauth2-bearer PUT-THE-TOKEN-HERE \
         {base}/fhir/MedicationStatement"
    );
    println!("\n{}", files_line(&net, keep));
    stopped().await?;
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn stopped() -> Result<(), DemoError> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}
