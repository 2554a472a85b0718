//! Property tests of the DLN algebra over random widths, depths and seeds, real and complex:
//! the product is invariant under the group, the norm and (equivariantly) the moments under the
//! compact subgroup, $T^*\mathbf W = \mathbf G$, $\mathbf H = T^*T$ is self-adjoint and positive, the
//! tangent projection is an orthogonal projection and its normal part satisfies the normal-space
//! equations, and every balanced orbit point is balanced with the minimal norm.

use dln_algebra::{BalancedOrbit, CgOptions, FiberOperator, Network, tuple_inner};
use dln_linalg::{Scalar, c64, random, rel_diff};
use faer::Mat;
use proptest::prelude::*;

fn network<T: Scalar>(seed: u64, widths: &[usize]) -> Network<T> {
    let mut rng = random::rng(seed);
    Network::new(
        (1..widths.len())
            .map(|k| random::gaussian(&mut rng, widths[k], widths[k - 1]))
            .collect(),
    )
    .unwrap()
}

fn junction_elements<T: Scalar>(seed: u64, net: &Network<T>, unitary: bool) -> Vec<Mat<T>> {
    let mut rng = random::rng(seed);
    (1..net.depth())
        .map(|k| {
            let d = net.width(k);
            if unitary {
                random::haar_unitary(&mut rng, d)
            } else {
                random::gl_with_condition(&mut rng, d, 10.0)
            }
        })
        .collect()
}

fn check_all<T: Scalar>(seed: u64, widths: Vec<usize>) {
    let w: Network<T> = network(seed, &widths);
    let eps = f64::EPSILON * widths.iter().copied().max().unwrap() as f64;
    let x = w.product();
    // Claim 1: product invariant under the group.
    let a = junction_elements(seed ^ 1, &w, false);
    let aw = w.act(&a).unwrap();
    assert!(rel_diff(aw.product().as_ref(), x.as_ref()) < 1e4 * eps);
    // Claims 2, 3: norm invariant, moments equivariant under the compact group.
    let u = junction_elements(seed ^ 2, &w, true);
    let uw = w.act_unitary(&u);
    assert!((uw.l2_norm_sq() - w.l2_norm_sq()).abs() < 1e3 * eps * w.l2_norm_sq());
    for (k, (g_u, g)) in uw.moments().iter().zip(w.moments()).enumerate() {
        let expect = &u[k] * &g * u[k].adjoint();
        assert!(
            rel_diff(g_u.as_ref(), expect.as_ref())
                < 1e3 * eps * (1.0 + w.l2_norm_sq() / g.norm_l2().max(1e-300))
        );
    }
    // T^*W = G.
    let views: Vec<_> = w.layers().iter().map(|m| m.as_ref()).collect();
    for (a, g) in w
        .infinitesimal_action_adjoint(&views)
        .iter()
        .zip(w.moments())
    {
        assert!(rel_diff(a.as_ref(), g.as_ref()) < 1e-14 + 1e3 * eps);
    }
    if w.depth() < 2 {
        return;
    }
    // Lemma 3: <w_b, w_a> = <H(b), a> = <b, H(a)>; H positive.
    let b = junction_elements(seed ^ 3, &w, false);
    let op = FiberOperator::new(&w);
    let (wa, wb) = (w.infinitesimal_action(&a), w.infinitesimal_action(&b));
    let lhs = tuple_inner(&wb, &wa);
    let (hb, ha) = (op.apply(&b), op.apply(&a));
    let scale = tuple_inner(&wa, &wa).sqrt() * tuple_inner(&wb, &wb).sqrt();
    assert!((lhs - tuple_inner(&hb, &a)).abs() < 1e4 * eps * scale);
    assert!((lhs - tuple_inner(&b, &ha)).abs() < 1e4 * eps * scale);
    assert!(tuple_inner(&a, &ha) >= -1e4 * eps * scale);
    // Lemma 5 / Remark 9: the projection of W onto the tangent space is w_b with H(b) = G,
    // and W - w_b is normal: W_k V_k^* = V_{k+1}^* W_{k+1}.
    let mut op = FiberOperator::new(&w);
    let (tan, sol) = op.project_tangent(&views, CgOptions::default()).unwrap();
    // H is singular when the action is not free (hidden widths above rank X); the solve must
    // still converge (CGLS fallback).
    assert!(
        sol.converged,
        "CG residual {:e}, backward error {:e}",
        sol.residual, sol.backward_error
    );
    let normal: Vec<Mat<T>> = w
        .layers()
        .iter()
        .zip(&tan)
        .map(|(wi, ti)| wi - ti)
        .collect();
    let nv: Vec<_> = normal.iter().map(|m| m.as_ref()).collect();
    let adj = w.infinitesimal_action_adjoint(&nv);
    let wn = w.l2_norm_sq();
    for c in &adj {
        assert!(
            c.norm_l2() < 1e-7 * wn,
            "normal part not normal: {:e}",
            c.norm_l2() / wn
        );
    }
    // Pythagoras.
    let total = tuple_inner(&tan, &tan) + tuple_inner(&normal, &normal);
    assert!((total - wn).abs() < 1e-8 * wn);
    // Balanced orbit points: balanced, same product, minimal norm.
    let orbit = BalancedOrbit::of(&w).unwrap();
    let mut rng = random::rng(seed ^ 4);
    let frames: Vec<Mat<T>> = (1..w.depth())
        .map(|k| random::orthonormal_columns(&mut rng, w.width(k), orbit.rank()))
        .collect();
    for p in [orbit.centre(), orbit.point(&frames)] {
        assert!(rel_diff(p.product().as_ref(), x.as_ref()) < 1e-11);
        assert!(p.moment_norm() < 1e-12 * p.l2_norm_sq().max(1.0));
        assert!((p.l2_norm_sq() - orbit.l2_lower_bound()).abs() < 1e-12 * orbit.l2_lower_bound());
    }
    // Theorem 1 generalised: any point of the fiber is at least the bound.
    assert!(w.l2_norm_sq() >= orbit.l2_lower_bound() * (1.0 - 1e-12));
    assert!(aw.l2_norm_sq() >= orbit.l2_lower_bound() * (1.0 - 1e-12));
    let p = 1.5;
    assert!(w.schatten_sum(p).unwrap() >= orbit.schatten_lower_bound(p) * (1.0 - 1e-12));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn invariants_real(seed in any::<u64>(), widths in dln_linalg::proptest::widths(1..=5, 1..=7)) {
        check_all::<f64>(seed, widths);
    }
    #[test]
    fn invariants_complex(seed in any::<u64>(), widths in dln_linalg::proptest::widths(1..=5, 1..=7)) {
        check_all::<c64>(seed, widths);
    }
}
