//! Property tests over random stable systems of random sizes: HSV invariance under similarity,
//! balanced Gramians equal and diagonal, the error-bound sandwich, and Moore balancing as the
//! Kempf-Ness problem agreeing with square-root balancing.
mod common;

use dln_linalg::random;
use dln_systems::gramian::{balanced_realization, gramian_factors, hankel_singular_values};
use dln_systems::model::StateSpace;
use dln_systems::realization::kempf_ness_balancing;
use dln_systems::reduction::{Method, OrderSelection, ReductionOptions, reduce};
use dln_systems::reference::RandomStable;
use faer::Mat;
use proptest::prelude::*;

/// A random stable system: Gaussian $A$ shifted to $\max\operatorname{Re}\lambda = -0.5$ (CT) or
/// scaled to spectral radius $0.9$ (DT, $h = 1$), $D = 0$.
fn random_stable(seed: u64, n: usize, m: usize, p: usize, discrete: bool) -> StateSpace {
    let class = if discrete {
        RandomStable::discrete(n, m, p, 0.9)
    } else {
        RandomStable::continuous(n, m, p, 0.5)
    };
    class.system(&mut random::rng(seed)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn hsv_invariant_under_similarity(seed in 0u64..1_000_000, n in 2usize..14, m in 1usize..4, p in 1usize..4, dt in any::<bool>()) {
        let sys = random_stable(seed, n, m, p, dt);
        let mut rng = random::rng(seed ^ 0xabcdef);
        let t: Mat<f64> = random::gl_with_condition(&mut rng, n, 20.0);
        let ti = dln_linalg::psd_pow((t.transpose() * &t).as_ref(), -1.0).unwrap() * t.transpose();
        let h1 = hankel_singular_values(&sys).unwrap();
        let h2 = hankel_singular_values(&sys.transform(t.as_ref(), ti.as_ref())).unwrap();
        for k in 0..n {
            prop_assert!((h1[k] - h2[k]).abs() <= 1e-9 * h1[0], "k={} {} vs {}", k, h1[k], h2[k]);
        }
    }

    #[test]
    fn balanced_gramians_equal_and_diagonal(seed in 0u64..1_000_000, n in 2usize..14, m in 1usize..4, p in 1usize..4, dt in any::<bool>()) {
        let sys = random_stable(seed, n, m, p, dt);
        let b = balanced_realization(&sys, None).unwrap();
        let f = gramian_factors(&b.system).unwrap();
        let (pp, qq) = (f.p(), f.q());
        let r = b.order;
        for i in 0..r {
            for j in 0..r {
                let w = if i == j { b.hsv[i] } else { 0.0 };
                prop_assert!((pp[(i, j)] - w).abs() <= 1e-9 * b.hsv[0]);
                prop_assert!((qq[(i, j)] - w).abs() <= 1e-9 * b.hsv[0]);
            }
        }
    }

    #[test]
    fn error_bound_sandwich(seed in 0u64..1_000_000, n in 3usize..14, m in 1usize..3, p in 1usize..3, dt in any::<bool>(), spa in any::<bool>(), frac in 0.1f64..0.9) {
        let sys = random_stable(seed, n, m, p, dt);
        let r_req = ((n as f64) * frac) as usize;
        let method = if spa { Method::SingularPerturbation } else { Method::Truncation };
        let red = reduce(&sys, ReductionOptions { method, order: OrderSelection::Fixed(r_req), ..Default::default() }).unwrap();
        let e = red.hinf_error().unwrap().value;
        let scale = red.hsv[0];
        prop_assert!(red.error_lower_bound <= e * (1.0 + 1e-7) + 1e-12 * scale, "{} <= {}", red.error_lower_bound, e);
        prop_assert!(e <= red.error_bound * (1.0 + 1e-7) + 1e-12 * scale, "{} <= {}", e, red.error_bound);
    }
}

/// Moore balancing as the Kempf-Ness problem (M^*M = P^{-1} # Q) agrees with the square-root
/// method: same HSVs, and the same balanced realization up to the signs of the states.
#[test]
fn kempf_ness_balancing_matches_square_root() {
    for name in ["slicot_ab09ad", "slicot_ab09ad_dt"] {
        let m = common::load(name);
        let f = gramian_factors(&m.sys).unwrap();
        let (mm, mi, sigma) = kempf_ness_balancing(f.p().as_ref(), f.q().as_ref()).unwrap();
        let sr = balanced_realization(&m.sys, None).unwrap();
        for k in 0..sigma.len() {
            assert!(
                (sigma[k] - sr.hsv[k]).abs() < 1e-10 * sr.hsv[0],
                "{name} k={k}"
            );
        }
        let akn = &mm * m.sys.a() * &mi;
        let asr = sr.system.a();
        let bkn = &mm * m.sys.b();
        let n = asr.nrows();
        // sign of state i: from B rows
        let sgn: Vec<f64> = (0..n)
            .map(|i| {
                let dot: f64 = (0..bkn.ncols())
                    .map(|j| bkn[(i, j)] * sr.system.b()[(i, j)])
                    .sum();
                dot.signum()
            })
            .collect();
        for i in 0..n {
            for j in 0..n {
                let d = (akn[(i, j)] * sgn[i] * sgn[j] - asr[(i, j)]).abs();
                assert!(
                    d < 1e-8 * asr.norm_l2(),
                    "{name} A[{i},{j}]: {} vs {}",
                    akn[(i, j)],
                    asr[(i, j)]
                );
            }
        }
    }
}
