//! The Gaussian prior: normalisation, sampling moments against the closed forms (5 standard
//! errors, fixed seeds), the push-forward of X, and erratum E6.

use dln_bayes::{BayesError, DensityConvention, GaussianPrior, real_dimension};
use dln_linalg::{Scalar, c64, random};

/// Mean and standard error of the mean.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

fn moments_match<T: Scalar>(widths: &[usize], seed: u64) {
    let prior = GaussianPrior::new(1.5, 0.8, widths).unwrap();
    let mut rng = random::rng(seed);
    let s = 4000;
    let samples: Vec<_> = (0..s).map(|_| prior.sample::<T, _>(&mut rng)).collect();
    // ||W||^2 against D s, with the exact standard error sqrt(2 D s^2 / S).
    let norms: Vec<f64> = samples.iter().map(|w| w.l2_norm_sq()).collect();
    let (m, _) = mean_se(&norms);
    let se = (prior.var_l2_norm_sq::<T>() / s as f64).sqrt();
    assert!(
        (m - prior.mean_l2_norm_sq::<T>()).abs() <= 5.0 * se,
        "E||W||^2: {m} vs {} (se {se})",
        prior.mean_l2_norm_sq::<T>()
    );
    // E[G_k] = m_k I, entrywise within 5 SE.
    let want = prior.mean_moments::<T>();
    for (k, &mk) in want.iter().enumerate() {
        let d = widths[k + 1];
        for i in 0..d {
            for j in 0..d {
                let xs: Vec<f64> = samples
                    .iter()
                    .map(|w| w.moment(k + 1)[(i, j)].re())
                    .collect();
                let (m, se) = mean_se(&xs);
                let target = if i == j { mk } else { 0.0 };
                assert!(
                    (m - target).abs() <= 5.0 * se,
                    "E[G_{}]({i},{j}) = {m} vs {target} (se {se})",
                    k + 1
                );
            }
        }
    }
    // Push-forward: E||X||^2.
    let xs: Vec<f64> = samples
        .iter()
        .map(|w| dln_linalg::frob_sq(w.product().as_ref()))
        .collect();
    let (m, se) = mean_se(&xs);
    assert!(
        (m - prior.mean_x_frob_sq::<T>()).abs() <= 5.0 * se,
        "E||X||^2 = {m} vs {} (se {se})",
        prior.mean_x_frob_sq::<T>()
    );
}

#[test]
fn sample_moments_real_and_complex_square_and_rectangular() {
    moments_match::<f64>(&[3, 3, 3, 3], 1);
    moments_match::<c64>(&[3, 3, 3, 3], 2);
    moments_match::<f64>(&[4, 2, 5, 1], 3);
    moments_match::<c64>(&[2, 5, 3], 4);
}

#[test]
fn wrong_moment_law_is_detected() {
    // The same estimator rejects the balanced law E[G_k] = 0 for rectangular widths.
    let prior = GaussianPrior::new(1.0, 1.0, &[6, 3, 1]).unwrap();
    let mut rng = random::rng(9);
    let xs: Vec<f64> = (0..2000)
        .map(|_| prior.sample::<f64, _>(&mut rng).moment(1)[(0, 0)])
        .collect();
    let (m, se) = mean_se(&xs);
    assert!(
        m.abs() > 5.0 * se,
        "E[G_1] = 5 I must be distinguishable from 0"
    );
}

#[test]
fn log_density_is_normalised() {
    // D = 1: integrate exp(log_density) on a grid (trapezoid over +-12 sd).
    for conv in [DensityConvention::Corrected, DensityConvention::Printed] {
        let prior = GaussianPrior::new(2.0, 0.7, &[1, 1])
            .unwrap()
            .with_convention(conv);
        let sd = prior.variance().sqrt();
        let n = 4001;
        let (a, b) = (-12.0 * sd, 12.0 * sd);
        let h = (b - a) / (n - 1) as f64;
        let mut z = 0.0;
        for i in 0..n {
            let x = a + i as f64 * h;
            let w = dln_algebra::Network::new(vec![faer::Mat::from_fn(1, 1, |_, _| x)]).unwrap();
            let wt = if i == 0 || i == n - 1 { 0.5 } else { 1.0 };
            z += wt * h * prior.log_density(&w).exp();
        }
        assert!((z - 1.0).abs() < 1e-10, "{conv:?}: integral {z}");
    }
    // Complex, D = 2: log-density at 0 is log(p / 2pi).
    let prior = GaussianPrior::new(2.0, 0.7, &[1, 1]).unwrap();
    let w = dln_algebra::Network::new(vec![faer::Mat::<c64>::zeros(1, 1)]).unwrap();
    let want = (1.4f64 / (2.0 * std::f64::consts::PI)).ln();
    assert!((prior.log_density(&w) - want).abs() < 1e-14);
}

#[test]
fn printed_convention_halves_the_variance() {
    let p = GaussianPrior::new(2.0, 3.0, &[2, 2]).unwrap();
    let q = p.clone().with_convention(DensityConvention::Printed);
    assert!((p.variance() - 1.0 / 6.0).abs() < 1e-15);
    assert!((q.variance() - 1.0 / 12.0).abs() < 1e-15);
}

#[test]
fn dimension_counts_real_coordinates() {
    assert_eq!(real_dimension::<f64>(&[3, 4, 2]), 20);
    assert_eq!(real_dimension::<c64>(&[3, 4, 2]), 40);
}

#[test]
fn bad_parameters_are_rejected() {
    assert!(matches!(
        GaussianPrior::new(0.0, 1.0, &[2, 2]),
        Err(BayesError::InvalidParameter { name: "beta", .. })
    ));
    assert!(matches!(
        GaussianPrior::new(1.0, f64::NAN, &[2, 2]),
        Err(BayesError::InvalidParameter { name: "kappa", .. })
    ));
    assert!(matches!(
        GaussianPrior::new(1.0, 1.0, &[2]),
        Err(BayesError::InvalidWidths { .. })
    ));
    assert!(matches!(
        GaussianPrior::new(1.0, 1.0, &[2, 0, 2]),
        Err(BayesError::InvalidWidths { .. })
    ));
}

#[test]
fn sampling_is_reproducible() {
    let prior = GaussianPrior::new(1.0, 1.0, &[2, 3]).unwrap();
    let a = prior.sample::<c64, _>(&mut random::rng(5));
    let b = prior.sample::<c64, _>(&mut random::rng(5));
    assert!(dln_linalg::rel_diff(a.w(1), b.w(1)) < f64::EPSILON);
}
