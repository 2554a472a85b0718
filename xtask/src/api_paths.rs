//! Resolves the API paths named by the verify registry (`Check::api`) against the workspace
//! sources, so that a renamed or removed item fails a test instead of leaving a dead link in the
//! theory guide.
//!
//! The resolution follows Rust's public paths through the source text, without compiling:
//! `dln_algebra::fiber::FiberOperator::solve` starts at `crates/dln-algebra/src/lib.rs`, enters
//! the module `fiber` only if it is declared `pub mod fiber`, finds a public item
//! `FiberOperator` there (a `pub struct/enum/trait/fn/const/static/type`, or a `pub use` that
//! re-exports it, which is followed to the module it names), and finally requires a public
//! associated function `pub fn solve` in an `impl` of that type within the crate (or, for an enum,
//! a variant of that name). Private modules are not entered, so `dln_algebra::network::Network`
//! (the module is private) does not resolve while `dln_algebra::Network` (re-exported) does.
//!
//! Modules written inline (`pub mod prelude { … }`) are not entered: name items by the path of
//! the module that defines them. This is a text-level resolver (comments and string literals are not parsed specially); it is
//! fast (no build) and strict in the direction that matters: every path it accepts names a
//! public item that exists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The library crates whose items the registry may name, with their source directories.
pub const CRATES: [(&str, &str); 6] = [
    ("dln_linalg", "crates/dln-linalg/src"),
    ("dln_algebra", "crates/dln-algebra/src"),
    ("dln_flows", "crates/dln-flows/src"),
    ("dln_systems", "crates/dln-systems/src"),
    ("dln_bayes", "crates/dln-bayes/src"),
    ("dln", "crates/dln/src"),
];

/// A resolver over the workspace sources rooted at `root`.
pub struct Resolver {
    root: PathBuf,
    cache: BTreeMap<PathBuf, String>,
}

/// What a path segment resolved to.
enum Found {
    /// A module: the source directory of its crate and its source file.
    Module(PathBuf, PathBuf),
    /// A public item (type, function, …) declared in the given crate.
    Item {
        crate_dir: PathBuf,
        name: String,
        is_enum: bool,
    },
    /// A re-export of an item outside the workspace (e.g. `pub use faer::c64`).
    External,
}

