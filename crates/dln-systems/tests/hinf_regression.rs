//! Regression tests for the H-infinity / L-infinity level-set iteration: the certified `upper`
//! bound must never lie below sigma_max(G) on a dense frequency grid (up to the tolerance), in
//! particular when the peak is only slightly above sigma_max(D) and m != p (R = D^T D - gamma^2 I
//! nearly singular at the first tested level).

use dln_linalg::random::{gaussian, rng};
use dln_systems::model::StateSpace;
use dln_systems::norms::{NormEstimate, hinf_norm};
use dln_systems::reference::RandomStable;
use faer::{Mat, mat};

/// sigma_max(G) on a dense grid: CT log-spaced in [1e-4, 1e4] plus 0 (and D for omega = inf);
/// DT uniform in theta over [0, pi].
fn grid_max(sys: &StateSpace, npts: usize) -> (f64, f64) {
    let omegas: Vec<f64> = if sys.is_discrete() {
        let dt = match sys.sampling() {
            dln_systems::model::Sampling::Discrete { dt } => dt,
            dln_systems::model::Sampling::Continuous => unreachable!(),
        };
        (0..=npts)
            .map(|k| std::f64::consts::PI * k as f64 / npts as f64 / dt)
            .collect()
    } else {
        let mut w: Vec<f64> = (0..=npts)
            .map(|k| 10f64.powf(-4.0 + 8.0 * k as f64 / npts as f64))
            .collect();
        w.push(0.0);
        w
    };
    let resp = sys.frequency_response(&omegas).unwrap();
    let mut best = (0.0, 0.0);
    for (g, &w) in resp.iter().zip(&omegas) {
        let s = dln_linalg::singular_values(g.as_ref()).unwrap()[0];
        if s > best.0 {
            best = (s, w);
        }
    }
    if !sys.is_discrete() {
        let sd = dln_linalg::singular_values(sys.d())
            .unwrap()
            .first()
            .copied()
            .unwrap_or(0.0);
        if sd > best.0 {
            best = (sd, f64::INFINITY);
        }
    }
    best
}

fn check_bounds(name: &str, sys: &StateSpace, est: &NormEstimate, npts: usize) {
    let (gmax, wmax) = grid_max(sys, npts);
    assert!(
        est.lower <= est.upper && (est.value - est.lower).abs() < f64::MIN_POSITIVE,
        "{name}: {est:?}"
    );
    // The grid value is attained, hence a lower bound of the norm: it must not exceed `upper`.
    assert!(
        gmax <= est.upper * (1.0 + 1e-9),
        "{name}: grid max {gmax} at {wmax} exceeds certified upper bound {est:?}"
    );
    // Bounds are tight: the gap is at most max(2 rtol, 1e-6) (feedthrough margin) plus rounding.
    assert!(
        est.upper <= est.lower * (1.0 + 1.01e-6),
        "{name}: gap too wide {est:?}"
    );
    // The lower bound is attained, so a fine grid cannot be much below it.
    assert!(
        gmax >= est.lower * (1.0 - 1e-3),
        "{name}: grid max {gmax} far below reported lower bound {est:?}"
    );
}

/// The verification finding: a 2-state DT model (dt = 0.5, m = 3, p = 1) whose peak 5.99142 at
/// theta = 2.891 is only 1.5% above |G(-1)| = sigma(D_c) = 5.90058; the old code returned
/// upper = 5.9006 after one iteration.
#[test]
fn dt_reproducer_peak_above_nyquist() {
    let a = mat![
        [-0.32278340477351447, 0.7057813242553432],
        [-0.15262962429670626, -0.8347579775009999]
    ];
    let b = mat![
        [2.4665426012709535, -2.288037028349084, 0.6890813585762794],
        [-0.2682740807877117, 1.0541656021211958, 0.7059692764209238]
    ];
    let c = mat![[0.09861058179998028, -1.1997530024717742]];
    let d = mat![[-0.09997713327431612, 2.6271823447740235, -0.515146496494931]];
    let sys = StateSpace::discrete(a, b, c, d, 0.5).unwrap();
    let est = hinf_norm(&sys).unwrap();
    assert!((est.value - 5.991417108).abs() < 1e-8, "value {est:?}");
    assert!(est.upper >= 5.991417108 && est.upper <= est.lower * (1.0 + 3e-9));
    // theta = omega dt = 2.89105
    assert!((est.frequency * 0.5 - 2.891050).abs() < 1e-4, "{est:?}");
    check_bounds("reproducer", &sys, &est, 100_000);
    // Same model through the bilinear image (CT): same norm.
    let ct = sys.bilinear_to_continuous().unwrap();
    let est_ct = hinf_norm(&ct).unwrap();
    assert!((est_ct.value - est.value).abs() < 1e-8 * est.value);
}

