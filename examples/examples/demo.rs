//! The MedMij demo network: UCI Verzamelen end to end on loopback, with real
//! mutual TLS, OCSP, the four lists, consent, provenance and NEN 7513 logs.
//!
//! ```text
//! cargo run -p medmij-examples --example demo            # the happy flow
//! cargo run -p medmij-examples --example demo -- --refuse # OAUTH-12 case 4
//! ```

use std::process::ExitCode;

use medmij_examples::demo::{ConsentChoice, Network};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut choice = ConsentChoice::Grant;
    for a in &args {
        match a.as_str() {
            "--refuse" => choice = ConsentChoice::Refuse,
            other => {
                eprintln!("unknown flag {other}; supported: --refuse");
                return ExitCode::from(2);
            }
        }
    }
    match run(choice) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(choice: ConsentChoice) -> Result<(), medmij_examples::demo::DemoError> {
    println!("== MedMij demo network: starting on 127.0.0.1 ==");
    let net = Network::start(true)?;
    println!("\n== UCI Verzamelen ({choice:?}) ==");
    let run = net.verzamelen(choice)?;
    println!("\n== Outcome ==");
    println!("token obtained: {}", run.token_obtained);
    if let Some(e) = &run.error {
        println!("OAuth error on the redirect: {e}");
    }
    println!("person sees: {}", run.message);
    if let Some(id) = &run.collected {
        let (unchanged, provenance) = net.dossier_item(id)?;
        println!("dossier item {id}: unchanged since receipt = {unchanged}");
        println!("provenance: {provenance}");
    }
    let (za, pgo) = net.verify_logs()?;
    println!(
        "NEN 7513 logs verify (hash chain + signed checkpoints): ZA GW {za} events, PGO GW {pgo} events"
    );
    println!("  ZA GW:  {:?}", net.za_log_event_types()?);
    println!("  PGO GW: {:?}", net.pgo_log_event_types()?);
    println!("  files in {}", net.log_dir().display());
    let ok = match choice {
        ConsentChoice::Grant => run.token_obtained && run.collected.is_some(),
        ConsentChoice::Refuse => run.error.as_deref() == Some("access_denied"),
    };
    if ok {
        Ok(())
    } else {
        Err("the flow did not end as the rules prescribe".into())
    }
}
