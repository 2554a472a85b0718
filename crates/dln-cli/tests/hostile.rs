//! The hostile battery (issue 12), program side: crafted bytes, resource abuse, odd output
//! targets, signals and concurrent writers. Every spawned process runs under a timeout, so a
//! regression to unbounded work fails the test instead of hanging the suite.
//!
//! Scale robustness of the numerics (inputs ×2^{±1000}) is tested in the library crates.

mod common;

use common::*;
use faer::Mat;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

/// Longest a single hostile case may run.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `dln args` (under [`TIMEOUT`]) and expects a clean failure: exit status 1, one stderr
/// line containing every needle, nothing on stdout. Returns the stderr line.
fn refuse(args: &[&str], needles: &[&str]) -> String {
    let out = dln().args(args).timeout(TIMEOUT).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "dln {args:?}: {err}");
    assert!(out.stdout.is_empty(), "dln {args:?}: stdout on failure");
    assert_eq!(err.lines().count(), 1, "dln {args:?}: one line: {err}");
    assert!(err.starts_with("dln: error: "), "{err}");
    for n in needles {
        assert!(
            err.contains(n),
            "dln {args:?}: {err:?} should mention {n:?}"
        );
    }
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn weights(dir: &Path) -> PathBuf {
    let layers: Vec<Mat<f64>> = random_layers(7, &[3, 4, 2], None);
    let p = dir.join("w.npz");
    write_weights(&p, &layers);
    p
}

/// No temporary (`.dln-*`) left in `dir`.
fn no_temporaries(dir: &Path) {
    let stray: Vec<String> = listing(dir)
        .into_iter()
        .filter(|n| n.starts_with(".dln-"))
        .collect();
    assert!(stray.is_empty(), "temporaries left behind: {stray:?}");
}

/// Runs `dln args` with stdout on `/dev/full` (under [`TIMEOUT`]); returns (exit code, stderr).
fn run_to_dev_full(args: &[&str]) -> (Option<i32>, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("dln"))
        .args(args)
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "dln {args:?} timed out");
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mkfifo(path: &Path) {
    let st = StdCommand::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo");
}

// ---------------------------------------------------------------------------------------------
// Crafted bytes.

/// An .npy v2 whose header-length field claims 4 GiB: refused from the preamble, no allocation.
#[test]
fn npy_v2_header_length_of_4_gib() {
    let dir = tempfile::tempdir().unwrap();
    let mut npy = npy_bytes(&Mat::<f64>::identity(3, 3));
    // Turn the v1 preamble into a v2 one with header length 0xFFFFFFFF.
    let mut v2 = b"\x93NUMPY\x02\x00\xff\xff\xff\xff".to_vec();
    v2.extend_from_slice(&npy.split_off(10));
    let p = dir.path().join("h.npz");
    write_zip(&p, &[("W1", v2)], true);
    refuse(&["moments", s(&p)], &["W1", "header", "4294967295"]);
}

/// A zip bomb: a valid 3×2 array followed by 64 MiB of compressed zeros in the same entry.
#[test]
fn trailing_compressed_zeros_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = npy_bytes(&Mat::<f64>::from_fn(3, 2, |i, j| (i + j) as f64 + 1.0));
    bytes.resize(bytes.len() + (64 << 20), 0);
    let p = dir.path().join("bomb.npz");
    write_zip(&p, &[("W1", bytes)], true);
    assert!(std::fs::metadata(&p).unwrap().len() < 1 << 20);
    let t = Instant::now();
    refuse(&["moments", s(&p)], &["W1", "trailing bytes"]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

/// Trailing bytes after the data of a plain .npy (system directory).
#[test]
fn trailing_bytes_in_npy() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    std::fs::create_dir(&sys).unwrap();
    let mut a = npy_bytes(&Mat::<f64>::from_fn(
        2,
        2,
        |i, j| if i == j { -1.0 } else { 0.0 },
    ));
    a.extend_from_slice(&[0; 8]);
    std::fs::write(sys.join("A.npy"), a).unwrap();
    std::fs::write(sys.join("B.npy"), npy_bytes(&Mat::<f64>::ones(2, 1))).unwrap();
    std::fs::write(sys.join("C.npy"), npy_bytes(&Mat::<f64>::ones(1, 2))).unwrap();
    refuse(&["hsv", s(&sys)], &["A.npy", "8 trailing bytes"]);
}

