//! Regression tests for the H-infinity / L-infinity level-set iteration: the certified `upper`
//! bound must never lie below sigma_max(G) on a dense frequency grid (up to the tolerance), in
//! particular when the peak is only slightly above sigma_max(D) and m != p (R = D^T D - gamma^2 I
//! nearly singular at the first tested level).

use dln_linalg::random::{gaussian, rng};
use dln_systems::model::StateSpace;
use dln_systems::norms::{NormEstimate, hinf_norm};
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

fn random_stable(
    seed: u64,
    n: usize,
    m: usize,
    p: usize,
    dscale: f64,
    dt: Option<f64>,
) -> StateSpace {
    let mut r = rng(seed);
    let mut a: Mat<f64> = gaussian(&mut r, n, n);
    let b: Mat<f64> = gaussian(&mut r, n, m);
    let c: Mat<f64> = gaussian(&mut r, p, n);
    let d: Mat<f64> = gaussian::<f64, _>(&mut r, p, m) * dscale;
    let eig = a.eigenvalues().unwrap();
    match dt {
        Some(h) => {
            let rho = eig.iter().map(|l| l.norm()).fold(0.0, f64::max).max(1e-12);
            // spectral radius in [0.5, 0.95], varying with the seed
            let target = 0.5 + 0.45 * ((seed % 7) as f64 / 6.0);
            a *= target / rho;
            StateSpace::discrete(a, b, c, d, h).unwrap()
        }
        None => {
            let mx = eig.iter().map(|l| l.re).fold(f64::NEG_INFINITY, f64::max);
            let shift = mx + 0.05 + 0.5 * ((seed % 5) as f64);
            for i in 0..n {
                a[(i, i)] -= shift;
            }
            StateSpace::continuous(a, b, c, d).unwrap()
        }
    }
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
