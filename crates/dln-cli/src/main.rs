//! `dln`: the command-line program of the `dln` workspace.
//!
//! Deep-linear-network commands read weights `W1..WN` from `.npz` archives (`W1` = input layer);
//! linear-system commands read `A,B,C,D` from a directory of `.npy` files or an `.npz` archive.
//! See `dln --help` and [`cmd`] for the commands and the conventions they follow, and [`io`] for
//! the file formats. Errors are printed as one line, `dln: error: <file>: <array>: <problem>`, and
//! the exit status is 1 (2 for command-line usage errors).

mod cmd;

// The reader, writers and limits live in the library half (`src/lib.rs`), so that tests and the
// fuzz target can drive them in-process; `crate::io` etc. keep working for the commands.
use dln_cli::{error, io, resources, staging};

use clap::Parser;
use std::process::ExitCode;

/// Geometry of deep linear networks and balanced realizations of linear systems.
#[derive(Debug, Parser)]
#[command(name = "dln", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = staging::install_signal_handlers() {
        eprintln!("dln: error: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    // Outputs are staged by the `io::write_*` functions and committed only once the command,
    // including its report on stdout, has succeeded (see `staging`).
    match cli.command.run().and_then(|()| io::commit_outputs()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            staging::discard();
            eprintln!("dln: error: {e}");
            ExitCode::FAILURE
        }
    }
}
