//! Benchmarks of `dln-systems` model reduction: full square-root balanced truncation (Schur
//! form, two Hammarling solves, SVD of R·S, projection) on random stable systems of order
//! n = 200, 500, 1000 and on benchmark models, each next to the unavoidable work of one real
//! Schur decomposition of A (the lower bound of any Schur-based method).
//!
//! Run one group at a time, e.g. `cargo bench -p dln-benches --bench reduction -- random/200`.
//! The `rail_1357` group runs only when `$DLN_SHARED_LTI/rail_1357` exists (the environment
//! variable names the directory of the shared large benchmark models).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dln_linalg::random;
use dln_systems::model::StateSpace;
use dln_systems::reduction::{OrderSelection, balanced_truncation};
use dln_systems::schur::real_schur;
use faer::Mat;
use std::hint::black_box;
use std::path::{Path, PathBuf};

/// A random stable system: Gaussian A shifted so that max Re(lambda) = -0.5 (m = p = 2).
fn random_stable(seed: u64, n: usize) -> StateSpace {
    let mut rng = random::rng(seed);
    let a0: Mat<f64> = random::gaussian(&mut rng, n, n);
    let b: Mat<f64> = random::gaussian(&mut rng, n, 2);
    let c: Mat<f64> = random::gaussian(&mut rng, 2, n);
    let mx = a0
        .eigenvalues()
        .unwrap()
        .iter()
        .map(|l| l.re)
        .fold(f64::MIN, f64::max);
    let a = Mat::from_fn(n, n, |i, j| {
        a0[(i, j)] - if i == j { mx + 0.5 } else { 0.0 }
    });
    StateSpace::continuous(a, b, c, Mat::zeros(2, 2)).unwrap()
}

fn npy(path: &Path) -> Mat<f64> {
    let bytes = std::fs::read(path).unwrap();
    faer::io::npy::Npy::new(&bytes).unwrap().to_mat::<f64>()
}

fn load(dir: &Path) -> StateSpace {
    let a = npy(&dir.join("A.npy"));
    let n = a.nrows();
    let orient = |m: Mat<f64>, rows: usize| {
        if m.nrows() == rows {
            m
        } else {
            m.transpose().to_owned()
        }
    };
    let b = orient(npy(&dir.join("B.npy")), n);
    let c = npy(&dir.join("C.npy"));
    let c = if c.ncols() == n {
        c
    } else {
        c.transpose().to_owned()
    };
    let d = Mat::zeros(c.nrows(), b.ncols());
    StateSpace::continuous(a, b, c, d).unwrap()
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/lti")
        .join(name)
}

fn bt(c: &mut Criterion, group: &str, sys: &StateSpace, samples: usize) {
    let n = sys.order();
    let mut g = c.benchmark_group(group);
    g.sample_size(samples);
    g.bench_with_input(
        BenchmarkId::new("balanced_truncation_sr", n),
        sys,
        |b, s| {
            b.iter(|| {
                black_box(balanced_truncation(black_box(s), OrderSelection::Fixed(n / 10)).unwrap())
            })
        },
    );
    g.bench_with_input(BenchmarkId::new("real_schur_only", n), sys, |b, s| {
        b.iter(|| black_box(real_schur(black_box(s).a()).unwrap()))
    });
    g.finish();
}

fn random_systems(c: &mut Criterion) {
    for (n, samples) in [(200, 20), (500, 10), (1000, 10)] {
        let sys = random_stable(n as u64, n);
        bt(c, &format!("random/{n}"), &sys, samples);
    }
}

fn models(c: &mut Criterion) {
    for name in ["iss", "beam"] {
        let d = testdata(name);
        if d.join("A.npy").exists() {
            bt(c, &format!("model/{name}"), &load(&d), 10);
        }
    }
    match std::env::var("DLN_SHARED_LTI") {
        Ok(base) if Path::new(&base).join("rail_1357/A.npy").exists() => {
            bt(
                c,
                "model/rail_1357",
                &load(&Path::new(&base).join("rail_1357")),
                10,
            );
        }
        Ok(base) => eprintln!("skipping model/rail_1357: {base}/rail_1357/A.npy not found"),
        Err(_) => eprintln!("skipping model/rail_1357: DLN_SHARED_LTI is not set"),
    }
}

criterion_group!(benches, random_systems, models);
criterion_main!(benches);
