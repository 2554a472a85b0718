//! Networks at extreme scales $2^{k}\mathbf W$, $k\in\{-1000,-500,-120,0,100,300,1000\}$: moments,
//! balancing certificates and products must be those of $\mathbf W$ rescaled analytically
//! ($\|\mu\|/\|\mathbf W\|^2$ and the gap are scale-invariant; the balanced network of $c\mathbf W$ is
//! $c$ times that of $\mathbf W$), real and complex, square, rectangular and rank-deficient.

use dln_algebra::{BalanceMethod, BalanceOptions, BalancedOrbit, Network, balance};
use dln_linalg::{Scalar, ScaledReal, c64, frob_norm_scaled, random, rel_diff, scale_pow2};
use faer::Mat;

const SCALES: [i64; 7] = [-1000, -500, -120, 0, 100, 300, 1000];

fn net<T: Scalar>(seed: u64, widths: &[usize], rank: Option<usize>) -> Network<T> {
    let mut rng = random::rng(seed);
    let n = widths.len() - 1;
    let layers = (1..=n)
        .map(|k| match rank {
            Some(r) if k == 1 => random::low_rank(&mut rng, widths[1], widths[0], r),
            _ => random::gaussian(&mut rng, widths[k], widths[k - 1]),
        })
        .collect();
    Network::new(layers).unwrap()
}

fn scaled<T: Scalar>(w: &Network<T>, k: i64) -> Network<T> {
    Network::new(
        w.layers()
            .iter()
            .map(|l| scale_pow2(l.as_ref(), k))
            .collect(),
    )
    .unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

fn check<T: Scalar>(widths: &[usize], rank: Option<usize>, seed: u64) {
    let w = net::<T>(seed, widths, rank);
    let rel0 = w.relative_moment_norm();
    let lb0 = BalancedOrbit::of(&w).unwrap().l2_lower_bound();
    let bal0: Vec<_> = [BalanceMethod::Svd, BalanceMethod::Orbit]
        .iter()
        .map(|&m| {
            balance(
                &w,
                BalanceOptions {
                    method: m,
                    ..Default::default()
                },
            )
            .unwrap()
        })
        .collect();
    for k in SCALES {
        let label = format!("{widths:?} rank {rank:?} 2^{k} {}", T::DTYPE_NAME);
        let wk = scaled(&w, k);
        // Relative moment norm is scale-invariant.
        let rel = wk.relative_moment_norm();
        assert!(
            close(rel, rel0, 1e-12),
            "{label}: rel moment {rel:e} vs {rel0:e}"
        );
        assert!(
            w.depth() == 1 || rel > 1e-3,
            "{label}: an unbalanced network must not look balanced"
        );
        // Absolute norms: 2^{2k} times the unscaled ones.
        let l2 = wk.l2_norm_scaled();
        let want = ScaledReal::from_f64(w.l2_norm_sq()).mul(ScaledReal::new(1.0, 2 * k));
        assert!(close(l2.mul(l2).ratio(want), 1.0, 1e-13), "{label}: norm");
        // Lower bound: 2^{2k} lb0.
        let orbit = BalancedOrbit::of(&wk).unwrap();
        let lb = orbit.l2_lower_bound_scaled();
        let lbw = ScaledReal::from_f64(lb0).mul(ScaledReal::new(1.0, 2 * k));
        assert!(close(lb.ratio(lbw), 1.0, 1e-12), "{label}: lower bound");
        for (b0, m) in bal0.iter().zip([BalanceMethod::Svd, BalanceMethod::Orbit]) {
            let b = balance(
                &wk,
                BalanceOptions {
                    method: m,
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{label} {m:?}: {e}"));
            let i = &b.info;
            assert!(i.gap().abs() < 1e-10, "{label} {m:?}: gap {:e}", i.gap());
            assert!(
                i.product_rel_change < 1e-10,
                "{label} {m:?}: product {:e}",
                i.product_rel_change
            );
            let mu = b.network.relative_moment_norm();
            assert!(mu < 1e-10, "{label} {m:?}: balanced moment {mu:e}");
            // The balanced layers are 2^{k} times those of W (the answer is equivariant).
            for (x, y) in b.network.layers().iter().zip(b0.network.layers()) {
                let back = scale_pow2(x.as_ref(), -k);
                assert!(
                    rel_diff(back.as_ref(), y.as_ref()) < 1e-10,
                    "{label} {m:?}: layers differ from the rescaled balanced network"
                );
                assert!(
                    !frob_norm_scaled(x.as_ref()).is_zero(),
                    "{label}: zero layer"
                );
            }
        }
    }
}

fn all<T: Scalar>() {
    check::<T>(&[4, 4, 4, 4], None, 1);
    check::<T>(&[3, 5, 4, 2], None, 2);
    check::<T>(&[5, 6, 6, 5], Some(2), 3);
    check::<T>(&[4, 4], None, 4);
}

#[test]
fn scales_real() {
    all::<f64>();
}

#[test]
fn scales_complex() {
    all::<c64>();
}

/// Layers at very different scales (2^{600}, 2^{-300}, 2^{-200}): X is representable only in
/// scaled form at intermediate steps; the balanced point and certificate still come out.
#[test]
fn mixed_layer_scales() {
    let w = net::<f64>(7, &[3, 3, 3, 3], None);
    let ks = [600i64, -300, -200];
    let wk = Network::new(
        w.layers()
            .iter()
            .zip(ks)
            .map(|(l, k)| scale_pow2(l.as_ref(), k))
            .collect::<Vec<Mat<f64>>>(),
    )
    .unwrap();
    let b = balance(&wk, BalanceOptions::default()).unwrap();
    assert!(b.info.gap().abs() < 1e-10, "gap {:e}", b.info.gap());
    assert!(b.info.product_rel_change < 1e-10);
    // X = 2^{100} X(W): the balanced layers have singular values 2^{100/3} sigma(X(W))^{1/3}.
    let x = b.network.try_product().unwrap();
    let x0 = w.product();
    assert!(rel_diff(scale_pow2(x.as_ref(), -100).as_ref(), x0.as_ref()) < 1e-10);
}

/// An end-to-end matrix beyond f64: `try_product` says so instead of returning infinities, while
/// balancing still works (its layers are representable).
#[test]
fn overflowing_product_is_reported() {
    let w = scaled(&net::<f64>(8, &[3, 3, 3, 3], None), 600);
    let err = w.try_product().unwrap_err().to_string();
    assert!(err.contains("end-to-end matrix"), "{err}");
    let b = balance(&w, BalanceOptions::default()).unwrap();
    assert!(b.info.gap().abs() < 1e-10);
    assert!(b.info.l2_norm_sq_before.is_infinite());
    assert!(b.info.norms.l2_sq_before.log10_abs() > 300.0);
}
