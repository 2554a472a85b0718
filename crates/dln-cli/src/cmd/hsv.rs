//! `dln hsv` (placeholder until dln-systems lands).

use crate::error::{CliError, Result};

/// Not available yet.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `dln hsv`.
///
/// # Errors
/// Always, for now.
pub fn run(_args: Args) -> Result<()> {
    Err(CliError::new("not implemented yet"))
}