impl Resolver {
    /// A resolver for the workspace at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            cache: BTreeMap::new(),
        }
    }

    fn read(&mut self, file: &Path) -> Result<String, String> {
        if let Some(s) = self.cache.get(file) {
            return Ok(s.clone());
        }
        let raw = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let text = strip_line_comments(&raw);
        self.cache.insert(file.to_path_buf(), text.clone());
        Ok(text)
    }

    /// Resolves a full path such as `dln_algebra::fiber::FiberOperator::solve`; `Err` explains
    /// which segment failed.
    pub fn resolve(&mut self, path: &str) -> Result<(), String> {
        let segs: Vec<&str> = path.split("::").collect();
        let Some(&(_, dir)) = CRATES.iter().find(|(c, _)| *c == segs[0]) else {
            return Err(format!("{path}: unknown crate {:?}", segs[0]));
        };
        let crate_dir = self.root.join(dir);
        let mut cur = Found::Module(crate_dir.clone(), crate_dir.join("lib.rs"));
        for (i, seg) in segs.iter().enumerate().skip(1) {
            cur = match cur {
                Found::Module(dir, file) => self
                    .lookup(&dir, &file, seg, 0)?
                    .ok_or_else(|| format!("{path}: no public `{seg}` in {}", file.display()))?,
                Found::Item {
                    crate_dir,
                    name,
                    is_enum,
                } => {
                    if i + 1 != segs.len() {
                        return Err(format!("{path}: nothing public below `{name}::{seg}`"));
                    }
                    if self.has_assoc_fn(&crate_dir, &name, seg)?
                        || (is_enum && self.has_variant(&crate_dir, &name, seg)?)
                    {
                        return Ok(());
                    }
                    return Err(format!("{path}: `{name}` has no public `{seg}`"));
                }
                Found::External => return Ok(()),
            };
        }
        Ok(())
    }

    /// Looks `name` up as a public child of the module in `file`.
    fn lookup(
        &mut self,
        crate_dir: &Path,
        file: &Path,
        name: &str,
        depth: usize,
    ) -> Result<Option<Found>, String> {
        if depth > 8 {
            return Err(format!("re-export cycle at {name}"));
        }
        let src = self.read(file)?;
        if declares(&src, &["pub mod"], name) {
            return module_file(file, name)
                .map(|f| Some(Found::Module(crate_dir.to_path_buf(), f)));
        }
        for (kws, is_enum) in [
            (&["pub enum"][..], true),
            (
                &[
                    "pub struct",
                    "pub trait",
                    "pub fn",
                    "pub const fn",
                    "pub const",
                    "pub static",
                    "pub type",
                ][..],
                false,
            ),
        ] {
            if declares(&src, kws, name) {
                return Ok(Some(Found::Item {
                    crate_dir: crate_dir.to_path_buf(),
                    name: name.to_string(),
                    is_enum,
                }));
            }
        }
        // Re-exports: `pub use a::b::{X, Y as Z};`, `pub use a::b::X;`, `pub use dep as name;`.
        for stmt in pub_uses(&src) {
            for (source, alias) in use_leaves(&stmt) {
                if alias != name {
                    continue;
                }
                let mut parts: Vec<&str> = source.split("::").collect();
                let item = parts.pop().unwrap_or_default();
                if parts.first() == Some(&"crate") {
                    parts.remove(0);
                    let mut f = crate_dir.join("lib.rs");
                    for m in &parts {
                        f = module_file(&f, m)?;
                    }
                    return self.lookup(crate_dir, &f, item, depth + 1);
                }
                if parts.first() == Some(&"self") {
                    parts.remove(0);
                }
                // A local module (declared with `mod`, public or not) or another crate.
                if let Some(first) = parts.first()
                    && (declares(&src, &["mod", "pub mod"], first))
                {
                    let mut f = file.to_path_buf();
                    for m in &parts {
                        f = module_file(&f, m)?;
                    }
                    return self.lookup(crate_dir, &f, item, depth + 1);
                }
                let krate = parts.first().copied().unwrap_or(item);
                if let Some(&(_, dir)) = CRATES.iter().find(|(c, _)| *c == krate) {
                    let other = self.root.join(dir);
                    if parts.is_empty() {
                        return Ok(Some(Found::Module(other.clone(), other.join("lib.rs"))));
                    }
                    let mut f = other.join("lib.rs");
                    for m in &parts[1..] {
                        f = module_file(&f, m)?;
                    }
                    return self.lookup(&other, &f, item, depth + 1);
                }
                return Ok(Some(Found::External));
            }
        }
        Ok(None)
    }

    fn crate_sources(&mut self, crate_dir: &Path) -> Result<Vec<String>, String> {
        let mut files = Vec::new();
        collect_rs(crate_dir, &mut files)?;
        files.sort();
        files.iter().map(|f| self.read(f)).collect()
    }

    /// A `pub fn name` inside an `impl … Type…` block, or a `fn name` in a trait implemented for
    /// the type, somewhere in the crate.
    fn has_assoc_fn(&mut self, crate_dir: &Path, ty: &str, name: &str) -> Result<bool, String> {
        for src in self.crate_sources(crate_dir)? {
            for (header, body) in impl_blocks(&src) {
                let for_ty = match header.split_once(" for ") {
                    Some((_, t)) => t,
                    None => header.as_str(),
                };
                let trait_impl = header.contains(" for ");
                if !mentions_type(for_ty, ty) {
                    continue;
                }
                let kws: &[&str] = if trait_impl {
                    &["fn"]
                } else {
                    &["pub fn", "pub const fn"]
                };
                if declares(&body, kws, name) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn has_variant(&mut self, crate_dir: &Path, ty: &str, variant: &str) -> Result<bool, String> {
        for src in self.crate_sources(crate_dir)? {
            let Some(at) = find_decl(&src, &["pub enum"], ty) else {
                continue;
            };
            let Some(open) = src[at..].find('{') else {
                continue;
            };
            let body = balanced_block(&src[at + open..]);
            if body.lines().any(|l| {
                let l = l.trim_start();
                l.strip_prefix(variant).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with([',', '(', ' ', '{', '='])
                })
            }) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in rd {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.is_dir() {
            collect_rs(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    Ok(())
}

/// The file of module `name` declared in `parent` (`name.rs` or `name/mod.rs` next to a
/// `lib.rs`/`mod.rs`, inside `parent_stem/` otherwise).
fn module_file(parent: &Path, name: &str) -> Result<PathBuf, String> {
    let stem = parent.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let base = if stem == "lib" || stem == "mod" {
        parent.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        parent.with_extension("")
    };
    for cand in [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ] {
        if cand.is_file() {
            return Ok(cand);
        }
    }
    Err(format!(
        "module `{name}` of {} has no source file",
        parent.display()
    ))
}

/// Removes `//` comments (including doc comments) line by line, keeping `://` in URLs intact
/// enough for our purpose.
fn strip_line_comments(src: &str) -> String {
    src.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].ends_with(':') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Position of a declaration `kw name` (e.g. `pub fn solve`) at the start of a line (after
/// indentation and attributes), with `name` followed by a non-identifier character.
fn find_decl(src: &str, kws: &[&str], name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        for kw in kws {
            if let Some(rest) = t.strip_prefix(kw)
                && rest.starts_with(' ')
                && let Some(after) = rest.trim_start().strip_prefix(name)
                && !after.starts_with(is_ident)
            {
                return Some(offset + (line.len() - t.len()));
            }
        }
        offset += line.len();
    }
    None
}

fn declares(src: &str, kws: &[&str], name: &str) -> bool {
    find_decl(src, kws, name).is_some()
}

/// The text from an opening `{` to its matching `}` (inclusive).
fn balanced_block(s: &str) -> String {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return s[..=i].to_string();
                }
            }
            _ => {}
        }
    }
    s.to_string()
}

/// `(header, body)` of every `impl` block at any indentation.
fn impl_blocks(src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("impl") && t[4..].starts_with(['<', ' ']) {
            let start = offset + (line.len() - t.len());
            if let Some(open) = src[start..].find('{') {
                let header = src[start..start + open].replace('\n', " ");
                out.push((header, balanced_block(&src[start + open..])));
            }
        }
        offset += line.len();
    }
    out
}

