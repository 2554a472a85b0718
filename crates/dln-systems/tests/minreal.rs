//! Minimal realizations (`dln_systems::minreal`): known orders on systems whose uncontrollable and
//! unobservable parts are hidden by a random orthogonal similarity, transfer functions preserved at
//! random complex points (relative to the conditioning of the resolvent), stable/unstable, CT/DT,
//! SISO/MIMO, zero B or C, already-minimal systems kept (same HSVs), the SLICOT TB01PD example, and
//! a property test over random constructed systems.
mod common;

use dln_linalg::{c64, random};
use dln_systems::gramian::hankel_singular_values;
use dln_systems::minreal::{
    MinimalRealization, MinrealOptions, controllability_staircase, default_tolerance,
    minimal_realization,
};
use dln_systems::model::{Sampling, StateSpace};
use faer::Mat;
use proptest::prelude::*;

const EPS: f64 = f64::EPSILON;

/// Sizes of the four Kalman parts: controllable and observable, controllable only, observable
/// only, neither.
#[derive(Debug, Clone, Copy)]
struct Parts {
    co: usize,
    cu: usize,
    uo: usize,
    uu: usize,
}

impl Parts {
    fn n(self) -> usize {
        self.co + self.cu + self.uo + self.uu
    }
}

/// A real number from the generator: a standard Gaussian.
fn g(rng: &mut random::StdRng) -> f64 {
    let x: Mat<f64> = random::gaussian(rng, 1, 1);
    x[(0, 0)]
}

/// `n` distinct real eigenvalues from a grid (spacing 0.3 in CT, 0.15 in DT), none near `±1` or
/// `0` in DT (no pole on the unit circle), some unstable in either sense.
fn eigenvalues(rng: &mut random::StdRng, n: usize, discrete: bool) -> Vec<f64> {
    let grid: Vec<f64> = if discrete {
        (0..24)
            .map(|k| -1.8 + 0.15 * k as f64 + 0.075)
            .filter(|x: &f64| (x.abs() - 1.0).abs() > 0.05)
            .collect()
    } else {
        (0..24).map(|k| -4.15 + 0.3 * k as f64).collect()
    };
    assert!(grid.len() >= n, "grid too small for {n} eigenvalues");
    // A random subset: the grid shuffled by Gaussian keys.
    let mut keyed: Vec<(f64, f64)> = grid.into_iter().map(|x| (g(rng), x)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    keyed.into_iter().take(n).map(|(_, x)| x).collect()
}

/// A row (or column) vector of length `k` with norm at least 0.5.
fn sizable(rng: &mut random::StdRng, k: usize) -> Vec<f64> {
    let mut x: Vec<f64> = (0..k).map(|_| g(rng)).collect();
    let nrm = x.iter().fold(0.0f64, |s, &t| s.hypot(t));
    if nrm < 0.5 {
        let s = 1.0 / nrm.max(1e-3);
        x.iter_mut().for_each(|t| *t *= s);
        if nrm < 1e-3 {
            x[0] = 1.0;
        }
    }
    x
}

/// The block-diagonal Kalman form diag(A_co, A_cu, A_uo, A_uu) with diagonal blocks of distinct
/// eigenvalues, B = [B_co; B_cu; 0; 0], C = [C_co, 0, C_uo, 0] (rows of B and columns of C of the
/// reachable/observable states of norm >= 0.5, so the parts are controllable/observable with a
/// margin), hidden by a Haar orthogonal similarity. Returns the hidden system and its minimal part
/// (A_co, B_co, C_co, D).
fn constructed(
    seed: u64,
    parts: Parts,
    m: usize,
    p: usize,
    discrete: bool,
) -> (StateSpace, StateSpace) {
    let mut rng = random::rng(seed);
    let n = parts.n();
    let lam = eigenvalues(&mut rng, n, discrete);
    let nc = parts.co + parts.cu;
    let observable = |i: usize| i < parts.co || (nc..nc + parts.uo).contains(&i);
    let mut a = Mat::<f64>::zeros(n, n);
    let mut b = Mat::<f64>::zeros(n, m);
    let mut c = Mat::<f64>::zeros(p, n);
    for i in 0..n {
        a[(i, i)] = lam[i];
        if i < nc {
            for (j, x) in sizable(&mut rng, m).into_iter().enumerate() {
                b[(i, j)] = x;
            }
        }
        if observable(i) {
            for (j, x) in sizable(&mut rng, p).into_iter().enumerate() {
                c[(j, i)] = x;
            }
        }
    }
    let d: Mat<f64> = random::gaussian(&mut rng, p, m);
    let sampling = if discrete {
        Sampling::Discrete { dt: 0.5 }
    } else {
        Sampling::Continuous
    };
    let k = parts.co;
    let minimal = StateSpace::new(
        a.submatrix(0, 0, k, k).to_owned(),
        b.subrows(0, k).to_owned(),
        c.subcols(0, k).to_owned(),
        d.clone(),
        sampling,
    )
    .unwrap();
    let q: Mat<f64> = random::haar_unitary(&mut rng, n);
    let hidden = StateSpace::new(
        q.transpose() * &a * &q,
        q.transpose() * &b,
        &c * &q,
        d,
        sampling,
    )
    .unwrap();
    (hidden, minimal)
}

/// Random complex evaluation points off the real axis (all poles here are real or the models are
/// evaluated away from them).
fn points(seed: u64, k: usize) -> Vec<c64> {
    let mut rng = random::rng(seed ^ 0x5eed);
    (0..k)
        .map(|_| {
            let re = 2.0 * g(&mut rng);
            let im = g(&mut rng);
            c64::new(re, if im >= 0.0 { im + 0.2 } else { im - 0.2 })
        })
        .collect()
}

fn frob_c(m: &Mat<c64>) -> f64 {
    let mut s = 0.0f64;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            s = s.hypot(m[(i, j)].norm());
        }
    }
    s
}

