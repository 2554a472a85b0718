//! `reduce` works in real Schur coordinates (factors $\tilde U_c$, $\tilde U_o^\top J$ and the SVD
//! of their product, no back-transformation; `gramian::SchurBalancing`). These tests rebuild the
//! reduced models by the textbook route in the original coordinates — the public back-transformed
//! factors of [`gramian_factors`], the SVD of $RS$, the projections of the `reduction` module docs —
//! and compare invariants: the Hankel singular values, the transfer functions of the reduced
//! models at several frequencies (reduced models are defined up to a similarity only), and the
//! balance of the square-root truncation.
//!
//! Tolerances. The HSVs of both routes are singular values of products of computed factors:
//! they agree to $c\\,n\varepsilon\sigma_1$. A projection's transfer function depends only on the
//! projection subspaces, and by Wedin's theorem the leading $r$ singular subspaces of $RS$ move by
//! $\lesssim \\|\delta(RS)\\|/(\sigma_r - \sigma_{r+1})$ with $\\|\delta(RS)\\|\approx n\varepsilon
//! \sigma_1$; the tests take cuts where that gap is the widest available and compare
//! $\max_\omega\bar\sigma(G_r^{\rm new} - G_r^{\rm old}) / \max_\omega\bar\sigma(G)$ with
//! $c\\,n\varepsilon\sigma_1/(\sigma_r - \sigma_{r+1})$ (and the same at the minimal-order cut for
//! singular perturbation, which projects onto $n_{\min}$ states first).
use dln_linalg::{c64, random};
use dln_systems::gramian::{Refinement, gramian_factors};
use dln_systems::model::{Sampling, StateSpace};
use dln_systems::reduction::{Balancing, Method, OrderSelection, ReductionOptions, reduce};
use dln_systems::reference::RandomStable;
use dln_systems::split::additive_split;
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef};

const EPS: f64 = f64::EPSILON;

/// The constant $c$ of the tolerances above (module docs).
const C_HSV: f64 = 10.0;
const C_TF: f64 = 100.0;

fn orth(m: MatRef<'_, f64>) -> Mat<f64> {
    m.qr().compute_thin_Q()
}

/// Textbook reduction of a stable `sys` in its own coordinates: back-transformed factors, SVD of
/// $RS$, projection; order `r`, minimal-order cut `nmin` (singular perturbation only).
fn reference(
    sys: &StateSpace,
    method: Method,
    balancing: Balancing,
    r: usize,
    nmin: usize,
) -> (StateSpace, Vec<f64>) {
    let f = gramian_factors(sys).unwrap();
    let rs = &f.r * &f.s;
    let svd = dln_linalg::thin_svd(rs.as_ref()).unwrap();
    let n = sys.order();
    let k = match method {
        Method::Truncation => r,
        Method::SingularPerturbation => nmin,
    };
    let (tl, tr) = match balancing {
        Balancing::SquareRoot => {
            let d: Vec<f64> = svd.s[..k].iter().map(|x| 1.0 / x.sqrt()).collect();
            let u1 = Mat::from_fn(n, k, |i, j| svd.u[(i, j)] * d[j]);
            let v1 = Mat::from_fn(n, k, |i, j| svd.v[(i, j)] * d[j]);
            (u1.transpose() * &f.r, &f.s * v1)
        }
        Balancing::BalancingFree => {
            // Column groups orthonormalized separately: [0, r) and, for SPA, [r, nmin).
            let groups: Vec<(usize, usize)> = if k > r {
                vec![(0, r), (r, k)]
            } else {
                vec![(0, r)]
            };
            let mut x = Mat::<f64>::zeros(n, k);
            let mut y = Mat::<f64>::zeros(n, k);
            for (a, b) in groups {
                let xs = orth((&f.s * svd.v.as_ref().submatrix(0, a, n, b - a)).as_ref());
                let ys =
                    orth((f.r.transpose() * svd.u.as_ref().submatrix(0, a, n, b - a)).as_ref());
                x.as_mut().submatrix_mut(0, a, n, b - a).copy_from(&xs);
                y.as_mut().submatrix_mut(0, a, n, b - a).copy_from(&ys);
            }
            let yx = y.transpose() * &x;
            let tl = yx.partial_piv_lu().solve(y.transpose());
            (tl, x)
        }
    };
    let full = StateSpace::new(
        &tl * sys.a() * &tr,
        &tl * sys.b(),
        sys.c() * &tr,
        sys.d().to_owned(),
        sys.sampling(),
    )
    .unwrap();
    let red = match method {
        Method::Truncation => full,
        Method::SingularPerturbation => spa(&full, r),
    };
    (red, svd.s)
}

