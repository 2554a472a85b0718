//! `cargo xtask doc`: rustdoc with KaTeX for the published crates.
//!
//! `[package.metadata.docs.rs] rustdoc-args` is read only by docs.rs, so local builds pass the
//! header through `RUSTDOCFLAGS` with an **absolute** path, together with `-D warnings` (broken
//! intra-doc links and other rustdoc warnings fail the build). Every published crate ships an
//! identical `katex-header.html`; this task refuses to run if the copies differ.

use crate::project_root;
use std::process::Command;

/// The published crates, each with its own `katex-header.html`.
pub const PUBLISHED: [&str; 5] = [
    "dln-linalg",
    "dln-algebra",
    "dln-flows",
    "dln-systems",
    "dln",
];

/// Runs `cargo doc --workspace --no-deps` with KaTeX and `-D warnings`; returns success.
pub fn doc(open: bool) -> Result<bool, String> {
    let root = project_root();
    let headers: Vec<_> = PUBLISHED
        .iter()
        .map(|c| root.join("crates").join(c).join("katex-header.html"))
        .collect();
    let first = std::fs::read(&headers[0]).map_err(|e| format!("{}: {e}", headers[0].display()))?;
    for h in &headers[1..] {
        let other = std::fs::read(h).map_err(|e| format!("{}: {e}", h.display()))?;
        if other != first {
            return Err(format!(
                "{} differs from {}",
                h.display(),
                headers[0].display()
            ));
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "doc",
            "--workspace",
            "--no-deps",
            "--exclude",
            "xtask",
            "--exclude",
            "dln-benches",
            // The CLI binary is also named `dln`; documenting it would overwrite the umbrella
            // crate's pages (output filename collision, cargo#6313). It is not a published library.
            "--exclude",
            "dln-cli",
        ])
        .env(
            "RUSTDOCFLAGS",
            format!("--html-in-header {} -D warnings", headers[0].display()),
        );
    if open {
        cmd.arg("--open");
    }
    eprintln!(
        "==> RUSTDOCFLAGS=\"--html-in-header {} -D warnings\" cargo doc ...",
        headers[0].display()
    );
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    Ok(status.success())
}