/// A random stable system with $D$ = `dscale`·Gaussian: spectral radius in $[0.5, 0.95]$ (DT,
/// sampling time `dt`) or $\max\operatorname{Re}\lambda \in \{-0.05, -0.55, \dots, -2.05\}$ (CT),
/// varying with the seed.
fn random_stable(
    seed: u64,
    n: usize,
    m: usize,
    p: usize,
    dscale: f64,
    dt: Option<f64>,
) -> StateSpace {
    let class = match dt {
        Some(h) => {
            RandomStable::discrete(n, m, p, 0.5 + 0.45 * ((seed % 7) as f64 / 6.0)).with_dt(h)
        }
        None => RandomStable::continuous(n, m, p, 0.05 + 0.5 * ((seed % 5) as f64)),
    };
    class
        .with_feedthrough(dscale)
        .system(&mut rng(seed))
        .unwrap()
}

const SHAPES: [(usize, usize); 6] = [(3, 1), (2, 3), (1, 4), (4, 2), (2, 1), (1, 2)];
const DSCALES: [f64; 4] = [0.0, 0.3, 1.0, 3.0];

#[test]
fn random_dt_m_ne_p_against_dense_grid() {
    let mut seed = 1000;
    for n in [1, 2, 3, 5, 7] {
        for (m, p) in SHAPES {
            for ds in DSCALES {
                seed += 1;
                let sys = random_stable(seed, n, m, p, ds, Some(0.5));
                let est = hinf_norm(&sys).unwrap();
                check_bounds(
                    &format!("DT seed {seed} n {n} m {m} p {p} |D| {ds}"),
                    &sys,
                    &est,
                    20_000,
                );
            }
        }
    }
}