/// Singular perturbation at the partition `r` (CT: $A_{22}$; DT: $I - A_{22}$).
fn spa(sys: &StateSpace, r: usize) -> StateSpace {
    let n = sys.order();
    let k = n - r;
    if k == 0 {
        return sys.clone();
    }
    let (a, b, c) = (sys.a(), sys.b(), sys.c());
    let a22 = a.submatrix(r, r, k, k).to_owned();
    let (mat, sign) = match sys.sampling() {
        Sampling::Continuous => (a22, -1.0),
        Sampling::Discrete { .. } => (Mat::<f64>::identity(k, k) - a22, 1.0),
    };
    let lu = mat.partial_piv_lu();
    let xa = lu.solve(a.submatrix(r, 0, k, r));
    let xb = lu.solve(b.submatrix(r, 0, k, b.ncols()));
    let s = faer::Scale(sign);
    let ar = a.submatrix(0, 0, r, r) + (a.submatrix(0, r, r, k) * &xa) * s;
    let br = b.submatrix(0, 0, r, b.ncols()) + (a.submatrix(0, r, r, k) * &xb) * s;
    let cr = c.submatrix(0, 0, c.nrows(), r) + (c.submatrix(0, r, c.nrows(), k) * &xa) * s;
    let dr = sys.d() + (c.submatrix(0, r, c.nrows(), k) * &xb) * s;
    StateSpace::new(ar, br, cr, dr, sys.sampling()).unwrap()
}

fn frequencies(sampling: Sampling) -> Vec<f64> {
    let top = match sampling {
        Sampling::Continuous => 100.0,
        Sampling::Discrete { dt } => std::f64::consts::PI / dt * 0.999,
    };
    (0..=40)
        .map(|k| top * 10f64.powf(-4.0 * (40 - k) as f64 / 40.0))
        .chain([0.0])
        .collect()
}

fn sigma_max(m: &Mat<c64>) -> f64 {
    dln_linalg::singular_values(m.as_ref()).unwrap()[0]
}

/// $\max_\omega\bar\sigma(G_1 - G_2)$ over the test frequencies, and $\max_\omega\bar\sigma(G)$.
fn tf_distance(g1: &StateSpace, g2: &StateSpace, g: &StateSpace) -> (f64, f64) {
    let ws = frequencies(g.sampling());
    let r1 = g1.frequency_response(&ws).unwrap();
    let r2 = g2.frequency_response(&ws).unwrap();
    let r = g.frequency_response(&ws).unwrap();
    let num = r1
        .iter()
        .zip(&r2)
        .map(|(a, b)| sigma_max(&(a - b)))
        .fold(0.0, f64::max);
    let den = r.iter().map(sigma_max).fold(0.0, f64::max);
    (num, den)
}

/// The cut in `lo..=hi` with the widest relative gap $\sigma_k/\sigma_{k+1}$ among the HSVs above
/// $10^{-8}\sigma_1$.
fn widest_gap(hsv: &[f64], lo: usize, hi: usize) -> usize {
    let floor = 1e-8 * hsv[0];
    (lo..=hi)
        .filter(|&k| k < hsv.len() && hsv[k - 1] > floor)
        .max_by(|&a, &b| {
            let ga = hsv[a - 1] / hsv[a].max(f64::MIN_POSITIVE);
            let gb = hsv[b - 1] / hsv[b].max(f64::MIN_POSITIVE);
            ga.total_cmp(&gb)
        })
        .unwrap()
}

