//! `dln hsv`, `dln gram`, `dln reduce` on the reference systems of `testdata/lti`, and every class
//! of bad input.

mod common;

use common::*;
use faer::Mat;
use std::path::Path;

fn expected_hsv(name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(lti(name).join("expected.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    floats(&v["hsv"])
}

fn rel(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    (a - b).norm_l2() / b.norm_l2()
}

#[test]
fn hsv_matches_the_published_values() {
    // SLICOT AB09AD example: 4 decimals.
    let j = run_json(&["hsv", lti("slicot_ab09ad").to_str().unwrap()]);
    assert_eq!(j["n"], 7);
    assert_eq!(j["time"], "continuous");
    let hsv = floats(&j["hsv"]);
    for (a, b) in hsv.iter().zip(expected_hsv("slicot_ab09ad")) {
        assert!((a - b).abs() <= 6e-5, "{a} vs {b}");
    }
    // Its Tustin image has the same HSVs; meta.json says discrete, dt = 0.2.
    let d = run_json(&["hsv", lti("slicot_ab09ad_dt").to_str().unwrap()]);
    assert_eq!(d["time"], "discrete");
    assert_eq!(d["dt"], 0.2);
    for (a, b) in floats(&d["hsv"]).iter().zip(&hsv) {
        assert!((a - b).abs() <= 1e-8 * hsv[0], "{a} vs {b}");
    }
    // Benchmarks: the values stored with the models (leading ones, relative 1e-6).
    for name in ["build", "CDplayer"] {
        let j = run_json(&["hsv", lti(name).to_str().unwrap()]);
        let got = floats(&j["hsv"]);
        let want = expected_hsv(name);
        for k in 0..5 {
            assert!(
                (got[k] - want[k]).abs() <= 1e-6 * want[k],
                "{name} σ{}: {} vs {}",
                k + 1,
                got[k],
                want[k]
            );
        }
    }
    // Human-readable form.
    let o = dln()
        .args(["hsv", lti("slicot_ab09ad").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("2.513879"), "{text}");
}

#[test]
fn gram_matches_slicot_sb03md() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["slicot_ab09ad", "build"] {
        for (kind, reference) in [
            ("controllability", "ref_P.npy"),
            ("observability", "ref_Q.npy"),
        ] {
            let out = dir.path().join(format!("{name}-{kind}.npy"));
            let j = run_json(&[
                "gram",
                lti(name).to_str().unwrap(),
                "--kind",
                kind,
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(
                j["residual"].as_f64().unwrap() < 1e-12,
                "{name} {kind}: {j}"
            );
            let x: Mat<f64> = read_npy(&out);
            let r: Mat<f64> = read_npy(&lti(name).join(reference));
            assert!(rel(&x, &r) < 1e-8, "{name} {kind}: {:e}", rel(&x, &r));
            // The factor reproduces it.
            let fout = dir.path().join(format!("{name}-{kind}-L.npy"));
            let j = run_json(&[
                "gram",
                lti(name).to_str().unwrap(),
                "--kind",
                kind,
                "--factor",
                "--out",
                fout.to_str().unwrap(),
            ]);
            assert_eq!(j["factor"], true);
            let l: Mat<f64> = read_npy(&fout);
            assert!(rel(&(&l * l.transpose()), &r) < 1e-8);
        }
    }
}

/// Runs `dln reduce` and checks the Glover sandwich and the written system.
fn reduce_checked(name: &str, method: &str, order: usize) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("red");
    let o = order.to_string();
    let j = run_json(&[
        "reduce",
        lti(name).to_str().unwrap(),
        "--order",
        &o,
        "--method",
        method,
        "--out",
        out.to_str().unwrap(),
    ]);
    let what = format!("{name} {method} r={order}");
    assert_eq!(j["order"], order, "{what}");
    assert_eq!(j["stable_order"], order, "{what}");
    let hsv = floats(&j["hsv"]);
    let err = j["hinf_error"].as_f64().unwrap();
    let bound = j["error_bound"].as_f64().unwrap();
    assert!(
        err <= bound * (1.0 + 1e-8),
        "{what}: ‖G−G_r‖∞ = {err} > bound {bound}"
    );
    assert!(
        err >= hsv[order] * (1.0 - 1e-6),
        "{what}: ‖G−G_r‖∞ = {err} < σ_(r+1) = {}",
        hsv[order]
    );
    // The written system: same layout, right shapes, same time domain, re-readable by dln.
    assert_eq!(
        listing(&out),
        ["A.npy", "B.npy", "C.npy", "D.npy", "meta.json"]
    );
    let a: Mat<f64> = read_npy(&out.join("A.npy"));
    assert_eq!(a.shape(), (order, order));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    let src: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lti(name).join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["time"], src["time"]);
    let r = run_json(&["hsv", out.to_str().unwrap()]);
    let rh = floats(&r["hsv"]);
    assert_eq!(rh.len(), order);
    if method != "spa" && meta["time"] == "continuous" {
        // Continuous-time balanced truncation keeps the leading Hankel singular values (in
        // discrete time the truncated Gramians are not the leading blocks).
        for k in 0..order {
            assert!(
                (rh[k] - hsv[k]).abs() <= 1e-6 * hsv[0],
                "{what}: reduced σ{} = {} vs {}",
                k + 1,
                rh[k],
                hsv[k]
            );
        }
    }
}

#[test]
fn reduce_slicot_example() {
    for m in ["sr", "bfsr", "spa"] {
        reduce_checked("slicot_ab09ad", m, 5);
        reduce_checked("slicot_ab09ad", m, 3);
        reduce_checked("slicot_ab09ad_dt", m, 4);
    }
    // SLICOT's own run: TOL = 0.1 selects order 5.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let j = run_json(&[
        "reduce",
        lti("slicot_ab09ad").to_str().unwrap(),
        "--tol",
        "0.1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(j["order"], 5);
}

#[test]
fn reduce_benchmarks() {
    for m in ["sr", "bfsr", "spa"] {
        reduce_checked("build", m, 10);
        reduce_checked("CDplayer", m, 12);
    }
}

#[test]
fn npz_system_with_discrete_flag() {
    let dir = tempfile::tempdir().unwrap();
    let src = lti("slicot_ab09ad_dt");
    let bytes = |n: &str| std::fs::read(src.join(format!("{n}.npy"))).unwrap();
    let npz = dir.path().join("sys.npz");
    write_zip(
        &npz,
        &[
            ("A", bytes("A")),
            ("B", bytes("B")),
            ("C", bytes("C")),
            ("D", bytes("D")),
        ],
        false,
    );
    let j = run_json(&["hsv", npz.to_str().unwrap(), "--discrete", "--dt", "0.2"]);
    assert_eq!(j["time"], "discrete");
    let want = floats(&run_json(&["hsv", src.to_str().unwrap()])["hsv"]);
    for (a, b) in floats(&j["hsv"]).iter().zip(&want) {
        assert!((a - b).abs() <= 1e-12 * want[0]);
    }
    // Without --discrete the same matrices are read as continuous time: A is then unstable
    // (its eigenvalues lie in the unit disc, some with positive real part).
    run_fail(
        &["hsv", npz.to_str().unwrap()],
        &["sys.npz", "A", "eigenvalue", "left half-plane"],
    );
    // Reduction keeps the time domain given on the command line.
    let out = dir.path().join("red");
    run_json(&[
        "reduce",
        npz.to_str().unwrap(),
        "--discrete",
        "--dt",
        "0.2",
        "--order",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["time"], "discrete");
    assert_eq!(meta["dt"], 0.2);
}

/// Writes a system directory from matrices (`D` optional) and an optional `meta.json`.
fn write_system(dir: &Path, mats: &[(&str, Mat<f64>)], meta: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, m) in mats {
        std::fs::write(dir.join(format!("{name}.npy")), npy_bytes(m)).unwrap();
    }
    if let Some(meta) = meta {
        std::fs::write(dir.join("meta.json"), meta).unwrap();
    }
}

fn diag(d: &[f64]) -> Mat<f64> {
    Mat::from_fn(d.len(), d.len(), |i, j| if i == j { d[i] } else { 0.0 })
}

fn ones(r: usize, c: usize) -> Mat<f64> {
    Mat::from_fn(r, c, |i, j| 1.0 + (i + 2 * j) as f64 * 0.1)
}

/// All three commands fail on `sys` with one line mentioning `needles`, and write nothing.
fn systems_fail(sys: &Path, needles: &[&str]) {
    let dir = sys.parent().unwrap();
    let before = listing(dir);
    let s = sys.to_str().unwrap();
    let out_dir = dir.join("reduced");
    let out_npy = dir.join("gram.npy");
    run_fail(&["hsv", s], needles);
    run_fail(
        &[
            "gram",
            s,
            "--kind",
            "controllability",
            "--out",
            out_npy.to_str().unwrap(),
        ],
        needles,
    );
    run_fail(
        &[
            "reduce",
            s,
            "--order",
            "1",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        needles,
    );
    assert!(
        !out_dir.exists() && !out_npy.exists(),
        "no output after a failure"
    );
    assert_eq!(listing(dir), before, "nothing may be left behind");
}

#[test]
fn bad_systems_are_reported_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n);
    let a = diag(&[-1.0, -2.0, -3.0]);
    let (b, c, d) = (ones(3, 2), ones(1, 3), ones(1, 2));

    // Unstable A: the eigenvalue is named.
    write_system(
        &p("unstable"),
        &[
            ("A", diag(&[-1.0, 0.5, -3.0])),
            ("B", b.clone()),
            ("C", c.clone()),
            ("D", d.clone()),
        ],
        None,
    );
    systems_fail(
        &p("unstable"),
        &["unstable/A.npy", "A:", "eigenvalue", "5e-1"],
    );
    // Unstable in discrete time (|λ| = 1.5), from meta.json.
    write_system(
        &p("unstable_dt"),
        &[
            ("A", diag(&[0.5, 1.5, 0.1])),
            ("B", b.clone()),
            ("C", c.clone()),
        ],
        Some(r#"{"time": "discrete", "dt": 0.1, "name": "x"}"#),
    );
    systems_fail(&p("unstable_dt"), &["A.npy", "eigenvalue", "unit disc"]);
    // Mismatched dimensions.
    write_system(
        &p("dims_b"),
        &[("A", a.clone()), ("B", ones(2, 2)), ("C", c.clone())],
        None,
    );
    systems_fail(&p("dims_b"), &["B.npy", "B:", "2 rows"]);
    write_system(
        &p("dims_c"),
        &[("A", a.clone()), ("B", b.clone()), ("C", ones(1, 4))],
        None,
    );
    systems_fail(&p("dims_c"), &["C.npy", "C:", "4 columns"]);
    write_system(
        &p("dims_d"),
        &[
            ("A", a.clone()),
            ("B", b.clone()),
            ("C", c.clone()),
            ("D", ones(2, 2)),
        ],
        None,
    );
    systems_fail(&p("dims_d"), &["D.npy", "D:", "p×m"]);
    write_system(
        &p("dims_a"),
        &[("A", ones(3, 2)), ("B", b.clone()), ("C", c.clone())],
        None,
    );
    systems_fail(&p("dims_a"), &["A.npy", "square"]);
    // NaN / Inf.
    let mut cn = c.clone();
    cn[(0, 1)] = f64::NAN;
    write_system(
        &p("nan"),
        &[("A", a.clone()), ("B", b.clone()), ("C", cn)],
        None,
    );
    systems_fail(&p("nan"), &["C.npy", "C:", "[0, 1]", "NaN"]);
    let mut ai = a.clone();
    ai[(2, 0)] = f64::NEG_INFINITY;
    write_system(
        &p("inf"),
        &[("A", ai), ("B", b.clone()), ("C", c.clone())],
        None,
    );
    systems_fail(&p("inf"), &["A.npy", "[2, 0]", "-inf"]);
    // A system of order 0 (0x0 A, 0x1 B, 1x0 C, no D: the constant transfer function 0, as
    // `dln minreal` writes it) is a legal input, not a bad one: its HSV list is empty.
    write_system(
        &p("empty"),
        &[
            ("A", Mat::zeros(0, 0)),
            ("B", Mat::zeros(0, 1)),
            ("C", Mat::zeros(1, 0)),
        ],
        None,
    );
    let hsv = run_json(&["hsv", p("empty").to_str().unwrap()]);
    assert_eq!(hsv["hsv"].as_array().map(Vec::len), Some(0), "{hsv}");
    // No inputs.
    write_system(
        &p("noinputs"),
        &[("A", a.clone()), ("B", Mat::zeros(3, 0)), ("C", c.clone())],
        None,
    );
    systems_fail(&p("noinputs"), &["B.npy", "no inputs"]);
    // Missing B.npy.
    write_system(&p("missing"), &[("A", a.clone()), ("C", c.clone())], None);
    systems_fail(&p("missing"), &["B.npy", "missing"]);
    // Missing directory.
    systems_fail(&p("nonexistent"), &["nonexistent", "no such file"]);
    // Integer dtype.
    write_system(&p("int"), &[("A", a.clone()), ("C", c.clone())], None);
    let ints: Vec<u8> = (0..6i64).flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(
        p("int").join("B.npy"),
        raw_npy("<i8", false, &[3, 2], &ints),
    )
    .unwrap();
    systems_fail(&p("int"), &["B.npy", "B:", "int64"]);
    // Complex data.
    write_system(&p("complex"), &[("A", a.clone()), ("C", c.clone())], None);
    let cb: Mat<dln::linalg::c64> = Mat::from_fn(3, 2, |i, j| ci(i as f64, j as f64));
    std::fs::write(p("complex").join("B.npy"), npy_bytes(&cb)).unwrap();
    systems_fail(&p("complex"), &["B.npy", "B:", "complex128"]);
    // Bad meta.json.
    write_system(
        &p("meta"),
        &[("A", a.clone()), ("B", b.clone()), ("C", c.clone())],
        Some(r#"{"time": "sideways"}"#),
    );
    systems_fail(&p("meta"), &["meta.json", "time", "sideways"]);
    write_system(
        &p("meta2"),
        &[("A", a.clone()), ("B", b.clone()), ("C", c.clone())],
        Some("{not json"),
    );
    systems_fail(&p("meta2"), &["meta.json", "invalid JSON"]);
    write_system(
        &p("meta3"),
        &[("A", a.clone()), ("B", b.clone()), ("C", c.clone())],
        Some(r#"{"time": "discrete", "dt": -1}"#),
    );
    systems_fail(&p("meta3"), &["meta.json", "dt", "positive"]);
    // An .npz without C.
    write_zip(
        &p("noc.npz"),
        &[("A", npy_bytes(&a)), ("B", npy_bytes(&b))],
        false,
    );
    systems_fail(&p("noc.npz"), &["noc.npz", "C:", "missing"]);
}

#[test]
fn reduce_specific_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let sys = lti("slicot_ab09ad");
    // --order > n is lowered to the minimal order, as the help says (issue 12).
    let v = run_json(&[
        "reduce",
        sys.to_str().unwrap(),
        "--order",
        "8",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(v["order"], v["minimal_order"], "{v}");
    std::fs::remove_dir_all(&out).unwrap();
    // Output parent missing.
    let deep = tmp.path().join("a/b");
    run_fail(
        &[
            "reduce",
            sys.to_str().unwrap(),
            "--order",
            "2",
            "--out",
            deep.to_str().unwrap(),
        ],
        &["does not exist"],
    );
    // An existing directory with other files is not replaced.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    run_fail(
        &[
            "reduce",
            sys.to_str().unwrap(),
            "--order",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        &["notes.txt", "refusing"],
    );
    assert_eq!(listing(&out), ["notes.txt"]);
    // An existing system directory is replaced.
    std::fs::remove_file(out.join("notes.txt")).unwrap();
    run_json(&[
        "reduce",
        sys.to_str().unwrap(),
        "--order",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    run_json(&[
        "reduce",
        sys.to_str().unwrap(),
        "--order",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let a: Mat<f64> = read_npy(&out.join("A.npy"));
    assert_eq!(a.shape(), (2, 2));
    assert_eq!(listing(tmp.path()), ["out"]);
    // Neither --order nor --tol: usage error.
    let o = dln()
        .args([
            "reduce",
            sys.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn reduce_unstable_with_alpha_keeps_the_unstable_part() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tmp.path().join("sys");
    let mut rng_a = Mat::from_fn(6, 6, |i, j| {
        if i == j {
            -(i as f64 + 1.0)
        } else {
            0.05 * ((i * 7 + j * 3) % 5) as f64
        }
    });
    rng_a[(0, 0)] = 0.7; // one unstable pole
    write_system(
        &sys,
        &[("A", rng_a), ("B", ones(6, 1)), ("C", ones(1, 6))],
        None,
    );
    let out = tmp.path().join("red");
    // Without --alpha: unstable.
    run_fail(
        &[
            "reduce",
            sys.to_str().unwrap(),
            "--order",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
        &["A.npy", "eigenvalue"],
    );
    let j = run_json(&[
        "reduce",
        sys.to_str().unwrap(),
        "--order",
        "3",
        "--alpha",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(j["unstable_order"], 1);
    assert_eq!(j["order"], 3);
    assert_eq!(j["stable_order"], 2);
    let err = j["hinf_error"].as_f64().unwrap();
    assert!(err <= j["error_bound"].as_f64().unwrap() * (1.0 + 1e-8));
}
