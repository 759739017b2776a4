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

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code =
        medmij_examples::lists_cli::run(&args, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code)
}
