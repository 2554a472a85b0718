//! Output staging: every output is first written to a temporary file (or directory) next to its
//! target, *staged*, and renamed into place only by [`commit`], after everything else that can
//! fail has succeeded (the program calls it after the report has been written to stdout).
//!
//! # Order of a run
//! validate → compute → write temporaries → print the report → [`commit`]. So a failing stdout
//! (`> /dev/full`) leaves no output file, and neither does any earlier failure. The price: if the
//! final rename itself fails (which needs the target directory to change under the run), the
//! report has already been printed; the run then still exits non-zero with the rename's error.
//!
//! # Signals
//! [`install_signal_handlers`] starts a thread (via `signal-hook`) that, on SIGINT, SIGTERM or
//! SIGHUP, removes every temporary this process created and then exits as the signal's default
//! action would. Temporaries are created and registered under one lock, and commits run under the
//! same lock, so a signal either finds a temporary registered (and removes it) or finds the
//! output committed: never a stray `.dln-*.part` file, never a half-renamed directory.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// One temporary output waiting for [`commit`].
#[derive(Debug)]
struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    dir: bool,
}

#[derive(Debug, Default)]
struct Registry {
    /// Temporaries being written (removed on a signal).
    live: Vec<(PathBuf, bool)>,
    /// Complete temporaries, renamed into place by [`commit`].
    staged: Vec<Staged>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: Vec::new(),
    staged: Vec::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while holding the lock leaves plain data behind: keep going.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn remove(path: &Path, dir: bool) {
    let _ = if dir {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}

/// Removes every registered temporary (live or staged). Called on failure and on signals.
pub fn discard() {
    let mut reg = registry();
    discard_locked(&mut reg);
}

fn discard_locked(reg: &mut Registry) {
    for (p, dir) in reg.live.drain(..) {
        remove(&p, dir);
    }
    for s in reg.staged.drain(..) {
        remove(&s.tmp, s.dir);
    }
}

/// Starts the signal thread (see the module documentation). Call once, first thing in `main`.
///
/// # Errors
/// The signal handlers cannot be registered.
pub fn install_signal_handlers() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("dln-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let mut reg = registry();
                discard_locked(&mut reg);
                // Exit with the signal's own status; the lock is never released, so no new
                // temporary can appear after the clean-up.
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

/// Creates a temporary file in `dir` and registers it (under the lock, so that a signal cannot
/// fall between the two).
///
/// # Errors
/// I/O failures.
pub fn temp_file(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut reg = registry();
    let f = tempfile::Builder::new()
        .prefix(".dln-")
        .suffix(".part")
        .tempfile_in(dir)?;
    reg.live.push((f.path().to_path_buf(), false));
    Ok(f)
}

/// Creates a temporary directory in `dir` and registers it; it is kept (not removed on drop):
/// [`discard`] or [`commit`] disposes of it.
///
/// # Errors
/// I/O failures.
pub fn temp_dir(dir: &Path) -> io::Result<PathBuf> {
    let mut reg = registry();
    let d = tempfile::Builder::new()
        .prefix(".dln-")
        .suffix(".part")
        .tempdir_in(dir)?
        .keep();
    reg.live.push((d.clone(), true));
    Ok(d)
}

/// Forgets a temporary that its creator removed itself (after a failed write).
pub fn forget(tmp: &Path) {
    registry().live.retain(|(p, _)| p != tmp);
}

/// Marks the complete temporary `tmp` (created by [`temp_file`] or [`temp_dir`] and no longer
/// removed on drop) to be renamed to `target` by [`commit`].
pub fn stage(tmp: PathBuf, target: PathBuf) {
    let mut reg = registry();
    let dir = match reg.live.iter().position(|(p, _)| *p == tmp) {
        Some(i) => reg.live.swap_remove(i).1,
        None => tmp.is_dir(),
    };
    reg.staged.push(Staged { tmp, target, dir });
}

/// `true` when outputs are waiting for [`commit`].
pub fn has_staged() -> bool {
    !registry().staged.is_empty()
}

/// Renames every staged temporary into place, in the order staged. `check` is run on each
/// target right before its rename (the target may have changed since the run started).
///
/// # Errors
/// The first failing check or rename, as `(target, error)`; all remaining temporaries are
/// removed.
pub fn commit(check: impl Fn(&Path, bool) -> Result<(), String>) -> Result<(), (PathBuf, String)> {
    let mut reg = registry();
    let staged: Vec<Staged> = reg.staged.drain(..).collect();
    let mut it = staged.into_iter();
    while let Some(s) = it.next() {
        let result = check(&s.target, s.dir).and_then(|()| {
            if s.dir {
                replace_dir(&s.tmp, &s.target)
            } else {
                std::fs::rename(&s.tmp, &s.target)
            }
            .map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            remove(&s.tmp, s.dir);
            for rest in it {
                remove(&rest.tmp, rest.dir);
            }
            discard_locked(&mut reg);
            return Err((s.target, e));
        }
    }
    Ok(())
}

/// Moves the directory `tmp` to `target`, replacing an existing directory there: the old one is
/// moved aside first and deleted only once the new one is in place.
fn replace_dir(tmp: &Path, target: &Path) -> io::Result<()> {
    if !target.exists() {
        return std::fs::rename(tmp, target);
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let old = tempfile::Builder::new()
        .prefix(".dln-")
        .suffix(".old")
        .tempdir_in(parent)?;
    let old_path = old.path().join("dir");
    std::fs::rename(target, &old_path)?;
    if let Err(e) = std::fs::rename(tmp, target) {
        let _ = std::fs::rename(&old_path, target);
        return Err(e);
    }
    drop(old);
    Ok(())
}
