//! Test helper: the LTI test systems under `testdata/lti/<model>/`
//! (`A.npy B.npy C.npy D.npy meta.json [expected.json reference.json]`, see
//! `testdata/lti/README.md`), loaded by `dln_systems::reference`, with their JSON files.
#![allow(dead_code)]

use dln_linalg::{c64, random};
use dln_systems::model::StateSpace;
use dln_systems::reference;
use faer::{Mat, MatRef};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `testdata/lti` of this workspace.
pub fn lti_dir() -> PathBuf {
    reference::testdata_dir()
}

/// Reads a float64 `.npy` file (panics naming the file: these files ship with the repository).
pub fn read_npy(path: &Path) -> Mat<f64> {
    reference::read_npy(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let s =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// A test model: the validated system and its JSON files.
pub struct Model {
    /// Directory name.
    pub name: String,
    /// The system (sampling from `meta.json`: `"time"`, `"dt"`; DT without `dt` uses 1).
    pub sys: StateSpace,
    /// `meta.json`.
    pub meta: Value,
    /// `expected.json` if present.
    pub expected: Option<Value>,
    /// `reference.json` if present.
    pub reference: Option<Value>,
    /// Directory.
    pub dir: PathBuf,
}

/// Loads `testdata/lti/<name>` (panics if absent: these models are part of the repository).
pub fn load(name: &str) -> Model {
    load_from(&lti_dir().join(name))
}

/// Loads a model directory ([`reference::load_system`]) with its JSON files.
pub fn load_from(dir: &Path) -> Model {
    let meta = read_json(&dir.join("meta.json"));
    let sys = reference::load_system(dir).unwrap_or_else(|e| panic!("{e}"));
    let opt = |f: &str| dir.join(f).exists().then(|| read_json(&dir.join(f)));
    Model {
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        sys,
        meta,
        expected: opt("expected.json"),
        reference: opt("reference.json"),
        dir: dir.to_owned(),
    }
}

impl Model {
    /// A number from another model's `expected.json` (e.g. the AB13AD result for the same system).
    pub fn expected_field(&self, model: &str, field: &str) -> f64 {
        let e = read_json(&lti_dir().join(model).join("expected.json"));
        e[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{model}/expected.json: no number {field}"))
    }
}

/// A JSON array of numbers as `Vec<f64>`.
pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("JSON array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A JSON array of arrays as a matrix (row-major rows).
pub fn mat(v: &Value) -> Mat<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().expect("JSON array").iter().map(f64s).collect();
    let r = rows.len();
    let c = rows.first().map_or(0, Vec::len);
    Mat::from_fn(r, c, |i, j| rows[i][j])
}

/// Relative difference of two scalars.
pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

// Schur-test helpers shared by schur_lyapunov.rs and schur_large.rs.

/// A real Schur form of `a` is right: backward error and orthogonality at most $k\,n\,\varepsilon$,
/// $T$ quasi-triangular with standardized $2\times2$ blocks (equal diagonal, complex eigenvalues,
/// no two consecutive subdiagonal entries), every entry finite. `what` names the case.
pub fn check_real_schur(a: MatRef<'_, f64>, s: &dln_systems::schur::RealSchur, k: f64, what: &str) {
    let n = a.nrows();
    let nf = n.max(1) as f64;
    let eps = f64::EPSILON;
    let an = a.norm_l2().max(f64::MIN_POSITIVE);
    let back = (&s.z * &s.t * s.z.transpose() - a).norm_l2() / an;
    assert!(
        back <= k * nf * eps,
        "{what}: backward error {back:e} (n = {n})"
    );
    let orth = (s.z.transpose() * &s.z - Mat::<f64>::identity(n, n)).norm_l2();
    assert!(
        orth <= k * nf * eps,
        "{what}: orthogonality {orth:e} (n = {n})"
    );
    let mut j = 0;
    while j < n {
        for i in j + 2..n {
            assert!(
                s.t[(i, j)] == 0.0,
                "{what}: T not quasi-triangular at ({i}, {j})"
            );
        }
        if j + 1 < n && s.t[(j + 1, j)] != 0.0 {
            assert!(
                s.t[(j, j)].to_bits() == s.t[(j + 1, j + 1)].to_bits(),
                "{what}: 2x2 block at {j} not standardized"
            );
            assert!(
                s.t[(j, j + 1)] * s.t[(j + 1, j)] < 0.0,
                "{what}: 2x2 block at {j} has real eigenvalues"
            );
            assert!(
                j + 2 >= n || s.t[(j + 2, j + 1)] == 0.0,
                "{what}: consecutive subdiagonal entries at {j}"
            );
            j += 2;
        } else {
            j += 1;
        }
    }
    assert!(
        s.t.col_iter().all(|c| c.iter().all(|x| x.is_finite())),
        "{what}: non-finite T"
    );
}

/// Max over our eigenvalues of the distance to the nearest of faer's (and vice versa), greedy.
pub fn eig_distance(ours: &[c64], reference: &[c64]) -> f64 {
    assert_eq!(ours.len(), reference.len());
    let mut used = vec![false; reference.len()];
    let mut worst = 0.0f64;
    for &l in ours {
        let (mut bi, mut bd) = (usize::MAX, f64::INFINITY);
        for (i, &r) in reference.iter().enumerate() {
            if !used[i] && (l - r).norm() < bd {
                bd = (l - r).norm();
                bi = i;
            }
        }
        used[bi] = true;
        worst = worst.max(bd);
    }
    worst
}

pub fn faer_eigs(a: MatRef<'_, f64>) -> Vec<c64> {
    a.to_owned().eigenvalues().unwrap()
}

pub fn similar(rng: &mut random::StdRng, d: &Mat<f64>) -> Mat<f64> {
    let q: Mat<f64> = random::haar_unitary(rng, d.nrows());
    &q * d * q.transpose()
}
