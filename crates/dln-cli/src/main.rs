//! `dln`: the command-line program of the `dln` workspace.
//!
//! Deep-linear-network commands read weights `W1..WN` from `.npz` archives (`W1` = input layer);
//! linear-system commands read `A,B,C,D` from a directory of `.npy` files or an `.npz` archive.
//! See `dln --help` and [`cmd`] for the commands and the conventions they follow, and [`io`] for
//! the file formats. Errors are printed as one line, `dln: error: <file>: <array>: <problem>`, and
//! the exit status is 1 (2 for command-line usage errors).

mod cmd;
mod error;
mod io;

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
    match cli.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dln: error: {e}");
            ExitCode::FAILURE
        }
    }
}