/// Checks $G(s) = G_r(s)$ at `pts`: the difference relative to the size a backward error
/// $\delta A,\delta B,\delta C$ of order $n\varepsilon\|\cdot\|$ can make,
/// $n\varepsilon\,\|C\|\|R\|\|B\|\,(1+\|A\|\|R\|)$ with $R = (sI-A)^{-1}$ (Frobenius norms),
/// times 100.
fn assert_same_tf(full: &StateSpace, red: &StateSpace, pts: &[c64], what: &str) {
    let n = full.order();
    let resolvent = StateSpace::new(
        full.a().to_owned(),
        Mat::<f64>::identity(n, n),
        Mat::<f64>::identity(n, n),
        Mat::<f64>::zeros(n, n),
        full.sampling(),
    )
    .unwrap();
    let (na, nb, nc) = (full.a().norm_l2(), full.b().norm_l2(), full.c().norm_l2());
    for &s in pts {
        let g = full.eval(s).unwrap();
        let gr = red.eval(s).unwrap();
        let r = if n > 0 {
            frob_c(&resolvent.eval(s).unwrap())
        } else {
            0.0
        };
        let scale = (n.max(1) as f64) * EPS * nc * r * nb * (1.0 + na * r);
        let diff = frob_c(&(&g - &gr));
        assert!(
            diff <= 100.0 * scale + 4.0 * EPS * frob_c(&g),
            "{what}: |G - G_r| = {diff:.3e} at s = {s}, allowed 100 x {scale:.3e}"
        );
    }
}