/// One comparison: `sys` (stable part reduced; with `alpha`, the split's unstable part kept).
fn compare(sys: &StateSpace, alpha: Option<f64>, method: Method, balancing: Balancing, what: &str) {
    let (stable, unstable) = match alpha {
        None => (sys.clone(), None),
        Some(a) => {
            let sp = additive_split(sys, a).unwrap();
            (sp.stable, Some(sp.unstable))
        }
    };
    let nu = unstable.as_ref().map_or(0, StateSpace::order);
    let ns = stable.order();
    let hsv0 = dln_systems::gramian::hankel_singular_values_with(
        &stable,
        dln_systems::gramian::GramianOptions {
            refine: Refinement::Never,
            ..Default::default()
        },
    )
    .unwrap();
    // The minimal-order cut (SPA) at the widest gap beyond r, the order at the widest gap below.
    let nmin = widest_gap(&hsv0, 4.min(ns - 1), ns - 1);
    let r = widest_gap(&hsv0, 1, (nmin - 1).clamp(1, 20));
    let min_tol = (hsv0[nmin - 1] * hsv0[nmin]).sqrt();
    let opts = ReductionOptions {
        method,
        balancing,
        order: OrderSelection::Fixed(nu + r),
        min_tol: Some(min_tol),
        alpha,
        refine: Refinement::Never,
        ..Default::default()
    };
    let red = reduce(sys, opts).unwrap();
    assert_eq!(red.stable_order, r, "{what}: order");
    assert_eq!(red.unstable_order, nu, "{what}: kept unstable part");
    assert_eq!(red.minimal_order, nmin, "{what}: minimal order");
    let (old_stable, hsv_old) = reference(&stable, method, balancing, r, nmin);
    let s1 = hsv_old[0];
    let n = ns as f64;
    for (k, (a, b)) in red.hsv.iter().zip(&hsv_old).enumerate() {
        assert!(
            (a - b).abs() <= C_HSV * n * EPS * s1,
            "{what}: sigma_{} {a:e} vs {b:e} (sigma_1 {s1:e})",
            k + 1
        );
    }
    let old = match &unstable {
        Some(u) if nu > 0 => u.parallel(&old_stable, 1.0).unwrap(),
        _ => old_stable,
    };
    let (diff, gnorm) = tf_distance(&red.system, &old, sys);
    let gap = |k: usize| hsv_old[k - 1] - hsv_old[k];
    let cut_gap = match method {
        Method::Truncation => gap(r),
        Method::SingularPerturbation => gap(r).min(gap(nmin)),
    };
    let tol = C_TF * n * EPS * s1 / cut_gap;
    let hsv_err = red
        .hsv
        .iter()
        .zip(&hsv_old)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "{what}: r = {r}, nmin = {nmin}; HSV error {:.1e} n eps sigma_1, transfer functions {:.1e} \
         of the tolerance",
        hsv_err / (n * EPS * s1),
        diff / gnorm / tol
    );
    assert!(
        diff <= tol * gnorm,
        "{what}: transfer functions differ by {:e} relative (tolerance {tol:e}; r = {r}, \
         nmin = {nmin})",
        diff / gnorm
    );
    // The square-root truncation of a CT model is balanced: its Gramians are diag(sigma_1..r).
    if method == Method::Truncation
        && balancing == Balancing::SquareRoot
        && sys.sampling() == Sampling::Continuous
        && alpha.is_none()
    {
        let f = gramian_factors(&red.system).unwrap();
        let (p, q) = (f.p(), f.q());
        let mut worst = 0.0f64;
        for i in 0..r {
            for j in 0..r {
                let want = if i == j { hsv_old[i] } else { 0.0 };
                worst = worst
                    .max((p[(i, j)] - want).abs())
                    .max((q[(i, j)] - want).abs());
            }
        }
        let tol = C_TF * n * EPS * s1 * s1 / gap(r);
        assert!(
            worst <= tol,
            "{what}: reduced Gramians off diag(sigma) by {worst:e} (tol {tol:e})"
        );
    }
}

const METHODS: [(Method, Balancing); 4] = [
    (Method::Truncation, Balancing::SquareRoot),
    (Method::Truncation, Balancing::BalancingFree),
    (Method::SingularPerturbation, Balancing::SquareRoot),
    (Method::SingularPerturbation, Balancing::BalancingFree),
];

#[test]
fn schur_route_matches_the_textbook_route_on_stable_models() {
    let cases: [(usize, usize, usize, bool, u64); 8] = [
        (20, 1, 1, false, 1),
        (37, 2, 3, true, 2),
        (60, 3, 2, false, 3),
        (90, 2, 2, true, 4),
        (120, 1, 3, false, 5),
        (150, 3, 1, true, 6),
        (200, 2, 2, false, 7),
        (300, 2, 1, true, 8),
    ];
    for (n, m, p, discrete, seed) in cases {
        let class = if discrete {
            RandomStable::discrete(n, m, p, 0.95).with_dt(0.1)
        } else {
            RandomStable::continuous(n, m, p, 0.5).normalized()
        }
        .with_feedthrough(0.3);
        let sys = class.system(&mut random::rng(seed)).unwrap();
        for (method, balancing) in METHODS {
            let what =
                format!("n = {n}, m = {m}, p = {p}, dt = {discrete}, {method:?}/{balancing:?}");
            compare(&sys, None, method, balancing, &what);
        }
    }
}

#[test]
fn schur_route_matches_the_textbook_route_with_the_alpha_split() {
    // Continuous: shifted to max Re(lambda) = +0.3 (a few unstable modes), split at alpha = 0;
    // discrete: spectral radius 1.05, split at alpha = 1 (modes outside the unit circle kept).
    let cases: [(usize, usize, usize, bool, u64); 4] = [
        (40, 2, 2, false, 11),
        (80, 1, 3, true, 12),
        (120, 3, 2, false, 13),
        (160, 2, 1, true, 14),
    ];
    for (n, m, p, discrete, seed) in cases {
        let (class, alpha) = if discrete {
            (RandomStable::discrete(n, m, p, 1.05), 1.0)
        } else {
            (RandomStable::continuous(n, m, p, -0.3).normalized(), 0.0)
        };
        let sys = class.system(&mut random::rng(seed)).unwrap();
        for (method, balancing) in METHODS {
            let what = format!(
                "split, n = {n}, m = {m}, p = {p}, dt = {discrete}, {method:?}/{balancing:?}"
            );
            compare(&sys, Some(alpha), method, balancing, &what);
        }
    }
}
