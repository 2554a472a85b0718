//! The opt-in convergence history of the Newton Kempf–Ness solver
//! ([`dln_algebra::kempf_ness::balance_with_history`]): one relative gap per iterate, non-negative
//! (the Kempf–Ness bound), ending at `iterate_gap`; the answer is the one of `balance`, whose
//! history stays empty.

use dln_algebra::kempf_ness::balance_with_history;
use dln_algebra::{BalanceMethod, BalanceOptions, Network, balance};
use dln_linalg::{Scalar, c64, random};

fn check<T: Scalar>(w: &Network<T>, closed: bool) {
    let opts = BalanceOptions {
        method: BalanceMethod::Newton,
        max_iter: 40,
        ..Default::default()
    };
    let plain = balance(w, opts).unwrap();
    let traced = balance_with_history(w, opts).unwrap();
    assert!(plain.info.history.is_empty());
    let h = &traced.info.history;
    let it = traced.info.iterations;
    assert!(
        h.len() == it + 1 || h.len() == it,
        "{} gaps, {it} iterations",
        h.len()
    );
    // W_0 is the input: its gap is (||W||^2 - bound)/bound.
    let g0 = (plain.info.l2_norm_sq_before - plain.info.lower_bound) / plain.info.lower_bound;
    assert!((h[0] - g0).abs() <= 1e-12 * (1.0 + g0), "{} vs {g0}", h[0]);
    assert!(h.iter().all(|g| g.is_finite() && *g >= -1e-12), "{h:?}");
    let last = traced.info.iterate_gap.unwrap();
    assert!((h[h.len() - 1] - last).abs() <= 1e-14 * (1.0 + last.abs()));
    if closed {
        assert!(last < 1e-12, "{h:?}");
    }
    // Recording does not change the answer.
    for (a, b) in plain.network.layers().iter().zip(traced.network.layers()) {
        assert!(dln_linalg::rel_diff(a.as_ref(), b.as_ref()) <= 1e-15);
    }
    assert_eq!(plain.info.iterations, it);
}

fn nets<T: Scalar>(seed: u64) -> (Network<T>, Network<T>) {
    let mut rng = random::rng(seed);
    let closed = Network::new(
        (0..3)
            .map(|_| random::gaussian::<T, _>(&mut rng, 4, 4))
            .collect(),
    )
    .unwrap();
    let non_closed = Network::new(vec![
        random::gaussian::<T, _>(&mut rng, 4, 4),
        random::low_rank::<T, _>(&mut rng, 4, 4, 2),
        random::gaussian::<T, _>(&mut rng, 4, 4),
    ])
    .unwrap();
    (closed, non_closed)
}

#[test]
fn newton_history_real_and_complex() {
    for seed in [1, 2] {
        let (c, n) = nets::<f64>(seed);
        check(&c, true);
        check(&n, false);
        let (c, n) = nets::<c64>(seed);
        check(&c, true);
        check(&n, false);
    }
}

#[test]
fn closed_forms_have_no_history() {
    let (c, _) = nets::<f64>(3);
    for method in [BalanceMethod::Svd, BalanceMethod::Orbit] {
        let b = balance_with_history(
            &c,
            BalanceOptions {
                method,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(b.info.history.is_empty());
    }
}