/// Invariants of the result: V orthonormal, (A_r, B_r, C_r) = (V^T A V, V^T B, C V) up to the
/// discarded blocks, Z_c orthogonal with the uncontrollable rows of Z_c^T B and the lower-left
/// block of Z_c^T A Z_c below the tolerance.
fn assert_structure(sys: &StateSpace, min: &MinimalRealization, what: &str) {
    let n = sys.order();
    let scale = sys
        .a()
        .norm_l2()
        .max(sys.b().norm_l2())
        .max(sys.c().norm_l2());
    let small = 100.0 * (n.max(1) as f64) * EPS * scale + 10.0 * min.tol;
    let v = min.basis();
    let nr = min.order;
    let orth = (v.transpose() * &v - Mat::<f64>::identity(nr, nr)).norm_l2();
    assert!(
        orth <= 10.0 * n as f64 * EPS + 1e-300,
        "{what}: ‖VᵀV − I‖ = {orth:.3e}"
    );
    let s = &min.system;
    let ea = (v.transpose() * sys.a() * &v - s.a()).norm_l2();
    let eb = (v.transpose() * sys.b() - s.b()).norm_l2();
    let ec = (sys.c() * &v - s.c()).norm_l2();
    assert!(
        ea <= small && eb <= small && ec <= small,
        "{what}: projection residuals A {ea:.3e}, B {eb:.3e}, C {ec:.3e} > {small:.3e}"
    );
    let zc = &min.zc;
    let zorth = (zc.transpose() * zc - Mat::<f64>::identity(n, n)).norm_l2();
    assert!(
        zorth <= 10.0 * n as f64 * EPS + 1e-300,
        "{what}: ‖Z_cᵀZ_c − I‖ = {zorth:.3e}"
    );
    let nc = min.controllable_order;
    let at = zc.transpose() * sys.a() * zc;
    let bt = zc.transpose() * sys.b();
    let low_a = at.submatrix(nc, 0, n - nc, nc).norm_l2();
    let low_b = bt.subrows(nc, n - nc).norm_l2();
    assert!(
        low_a <= small && low_b <= small,
        "{what}: uncontrollable part reached: ‖A_21‖ = {low_a:.3e}, ‖B_2‖ = {low_b:.3e}"
    );
    assert!(
        min.order <= nc.min(min.observable_order),
        "{what}: n_r > min(n_c, n_o)"
    );
}

fn check_constructed(seed: u64, parts: Parts, m: usize, p: usize, discrete: bool) {
    let what = format!("seed {seed}, {parts:?}, m = {m}, p = {p}, discrete = {discrete}");
    let (sys, minimal) = constructed(seed, parts, m, p, discrete);
    let min = minimal_realization(&sys, MinrealOptions::default()).unwrap();
    assert_eq!(
        (min.order, min.controllable_order, min.observable_order),
        (parts.co, parts.co + parts.cu, parts.co + parts.uo),
        "{what}: orders (n_r, n_c, n_o); kept ≥ {:.3e}, dropped ≤ {:.3e}, tol {:.3e}",
        min.smallest_kept,
        min.largest_dropped,
        min.tol
    );
    assert_eq!(min.system.sampling(), sys.sampling());
    let pts = points(seed, 8);
    assert_same_tf(&sys, &min.system, &pts, &what);
    assert_same_tf(&minimal, &min.system, &pts, &what);
    assert_structure(&sys, &min, &what);
    // The poles of the minimal realization are those of the minimal part.
    let mut ours: Vec<f64> = min.system.poles().unwrap().iter().map(|l| l.re).collect();
    let mut want: Vec<f64> = minimal.poles().unwrap().iter().map(|l| l.re).collect();
    ours.sort_by(f64::total_cmp);
    want.sort_by(f64::total_cmp);
    for (x, y) in ours.iter().zip(&want) {
        assert!(
            (x - y).abs() <= 1e-8 * (1.0 + y.abs()),
            "{what}: poles {ours:?} vs {want:?}"
        );
    }
}

#[test]
fn hidden_parts_siso_ct_unstable() {
    // Eigenvalues from [-4, 2.8]: unstable modes in every part for most seeds.
    for seed in 0..6 {
        let parts = Parts {
            co: 3,
            cu: 2,
            uo: 2,
            uu: 1,
        };
        check_constructed(seed, parts, 1, 1, false);
    }
}

#[test]
fn hidden_parts_mimo_dt() {
    for seed in 10..16 {
        let parts = Parts {
            co: 4,
            cu: 2,
            uo: 3,
            uu: 2,
        };
        check_constructed(seed, parts, 2, 3, true);
    }
}

#[test]
fn only_uncontrollable_or_only_unobservable() {
    let only_c = Parts {
        co: 3,
        cu: 2,
        uo: 0,
        uu: 0,
    };
    let only_o = Parts {
        co: 3,
        cu: 0,
        uo: 2,
        uu: 0,
    };
    for seed in 20..23 {
        check_constructed(seed, only_c, 2, 1, false);
        check_constructed(seed, only_o, 1, 2, true);
    }
}

