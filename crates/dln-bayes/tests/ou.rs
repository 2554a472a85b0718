//! OU process and noisy training: stationarity (claim 34, erratum E6), the moment law for a real
//! loss (square and rectangular, real and complex) within the discretisation allowance plus 5
//! standard errors, and reproducibility of the parallel path sampler.

use dln_algebra::Network;
use dln_bayes::ou::expected_moments;
use dln_bayes::{DensityConvention, GaussianPrior, LookAhead, NoisyTraining, OrnsteinUhlenbeck};
use dln_flows::loss::Frobenius;
use dln_linalg::{Scalar, c64, random};
use faer::Mat;

fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

/// Runs the exact OU chain from 0 for a long time; returns the standardised deviation of the mean
/// of ||W||^2 from the prior mean in `convention`.
fn ou_stationary_z(convention: DensityConvention) -> f64 {
    let widths = [3, 2, 4];
    let ou = OrnsteinUhlenbeck::new(2.0, 0.5).unwrap();
    let prior = GaussianPrior::new(2.0, 0.5, &widths)
        .unwrap()
        .with_convention(convention);
    let mut rng = random::rng(34);
    let s = 3000;
    let xs: Vec<f64> = (0..s)
        .map(|_| {
            let mut w: Vec<Mat<f64>> = widths.windows(2).map(|p| Mat::zeros(p[1], p[0])).collect();
            // t = 20/kappa in four exact steps: e^{-2 kappa t} = e^{-40}.
            for _ in 0..4 {
                ou.step(&mut w, 10.0, &mut rng);
            }
            dln_algebra::tuple_norm_sq(&w)
        })
        .collect();
    let (m, _) = mean_se(&xs);
    (m - prior.mean_l2_norm_sq::<f64>()) / (prior.var_l2_norm_sq::<f64>() / s as f64).sqrt()
}

#[test]
fn claim34_ou_stationary_law_is_the_corrected_prior() {
    let z = ou_stationary_z(DensityConvention::Corrected);
    assert!(z.abs() <= 5.0, "corrected: z = {z}");
    let z = ou_stationary_z(DensityConvention::Printed);
    assert!(
        z.abs() > 5.0,
        "the printed density (E6) must be rejected: z = {z}"
    );
}

fn moment_law<T: Scalar>(widths: &[usize], seed: u64) {
    let mut rng = random::rng(seed);
    let w0 = Network::new(
        widths
            .windows(2)
            .map(|p| random::gaussian::<T, _>(&mut rng, p[1], p[0]))
            .collect(),
    )
    .unwrap();
    let y: Mat<T> = random::gaussian(&mut rng, widths[widths.len() - 1], widths[0]);
    let (beta, kappa, t_end) = (4.0, 0.7, 0.5);
    let nt = NoisyTraining::new(Frobenius::new(y), beta, kappa, 4e-3).unwrap();
    let paths = 300;
    let run = nt.run_paths(&w0, t_end, paths, 2, seed, &mut ()).unwrap();
    assert_eq!(run.t.len(), 3);
    let want = expected_moments(&w0, beta, kappa, t_end);
    let allowance = run.discretisation_allowance;
    for (k, gk) in want.iter().enumerate() {
        for i in 0..gk.nrows() {
            for j in 0..gk.ncols() {
                for part in 0..if T::IS_COMPLEX { 2 } else { 1 } {
                    let get = |v: T| if part == 0 { v.re() } else { v.im() };
                    let xs: Vec<f64> = run
                        .finals
                        .iter()
                        .map(|w| get(w.moment(k + 1)[(i, j)]))
                        .collect();
                    let (m, se) = mean_se(&xs);
                    assert!(
                        (m - get(gk[(i, j)])).abs() <= allowance + 5.0 * se,
                        "{widths:?} G_{}({i},{j}) part {part}: {m} vs {} (se {se}, allowance {allowance})",
                        k + 1,
                        get(gk[(i, j)])
                    );
                    // The recorded path mean is the same estimator.
                    assert!(
                        (get(run.mean_moments[2][k][(i, j)]) - m).abs() <= 1e-12 * (1.0 + m.abs())
                    );
                }
            }
        }
    }
}

