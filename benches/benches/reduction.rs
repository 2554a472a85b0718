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
use dln_systems::reference::{self, RandomStable};
use dln_systems::schur::real_schur;
use std::hint::black_box;
use std::path::Path;

/// A random stable system: Gaussian A shifted so that max Re(lambda) = -0.5 (m = p = 2).
fn random_stable(seed: u64, n: usize) -> StateSpace {
    RandomStable::continuous(n, 2, 2, 0.5)
        .system(&mut random::rng(seed))
        .unwrap()
}

fn load(dir: &Path) -> StateSpace {
    reference::load_system(dir).unwrap_or_else(|e| panic!("{e}"))
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
        let d = reference::testdata_model(name);
        if d.join("A.npy").exists() {
            bt(c, &format!("model/{name}"), &load(&d), 10);
        }
    }
    match reference::shared_model_dir("rail_1357") {
        Ok(dir) => bt(c, "model/rail_1357", &load(&dir), 10),
        Err(why) => eprintln!("skipping model/rail_1357: {why}"),
    }
}

criterion_group!(benches, random_systems, models);
criterion_main!(benches);
