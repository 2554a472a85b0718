//! The moment map of the realization action, Helmke's norm balancing, and Moore balancing as a
//! Kempf-Ness problem (theory section 5, claim 35).
use dln_linalg::{c64, random, rel_diff};
use dln_systems::realization::{
    NormBalanceOptions, kempf_ness_balancing, moment_map, norm_balance, potential,
};
use faer::Mat;

/// Claim 35: d/dtau|0 of the potential along e^{tau a} equals Re Tr(mu^* a), real and complex.
#[test]
fn moment_map_is_the_derivative_of_the_potential() {
    fn check<T: dln_linalg::Scalar>(seed: u64) {
        let mut rng = random::rng(seed);
        let (n, m, p) = (5, 2, 3);
        let a: Mat<T> = random::gaussian(&mut rng, n, n);
        let b: Mat<T> = random::gaussian(&mut rng, n, m);
        let c: Mat<T> = random::gaussian(&mut rng, p, n);
        let x: Mat<T> = random::gaussian(&mut rng, n, n); // arbitrary direction in gl_n
        let mu = moment_map(a.as_ref(), b.as_ref(), c.as_ref());
        let f = |t: f64| {
            let e = dln_linalg::expm(random::scaled(x.as_ref(), t).as_ref()).unwrap();
            let ei = dln_linalg::expm(random::scaled(x.as_ref(), -t).as_ref()).unwrap();
            potential(
                (&e * &a * &ei).as_ref(),
                (&e * &b).as_ref(),
                (&c * &ei).as_ref(),
            )
        };
        let h = 1e-5;
        let fd = (f(h) - f(-h)) / (2.0 * h);
        let exact = dln_linalg::re_inner(mu.as_ref(), x.as_ref());
        assert!(
            (fd - exact).abs() < 1e-6 * (1.0 + exact.abs()),
            "fd {fd} vs {exact}"
        );
    }
    check::<f64>(1);
    check::<c64>(2);
}

/// The N = 2 DLN as a special case: A = 0, B = W1, C = W2 gives mu_LS = G_1, using
/// dln-algebra's Network::moments.
#[test]
fn two_layer_dln_moment_is_mu_ls() {
    let mut rng = random::rng(7);
    let (d0, d1, d2) = (3, 4, 2);
    let w1: Mat<c64> = random::gaussian(&mut rng, d1, d0);
    let w2: Mat<c64> = random::gaussian(&mut rng, d2, d1);
    let net = dln_algebra::Network::new(vec![w1.clone(), w2.clone()]).unwrap();
    let g1 = &net.moments()[0];
    let mu = moment_map(Mat::<c64>::zeros(d1, d1).as_ref(), w1.as_ref(), w2.as_ref());
    assert!(rel_diff(mu.as_ref(), g1.as_ref()) < 1e-14);
}

#[test]
fn helmke_norm_balancing_reaches_mu_zero() {
    fn check<T: dln_linalg::Scalar>(seed: u64) {
        let mut rng = random::rng(seed);
        let (n, m, p) = (6, 2, 2);
        let a0: Mat<T> = random::gaussian(&mut rng, n, n);
        let b0: Mat<T> = random::gaussian(&mut rng, n, m);
        let c0: Mat<T> = random::gaussian(&mut rng, p, n);
        // move far away on the orbit with an ill-conditioned M
        let t: Mat<T> = random::gl_with_condition(&mut rng, n, 1e3);
        let ti = dln_linalg::psd_pow((t.adjoint() * &t).as_ref(), -1.0).unwrap() * t.adjoint();
        let (a, b, c) = (&t * &a0 * &ti, &t * &b0, &c0 * &ti);
        let r = norm_balance(
            a.as_ref(),
            b.as_ref(),
            c.as_ref(),
            NormBalanceOptions::default(),
        )
        .unwrap();
        let mu = moment_map(r.a.as_ref(), r.b.as_ref(), r.c.as_ref());
        let scale = 2.0 * r.potential;
        assert!(mu.norm_l2() <= 1e-11 * scale, "mu = {:e}", mu.norm_l2());
        // the result is on the orbit: M A M^{-1} reproduces r.a
        assert!(rel_diff((&r.m * &a * &r.m_inv).as_ref(), r.a.as_ref()) < 1e-9);
        // and the potential went down to the orbit minimum (started from a balanced-ish point too)
        let r0 = norm_balance(
            a0.as_ref(),
            b0.as_ref(),
            c0.as_ref(),
            NormBalanceOptions::default(),
        )
        .unwrap();
        assert!(
            (r.potential - r0.potential).abs() <= 1e-9 * r0.potential,
            "{} vs {}",
            r.potential,
            r0.potential
        );
        assert!(r.iterations < 60, "iterations {}", r.iterations);
    }
    check::<f64>(11);
    check::<c64>(12);
}

#[test]
fn kempf_ness_moore_balancing_diagonalizes_both_gramians() {
    let mut rng = random::rng(3);
    let n = 6;
    let p: Mat<f64> = random::random_pd(&mut rng, n, 1e3);
    let q: Mat<f64> = random::random_pd(&mut rng, n, 1e3);
    let (m, mi, sigma) = kempf_ness_balancing(p.as_ref(), q.as_ref()).unwrap();
    let pb = &m * &p * m.transpose();
    let qb = mi.transpose() * &q * &mi;
    let sig = Mat::from_fn(n, n, |i, j| if i == j { sigma[i] } else { 0.0 });
    assert!(rel_diff(pb.as_ref(), sig.as_ref()) < 1e-10);
    assert!(rel_diff(qb.as_ref(), sig.as_ref()) < 1e-10);
    // sigma^2 = eig(PQ)
    let mut e: Vec<f64> = (&p * &q)
        .eigenvalues()
        .unwrap()
        .iter()
        .map(|z| z.re.sqrt())
        .collect();
    e.sort_by(|a, b| b.total_cmp(a));
    for k in 0..n {
        assert!((e[k] - sigma[k]).abs() < 1e-9 * sigma[0]);
    }
    // M^*M = P^{-1} # Q
    let w = dln_linalg::geometric_mean(
        dln_linalg::psd_pow(p.as_ref(), -1.0).unwrap().as_ref(),
        q.as_ref(),
    )
    .unwrap();
    assert!(rel_diff((m.transpose() * &m).as_ref(), w.as_ref()) < 1e-10);
    assert!(rel_diff((&m * &mi).as_ref(), Mat::<f64>::identity(n, n).as_ref()) < 1e-10);
}
