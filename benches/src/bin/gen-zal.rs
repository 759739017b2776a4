//! Writes the benchmark ZAL: `gen-zal FILE [PROVIDERS] [SEED]`
//! (defaults 50,000 providers, seed 1; about 110 MB).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: gen-zal FILE [PROVIDERS] [SEED]");
        std::process::exit(2);
    };
    let providers = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let xml = medmij_benches::generate_zal(providers, seed);
    if let Err(e) = std::fs::write(path, &xml) {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    }
    println!("{path}: {} bytes, {providers} Zorgaanbieders", xml.len());
}