/// Whether an impl header's self type is `ty` (possibly with generics or a path prefix).
fn mentions_type(self_ty: &str, ty: &str) -> bool {
    let t = self_ty.trim();
    let t = t.rsplit("::").next().unwrap_or(t);
    let t = t.split(" where").next().unwrap_or(t).trim();
    // Strip the impl's own generics: `impl<T: Scalar> Network<T>` has self type `Network<T>`.
    let t = if let Some(rest) = t.strip_prefix("impl") {
        skip_generics(rest.trim_start()).trim_start()
    } else {
        t
    };
    t.strip_prefix(ty)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['<', ' ']))
}

fn skip_generics(s: &str) -> &str {
    if !s.starts_with('<') {
        return s;
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return &s[i + 1..];
                }
            }
            _ => {}
        }
    }
    ""
}

/// The `pub use …;` statements of a module, each as one string.
fn pub_uses(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("pub use ") {
            let start = offset + (line.len() - rest.len());
            if let Some(end) = src[start..].find(';') {
                out.push(
                    src[start..start + end]
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        }
        offset += line.len();
    }
    out
}

/// The leaves of a use tree as `(full source path, name it is visible under)`.
fn use_leaves(tree: &str) -> Vec<(String, String)> {
    fn walk(prefix: &str, tree: &str, out: &mut Vec<(String, String)>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head = tree[..open].trim().trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let prefix = join(prefix, head);
            // Split at top-level commas.
            let (mut depth, mut start) = (0usize, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        walk(&prefix, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            walk(&prefix, &inner[start..], out);
        } else if !tree.is_empty() {
            let (path, alias) = match tree.split_once(" as ") {
                Some((p, a)) => (p.trim(), a.trim()),
                None => (tree, tree.rsplit("::").next().unwrap_or(tree)),
            };
            if path == "self" {
                out.push((prefix.to_string(), alias_or_last(prefix, alias)));
            } else {
                out.push((join(prefix, path), alias.to_string()));
            }
        }
    }
    fn join(a: &str, b: &str) -> String {
        match (a.is_empty(), b.is_empty()) {
            (true, _) => b.to_string(),
            (_, true) => a.to_string(),
            _ => format!("{a}::{b}"),
        }
    }
    fn alias_or_last(prefix: &str, alias: &str) -> String {
        if alias == "self" {
            prefix.rsplit("::").next().unwrap_or(prefix).to_string()
        } else {
            alias.to_string()
        }
    }
    let mut out = Vec::new();
    walk("", tree, &mut out);
    out
}

/// Every API path of the registry that does not resolve, with the reason.
pub fn unresolved(root: &Path, paths: &[&str]) -> Vec<String> {
    let mut r = Resolver::new(root);
    paths.iter().filter_map(|p| r.resolve(p).err()).collect()
}
