//! `dln reduce` (placeholder until dln-systems lands).

use crate::error::{CliError, Result};

/// Not available yet.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `dln reduce`.
///
/// # Errors
/// Always, for now.
pub fn run(_args: Args) -> Result<()> {
    Err(CliError::new("not implemented yet"))
}