#[test]
fn rank_deficient_input_matrix() {
    // B = [b, 2b, -b]: three inputs of rank one; the staircase's first block has size 1.
    let (sys, _) = constructed(
        31,
        Parts {
            co: 3,
            cu: 1,
            uo: 1,
            uu: 1,
        },
        1,
        2,
        false,
    );
    let b1 = sys.b().to_owned();
    let b = Mat::from_fn(sys.order(), 3, |i, j| b1[(i, 0)] * [1.0, 2.0, -1.0][j]);
    let (a, _, c, _) = sys.clone().into_parts();
    let wide = StateSpace::continuous(a, b, c, Mat::zeros(2, 3)).unwrap();
    let min = minimal_realization(&wide, MinrealOptions::default()).unwrap();
    assert_eq!(
        (min.order, min.controllable_order, min.observable_order),
        (3, 4, 4)
    );
    assert_same_tf(&wide, &min.system, &points(31, 6), "B of rank 1, m = 3");
    let st = controllability_staircase(wide.a(), wide.b(), wide.c(), min.tol).unwrap();
    assert_eq!(st.blocks, vec![1, 1, 1, 1]);
}

#[test]
fn zero_b_or_zero_c_leaves_only_d() {
    let (sys, _) = constructed(
        40,
        Parts {
            co: 2,
            cu: 1,
            uo: 1,
            uu: 0,
        },
        2,
        2,
        false,
    );
    let (a, b, c, d) = sys.into_parts();
    let n = a.nrows();
    let no_b = StateSpace::continuous(a.clone(), Mat::zeros(n, 2), c.clone(), d.clone()).unwrap();
    let min = minimal_realization(&no_b, MinrealOptions::default()).unwrap();
    assert_eq!(
        (min.order, min.controllable_order, min.observable_order),
        (0, 0, 3)
    );
    assert_eq!(min.system.order(), 0);
    assert!((min.system.d() - &d).norm_l2() <= 0.0);
    let no_c = StateSpace::continuous(a, b, Mat::zeros(2, n), d.clone()).unwrap();
    let min = minimal_realization(&no_c, MinrealOptions::default()).unwrap();
    assert_eq!(
        (min.order, min.controllable_order, min.observable_order),
        (0, 3, 0)
    );
    assert_same_tf(&no_c, &min.system, &points(40, 4), "C = 0");
}

#[test]
fn already_minimal_is_kept_up_to_similarity() {
    // Dense random stable systems are minimal (generically, with a margin at these sizes): the
    // order is kept, poles and Hankel singular values are invariant.
    for (seed, n, m, p, discrete) in [
        (50u64, 6, 1, 1, false),
        (51, 8, 2, 3, false),
        (52, 7, 3, 2, true),
    ] {
        let mut rng = random::rng(seed);
        let a0: Mat<f64> = random::gaussian(&mut rng, n, n);
        let eig = a0.eigenvalues().unwrap();
        let (a, sampling) = if discrete {
            let rho = eig.iter().map(|l| l.norm()).fold(0.0, f64::max);
            (
                Mat::from_fn(n, n, |i, j| a0[(i, j)] * 0.8 / rho),
                Sampling::Discrete { dt: 1.0 },
            )
        } else {
            let mx = eig.iter().map(|l| l.re).fold(f64::MIN, f64::max);
            (
                Mat::from_fn(n, n, |i, j| {
                    a0[(i, j)] - if i == j { mx + 0.5 } else { 0.0 }
                }),
                Sampling::Continuous,
            )
        };
        let sys = StateSpace::new(
            a,
            random::gaussian(&mut rng, n, m),
            random::gaussian(&mut rng, p, n),
            random::gaussian(&mut rng, p, m),
            sampling,
        )
        .unwrap();
        let what = format!("minimal seed {seed}");
        let min = minimal_realization(&sys, MinrealOptions::default()).unwrap();
        assert_eq!(
            (min.order, min.controllable_order, min.observable_order),
            (n, n, n),
            "{what}"
        );
        assert!(min.largest_dropped <= 0.0, "{what}: nothing dropped");
        assert_same_tf(&sys, &min.system, &points(seed, 6), &what);
        assert_structure(&sys, &min, &what);
        let h = hankel_singular_values(&sys).unwrap();
        let hr = hankel_singular_values(&min.system).unwrap();
        for (x, y) in h.iter().zip(&hr) {
            assert!(
                (x - y).abs() <= 1e-10 * h[0],
                "{what}: HSVs {h:?} vs {hr:?}"
            );
        }
    }
}