/// Two `W1` entries: numpy and the zip crate would disagree on which one is meant; refused.
#[test]
fn duplicate_array_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = npy_bytes(&Mat::<f64>::identity(2, 2));
    let b = npy_bytes(&Mat::<f64>::ones(2, 2));
    let p = dir.path().join("dup.npz");
    write_zip(&p, &[("W1", a), ("X1", b)], false);
    // Rename the second entry to W1 in its local and central headers (the CRC covers data only).
    let mut bytes = std::fs::read(&p).unwrap();
    let mut k = 0;
    while let Some(i) = bytes[k..].windows(6).position(|w| w == b"X1.npy") {
        bytes[k + i] = b'W';
        k += i + 6;
    }
    std::fs::write(&p, bytes).unwrap();
    refuse(&["moments", s(&p)], &["W1", "twice"]);
}

/// Non-regular inputs: a character device and a FIFO are refused before reading.
#[test]
fn non_regular_inputs_are_refused() {
    refuse(
        &["moments", "/dev/zero"],
        &["/dev/zero", "character device"],
    );
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.npz");
    mkfifo(&fifo);
    refuse(&["moments", s(&fifo)], &["fifo.npz", "FIFO"]);
    // `entropy X.npy` and a system's `meta.json` go through the same reader (they used to read
    // without bound: `/dev/zero` until memory ran out, a FIFO forever).
    refuse(
        &["entropy", "/dev/zero", "--depth", "2"],
        &["/dev/zero", "character device"],
    );
    let fifo_npy = dir.path().join("x.npy");
    mkfifo(&fifo_npy);
    refuse(
        &["entropy", s(&fifo_npy), "--depth", "2"],
        &["x.npy", "FIFO"],
    );
    let sys = dir.path().join("sys");
    std::fs::create_dir(&sys).unwrap();
    let a = Mat::<f64>::from_fn(2, 2, |i, j| if i == j { -1.0 } else { 0.0 });
    std::fs::write(sys.join("A.npy"), npy_bytes(&a)).unwrap();
    std::fs::write(sys.join("B.npy"), npy_bytes(&Mat::<f64>::ones(2, 1))).unwrap();
    std::fs::write(sys.join("C.npy"), npy_bytes(&Mat::<f64>::ones(1, 2))).unwrap();
    mkfifo(&sys.join("meta.json"));
    refuse(&["hsv", s(&sys)], &["meta.json", "FIFO"]);
}

// ---------------------------------------------------------------------------------------------
// Resource abuse.

#[test]
fn absurd_samples_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("o.npz");
    for k in ["18446744073709551615", "1000000000", "10000000"] {
        refuse(
            &[
                "flow",
                "l2",
                s(&w),
                "--t-end",
                "1",
                "--out",
                s(&out),
                "--samples",
                k,
            ],
            &["--samples", "at most"],
        );
    }
    assert!(!out.exists());
}

fn training_data(dir: &Path) -> PathBuf {
    let p = dir.join("data.npz");
    let u = Mat::<f64>::from_fn(2, 5, |i, j| ((i * 5 + j) as f64).sin());
    let y = Mat::<f64>::from_fn(2, 5, |i, j| ((i * 5 + j) as f64).cos());
    write_zip(
        &p,
        &[("inputs", npy_bytes(&u)), ("targets", npy_bytes(&y))],
        false,
    );
    p
}

#[test]
fn absurd_widths_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let data = training_data(dir.path());
    let out = dir.path().join("t.npz");
    for w in [
        "2,100000000,2",
        "2,4000000000,2",
        "2,18446744073709551615,2",
    ] {
        refuse(
            &[
                "train",
                s(&data),
                "--widths",
                w,
                "--t-end",
                "1",
                "--out",
                s(&out),
            ],
            &["--widths", "memory"],
        );
    }
    assert!(!out.exists());
}

