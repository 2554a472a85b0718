//! `cargo xtask doc`: rustdoc with KaTeX for the published crates.
//!
//! `[package.metadata.docs.rs] rustdoc-args` is read only by docs.rs, so local builds pass the
//! header through `RUSTDOCFLAGS` with an **absolute** path, together with `-D warnings` (broken
//! intra-doc links and other rustdoc warnings fail the build). Every published crate ships an
//! identical `katex-header.html`; this task refuses to run if the copies differ.
//!
//! **Offline formulas.** The tracked header loads KaTeX from a CDN (what docs.rs needs), so pages
//! built on a machine without internet show raw `$…$`. With `--offline-katex` (and by default
//! whenever a local copy is already present) the task puts KaTeX's `dist/` directory (the npm
//! package `katex`, MIT licence, at the version [`KATEX_VERSION`] of the header) next to the
//! generated docs as `target/doc/katex/` and rewrites the CDN URLs in the **generated** pages to
//! relative paths into it; the tracked headers are not changed. The copy comes from
//! `$DLN_KATEX_DIST` (an extracted `dist/` directory) if set, else from the cache
//! `target/katex/package/dist`, else it is fetched once with `npm pack katex@VERSION` into
//! that cache.

use crate::project_root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The KaTeX version of the tracked `katex-header.html` (checked against it at run time).
pub const KATEX_VERSION: &str = "0.16.11";

/// The CDN prefix of the KaTeX files in the tracked header.
pub fn cdn_prefix() -> String {
    format!("https://cdn.jsdelivr.net/npm/katex@{KATEX_VERSION}/dist/")
}

/// Where `--offline-katex` finds or caches KaTeX's `dist/` directory.
fn katex_cache(root: &Path) -> PathBuf {
    root.join("target").join("katex")
}

/// An existing local `dist/` directory: `$DLN_KATEX_DIST` or the cache.
fn local_katex(root: &Path) -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DLN_KATEX_DIST") {
        return Some(PathBuf::from(d));
    }
    let cached = katex_cache(root).join("package").join("dist");
    cached.join("katex.min.js").is_file().then_some(cached)
}

/// The local `dist/` directory, fetched with `npm pack` into the cache if there is none.
fn obtain_katex(root: &Path) -> Result<PathBuf, String> {
    if let Some(d) = local_katex(root) {
        return Ok(d);
    }
    let cache = katex_cache(root);
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    eprintln!(
        "==> npm pack katex@{KATEX_VERSION} (once; cached in {})",
        cache.display()
    );
    let status = Command::new("npm")
        .current_dir(&cache)
        .args(["pack", &format!("katex@{KATEX_VERSION}"), "--silent"])
        .status()
        .map_err(|e| {
            format!(
                "cannot run npm ({e}): install npm, or set DLN_KATEX_DIST to an extracted \
                 dist/ directory of the npm package katex@{KATEX_VERSION}"
            )
        })?;
    if !status.success() {
        return Err(format!("npm pack katex@{KATEX_VERSION} failed"));
    }
    let tgz = cache.join(format!("katex-{KATEX_VERSION}.tgz"));
    let status = Command::new("tar")
        .current_dir(&cache)
        .arg("xzf")
        .arg(&tgz)
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() {
        return Err(format!("tar xzf {} failed", tgz.display()));
    }
    local_katex(root).ok_or_else(|| format!("{} has no package/dist/katex.min.js", tgz.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// Rewrites the CDN URLs of one generated page, `depth` directories below the doc root, to the
/// local copy `katex/` at the doc root. Returns whether the page changed.
pub fn localize_page(html: &str, depth: usize) -> Option<String> {
    let prefix = cdn_prefix();
    if !html.contains(&prefix) {
        return None;
    }
    let local = format!("{}katex/", "../".repeat(depth));
    // The CDN's subresource attributes do not apply to local files.
    Some(
        html.replace(&prefix, &local)
            .replace(" crossorigin=\"anonymous\"", ""),
    )
}

/// Copies KaTeX next to the docs in `doc_dir` and rewrites every generated page; returns the
/// number of pages rewritten.
fn localize_docs(doc_dir: &Path, dist: &Path) -> Result<usize, String> {
    copy_dir(dist, &doc_dir.join("katex"))?;
    fn walk(dir: &Path, depth: usize, n: &mut usize) -> Result<(), String> {
        for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|f| f != "katex") {
                    walk(&path, depth + 1, n)?;
                }
            } else if path.extension().is_some_and(|e| e == "html") {
                let html = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if let Some(new) = localize_page(&html, depth) {
                    std::fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))?;
                    *n += 1;
                }
            }
        }
        Ok(())
    }
    let mut n = 0;
    walk(doc_dir, 0, &mut n)?;
    Ok(n)
}

/// The published crates, each with its own `katex-header.html`.
pub const PUBLISHED: [&str; 5] = [
    "dln-linalg",
    "dln-algebra",
    "dln-flows",
    "dln-systems",
    "dln",
];

/// Runs `cargo doc --workspace --no-deps` with KaTeX and `-D warnings`; with `offline_katex` (or
/// when a local copy of KaTeX is present) makes the generated pages render formulas without
/// internet. Returns success.
pub fn doc(open: bool, offline_katex: bool) -> Result<bool, String> {
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
    let header = String::from_utf8_lossy(&first);
    if !header.contains(&cdn_prefix()) {
        return Err(format!(
            "{} does not load KaTeX {KATEX_VERSION} from {}: update KATEX_VERSION in xtask/src/doc.rs",
            headers[0].display(),
            cdn_prefix()
        ));
    }
    let dist = if offline_katex {
        Some(obtain_katex(&root)?)
    } else {
        local_katex(&root)
    };
    eprintln!(
        "==> RUSTDOCFLAGS=\"--html-in-header {} -D warnings\" cargo doc ...",
        headers[0].display()
    );
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Ok(false);
    }
    let doc_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("doc");
    if let Some(dist) = dist {
        let n = localize_docs(&doc_dir, &dist)?;
        eprintln!(
            "==> KaTeX {KATEX_VERSION} copied to {}; {n} pages render formulas offline",
            doc_dir.join("katex").display()
        );
    }
    if open {
        let index = doc_dir.join("dln").join("index.html");
        eprintln!("==> open {}", index.display());
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        if Command::new(opener).arg(&index).status().is_err() {
            eprintln!("cannot run {opener}: open {} in a browser", index.display());
        }
    }
    Ok(true)
}
