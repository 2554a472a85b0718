//! The balanced-tail route of the certified reduction error (issue 9, item 4;
//! `dln_systems::reduction`, "The certified error"): on models whose Hankel singular values
//! decay fast the error $\\|G_s - G_{s,r}\\|_\infty$ is certified through the balanced truncation
//! $G_k$ and the tail bound $\tau_k = 2\sum_{i>k}\sigma_i$. Checked against the full route (the
//! level-set iteration on the whole error system) on random stable models (CT and DT, truncation
//! and singular perturbation), on $\alpha$-split models, and the fallback on flat HSVs.

use dln_linalg::random::{gaussian, haar_unitary, rng};
use dln_systems::model::StateSpace;
use dln_systems::reduction::{
    BoundStatus, HinfRoute, Method, OrderSelection, Reduction, ReductionOptions, reduce,
};
use dln_systems::reference::RandomStable;
use faer::Mat;

/// Runs both routes and checks the balanced-tail certificate against the full one; returns
/// $(k, \tau_k)$.
fn check_tail_against_full(name: &str, red: &Reduction) -> (usize, f64) {
    let (tail, tp) = red.hinf_error_profiled().unwrap();
    let (full, fp) = red.hinf_error_full_profiled().unwrap();
    assert_eq!(fp.route, HinfRoute::Full, "{name}");
    let HinfRoute::BalancedTail {
        order: k,
        tail_bound: tau,
    } = tp.route
    else {
        panic!("{name}: the balanced-tail route did not run: {tp:?}");
    };
    let (ns, rs) = (red.hsv.len(), red.stable_order);
    let delta = red.evaluation_rounding();
    let rtol = 1e-9;
    let s_next = red.error_lower_bound;
    // the choice of k (module docs): r_s <= k, k + r_s <= (n_s + r_s)/2, tau_k within budget,
    // and tau_k is the tail of the reported HSVs
    assert!(k >= rs && 2 * k + rs <= ns, "{name}: k = {k}, r_s = {rs}");
    assert!(
        tau <= 0.5 * (rtol * s_next).max(delta),
        "{name}: tau {tau:e}"
    );
    let tail_sum: f64 = 2.0 * red.hsv[k..].iter().sum::<f64>();
    assert!(
        (tau - tail_sum).abs() <= 1e-12 * tail_sum,
        "{name}: {tau:e} vs {tail_sum:e}"
    );
    // k is the smallest admissible order
    if k > rs.max(1) {
        let prev: f64 = 2.0 * red.hsv[k - 1..].iter().sum::<f64>();
        assert!(
            prev > 0.5 * (rtol * s_next).max(delta),
            "{name}: k not minimal"
        );
    }
    // the bracket is a bracket and contains the full route's attained value (up to the
    // evaluation rounding delta that both routes accept)
    assert!(
        tail.lower <= tail.value && tail.value <= tail.upper,
        "{name}: {tail:?}"
    );
    assert!(
        tail.lower <= full.value + delta && full.value <= tail.upper + delta,
        "{name}: full value {:e} outside the tail bracket [{:e}, {:e}] (delta {delta:e})",
        full.value,
        tail.lower,
        tail.upper
    );
    // ... and is no wider than the tail bound and the level-set tolerance allow (the relative
    // margin 1e-6 when the peak is the feedthrough level, as for SPA at omega = infinity:
    // `NormEstimate::upper`)
    assert!(
        tail.upper - tail.lower <= 2.0 * tau + (2.0 * rtol).max(1e-6) * tail.upper + delta,
        "{name}: {tail:?}, tau {tau:e}"
    );
    // both values agree within tau, the two relative tolerances and the rounding
    assert!(
        (tail.value - full.value).abs() <= tau + 4.0 * rtol * full.value + delta,
        "{name}: tail {tail:?} vs full {full:?}"
    );
    // the a-priori sandwich and the bound comparison still work
    assert!(tail.upper >= red.error_lower_bound * (1.0 - 1e-9), "{name}");
    assert!(tail.lower <= red.error_bound * (1.0 + 1e-6), "{name}");
    assert_eq!(
        red.compare_error(&tail).status,
        BoundStatus::WithinBound,
        "{name}"
    );
    // the route is the cheap one: a smaller error system
    assert!(
        tp.norm.hamiltonian_order <= 2 * (k + rs) && fp.norm.hamiltonian_order == 2 * (ns + rs),
        "{name}: {tp:?} / {fp:?}"
    );
    (k, tau)
}

#[test]
fn tail_route_agrees_with_full_route_ct_and_dt() {
    let cases: [(&str, RandomStable, u64, usize); 4] = [
        ("CT n=200", RandomStable::continuous(200, 2, 2, 1.0), 11, 10),
        (
            "CT n=160 m=3 p=2",
            RandomStable::continuous(160, 3, 2, 0.5),
            12,
            12,
        ),
        (
            "DT n=180",
            RandomStable::discrete(180, 2, 2, 0.6).with_dt(0.1),
            13,
            10,
        ),
        ("DT n=150 D", RandomStable::discrete(150, 2, 3, 0.5), 14, 8),
    ];
    for (name, class, seed, r) in cases {
        let class = if name.ends_with('D') {
            class.normalized().with_feedthrough(0.5)
        } else {
            class.normalized()
        };
        let sys = class.system(&mut rng(seed)).unwrap();
        for method in [Method::Truncation, Method::SingularPerturbation] {
            let red = reduce(
                &sys,
                ReductionOptions {
                    order: OrderSelection::Fixed(r),
                    method,
                    ..Default::default()
                },
            )
            .unwrap();
            let name = format!("{name} seed {seed} {method:?} r={r}");
            let (k, tau) = check_tail_against_full(&name, &red);
            // the certificate order is small: the HSVs of these models decay fast
            assert!(k <= 60, "{name}: k = {k}");
            eprintln!("{name}: k = {k}, tau = {tau:e}");
        }
    }
}