#[test]
fn noisy_moment_law_square_and_rectangular() {
    moment_law::<f64>(&[3, 3, 3], 1);
    moment_law::<c64>(&[2, 2, 2, 2], 2);
    moment_law::<f64>(&[4, 2, 3, 1], 3);
    moment_law::<c64>(&[1, 3, 2], 4);
}

#[test]
fn dropping_the_ito_term_is_detected() {
    // The law without the Ito identity term (what a deterministic reading of Theorem 2 predicts)
    // is rejected by the same estimator on rectangular widths.
    let widths = [5, 2, 1];
    let mut rng = random::rng(7);
    let w0 = Network::new(
        widths
            .windows(2)
            .map(|p| random::gaussian::<f64, _>(&mut rng, p[1], p[0]))
            .collect(),
    )
    .unwrap();
    let y: Mat<f64> = random::gaussian(&mut rng, 1, 5);
    let (beta, kappa, t_end) = (4.0, 0.7, 0.5);
    let nt = NoisyTraining::new(Frobenius::new(y), beta, kappa, 4e-3).unwrap();
    let run = nt.run_paths(&w0, t_end, 400, 1, 7, &mut ()).unwrap();
    let xs: Vec<f64> = run.finals.iter().map(|w| w.moment(1)[(0, 0)]).collect();
    let (m, se) = mean_se(&xs);
    let no_ito = w0.moment(1)[(0, 0)] * (-2.0 * kappa * t_end).exp();
    assert!((m - no_ito).abs() > run.discretisation_allowance + 5.0 * se);
}