/// `--t-end` out of reach of `--max-steps`: stopped after the first steps with a message,
/// not after minutes at the step limit.
#[test]
fn unreachable_end_times_stop_early() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let data = training_data(dir.path());
    let out = dir.path().join("o.npz");
    let t = Instant::now();
    refuse(
        &["flow", "l2", s(&w), "--t-end", "1e300", "--out", s(&out)],
        &["--t-end", "--max-steps"],
    );
    refuse(
        &[
            "flow",
            "kirwan-ness",
            s(&w),
            "--t-end",
            "1e300",
            "--out",
            s(&out),
        ],
        &["--t-end", "--max-steps"],
    );
    refuse(
        &[
            "train",
            s(&data),
            "--widths",
            "2,3,2",
            "--t-end",
            "1e6",
            "--out",
            s(&out),
        ],
        &["--t-end", "--max-steps"],
    );
    refuse(
        &[
            "train",
            s(&data),
            "--widths",
            "2,3,2",
            "--t-end",
            "1",
            "--kappa",
            "1e300",
            "--out",
            s(&out),
        ],
        &["--max-steps"],
    );
    refuse(
        &[
            "train",
            s(&data),
            "--widths",
            "2,3,2",
            "--steps",
            "1000000000",
            "--lr",
            "0.1",
            "--out",
            s(&out),
        ],
        &["--steps", "--max-steps"],
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert!(!out.exists());
    no_temporaries(dir.path());
}

// ---------------------------------------------------------------------------------------------
// Output targets.

#[test]
fn special_files_at_out_are_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let fifo = dir.path().join("fifo.npz");
    mkfifo(&fifo);
    refuse(
        &["balance", s(&w), "--out", s(&fifo)],
        &["fifo.npz", "FIFO", "regular files"],
    );
    refuse(
        &["balance", s(&w), "--out", "/dev/null"],
        &["/dev/null", "character device"],
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    no_temporaries(dir.path());
}

/// Symbolic links at `--out` are refused (documented choice): neither the link nor its target
/// changes; a link loop likewise.
#[test]
fn symlinks_at_out_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let target = dir.path().join("target.npz");
    std::fs::write(&target, b"precious").unwrap();
    let link = dir.path().join("link.npz");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    refuse(
        &["balance", s(&w), "--out", s(&link)],
        &["link.npz", "symbolic link"],
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    let dangling = dir.path().join("dangling.npz");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    refuse(
        &["balance", s(&w), "--out", s(&dangling)],
        &["symbolic link"],
    );
    assert!(!dir.path().join("nowhere").exists());
    let looped = dir.path().join("loop.npz");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    refuse(&["balance", s(&w), "--out", s(&looped)], &["symbolic link"]);
    no_temporaries(dir.path());
}

