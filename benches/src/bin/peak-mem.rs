//! Parses a list file and reports the peak resident memory of the process
//! (VmHWM) against the file size: `peak-mem FILE`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: peak-mem FILE");
        std::process::exit(2);
    };
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let list = medmij_lists::parse_any(&bytes, &medmij_lists::ParseOptions::default());
    let ok = list.is_ok();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let file = bytes.len() as f64;
    let peak = hwm_kb as f64 * 1024.0;
    println!(
        "{path}: valid={ok} file={:.1} MB peak_rss={:.1} MB ratio={:.2}",
        file / 1e6,
        peak / 1e6,
        peak / file
    );
    drop(list);
}
