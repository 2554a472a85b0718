//! Lyapunov solvers of `dln-systems` at n = 200, 500, 1000 (random stable A, m = 2).
//!
//! Reference (notes §5, this machine, slycot/OpenBLAS, 2 threads, n = 1000): SLICOT SB03OD
//! (Hammarling) 2.6 s, scipy's Bartels–Stewart 8.5 s. Run one size with e.g.
//! `cargo bench -p dln-benches --bench lyapunov -- hammarling/1000`. `-- real_schur` times our
//! real Schur form beside faer's `eigen()` (`real_schur_faer_eigen`) on the same matrices.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dln_linalg::random;
use dln_systems::lyapunov::{TimeDomain, lyapunov, lyapunov_cholesky};
use dln_systems::reference::RandomStable;
use dln_systems::schur::real_schur;
use faer::Mat;
use std::hint::black_box;
use std::time::Duration;

/// Gaussian A shifted so that its rightmost eigenvalue has real part -0.5, and B (n x 2).
fn stable(n: usize, seed: u64) -> (Mat<f64>, Mat<f64>) {
    let (a, b, _) = RandomStable::continuous(n, 2, 0, 0.5)
        .triple(&mut random::rng(seed))
        .unwrap();
    (a, b)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("lyapunov");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for n in [200usize, 500, 1000] {
        let (a, b) = stable(n, n as u64);
        let q = &b * b.transpose();
        group.bench_with_input(BenchmarkId::new("real_schur", n), &n, |bch, _| {
            bch.iter(|| black_box(real_schur(a.as_ref()).unwrap()))
        });
        // The peer on the same matrix: faer's own eigendecomposition (Schur form + eigenvectors).
        group.bench_with_input(
            BenchmarkId::new("real_schur_faer_eigen", n),
            &n,
            |bch, _| bch.iter(|| black_box(a.eigen().unwrap())),
        );
        group.bench_with_input(BenchmarkId::new("hammarling", n), &n, |bch, _| {
            bch.iter(|| {
                black_box(
                    lyapunov_cholesky(a.as_ref(), b.as_ref(), TimeDomain::Continuous).unwrap(),
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("bartels_stewart", n), &n, |bch, _| {
            bch.iter(|| {
                black_box(lyapunov(a.as_ref(), q.as_ref(), TimeDomain::Continuous).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