/// A report that cannot be written (`> /dev/full`) fails the run before the output is committed.
#[test]
fn failing_stdout_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("o.npz");
    let (code, err) = run_to_dev_full(&["balance", s(&w), "--out", s(&out)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("stdout"), "{err}");
    assert!(!out.exists(), "output committed although the report failed");
    no_temporaries(dir.path());
    // And an existing output stays as it was.
    std::fs::write(&out, b"old").unwrap();
    let (code, err) = run_to_dev_full(&["balance", s(&w), "--out", s(&out)]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
}

// ---------------------------------------------------------------------------------------------
// Signals.

/// SIGTERM and SIGINT at staggered moments of a run: afterwards either no output or a complete
/// one, and never a temporary.
#[test]
fn signals_leave_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(3, &[40, 40, 40, 40], None);
    let w = dir.path().join("w.npz");
    write_weights(&w, &layers);
    let bin = assert_cmd::cargo::cargo_bin("dln");
    for (i, sig) in ["TERM", "INT", "TERM", "INT", "TERM", "TERM"]
        .iter()
        .enumerate()
    {
        let out = dir.path().join(format!("o{i}.npz"));
        let mut child = StdCommand::new(&bin)
            .args([
                "flow",
                "kirwan-ness",
                s(&w),
                "--t-end",
                "5",
                "--out",
                s(&out),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + 40 * i as u64));
        let _ = StdCommand::new("kill")
            .args([&format!("-{sig}"), &child.id().to_string()])
            .status();
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < deadline, "dln did not stop after SIG{sig}");
            std::thread::sleep(Duration::from_millis(10));
        };
        no_temporaries(dir.path());
        if status.success() {
            // Finished before the signal: the output must be complete.
            assert_eq!(read_weights::<f64>(&out).len(), 3);
        } else {
            assert!(!out.exists(), "killed run left an output");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

/// Concurrent writers to one `--out`: the survivor is a complete archive, no temporaries remain.
#[test]
fn concurrent_writers_leave_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("o.npz");
    let bin = assert_cmd::cargo::cargo_bin("dln");
    let children: Vec<_> = (0..4)
        .map(|_| {
            StdCommand::new(&bin)
                .args(["balance", s(&w), "--out", s(&out), "--json"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(read_weights::<f64>(&out).len(), 2);
    no_temporaries(dir.path());
}

#[test]
fn report_then_commit_order_is_kept_for_directories() {
    // `reduce` writes a system directory: a failing stdout must leave none.
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    std::fs::create_dir(&sys).unwrap();
    let a = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { -(i as f64) - 1.0 } else { 0.1 });
    std::fs::write(sys.join("A.npy"), npy_bytes(&a)).unwrap();
    std::fs::write(sys.join("B.npy"), npy_bytes(&Mat::<f64>::ones(3, 1))).unwrap();
    std::fs::write(sys.join("C.npy"), npy_bytes(&Mat::<f64>::ones(1, 3))).unwrap();
    let out = dir.path().join("red");
    let (code, err) = run_to_dev_full(&["reduce", s(&sys), "--order", "1", "--out", s(&out)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(!out.exists());
    no_temporaries(dir.path());
}

// ---------------------------------------------------------------------------------------------
// Help and behaviour.

/// `reduce --order r` with r above n: the help says a larger order is lowered to the minimal
/// order, so it is (it used to be refused for r > n only).
#[test]
fn reduce_order_above_n_is_lowered_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    std::fs::create_dir(&sys).unwrap();
    let a = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { -(i as f64) - 1.0 } else { 0.1 });
    std::fs::write(sys.join("A.npy"), npy_bytes(&a)).unwrap();
    std::fs::write(sys.join("B.npy"), npy_bytes(&Mat::<f64>::ones(3, 1))).unwrap();
    std::fs::write(sys.join("C.npy"), npy_bytes(&Mat::<f64>::ones(1, 3))).unwrap();
    let out = dir.path().join("red");
    let v = run_json(&["reduce", s(&sys), "--order", "100", "--out", s(&out)]);
    let minimal = v["minimal_order"].as_u64().unwrap();
    assert!((1..=3).contains(&minimal));
    assert_eq!(v["order"].as_u64(), Some(minimal), "{v}");
    let a_red = read_npy::<f64>(&out.join("A.npy"));
    assert_eq!(a_red.nrows() as u64, minimal);
}

/// Reports never print `-0` (the error bound of a reduction that removes nothing is a sum of
/// nothing, which the library may compute as `-0.0`).
#[test]
fn reports_never_print_negative_zero() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    std::fs::create_dir(&sys).unwrap();
    let a = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { -(i as f64) - 1.0 } else { 0.1 });
    std::fs::write(sys.join("A.npy"), npy_bytes(&a)).unwrap();
    std::fs::write(sys.join("B.npy"), npy_bytes(&Mat::<f64>::ones(3, 1))).unwrap();
    std::fs::write(sys.join("C.npy"), npy_bytes(&Mat::<f64>::ones(1, 3))).unwrap();
    for (k, json) in [(0, true), (1, false)] {
        let out = dir.path().join(format!("red{k}"));
        let mut args = vec!["reduce", s(&sys), "--order", "3", "--out", s(&out)];
        if json {
            args.push("--json");
        }
        let o = dln().args(&args).timeout(TIMEOUT).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(!text.contains("-0.0") && !text.contains(":-0,"), "{text}");
        assert!(!text.split_whitespace().any(|w| w == "-0"), "{text}");
    }
}

/// Zero-width layers: one rule everywhere (refused, as `train --widths` refuses 0).
#[test]
fn zero_width_layers_are_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("z.npz");
    write_weights(&p, &[Mat::<f64>::zeros(0, 3), Mat::<f64>::zeros(2, 0)]);
    let out = dir.path().join("o.npz");
    refuse(&["moments", s(&p)], &["W1", "0×3", "zero-width"]);
    refuse(&["balance", s(&p), "--out", s(&out)], &["W1", "zero-width"]);
    refuse(
        &["flow", "l2", s(&p), "--t-end", "1", "--out", s(&out)],
        &["W1", "zero-width"],
    );
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------------------------
// Reports on edge inputs: never `null`, never `-0`, never `NaN`/`inf`.

/// Every number of a JSON report is a number (or a magnitude string), never `null` and never
/// `-0`: returns the JSON path of the first offender.
fn first_null_or_negative_zero(v: &serde_json::Value, path: &str) -> Option<String> {
    match v {
        serde_json::Value::Null => Some(path.to_string()),
        serde_json::Value::Number(n) => n
            .as_f64()
            .filter(|x| x.is_sign_negative() && x.abs() < f64::MIN_POSITIVE)
            .map(|_| format!("{path} = {n}")),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| first_null_or_negative_zero(x, &format!("{path}[{i}]"))),
        serde_json::Value::Object(o) => o
            .iter()
            .find_map(|(k, x)| first_null_or_negative_zero(x, &format!("{path}.{k}"))),
        _ => None,
    }
}

