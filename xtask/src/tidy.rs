//! `cargo xtask tidy`: the house rules of `ARCHITECTURE.md`, checked (run by CI).
//!
//! 1. **Layering.** The workspace dependency graph from `cargo metadata` (normal, build and dev
//!    dependencies; a crate's dev-dependency on itself, for features, is allowed) against the table between the markers `<!-- tidy:layers -->` and
//!    `<!-- /tidy:layers -->` of `ARCHITECTURE.md`: each workspace crate may depend only on the
//!    workspace crates listed in its row. Adding a crate is one row of that table.
//! 2. **Library crates stay small.** A crate whose row is marked `library` depends (normal or build
//!    dependencies; dev-dependencies are not compiled by its users) on none of the
//!    program-only crates of [`PROGRAM_ONLY`] (argument parsing, progress bars, plotting, npz
//!    I/O, Python bindings), and its `lib.rs` denies `clippy::print_stdout` and
//!    `clippy::print_stderr` (enforced by the clippy run of CI).
//! 3. **Module docs.** Every tracked `.rs` file opens with a `//!` comment.
//! 4. **KaTeX.** The `katex-header.html` of every library crate is byte-identical.
//! 5. **No machine paths.** No tracked file contains a home, scratch or work-directory path of
//!    this machine (see [`machine_path_patterns`]); data outside the checkout comes through
//!    environment variables. Files that explain the rule are listed in [`MACHINE_PATH_EXEMPT`].

use crate::project_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Crates only the program (and tools) may depend on.
pub const PROGRAM_ONLY: [&str; 9] = [
    "clap",
    "indicatif",
    "npyz",
    "plotters",
    "pyo3",
    "numpy",
    "criterion",
    "assert_cmd",
    "serde_json",
];

/// Tracked files allowed to mention machine paths because they state the rule.
pub const MACHINE_PATH_EXEMPT: [&str; 1] = ["xtask/src/tidy.rs"];

/// The literal path prefixes that must not appear in tracked files (built at run time so that this
/// file does not contain them verbatim).
pub fn machine_path_patterns() -> Vec<String> {
    ["work", "home", "tmp"]
        .iter()
        .map(|d| format!("/{d}/"))
        .collect()
}

/// One row of the layering table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Package name.
    pub name: String,
    /// Whether it is a library crate (no printing, no program-only dependencies).
    pub library: bool,
    /// Workspace crates it may depend on.
    pub allowed: BTreeSet<String>,
}

/// Parses the layering table of `ARCHITECTURE.md`: rows `| crate | kind | may depend on |`
/// between the markers.
pub fn parse_layers(architecture: &str) -> Result<Vec<Layer>, String> {
    let start = architecture
        .find("<!-- tidy:layers -->")
        .ok_or("ARCHITECTURE.md: marker <!-- tidy:layers --> not found")?;
    let end = architecture
        .find("<!-- /tidy:layers -->")
        .ok_or("ARCHITECTURE.md: marker <!-- /tidy:layers --> not found")?;
    let mut layers = Vec::new();
    for line in architecture[start..end].lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() != 3 || cells[0] == "crate" || cells[0].starts_with("---") {
            continue;
        }
        let name = cells[0].trim_matches('`').to_string();
        let library = match cells[1] {
            "library" => true,
            "program" | "tool" => false,
            other => return Err(format!("ARCHITECTURE.md: {name}: unknown kind {other:?}")),
        };
        let allowed = cells[2]
            .split(',')
            .map(|s| s.trim().trim_matches('`').to_string())
            .filter(|s| !s.is_empty() && s != "—" && s != "-")
            .collect();
        layers.push(Layer {
            name,
            library,
            allowed,
        });
    }
    if layers.is_empty() {
        return Err("ARCHITECTURE.md: empty layering table".into());
    }
    Ok(layers)
}

/// A workspace package and the names of its dependencies.
#[derive(Debug, Clone)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Normal and build dependencies (what a user of the crate compiles).
    pub deps: BTreeSet<String>,
    /// Dev-dependencies (tests, examples, benches of the crate only).
    pub dev_deps: BTreeSet<String>,
}