#[test]
fn paths_are_reproducible_and_thread_independent() {
    let mut rng = random::rng(3);
    let w0 = Network::new(vec![random::gaussian::<f64, _>(&mut rng, 2, 2); 3]).unwrap();
    let nt =
        NoisyTraining::new(Frobenius::new(Mat::<f64>::identity(2, 2)), 1.0, 1.0, 0.01).unwrap();
    let a = nt.run_paths(&w0, 0.2, 5, 3, 11, &mut ()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(|| nt.run_paths(&w0, 0.2, 5, 3, 11, &mut ()).unwrap());
    for (x, y) in a.finals.iter().zip(&b.finals) {
        assert!(dln_linalg::rel_diff(x.w(2), y.w(2)) < f64::EPSILON);
    }
    assert_eq!(a.steps, 20);
}

#[test]
fn path_streams_depend_on_seed_and_index_only() {
    // Path i draws from NormalStream::for_path(seed, i): the first paths of a larger run are the
    // paths of a smaller one, and another seed gives other paths.
    let mut rng = random::rng(5);
    let w0 = Network::new(vec![random::gaussian::<c64, _>(&mut rng, 2, 2); 2]).unwrap();
    let nt =
        NoisyTraining::new(Frobenius::new(Mat::<c64>::identity(2, 2)), 2.0, 1.0, 0.01).unwrap();
    let small = nt.run_paths(&w0, 0.1, 2, 1, 21, &mut ()).unwrap();
    let large = nt.run_paths(&w0, 0.1, 6, 1, 21, &mut ()).unwrap();
    let other = nt.run_paths(&w0, 0.1, 2, 1, 22, &mut ()).unwrap();
    for k in 1..=2 {
        for i in 0..2 {
            assert!(
                dln_linalg::rel_diff(small.finals[i].w(k), large.finals[i].w(k)) < f64::EPSILON
            );
            assert!(dln_linalg::rel_diff(small.finals[i].w(k), other.finals[i].w(k)) > 1e-3);
        }
        assert!(dln_linalg::rel_diff(large.finals[0].w(k), large.finals[1].w(k)) > 1e-3);
    }
    // With more threads than paths each path draws its next step's noise on a spare thread
    // while computing the gradient: the same paths bit for bit as on one thread (three records,
    // so the half steps at the record boundaries come from the look-ahead too).
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let always = nt.clone().with_look_ahead(LookAhead::Always);
    let ahead = pool(4).install(|| always.run_paths(&w0, 0.1, 2, 3, 21, &mut ()).unwrap());
    let serial = pool(1).install(|| nt.run_paths(&w0, 0.1, 2, 3, 21, &mut ()).unwrap());
    for (x, y) in ahead.finals.iter().zip(&serial.finals) {
        for k in 1..=2 {
            assert!(dln_linalg::rel_diff(x.w(k), y.w(k)) < f64::EPSILON);
        }
    }
    assert!((ahead.mean_moment_norm[1] - serial.mean_moment_norm[1]).abs() < 1e-15);
    let streams = dln_bayes::ou::path_streams(21, 3);
    assert_eq!(streams[0], dln_bayes::NormalStream::new(21));
    assert_eq!(streams[2], dln_bayes::NormalStream::for_path(21, 2));
    assert_ne!(streams[1], streams[2]);
}

#[test]
fn bad_parameters_are_rejected() {
    let loss = Frobenius::new(Mat::<f64>::identity(2, 2));
    assert!(NoisyTraining::new(loss.clone(), -1.0, 1.0, 0.1).is_err());
    assert!(NoisyTraining::new(loss.clone(), 1.0, 1.0, 0.0).is_err());
    let nt = NoisyTraining::new(loss, 1.0, 1.0, 0.1).unwrap();
    let w0 = Network::new(vec![Mat::<f64>::identity(2, 2)]).unwrap();
    assert!(nt.run_paths(&w0, 1.0, 0, 1, 0, &mut ()).is_err());
}

/// The exact OU step draws its normals layer by layer, column by column, real part before
/// imaginary part, whatever the layer's shape: a short wide layer (several whole columns per
/// request to the stream) and a tall one (a column longer than the draw buffer, drawn in pieces),
/// real and complex, against the same normals drawn in one request.
fn ou_step_order<T: Scalar>(widths: &[usize]) {
    let ou = OrnsteinUhlenbeck::new(2.0, 0.5).unwrap();
    let h = 0.3;
    let (a, sd) = ou.transition(h);
    let mut rng = random::rng(41);
    let w0: Vec<Mat<T>> = widths
        .windows(2)
        .map(|p| random::gaussian::<T, _>(&mut rng, p[1], p[0]))
        .collect();
    let mut w = w0.clone();
    ou.step(&mut w, h, &mut dln_bayes::NormalStream::new(9));
    let c = if T::IS_COMPLEX { 2 } else { 1 };
    let coords: usize = w0.iter().map(|m| c * m.nrows() * m.ncols()).sum();
    let mut z = vec![0.0; coords];
    dln_bayes::NormalSource::fill_normals(&mut dln_bayes::NormalStream::new(9), &mut z);
    let mut next = z.iter();
    let mut worst = 0.0_f64;
    for (m0, m) in w0.iter().zip(&w) {
        for j in 0..m0.ncols() {
            for i in 0..m0.nrows() {
                let re = *next.next().unwrap();
                let noise = if T::IS_COMPLEX {
                    T::from_parts(sd * re, sd * *next.next().unwrap())
                } else {
                    T::from_f64(sd * re)
                };
                let expected = m0[(i, j)].scale(a) + noise;
                let scale = m0[(i, j)].modulus_sq().sqrt() * a + sd * 6.0;
                worst = worst.max((m[(i, j)] - expected).modulus_sq().sqrt() / scale);
            }
        }
    }
    assert!(next.next().is_none());
    assert!(worst < 4.0 * f64::EPSILON, "{worst:e}");
}

#[test]
fn ou_step_draws_in_column_major_order_for_every_layer_shape() {
    // 1500 real rows > the 1024-entry buffer; 600 complex rows (1200 coordinates) too.
    ou_step_order::<f64>(&[700, 2, 1500, 3]);
    ou_step_order::<c64>(&[700, 2, 600, 3]);
}