/// Runs `dln args` as a table and with `--json`. A refusal is fine (one clean line); a success
/// must print no `null`, `-0`, `NaN` or `inf`. Returns the JSON of a success.
fn clean_report(args: &[&str]) -> Option<serde_json::Value> {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let mut json = None;
    for a in [args, &with_json[..]] {
        let out = dln().args(a).timeout(TIMEOUT).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            assert_eq!(out.status.code(), Some(1), "dln {a:?}: {err}");
            assert_eq!(err.lines().count(), 1, "dln {a:?}: {err}");
            continue;
        }
        let text = String::from_utf8(out.stdout).unwrap();
        for w in text.split(|c: char| c.is_whitespace() || ",:[]{}()".contains(c)) {
            let lower = w.to_ascii_lowercase();
            assert!(
                !(lower.starts_with("-0") && w.trim_start_matches(['-', '0', '.']).is_empty()),
                "dln {a:?} printed {w:?}: {text}"
            );
            assert!(
                !["nan", "inf", "-inf", "null"].contains(&lower.as_str()),
                "dln {a:?} printed {w:?}: {text}"
            );
        }
        if a.len() > args.len() {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if let Some(p) = first_null_or_negative_zero(&v, "$") {
                panic!("dln {a:?}: {p} is null or -0: {text}");
            }
            json = Some(v);
        }
    }
    json
}

/// `moments`, `balance`, `flow` (both kinds) and `entropy` on networks at the edges: $X = 0$ with
/// non-zero layers, all-zero layers, rank-deficient, complex, and scales $2^{\pm1000}$.
#[test]
fn network_reports_on_edge_inputs_hold_no_null() {
    let dir = tempfile::tempdir().unwrap();
    let e = |i, j| if i == j { 1.0 } else { 0.0 };
    let x_zero = vec![
        Mat::<f64>::from_fn(2, 2, |i, j| if i == 0 { e(i, j) } else { 0.0 }),
        Mat::<f64>::from_fn(2, 2, |i, j| if i == 1 { e(i, j) } else { 0.0 }),
    ];
    let random: Vec<Mat<f64>> = random_layers(11, &[3, 4, 3], None);
    let scaled = |c: f64| -> Vec<Mat<f64>> {
        random
            .iter()
            .map(|w| Mat::from_fn(w.nrows(), w.ncols(), |i, j| w[(i, j)] * c))
            .collect()
    };
    let cases: Vec<(&str, Vec<Mat<f64>>)> = vec![
        ("x_zero", x_zero),
        ("all_zero", vec![Mat::zeros(2, 3), Mat::zeros(3, 2)]),
        ("rank1", random_layers(5, &[3, 4, 3], Some(1))),
        ("tiny", scaled(2f64.powi(-1000))),
        ("huge", scaled(2f64.powi(1000))),
    ];
    let mut inputs: Vec<(String, PathBuf)> = cases
        .into_iter()
        .map(|(name, layers)| {
            let p = dir.path().join(format!("{name}.npz"));
            write_weights(&p, &layers);
            (name.to_string(), p)
        })
        .collect();
    let complex: Vec<Mat<dln::linalg::c64>> = random_layers(13, &[2, 3, 2], Some(1));
    let p = dir.path().join("complex_rank1.npz");
    write_weights(&p, &complex);
    inputs.push(("complex_rank1".into(), p));
    let out = dir.path().join("o.npz");
    for (name, w) in &inputs {
        let m = clean_report(&["moments", s(w)]);
        if name == "x_zero" || name == "all_zero" {
            let m = m.unwrap_or_else(|| panic!("{name}: moments refused"));
            assert!(
                m.get("gap").is_none(),
                "{name}: the gap of X = 0 is undefined: {m}"
            );
        }
        clean_report(&["balance", s(w), "--out", s(&out)]);
        for kind in ["kirwan-ness", "l2"] {
            clean_report(&["flow", kind, s(w), "--t-end", "0.1", "--out", s(&out)]);
        }
        clean_report(&["entropy", s(w)]);
    }
    no_temporaries(dir.path());
}