/// The workspace packages from `cargo metadata --no-deps`.
pub fn workspace_packages(root: &Path) -> Result<Vec<Package>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let pkgs = v["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;
    Ok(pkgs
        .iter()
        .map(|p| {
            let deps = |dev: bool| -> BTreeSet<String> {
                p["dependencies"]
                    .as_array()
                    .map(|d| {
                        d.iter()
                            .filter(|x| (x["kind"].as_str() == Some("dev")) == dev)
                            .filter_map(|x| x["name"].as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            Package {
                name: p["name"].as_str().unwrap_or_default().to_string(),
                deps: deps(false),
                dev_deps: deps(true),
            }
        })
        .collect())
}

/// Violations of the layering (rules 1 and the dependency half of 2).
pub fn check_layers(layers: &[Layer], packages: &[Package]) -> Vec<String> {
    let mut v = Vec::new();
    let by_name: BTreeMap<&str, &Layer> = layers.iter().map(|l| (l.name.as_str(), l)).collect();
    let workspace: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    for p in packages {
        let Some(layer) = by_name.get(p.name.as_str()) else {
            v.push(format!(
                "layering: workspace crate {} has no row in the ARCHITECTURE.md table",
                p.name
            ));
            continue;
        };
        for d in p.deps.iter().chain(&p.dev_deps) {
            if workspace.contains(d.as_str()) && !layer.allowed.contains(d) && *d != p.name {
                v.push(format!(
                    "layering: {} depends on {d}, which its ARCHITECTURE.md row does not allow",
                    p.name
                ));
            }
            if layer.library && p.deps.contains(d) && PROGRAM_ONLY.contains(&d.as_str()) {
                v.push(format!(
                    "layering: library crate {} depends on program-only crate {d}",
                    p.name
                ));
            }
        }
    }
    for l in layers {
        if !workspace.contains(l.name.as_str()) {
            v.push(format!(
                "layering: ARCHITECTURE.md lists {} which is not a workspace crate",
                l.name
            ));
        }
    }
    v
}

/// The files tracked by git (relative paths).
pub fn tracked_files(root: &Path) -> Result<Vec<String>, String> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z"])
        .output()
        .map_err(|e| format!("cannot run git ls-files: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

/// Rule 2 (printing): each library crate's `lib.rs` denies the print lints.
pub fn check_no_printing(root: &Path, layers: &[Layer]) -> Vec<String> {
    let mut v = Vec::new();
    for l in layers.iter().filter(|l| l.library) {
        let lib = root.join("crates").join(&l.name).join("src/lib.rs");
        let Ok(src) = std::fs::read_to_string(&lib) else {
            v.push(format!("printing: cannot read {}", lib.display()));
            continue;
        };
        let compact: String = src.chars().filter(|c| !c.is_whitespace()).collect();
        for lint in ["clippy::print_stdout", "clippy::print_stderr"] {
            let denied = ["#![deny(", "#![forbid("].iter().any(|open| {
                compact.split(open).skip(1).any(|rest| {
                    rest.split(")]")
                        .next()
                        .is_some_and(|args| args.split(',').any(|a| a == lint))
                })
            });
            if !denied {
                v.push(format!(
                    "printing: crates/{}/src/lib.rs does not deny {lint}",
                    l.name
                ));
            }
        }
    }
    v
}

/// Rule 3: every `.rs` file opens with `//!`.
pub fn check_module_docs(root: &Path, files: &[String]) -> Vec<String> {
    files
        .iter()
        .filter(|f| f.ends_with(".rs"))
        .filter_map(|f| {
            let src = std::fs::read_to_string(root.join(f)).ok()?;
            let first = src.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            (!first.trim_start().starts_with("//!"))
                .then(|| format!("module docs: {f} does not open with a `//!` comment"))
        })
        .collect()
}

/// Rule 4: identical KaTeX headers in every library crate.
pub fn check_katex(root: &Path, layers: &[Layer]) -> Vec<String> {
    let mut v = Vec::new();
    let mut first: Option<(String, Vec<u8>)> = None;
    for l in layers.iter().filter(|l| l.library) {
        let rel = format!("crates/{}/katex-header.html", l.name);
        match std::fs::read(root.join(&rel)) {
            Err(e) => v.push(format!("katex: {rel}: {e}")),
            Ok(bytes) => match &first {
                None => first = Some((rel, bytes)),
                Some((f, b)) if *b != bytes => {
                    v.push(format!("katex: {rel} differs from {f}"));
                }
                Some(_) => {}
            },
        }
    }
    v
}

/// Rule 5: no machine paths in tracked files.
pub fn check_machine_paths(root: &Path, files: &[String]) -> Vec<String> {
    let pats = machine_path_patterns();
    let mut v = Vec::new();
    for f in files {
        if MACHINE_PATH_EXEMPT.contains(&f.as_str()) {
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join(f)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.lines().enumerate() {
            if let Some(p) = pats.iter().find(|p| line.contains(p.as_str())) {
                v.push(format!("machine path: {f}:{}: contains {p:?}", i + 1));
            }
        }
    }
    v
}

/// All rules on the workspace at `root` with the given packages; the list of violations.
pub fn violations(
    root: &Path,
    packages: &[Package],
    files: &[String],
) -> Result<Vec<String>, String> {
    let arch = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
        .map_err(|e| format!("ARCHITECTURE.md: {e}"))?;
    let layers = parse_layers(&arch)?;
    let mut v = check_layers(&layers, packages);
    v.extend(check_no_printing(root, &layers));
    v.extend(check_module_docs(root, files));
    v.extend(check_katex(root, &layers));
    v.extend(check_machine_paths(root, files));
    Ok(v)
}

/// `cargo xtask tidy`: prints the violations; returns whether there were none.
pub fn tidy() -> Result<bool, String> {
    let root = project_root();
    let packages = workspace_packages(&root)?;
    let files = tracked_files(&root)?;
    let v = violations(&root, &packages, &files)?;
    for line in &v {
        println!("{line}");
    }
    println!(
        "tidy: {} workspace crates, {} tracked files, {} violation(s)",
        packages.len(),
        files.len(),
        v.len()
    );
    Ok(v.is_empty())
}