#[test]
fn complex_poles_and_a_jordan_chain() {
    // States x1, x2: rotation-scaling block (poles 1 ± 2i, unstable); x3, x4: Jordan chain at -1
    // (x3' = -x3 + x4, x4' = -x4); x5: pole -3. The input drives x2 and x3 (x3 feeds nothing
    // else): controllable {x1, x2, x3}. The output sees x1 and x4 (x4's effect through x3 is not
    // seen, but x4 is seen directly; x3 is never seen): observable {x1, x2, x4}. Minimal: the
    // rotation block, order 2; n_c = n_o = 3.
    let a = faer::mat![
        [1.0, 2.0, 0.0, 0.0, 0.0],
        [-2.0, 1.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, -1.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, -1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, -3.0],
    ];
    let b = faer::mat![[0.0], [1.0], [1.0], [0.0], [0.0]];
    let c = faer::mat![[1.0, 0.0, 0.0, 1.0, 0.0]];
    let mut rng = random::rng(60);
    let q: Mat<f64> = random::haar_unitary(&mut rng, 5);
    let sys = StateSpace::continuous(
        q.transpose() * &a * &q,
        q.transpose() * &b,
        &c * &q,
        faer::mat![[0.0]],
    )
    .unwrap();
    let min = minimal_realization(&sys, MinrealOptions::default()).unwrap();
    assert_eq!(
        (min.order, min.controllable_order, min.observable_order),
        (2, 3, 3)
    );
    let pts = [c64::new(0.3, 0.7), c64::new(-2.0, 5.0), c64::new(4.0, -1.0)];
    assert_same_tf(&sys, &min.system, &pts, "rotation + Jordan");
    let want = StateSpace::continuous(
        faer::mat![[1.0, 2.0], [-2.0, 1.0]],
        faer::mat![[0.0], [1.0]],
        faer::mat![[1.0, 0.0]],
        faer::mat![[0.0]],
    )
    .unwrap();
    assert_same_tf(
        &want,
        &min.system,
        &pts,
        "rotation + Jordan vs its minimal part",
    );
    assert_structure(&sys, &min, "rotation + Jordan");
}

#[test]
fn tolerance_is_checked_and_used() {
    let (sys, _) = constructed(
        70,
        Parts {
            co: 2,
            cu: 1,
            uo: 1,
            uu: 1,
        },
        1,
        1,
        false,
    );
    let t = default_tolerance(&sys);
    let norm = sys
        .a()
        .norm_l2()
        .max(sys.b().norm_l2())
        .max(sys.c().norm_l2());
    assert!((t - EPS.sqrt() * norm).abs() <= 4.0 * EPS * t);
    assert!(
        (minimal_realization(&sys, MinrealOptions::default())
            .unwrap()
            .tol
            - t)
            .abs()
            <= 0.0
    );
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let e = minimal_realization(&sys, MinrealOptions { tol: Some(bad) });
        assert!(e.is_err(), "tol {bad} accepted");
    }
    // A tolerance above every singular value of B declares B zero: order 0.
    let big = 10.0 * sys.b().norm_l2() + 10.0 * sys.c().norm_l2() + 10.0 * sys.a().norm_l2();
    let min = minimal_realization(&sys, MinrealOptions { tol: Some(big) }).unwrap();
    assert_eq!(min.order, 0);
    assert!((min.tol - big).abs() <= 0.0);
}