/// $G = G_s + G_u$ with $G_s$ from the random stable class (order `ns`) and `nu` unstable
/// (CT: $\mathrm{Re}\lambda>0$; DT: $|\lambda|>1$) states, mixed by a random orthogonal
/// similarity so that the split has work to do.
fn split_model(seed: u64, ns: usize, nu: usize, dt: Option<f64>) -> StateSpace {
    let mut g = rng(seed);
    let class = match dt {
        None => RandomStable::continuous(ns, 2, 2, 1.0),
        Some(h) => RandomStable::discrete(ns, 2, 2, 0.6).with_dt(h),
    }
    .normalized();
    let (as_, _, _) = class.triple::<f64, _>(&mut g).unwrap();
    let n = ns + nu;
    let mut a = Mat::<f64>::zeros(n, n);
    a.as_mut().submatrix_mut(0, 0, ns, ns).copy_from(&as_);
    let upper: Mat<f64> = gaussian(&mut g, nu, nu);
    for i in 0..nu {
        for j in i..nu {
            a[(ns + i, ns + j)] = if i == j {
                match dt {
                    None => 0.3 + 0.2 * i as f64,
                    Some(_) => 1.2 + 0.1 * i as f64,
                }
            } else {
                0.3 * upper[(i, j)]
            };
        }
    }
    let q: Mat<f64> = haar_unitary(&mut g, n);
    let a = q.transpose() * &a * &q;
    let b: Mat<f64> = gaussian(&mut g, n, 2);
    let c: Mat<f64> = gaussian(&mut g, 2, n);
    let d = Mat::<f64>::zeros(2, 2);
    match dt {
        None => StateSpace::continuous(a, b, c, d).unwrap(),
        Some(h) => StateSpace::discrete(a, b, c, d, h).unwrap(),
    }
}

#[test]
fn tail_route_on_alpha_split_models() {
    for (seed, dt, alpha) in [(21u64, None, 0.0), (22, Some(0.5), 1.0)] {
        let sys = split_model(seed, 160, 4, dt);
        for method in [Method::Truncation, Method::SingularPerturbation] {
            let red = reduce(
                &sys,
                ReductionOptions {
                    order: OrderSelection::Fixed(4 + 10),
                    alpha: Some(alpha),
                    method,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(red.unstable_order, 4, "seed {seed}");
            assert_eq!(red.stable_order, 10, "seed {seed}");
            let name = format!("split seed {seed} dt {dt:?} {method:?}");
            let (k, _) = check_tail_against_full(&name, &red);
            assert!(k <= 60, "{name}: k = {k}");
        }
    }
}

/// A balanced all-pass model: $A = S - \tfrac12BB^\top$ ($S$ skew), $C = B^\top$, so
/// $P = Q = I$ and every Hankel singular value is 1 (as flat as they come).
fn all_pass(seed: u64, n: usize) -> StateSpace {
    let mut g = rng(seed);
    let s: Mat<f64> = gaussian(&mut g, n, n);
    let b: Mat<f64> = gaussian::<f64, _>(&mut g, n, 2) * (1.0 / (n as f64).sqrt());
    let a = Mat::from_fn(n, n, |i, j| 0.5 * (s[(i, j)] - s[(j, i)])) - (&b * b.transpose()) * 0.5;
    let c = b.transpose().to_owned();
    StateSpace::continuous(a, b, c, Mat::zeros(2, 2)).unwrap()
}

#[test]
fn flat_hsvs_fall_back_to_the_full_route() {
    let sys = all_pass(31, 40);
    let red = reduce(
        &sys,
        ReductionOptions {
            order: OrderSelection::Fixed(6),
            ..Default::default()
        },
    )
    .unwrap();
    // test premise: flat HSVs
    assert!(
        red.hsv.iter().all(|s| (s - 1.0).abs() < 1e-8),
        "{:?}",
        red.hsv
    );
    let (est, prof) = red.hinf_error_profiled().unwrap();
    assert_eq!(prof.route, HinfRoute::Full);
    assert_eq!(prof.route.certificate_order(), None);
    let (full, _) = red.hinf_error_full_profiled().unwrap();
    assert_eq!(est, full);
    // sigma_{r+1} = 1 <= error <= 2 sum_{k>r} sigma_k
    assert!(est.upper >= 1.0 - 1e-8 && est.lower <= red.error_bound * (1.0 + 1e-9));
}

/// A reduction to (nearly) the minimal order: nothing left to cut, $k + r_s$ cannot be below
/// $(n_s + r_s)/2$, full route.
#[test]
fn near_minimal_order_takes_the_full_route() {
    let sys = RandomStable::continuous(30, 2, 2, 1.0)
        .normalized()
        .system(&mut rng(41))
        .unwrap();
    let red = reduce(
        &sys,
        ReductionOptions {
            order: OrderSelection::Fixed(20),
            ..Default::default()
        },
    )
    .unwrap();
    let (_, prof) = red.hinf_error_profiled().unwrap();
    assert_eq!(prof.route, HinfRoute::Full, "{prof:?}");
}
