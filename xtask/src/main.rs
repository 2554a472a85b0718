//! See <https://github.com/matklad/cargo-xtask/>.
//!
//! Workspace automation, run as `cargo xtask <task>`:
//! - `verify`: the theorem-checking suite (the claims of `docs/theory.md` §8 over seeded random
//!   instances); see [`checks`] for how checks are written and registered.
//! - `tidy`: the house rules of `ARCHITECTURE.md` (see [`tidy`]).
//! - `guide`: regenerates the check table of `docs/theory.md` from the registry.
//! - `figures`: the SVG figures of `docs/figures/` from real runs (see [`figures`]).
//! - `doc`: rustdoc for the published crates with KaTeX math and `-D warnings`.

mod api_paths;
mod checks;
mod doc;
mod figures;
mod figures_plot;
mod guide;
mod tidy;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task> [options]

tasks:
  verify    run the theorem checks (theory.md §8) over seeded random instances
      --seed S        run seed (default 0)
      --thorough      more and larger instances
      --filter SUBSTR only checks whose id contains SUBSTR
      --json PATH     write {\"seed\", \"checks\": [...]} to PATH
      --report PATH   write a Markdown report (instances, worst residual, tolerance,
                      pass, coverage of the 36 claims) to PATH
      --list          list the checks with their API items and exit
      --markdown      with --list: print the theory guide's Markdown table
  guide     regenerate the generated table of docs/theory.md from the registry
      --check         fail if docs/theory.md is not up to date instead of writing it
  tidy      house rules: layering vs ARCHITECTURE.md, no printing in library crates,
            `//!` module docs, identical KaTeX headers, no machine paths
  figures   compute and draw the figures (SVG) of docs/figures/ from real runs
      --out DIR       output directory (default docs/figures/)
  doc       cargo doc --workspace --no-deps with KaTeX and -D warnings
      --open          open the docs in a browser
      --offline-katex render formulas without internet: KaTeX (npm package, fetched
                      once into target/katex, or $DLN_KATEX_DIST) copied to target/doc/katex
                      and the generated pages pointed to it (default when a copy exists)
";

/// The workspace root (the parent of this crate's directory).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn parse_verify(args: &[String]) -> Result<verify::VerifyOptions, String> {
    let mut o = verify::VerifyOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--seed" => {
                o.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--thorough" => o.thorough = true,
            "--filter" => o.filter = Some(value("--filter")?),
            "--json" => o.json = Some(PathBuf::from(value("--json")?)),
            "--list" => o.list = true,
            "--markdown" => o.markdown = true,
            "--report" => o.report = Some(PathBuf::from(value("--report")?)),
            other => return Err(format!("verify: unknown argument {other:?}")),
        }
    }
    Ok(o)
}

fn try_main() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("verify") => verify::verify(&parse_verify(&args[1..])?),
        Some("tidy") => match &args[1..] {
            [] => tidy::tidy(),
            other => Err(format!("tidy: unknown arguments {other:?}")),
        },
        Some("guide") => match &args[1..] {
            [] => guide::write().map(|()| true),
            [c] if c == "--check" => guide::check(),
            other => Err(format!("guide: unknown arguments {other:?}")),
        },
        Some("figures") => {
            let mut o = figures::FiguresOptions::default();
            match &args[1..] {
                [] => {}
                [flag, dir] if flag == "--out" => o.out = PathBuf::from(dir),
                other => return Err(format!("figures: unknown arguments {other:?}")),
            }
            figures::figures(&o)
        }
        Some("doc") => {
            let (mut open, mut offline) = (false, false);
            for a in &args[1..] {
                match a.as_str() {
                    "--open" => open = true,
                    "--offline-katex" => offline = true,
                    other => return Err(format!("doc: unknown argument {other:?}")),
                }
            }
            doc::doc(open, offline)
        }
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(true)
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{HELP}")),
    }
}

fn main() -> ExitCode {
    match try_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests;