#[test]
fn slicot_tb01pd_example() {
    // SLICOT TB01PD's example (JOB = 'M', EQUIL = 'N', TOL = 0: default tolerance): NR = 3 and
    // the printed (Ar, Br, Cr), 4 decimals. Compare orders and transfer functions, not entries
    // (a minimal realization is unique only up to similarity).
    let model = common::load("slicot_tb01pd");
    let exp = model.expected.as_ref().unwrap();
    let nr = exp["nr"].as_u64().unwrap() as usize;
    let min = minimal_realization(&model.sys, MinrealOptions::default()).unwrap();
    assert_eq!(min.order, nr);
    let slicot = StateSpace::continuous(
        common::mat(&exp["Ar"]),
        common::mat(&exp["Br"]),
        common::mat(&exp["Cr"]),
        model.sys.d().to_owned(),
    )
    .unwrap();
    let pts = points(80, 10);
    assert_same_tf(&model.sys, &min.system, &pts, "TB01PD example");
    // SLICOT's printed result carries 4 decimals (absolute error <= 5e-5 per entry).
    for &s in &pts {
        let g = min.system.eval(s).unwrap();
        let gs = slicot.eval(s).unwrap();
        let rel = frob_c(&(&g - &gs)) / frob_c(&g);
        assert!(
            rel <= 1e-3,
            "TB01PD example vs SLICOT's printed result: {rel:.3e} at {s}"
        );
    }
    // Its poles: 3, -3, 1.
    let mut p: Vec<f64> = min.system.poles().unwrap().iter().map(|l| l.re).collect();
    p.sort_by(f64::total_cmp);
    for (x, y) in p.iter().zip([-3.0, 1.0, 3.0]) {
        assert!((x - y).abs() <= 1e-13, "poles {p:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_constructed_systems(
        seed in 0u64..1_000_000,
        co in 1usize..5,
        cu in 0usize..3,
        uo in 0usize..3,
        uu in 0usize..3,
        m in 1usize..4,
        p in 1usize..4,
        discrete in any::<bool>(),
    ) {
        check_constructed(seed, Parts { co, cu, uo, uu }, m, p, discrete);
    }
}

/// The measurement behind the default tolerance (module doc of `minreal`): on 2000 constructed
/// systems (sizes, m, p, CT/DT from the seed), the orders are right with the default tolerance,
/// and the singular values dropped (rounding errors amplified by the staircase) and kept (genuine)
/// are far from it. Prints the quantiles of the dropped ones in units of eps·max‖·‖_F
/// (`cargo test -p dln-systems --test minreal dropped -- --nocapture`).
#[test]
fn dropped_singular_values_sit_far_below_the_default_tolerance() {
    let mut ratios = Vec::new();
    let mut kept_rel = f64::INFINITY;
    for seed in 0..2000u64 {
        let k = |x: u64, m: u64| ((seed.wrapping_mul(2_654_435_761) >> x) % m) as usize;
        let parts = Parts {
            co: 1 + k(3, 4),
            cu: k(7, 3),
            uo: k(11, 3),
            uu: k(13, 3),
        };
        let (m, p) = (1 + k(17, 3), 1 + k(19, 3));
        let (sys, _) = constructed(seed, parts, m, p, seed % 2 == 1);
        let tol = default_tolerance(&sys);
        let unit = tol / EPS.sqrt() * EPS; // eps·max‖·‖_F
        let min = minimal_realization(&sys, MinrealOptions::default()).unwrap();
        assert_eq!(
            (min.order, min.controllable_order, min.observable_order),
            (parts.co, parts.co + parts.cu, parts.co + parts.uo),
            "seed {seed}, {parts:?}, m = {m}, p = {p}"
        );
        assert!(
            min.largest_dropped <= 1e-2 * tol && min.smallest_kept >= 1e2 * tol,
            "seed {seed}: dropped {:.3e}, kept {:.3e}, tol {tol:.3e}: decision not clear",
            min.largest_dropped,
            min.smallest_kept
        );
        ratios.push(min.largest_dropped / unit);
        kept_rel = kept_rel.min(min.smallest_kept / (unit / EPS));
    }
    ratios.sort_by(f64::total_cmp);
    let q = |f: f64| ratios[((ratios.len() - 1) as f64 * f).round() as usize];
    println!(
        "largest dropped / (eps max‖·‖_F): median {:.2}, 90% {:.2}, 99% {:.2}, max {:.2}; \
         smallest kept / max‖·‖_F {kept_rel:.3e}",
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
}