/// `train` (flow and descent, tiny initial scales, weight decay) and the system commands on a
/// system with $B = 0$ and one with entries $2^{\pm1000}$.
#[test]
fn training_and_system_reports_on_edge_inputs_hold_no_null() {
    let dir = tempfile::tempdir().unwrap();
    let data = training_data(dir.path());
    let out = dir.path().join("t.npz");
    let base = ["train", s(&data), "--widths", "2,3,2", "--out", s(&out)];
    let flow = clean_report(&[&base[..], &["--t-end", "0.1"]].concat())
        .expect("a plain training flow must succeed");
    assert!(
        flow.get("lr").is_none(),
        "lr does not apply to the flow: {flow}"
    );
    let gd = clean_report(&[&base[..], &["--steps", "5", "--lr", "0.01"]].concat())
        .expect("plain gradient descent must succeed");
    assert!(gd["lr"].as_f64().is_some(), "{gd}");
    for extra in [
        &["--t-end", "0.1", "--init-scale", "1e-200"][..],
        &["--t-end", "0.1", "--kappa", "1", "--init", "balanced"][..],
        &["--steps", "3", "--lr", "0.01", "--init-scale", "1e-300"][..],
    ] {
        clean_report(&[&base[..], extra].concat());
    }
    let a = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { -(i as f64) - 1.0 } else { 0.1 });
    /// A named system $(A, B, C)$.
    type System = (&'static str, Mat<f64>, Mat<f64>, Mat<f64>);
    let systems: Vec<System> = vec![
        ("b_zero", a.clone(), Mat::zeros(3, 1), Mat::ones(1, 3)),
        (
            "tiny",
            a.clone(),
            Mat::from_fn(3, 1, |_, _| 2f64.powi(-1000)),
            Mat::ones(1, 3),
        ),
        (
            "huge",
            a.clone(),
            Mat::from_fn(3, 1, |_, _| 2f64.powi(500)),
            Mat::from_fn(1, 3, |_, _| 2f64.powi(500)),
        ),
        // The Gramians overflow f64 (their factors do not): tr X is reported, not null.
        (
            "huger",
            a.clone(),
            Mat::from_fn(3, 1, |_, _| 2f64.powi(600)),
            Mat::from_fn(1, 3, |_, _| 2f64.powi(600)),
        ),
    ];
    for (name, a, b, c) in systems {
        let sys = dir.path().join(name);
        std::fs::create_dir(&sys).unwrap();
        std::fs::write(sys.join("A.npy"), npy_bytes(&a)).unwrap();
        std::fs::write(sys.join("B.npy"), npy_bytes(&b)).unwrap();
        std::fs::write(sys.join("C.npy"), npy_bytes(&c)).unwrap();
        clean_report(&["hsv", s(&sys)]);
        for kind in ["controllability", "observability"] {
            let g = dir.path().join("g.npy");
            clean_report(&["gram", s(&sys), "--kind", kind, "--out", s(&g)]);
            let f = clean_report(&["gram", s(&sys), "--kind", kind, "--factor", "--out", s(&g)])
                .expect("the Cholesky factor is representable");
            if name == "huger" {
                // tr X = ‖L‖² ≈ 2^1200 ≈ 10^361: a string in scientific notation.
                let t = f["trace"].as_str().unwrap_or_else(|| panic!("{f}"));
                let (m, e) = t.split_once('e').unwrap();
                let log10 = m.parse::<f64>().unwrap().log10() + e.parse::<f64>().unwrap();
                assert!((359.0..363.0).contains(&log10), "{f}");
            }
        }
        if name == "tiny" {
            // X = L·Lᵀ ≈ 2^-2000 underflows to 0: an error, not an all-zero Gramian.
            let g = dir.path().join("tiny-gram.npy");
            let args = ["gram", s(&sys), "--kind", "controllability", "--out", s(&g)];
            run_fail(&args, &["underflow", "--factor"]);
            assert!(!g.exists());
        }
        let red = dir.path().join(format!("{name}-red"));
        clean_report(&["reduce", s(&sys), "--order", "1", "--out", s(&red)]);
    }
    no_temporaries(dir.path());
}