#[test]
fn random_ct_m_ne_p_against_dense_grid() {
    let mut seed = 5000;
    for n in [1, 2, 3, 5, 7] {
        for (m, p) in SHAPES {
            for ds in DSCALES {
                seed += 1;
                let sys = random_stable(seed, n, m, p, ds, None);
                let est = hinf_norm(&sys).unwrap();
                check_bounds(
                    &format!("CT seed {seed} n {n} m {m} p {p} |D| {ds}"),
                    &sys,
                    &est,
                    20_000,
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Certified error of reductions (issue 9, item 3) and peaks at DC, at high frequency and at the
// feedthrough level.

use dln_systems::model::Sampling;
use dln_systems::norms::{HinfOptions, linf_norm};
use dln_systems::reduction::{HinfRoute, OrderSelection, ReductionOptions, reduce};

/// sigma_max(G) at each frequency (rad/s; DT: omega in [0, pi/h]), and the largest value.
fn sigma_on(sys: &StateSpace, omegas: &[f64]) -> (f64, f64) {
    let resp = sys.frequency_response(omegas).unwrap();
    let mut best = (0.0, 0.0);
    for (g, &w) in resp.iter().zip(omegas) {
        let s = dln_linalg::singular_values(g.as_ref()).unwrap()[0];
        if s > best.0 {
            best = (s, w);
        }
    }
    best
}

/// Dense frequency grid: 0, log-spaced over [wlo, whi] (CT), or uniform in theta (DT), refined
/// around the grid maximum of sigma_max(err).
fn dense_peak(err: &StateSpace, wlo: f64, whi: f64, npts: usize) -> (f64, f64) {
    let omegas: Vec<f64> = match err.sampling() {
        Sampling::Discrete { dt } => (0..=npts)
            .map(|k| std::f64::consts::PI * k as f64 / npts as f64 / dt)
            .collect(),
        Sampling::Continuous => {
            let (l0, l1) = (wlo.log10(), whi.log10());
            let mut w: Vec<f64> = (0..=npts)
                .map(|k| 10f64.powf(l0 + (l1 - l0) * k as f64 / npts as f64))
                .collect();
            w.push(0.0);
            w
        }
    };
    let (mut best, mut at) = sigma_on(err, &omegas);
    // two zooms around the grid maximum: relative half-widths 2e-2 and 1e-4
    for half in [2e-2, 1e-4] {
        let fine: Vec<f64> = (0..=400)
            .map(|k| at * (1.0 - half + 2.0 * half * k as f64 / 400.0))
            .collect();
        let (s1, w1) = sigma_on(err, &fine);
        if s1 > best {
            (best, at) = (s1, w1);
        }
    }
    (best, at)
}

/// The certificate: the true peak (dense grid of the realization `err`) never lies above the
/// reported upper bound by more than the rounding of the evaluation, `abs_tol`; the attained
/// lower bound never lies above the grid peak by more than that either (the grid is finite, so
/// the reported value may exceed the grid's by the grid's resolution only from above).
fn assert_certified(name: &str, est: &NormEstimate, gmax: f64, wmax: f64, abs_tol: f64) {
    assert!(est.lower <= est.upper, "{name}: {est:?}");
    assert!(
        gmax <= est.upper * (1.0 + 1e-12) + abs_tol,
        "{name}: dense-grid peak {gmax:e} at omega = {wmax:e} exceeds the certified upper bound \
         ({:e} below it, rounding allowance {abs_tol:e}): {est:?}",
        gmax - est.upper
    );
    assert!(
        est.upper <= est.lower * (1.0 + 1.01e-6),
        "{name}: gap too wide {est:?}"
    );
    assert!(
        est.lower <= gmax * (1.0 + 1e-6) + abs_tol,
        "{name}: reported value {:e} above anything on the grid ({gmax:e})",
        est.lower
    );
}

/// A random n-state model with exactly `nu` unstable poles, built as in the issue:
/// A = M/sqrt(n) - s I (CT; s between the nu-th and (nu+1)-th real parts of the eigenvalues of M,
/// not splitting a conjugate pair) or A = M/rho * r with r between the corresponding moduli (DT).
fn split_model(seed: u64, n: usize, nu: usize, dt: Option<f64>) -> StateSpace {
    let mut r = rng(seed);
    let m0: Mat<f64> = gaussian::<f64, _>(&mut r, n, n) * (1.0 / (n as f64).sqrt());
    let b: Mat<f64> = gaussian(&mut r, n, 2);
    let c: Mat<f64> = gaussian(&mut r, 2, n);
    let d = Mat::<f64>::zeros(2, 2);
    let eig = m0.eigenvalues().unwrap();
    let key: Vec<f64> = match dt {
        None => eig.iter().map(|l| l.re).collect(),
        Some(_) => eig.iter().map(|l| l.norm()).collect(),
    };
    let mut sorted = key.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    // first k >= nu with a real gap between the k-th and (k+1)-th value (not inside a pair)
    let k = (nu..n).find(|&k| sorted[k - 1] - sorted[k] > 1e-3).unwrap();
    let cut = 0.5 * (sorted[k - 1] + sorted[k]);
    match dt {
        None => {
            let a = Mat::from_fn(n, n, |i, j| m0[(i, j)] - if i == j { cut } else { 0.0 });
            StateSpace::continuous(a, b, c, d).unwrap()
        }
        Some(h) => {
            let a = m0 * (1.0 / cut);
            StateSpace::discrete(a, b, c, d, h).unwrap()
        }
    }
}

/// Rounding allowance for comparing transfer functions evaluated from two realizations:
/// 1e3 * n * eps * (sup|G| + sup|G_r|) on the grid.
fn rounding_allowance(sys: &StateSpace, red: &StateSpace, gscale_grid: &[f64]) -> f64 {
    let (g, _) = sigma_on(sys, gscale_grid);
    let (gr, _) = sigma_on(red, gscale_grid);
    1e3 * (sys.order() as f64) * f64::EPSILON * (g + gr)
}

#[test]
fn split_reduction_error_is_certified_ct() {
    for seed in [3u64, 7] {
        let sys = split_model(seed, 60, 4, None);
        let red = reduce(
            &sys,
            ReductionOptions {
                order: OrderSelection::Fixed(30),
                alpha: Some(0.0),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(red.unstable_order >= 4);
        let est = red.hinf_error().unwrap();
        // The truth: G - G_r evaluated from the original realization (not the split).
        let err = sys.sub(&red.system).unwrap();
        let (gmax, wmax) = dense_peak(&err, 1e-8, 1e3, 3000);
        let scale: Vec<f64> = (0..200)
            .map(|k| 10f64.powf(-4.0 + 0.03 * k as f64))
            .collect();
        let tol = rounding_allowance(&sys, &red.system, &scale);
        assert_certified(&format!("CT split seed {seed}"), &est, gmax, wmax, tol);
        // the a-priori sandwich
        assert!(est.upper >= red.error_lower_bound * (1.0 - 1e-6));
        assert!(est.lower <= red.error_bound * (1.0 + 1e-6));
    }
}

#[test]
fn split_reduction_error_is_certified_dt() {
    for seed in [2u64, 5] {
        let sys = split_model(seed, 60, 4, Some(0.1));
        let red = reduce(
            &sys,
            ReductionOptions {
                order: OrderSelection::Fixed(30),
                alpha: Some(1.0),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(red.unstable_order >= 4);
        let est = red.hinf_error().unwrap();
        let err = sys.sub(&red.system).unwrap();
        let (gmax, wmax) = dense_peak(&err, 0.0, 0.0, 4000);
        let scale: Vec<f64> = (0..=200)
            .map(|k| std::f64::consts::PI * k as f64 / 20.0)
            .collect();
        let tol = rounding_allowance(&sys, &red.system, &scale);
        assert_certified(&format!("DT split seed {seed}"), &est, gmax, wmax, tol);
    }
}

#[test]
fn stable_reduction_error_is_certified() {
    for (seed, dt) in [(21u64, None), (22, Some(0.5))] {
        let sys = random_stable(seed, 40, 2, 3, 0.5, dt);
        let red = reduce(
            &sys,
            ReductionOptions {
                order: OrderSelection::Fixed(12),
                ..Default::default()
            },
        )
        .unwrap();
        let est = red.hinf_error().unwrap();
        let err = sys.sub(&red.system).unwrap();
        let (gmax, wmax) = dense_peak(&err, 1e-5, 1e4, 3000);
        let scale: Vec<f64> = (0..200)
            .map(|k| 10f64.powf(-4.0 + 0.03 * k as f64))
            .collect();
        let tol = rounding_allowance(&sys, &red.system, &scale);
        assert_certified(
            &format!("stable seed {seed} dt {dt:?}"),
            &est,
            gmax,
            wmax,
            tol,
        );
    }
}

/// Lightly damped pair at omega0 (damping zeta) plus a well-damped real pole at `fast`,
/// CT, m = p = 1, feedthrough `d`.
fn resonance(omega0: f64, zeta: f64, fast: f64, d: f64) -> StateSpace {
    let a = mat![
        [-zeta * omega0, omega0, 0.0],
        [-omega0, -zeta * omega0, 0.0],
        [0.0, 0.0, -fast]
    ];
    let b = mat![[0.0], [omega0], [fast]];
    let c = mat![[1.0, 0.0, 0.3]];
    StateSpace::continuous(a, b, c, mat![[d]]).unwrap()
}

#[test]
fn peak_near_dc() {
    // resonance at 2e-5 rad/s (as in the report), a fast pole at 10
    let sys = resonance(2e-5, 0.02, 10.0, 0.0);
    let est = linf_norm(&sys, HinfOptions::default()).unwrap();
    let (gmax, wmax) = dense_peak(&sys, 1e-8, 1e3, 20_000);
    assert_certified("peak near DC", &est, gmax, wmax, 0.0);
    assert!((est.frequency - 2e-5).abs() < 1e-6, "{est:?}");
}

#[test]
fn peak_at_dc() {
    // monotone magnitude: real poles, positive residues; the peak is G(0)
    let a = mat![[-1e-3, 0.0], [0.0, -2.0]];
    let b = mat![[1e-3], [2.0]];
    let c = mat![[1.0, 0.5]];
    let sys = StateSpace::continuous(a, b, c, mat![[0.0]]).unwrap();
    let est = linf_norm(&sys, HinfOptions::default()).unwrap();
    assert!((est.value - 1.5).abs() < 1e-12, "{est:?}");
    assert!(est.upper >= 1.5 && est.frequency.abs() < 1e-9, "{est:?}");
    // DT: peak at theta = 0 (z = 1)
    let a = mat![[0.999, 0.0], [0.0, 0.2]];
    let b = mat![[0.001], [0.8]];
    let sys = StateSpace::discrete(a, b, mat![[1.0, 0.5]], mat![[0.0]], 1.0).unwrap();
    let est = linf_norm(&sys, HinfOptions::default()).unwrap();
    let g1 = sys.dc_gain().unwrap()[(0, 0)];
    assert!((est.value - g1).abs() < 1e-12 * g1, "{est:?} vs {g1}");
    assert!(est.upper >= g1 && est.frequency.abs() < 1e-6, "{est:?}");
}

#[test]
fn peak_at_high_frequency() {
    // resonance at 1e5 rad/s, slow pole at 1e-3
    let sys = resonance(1e5, 0.01, 1e-3, 0.0);
    let est = linf_norm(&sys, HinfOptions::default()).unwrap();
    let (gmax, wmax) = dense_peak(&sys, 1e-6, 1e7, 20_000);
    assert_certified("peak at high frequency", &est, gmax, wmax, 0.0);
    assert!((est.frequency / 1e5 - 1.0).abs() < 1e-3, "{est:?}");
    // DT: peak at the Nyquist frequency theta = pi (z = -1)
    let sys = StateSpace::discrete(
        mat![[-0.95, 0.0], [0.0, 0.3]],
        mat![[1.0], [1.0]],
        mat![[1.0, 1.0]],
        mat![[0.0]],
        0.01,
    )
    .unwrap();
    let est = linf_norm(&sys, HinfOptions::default()).unwrap();
    let gpi = sys.eval(dln_linalg::c64::new(-1.0, 0.0)).unwrap()[(0, 0)].norm();
    assert!((est.value - gpi).abs() < 1e-12 * gpi, "{est:?} vs {gpi}");
    assert!(
        (est.frequency * 0.01 - std::f64::consts::PI).abs() < 1e-6,
        "{est:?}"
    );
}

#[test]
fn peak_at_feedthrough_level() {
    // |G(i w)| = w / sqrt(1 + w^2) < 1 = |D|: the supremum is D, attained only at infinity
    let sys = StateSpace::continuous(mat![[-1.0]], mat![[1.0]], mat![[-1.0]], mat![[1.0]]).unwrap();
    let est = linf_norm(&sys, HinfOptions::default()).unwrap();
    assert!(
        (est.value - 1.0).abs() < 1e-15 && est.upper >= 1.0,
        "{est:?}"
    );
    assert!(est.frequency.is_infinite(), "{est:?}");
    // a peak 1e-8 above |D| (inside the 1e-6 margin): the certificate still covers it
    let sys = resonance(3.0, 0.05, 1.0, 2.0);
    let small = StateSpace::continuous(
        sys.a().to_owned(),
        sys.b() * 1e-9,
        sys.c().to_owned(),
        sys.d().to_owned(),
    )
    .unwrap();
    let est = linf_norm(&small, HinfOptions::default()).unwrap();
    let (gmax, wmax) = dense_peak(&small, 1e-3, 1e3, 20_000);
    assert!(
        gmax > 2.0 * (1.0 + 1e-9),
        "test premise: peak {gmax} above |D|"
    );
    assert_certified("feedthrough level", &est, gmax, wmax, 0.0);
    // DT: feedthrough dominates, sampled
    let dt =
        StateSpace::discrete(mat![[0.5]], mat![[1e-9]], mat![[1.0]], mat![[2.0]], 1.0).unwrap();
    let est = linf_norm(&dt, HinfOptions::default()).unwrap();
    let (gmax, wmax) = dense_peak(&dt, 0.0, 0.0, 20_000);
    assert_certified("DT feedthrough level", &est, gmax, wmax, 0.0);
}

// ---------------------------------------------------------------------------------------------
// The quasi-triangular fast path (issue 9, item 4): a model whose state matrix is a real Schur
// form is evaluated by block back substitution; the certificate must be the same as through the
// Hessenberg evaluator.

#[test]
fn peaks_certified_in_schur_coordinates() {
    // near DC, at DC, at high frequency, at the feedthrough level (the models above)
    let near_dc = resonance(2e-5, 0.02, 10.0, 0.0);
    let high = resonance(1e5, 0.01, 1e-3, 0.0);
    let at_dc = StateSpace::continuous(
        mat![[-1e-3, 0.0], [0.0, -2.0]],
        mat![[1e-3], [2.0]],
        mat![[1.0, 0.5]],
        mat![[0.0]],
    )
    .unwrap();
    let feed = resonance(3.0, 0.05, 1.0, 2.0);
    let feed = StateSpace::continuous(
        feed.a().to_owned(),
        feed.b() * 1e-9,
        feed.c().to_owned(),
        feed.d().to_owned(),
    )
    .unwrap();
    for (name, sys, wlo, whi) in [
        ("near DC", near_dc, 1e-8, 1e3),
        ("at DC", at_dc, 1e-8, 1e3),
        ("high frequency", high, 1e-6, 1e7),
        ("feedthrough level", feed, 1e-3, 1e3),
    ] {
        let schur = sys.in_schur_coordinates().unwrap();
        let (est, prof) =
            dln_systems::norms::linf_norm_profiled(&schur, HinfOptions::default()).unwrap();
        assert!(prof.fast_evaluations, "{name}: fast path not taken");
        let (gmax, wmax) = dense_peak(&sys, wlo, whi, 20_000);
        // the Schur form's rounding: a few eps relative to the transfer function
        assert_certified(name, &est, gmax, wmax, 1e-13 * gmax);
        let direct = linf_norm(&sys, HinfOptions::default()).unwrap();
        assert!(
            (est.value - direct.value).abs() <= 1e-10 * direct.value,
            "{name}: {est:?} vs {direct:?}"
        );
    }
}

/// The class of issue 9 at test-suite size (random dense stable, $M = \mathrm{randn}/\sqrt n$,
/// $\max\operatorname{Re}\lambda = -1$, m = p = 2) reduced until the error is
/// $\approx10^{-10}\\|G\\|$: the level of the certificate is tiny against $\\|B\\|\\|C\\|$, so
/// $\\|H(\gamma)\\|$ is huge and every Hamiltonian eigenvalue passes the candidate test. The
/// certified error must still cover the dense-grid peak of $G - G_r$ (up to the rounding of
/// evaluating it, whose terms cancel to 10 digits), and the run must stay cheap: at most two
/// level tests.
#[test]
fn tiny_error_level_is_certified() {
    for seed in [0u64, 1] {
        let sys = RandomStable::continuous(120, 2, 2, 1.0)
            .normalized()
            .system(&mut rng(seed))
            .unwrap();
        let hsv = dln_systems::gramian::hankel_singular_values(&sys).unwrap();
        let r = hsv.iter().position(|s| *s < 1e-10 * hsv[0]).unwrap();
        let red = reduce(
            &sys,
            ReductionOptions {
                order: OrderSelection::Fixed(r),
                ..Default::default()
            },
        )
        .unwrap();
        // Both routes: the balanced tail (what `hinf_error` takes here) and the full error
        // system (forced), so that the level-set iteration on the tiny level stays tested.
        let (tail, tprof) = red.hinf_error_profiled().unwrap();
        let (est, fprof) = red.hinf_error_full_profiled().unwrap();
        assert_eq!(fprof.route, HinfRoute::Full);
        let prof = fprof.norm;
        assert!(prof.fast_evaluations, "seed {seed}: {prof:?}");
        assert!(
            est.value < 1e-8 * hsv[0],
            "test premise: a tiny error level, {est:?}"
        );
        assert!(prof.eigen_seconds.len() <= 2, "seed {seed}: {prof:?}");
        let err = sys.sub(&red.system).unwrap();
        let (gmax, wmax) = dense_peak(&err, 1e-4, 1e3, 4000);
        let scale: Vec<f64> = (0..200)
            .map(|k| 10f64.powf(-4.0 + 0.03 * k as f64))
            .collect();
        let tol = rounding_allowance(&sys, &red.system, &scale);
        // The evaluations' rounding (HinfOptions::abs_tol) is a visible fraction of the error
        // itself; the allowance of the dense-grid comparison must cover it.
        let delta = red.evaluation_rounding();
        assert!(
            delta <= tol,
            "allowance {tol:e} below the rounding level {delta:e}"
        );
        assert_certified(&format!("tiny level seed {seed}"), &est, gmax, wmax, tol);
        // the balanced-tail certificate: the dense-grid truth lies in its bracket (up to the
        // same rounding allowance), and the bracket is wider only by 2 tau_k
        let tau = tprof
            .route
            .tail_bound()
            .unwrap_or_else(|| panic!("seed {seed}: tail route expected here: {tprof:?}"));
        assert!(tau <= 0.5 * delta.max(1e-9 * red.error_lower_bound));
        assert!(
            tail.lower <= gmax * (1.0 + 1e-6) + tol && gmax <= tail.upper * (1.0 + 1e-12) + tol,
            "tail seed {seed}: grid {gmax:e} at {wmax:e} vs {tail:?}"
        );
        assert!(
            tail.upper - tail.lower <= 2.0 * tau + 2.02e-9 * tail.upper,
            "tail seed {seed}: {tail:?}, tau {tau:e}"
        );
        assert!(tprof.norm.fast_evaluations, "seed {seed}: {tprof:?}");
        assert!(est.upper >= red.error_lower_bound * (1.0 - 1e-6), "{est:?}");
    }
}