/// SIGTERM/SIGINT around the final commit of `--out` (the rename that follows the report): 20
/// runs, the signal sent right after the report appears on stdout (the commit is then in
/// progress or imminent) with delays from 0 to 1.9 ms, or during the run. Afterwards `--out` is
/// either the old file, byte for byte, or the complete new one, and no `.dln-*.part` remains.
#[test]
fn signals_during_commit_leave_old_or_new_file() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("o.npz");
    let fresh = dir.path().join("fresh.npz");
    // The new file a complete run writes, for comparison.
    run_json(&["balance", s(&w), "--out", s(&fresh)]);
    let new_layers = read_weights::<f64>(&fresh);
    let old_layers: Vec<Mat<f64>> = random_layers(99, &[5, 5], None);
    let bin = assert_cmd::cargo::cargo_bin("dln");
    let (mut old_kept, mut new_written) = (0, 0);
    let started = Instant::now();
    for i in 0..20u64 {
        write_weights(&out, &old_layers);
        let old_bytes = std::fs::read(&out).unwrap();
        let mut child = StdCommand::new(&bin)
            .args(["balance", s(&w), "--out", s(&out), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let after_report = i % 4 != 3;
        if after_report {
            // Wait for the first byte of the report: the commit follows it.
            let mut byte = [0u8; 1];
            let _ = child.stdout.as_mut().unwrap().read(&mut byte);
            std::thread::sleep(Duration::from_micros(100 * i));
        } else {
            std::thread::sleep(Duration::from_millis(2 * i));
        }
        let sig = if i % 2 == 0 { "TERM" } else { "INT" };
        let _ = StdCommand::new("kill")
            .args([&format!("-{sig}"), &child.id().to_string()])
            .status();
        let deadline = Instant::now() + TIMEOUT;
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "dln did not stop after SIG{sig}");
            std::thread::sleep(Duration::from_millis(1));
        }
        no_temporaries(dir.path());
        let now = std::fs::read(&out).unwrap();
        if now == old_bytes {
            old_kept += 1;
        } else {
            let layers = read_weights::<f64>(&out);
            assert_eq!(layers.len(), new_layers.len(), "run {i}: incomplete output");
            for (a, b) in layers.iter().zip(&new_layers) {
                assert!(
                    (a - b).norm_max() <= 1e-12 * b.norm_max(),
                    "run {i}: wrong output"
                );
            }
            new_written += 1;
        }
    }
    eprintln!(
        "signals during commit: {old_kept} runs kept the old file, {new_written} wrote the new one ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

/// `dln sample prior|fiber` with absurd `--samples` are refused before allocating (they aborted
/// with "memory allocation of … bytes failed"), naming the flag; nothing is written.
#[test]
fn absurd_sample_counts_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.npz");
    write_weights(&w, &random_layers::<f64>(3, &[2, 2, 2], None));
    let out = dir.path().join("s.npz");
    let (w, o) = (w.to_str().unwrap(), out.to_str().unwrap());
    run_fail(
        &[
            "sample",
            "prior",
            "--widths",
            "2,3,2",
            "--beta",
            "1",
            "--kappa",
            "1",
            "--samples",
            "1000000000000",
            "--out",
            o,
        ],
        &["--samples", "memory"],
    );
    run_fail(
        &[
            "sample",
            "fiber",
            w,
            "--beta",
            "1",
            "--kappa",
            "1",
            "--samples",
            "100000000",
            "--thin",
            "1000000",
            "--out",
            o,
        ],
        &["--samples", "memory"],
    );
    assert!(!out.exists());
}
