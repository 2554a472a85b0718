//! The fiber posterior: d = 1, N = 2 against 1-D quadrature on the hyperbola $w_2w_1 = x$ for both
//! base measures (and a swapped measure failing the same comparison), real and complex; constraint
//! residuals, products preserved, errors where the fiber is not a manifold; the same for the
//! constrained HMC sampler and the graph-chart HMC, and the gradient of $\log J_\varphi$ against
//! finite differences.
//!
//! The scaffolding the three samplers share (chain against quadrature with the swapped measure
//! failing, both branches visited, products preserved, seeded runs reproducible) is written once
//! over [`Kernel`]; each sampler's test supplies its settings, seeds and tolerances.

use dln_algebra::{Network, NormalOperator};
use dln_bayes::posterior::{
    batch_means, log_jacobian, log_jacobian_gradient, scalar_fiber_mean_l2_norm_sq,
};
use dln_bayes::{
    BaseMeasure, FiberChain, FiberMcmcOptions, FiberPosterior, GraphHmcOptions, HmcOptions,
};
use dln_linalg::{Scalar, c64, random};
use faer::Mat;

/// $\mathbb E\|\mathbf W\|^2$ on $w_2w_1 = x$ by quadrature ([`scalar_fiber_mean_l2_norm_sq`], depth 2).
fn reference(a: f64, x_abs: f64, complex: bool, measure: BaseMeasure) -> f64 {
    scalar_fiber_mean_l2_norm_sq(2, a, x_abs, complex, measure)
}

fn net<T: Scalar>(layers: Vec<Mat<T>>) -> Network<T> {
    Network::new(layers).unwrap()
}

fn random_net<T: Scalar>(rng: &mut rand::rngs::StdRng, widths: &[usize]) -> Network<T> {
    net(widths
        .windows(2)
        .map(|p| random::gaussian(rng, p[1], p[0]))
        .collect())
}

fn scalar_net<T: Scalar>(w1: T, w2: T) -> Network<T> {
    net(vec![
        Mat::from_fn(1, 1, |_, _| w1),
        Mat::from_fn(1, 1, |_, _| w2),
    ])
}

/// One of the three samplers with the settings a test runs it with.
#[derive(Debug, Clone, Copy)]
enum Kernel {
    /// Constrained random-walk Metropolis (`FiberPosterior::sample`).
    Rwm(FiberMcmcOptions),
    /// Constrained HMC (`FiberPosterior::sample_hmc`).
    Hmc(HmcOptions),
    /// Euclidean HMC in the graph chart (`FiberPosterior::sample_graph_hmc`).
    Graph(GraphHmcOptions),
}

impl Kernel {
    fn rwm(samples: usize, burn_in: usize) -> Self {
        Self::Rwm(FiberMcmcOptions {
            samples,
            burn_in,
            ..Default::default()
        })
    }

    fn hmc(samples: usize, burn_in: usize) -> Self {
        Self::Hmc(HmcOptions {
            samples,
            burn_in,
            ..Default::default()
        })
    }

    fn graph(samples: usize, burn_in: usize) -> Self {
        Self::Graph(GraphHmcOptions {
            samples,
            burn_in,
            ..Default::default()
        })
    }

    /// The name in assertion messages.
    fn name(self) -> &'static str {
        match self {
            Self::Rwm(_) => "rwm",
            Self::Hmc(_) => "HMC",
            Self::Graph(_) => "graph-HMC",
        }
    }

    /// The same kernel keeping every `thin`-th state.
    fn thin(mut self, thin: usize) -> Self {
        match &mut self {
            Self::Rwm(o) => o.thin = thin,
            Self::Hmc(o) => o.thin = thin,
            Self::Graph(o) => o.thin = thin,
        }
        self
    }

    /// The same kernel without the junction sign flips.
    fn no_flips(mut self) -> Self {
        match &mut self {
            Self::Rwm(o) => o.flip_probability = 0.0,
            Self::Hmc(o) => o.flip_probability = 0.0,
            Self::Graph(o) => o.flip_probability = 0.0,
        }
        self
    }

    fn sample<T: Scalar>(
        self,
        post: &FiberPosterior,
        w0: &Network<T>,
        seed: u64,
    ) -> dln_bayes::Result<FiberChain<T>> {
        match self {
            Self::Rwm(o) => post.sample(w0, &o, seed, &mut ()),
            Self::Hmc(o) => post.sample_hmc(w0, &o, seed, &mut ()),
            Self::Graph(o) => post.sample_graph_hmc(w0, &o, seed, &mut ()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// d = 1, N = 2 against quadrature, the swapped measure failing.

/// A chain-against-quadrature test: the kernel, its seed, the measures it samples, and the
/// diagnostics its chain must show.
struct Quadrature {
    kernel: Kernel,
    seed: u64,
    measures: &'static [BaseMeasure],
    max_residual: f64,
    min_acceptance: f64,
    min_ess: f64,
}

const BOTH: &[BaseMeasure] = &[BaseMeasure::Hausdorff, BaseMeasure::Conditional];

/// z-scores of the chain for `measure` (posterior β = 2, κ = 0.5) against the quadrature of both
/// measures, `[hausdorff, conditional]`.
fn z_scores<T: Scalar>(
    case: &Quadrature,
    w0: &Network<T>,
    x_abs: f64,
    measure: BaseMeasure,
) -> [f64; 2] {
    let post = FiberPosterior::new(2.0, 0.5, measure).unwrap();
    let chain = case.kernel.sample(&post, w0, case.seed).unwrap();
    let d = chain.diagnostics;
    assert!(d.max_constraint_residual <= case.max_residual, "{d:?}");
    assert!(d.acceptance_rate > case.min_acceptance, "{d:?}");
    if !matches!(case.kernel, Kernel::Rwm(_)) {
        assert!(d.leapfrog_steps >= 1, "{d:?}");
    }
    assert!(d.ess > case.min_ess, "{d:?}");
    [BaseMeasure::Hausdorff, BaseMeasure::Conditional]
        .map(|m| (d.mean_l2_norm_sq - reference(1.0, x_abs, T::IS_COMPLEX, m)) / d.standard_error)
}

/// Each chain agrees with the quadrature of its own measure within 5 standard errors and
/// disagrees with the other measure's (the swapped target fails the same comparison).
fn own_passes_swapped_fails<T: Scalar>(case: &Quadrature, w0: &Network<T>) {
    let sampler = case.kernel.name();
    for &measure in case.measures {
        let z = z_scores(case, w0, 0.5, measure);
        let (own, other) = match measure {
            BaseMeasure::Hausdorff => (z[0], z[1]),
            BaseMeasure::Conditional => (z[1], z[0]),
        };
        let (m, o) = match measure {
            BaseMeasure::Hausdorff => ("Hausdorff", "conditional"),
            BaseMeasure::Conditional => ("conditional", "Hausdorff"),
        };
        assert!(
            own.abs() <= 5.0,
            "{sampler} {m} chain vs {m} quadrature: z = {own}"
        );
        assert!(
            other.abs() > 5.0,
            "{sampler} {m} chain vs {o} quadrature: z = {other}"
        );
    }
}

/// The real instance: $w_1 = 1$, $w_2 = 0.5$.
fn real_start() -> Network<f64> {
    scalar_net(1.0, 0.5)
}

/// The complex instance: $x = 0.3-0.4i$, $w_1 = 0.6+0.8i$.
fn complex_start() -> Network<c64> {
    let x = c64::new(0.3, -0.4);
    let w1 = c64::new(0.6, 0.8);
    scalar_net(w1, x / w1)
}

const SAMPLES: usize = 30_000;

/// The random walk; the real swap has the smaller effect (0.21 posterior standard deviations), so
/// the real chain is longer.
fn rwm_quadrature(samples: usize) -> Quadrature {
    Quadrature {
        kernel: Kernel::rwm(samples, 2000),
        seed: 11,
        measures: BOTH,
        max_residual: 1e-10,
        min_acceptance: 0.1,
        min_ess: 200.0,
    }
}

/// Constrained HMC with a fixed step of 0.15 (about 10 RATTLE steps per trajectory, almost no
/// failed projections): this tests the kernel's exactness with enough effective samples for the
/// swapped measure to fail clearly; the adapted step is exercised by the other tests and by
/// `cargo xtask verify`.
fn hmc_quadrature() -> Quadrature {
    Quadrature {
        kernel: Kernel::Hmc(HmcOptions {
            samples: 6_000,
            burn_in: 200,
            step: Some(0.15),
            ..Default::default()
        }),
        seed: 17,
        measures: BOTH,
        max_residual: 1e-10,
        min_acceptance: 0.3,
        min_ess: 1000.0,
    }
}

/// The graph chart samples the conditional measure only: its chain agrees with the conditional
/// quadrature and fails against the Hausdorff one.
fn graph_quadrature() -> Quadrature {
    Quadrature {
        kernel: Kernel::graph(20_000, 400),
        seed: 23,
        measures: &[BaseMeasure::Conditional],
        max_residual: 1e-13,
        min_acceptance: 0.5,
        min_ess: 2000.0,
    }
}

#[test]
fn scalar_real_posterior_matches_quadrature_and_swap_fails() {
    own_passes_swapped_fails(&rwm_quadrature(SAMPLES), &real_start());
}

#[test]
fn scalar_complex_posterior_matches_quadrature_and_swap_fails() {
    own_passes_swapped_fails(&rwm_quadrature(2 * SAMPLES / 3), &complex_start());
}

#[test]
fn hmc_scalar_real_matches_quadrature_and_swap_fails() {
    own_passes_swapped_fails(&hmc_quadrature(), &real_start());
}

#[test]
fn hmc_scalar_complex_matches_quadrature_and_swap_fails() {
    own_passes_swapped_fails(&hmc_quadrature(), &complex_start());
}

#[test]
fn graph_scalar_real_matches_quadrature_and_swap_fails() {
    own_passes_swapped_fails(&graph_quadrature(), &real_start());
}

#[test]
fn graph_scalar_complex_matches_quadrature_and_swap_fails() {
    own_passes_swapped_fails(&graph_quadrature(), &complex_start());
}

// ---------------------------------------------------------------------------------------------
// Both branches of the real hyperbola, and none without the flips.

/// With the sign flips the chain (posterior β = 2, κ = 0.5, seed 3, from $w = (1, 0.5)$) spends
/// half its time on each branch of $w_2w_1 = 0.5$ (within 0.1); `no_flips` (the same kernel
/// without flips) never leaves the branch $w_1 > 0$: the continuous moves cannot cross $w_1 = 0$.
fn visits_both_branches(measure: BaseMeasure, flips: Kernel, no_flips: Kernel) {
    let post = FiberPosterior::new(2.0, 0.5, measure).unwrap();
    let chain = flips.sample(&post, &real_start(), 3).unwrap();
    let pos = chain
        .samples
        .iter()
        .filter(|w| w.w(1)[(0, 0)] > 0.0)
        .count() as f64
        / chain.samples.len() as f64;
    assert!(
        (pos - 0.5).abs() < 0.1,
        "{}: fraction on w1 > 0: {pos}",
        flips.name()
    );
    let c = no_flips.no_flips().sample(&post, &real_start(), 3).unwrap();
    assert!(c.samples.iter().all(|w| w.w(1)[(0, 0)] > 0.0));
}

#[test]
fn scalar_real_chain_visits_both_branches() {
    visits_both_branches(
        BaseMeasure::Hausdorff,
        Kernel::rwm(4000, 500),
        Kernel::rwm(2000, 200),
    );
}

#[test]
fn hmc_scalar_real_visits_both_branches() {
    visits_both_branches(
        BaseMeasure::Hausdorff,
        Kernel::hmc(4000, 300),
        Kernel::hmc(1000, 300),
    );
}

#[test]
fn graph_scalar_real_visits_both_branches() {
    visits_both_branches(
        BaseMeasure::Conditional,
        Kernel::graph(4000, 200),
        Kernel::graph(1000, 200),
    );
}

// ---------------------------------------------------------------------------------------------
// General widths: products preserved, the chain moves; seeded runs reproduce.

/// A chain from a random network of `widths` (posterior β = κ = 1, the kernel keeping 2-thinned
/// states): it keeps `samples` states, each with the widths and the product of the start to
/// `tol`·‖X‖, accepts more than `min_acceptance`, moves, and reports the fiber's dimension.
fn preserves_products<T: Scalar>(
    kernel: Kernel,
    samples: usize,
    min_acceptance: f64,
    tol: f64,
    widths: &[usize],
    measure: BaseMeasure,
    seed: u64,
) {
    let mut rng = random::rng(seed);
    let w0: Network<T> = random_net(&mut rng, widths);
    let x = w0.product();
    let post = FiberPosterior::new(1.0, 1.0, measure).unwrap();
    let chain = kernel.thin(2).sample(&post, &w0, seed).unwrap();
    let d = chain.diagnostics;
    assert_eq!(chain.samples.len(), samples);
    assert!(d.acceptance_rate > min_acceptance, "{widths:?}: {d:?}");
    assert!(d.max_constraint_residual <= tol, "{widths:?}: {d:?}");
    let xn = x.norm_l2();
    for s in &chain.samples {
        assert_eq!(s.widths(), widths);
        let err = (s.product() - &x).norm_l2();
        assert!(err <= tol * xn, "product not preserved: {err}");
    }
    let moved = (chain.samples.last().unwrap().w(1) - w0.w(1)).norm_l2();
    assert!(moved > 1e-3, "chain did not move");
    assert!(d.ess > 0.0 && d.mean_l2_norm_sq > 0.0 && d.mean_moment_norm >= 0.0);
    let expected_dim = dln_bayes::real_dimension::<T>(widths)
        - dln_bayes::c_f::<T>() * widths[0] * widths[widths.len() - 1];
    assert_eq!(d.fiber_dimension, expected_dim);
}

/// Two seeded runs of `kernel` from a random 2 × 2 × 2 network (posterior β = 1, κ = 2,
/// conditional, seed 5) give identical samples.
fn reproducible(kernel: Kernel) {
    let mut rng = random::rng(9);
    let w0: Network<f64> = random_net(&mut rng, &[2, 2, 2]);
    let post = FiberPosterior::new(1.0, 2.0, BaseMeasure::Conditional).unwrap();
    let a = kernel.sample(&post, &w0, 5).unwrap();
    let b = kernel.sample(&post, &w0, 5).unwrap();
    assert_eq!(a.samples.len(), b.samples.len());
    for (p, q) in a.samples.iter().zip(&b.samples) {
        for k in 1..=2 {
            assert!((p.w(k) - q.w(k)).norm_l2() <= 0.0, "{}", kernel.name());
        }
    }
}

#[test]
fn seeded_runs_are_reproducible() {
    reproducible(Kernel::rwm(50, 20));
}

#[test]
fn hmc_seeded_runs_are_reproducible() {
    reproducible(Kernel::hmc(30, 20));
}

#[test]
fn graph_seeded_runs_are_reproducible() {
    reproducible(Kernel::graph(30, 60));
}

#[test]
fn square_and_rectangular_real_and_complex_preserve_products() {
    let (k, s, a, tol) = (Kernel::rwm(200, 200), 200, 0.05, 1e-10);
    preserves_products::<f64>(k, s, a, tol, &[3, 3, 3], BaseMeasure::Hausdorff, 1);
    preserves_products::<f64>(k, s, a, tol, &[2, 3, 4, 2], BaseMeasure::Conditional, 2);
    preserves_products::<c64>(k, s, a, tol, &[2, 2, 2, 2], BaseMeasure::Conditional, 3);
    preserves_products::<c64>(k, s, a, tol, &[3, 4, 2], BaseMeasure::Hausdorff, 4);
    // A bottleneck (3 -> 2 -> 4): X has rank 2 < 3 and d phi is not onto.
    let mut rng = random::rng(4);
    let w: Network<c64> = random_net(&mut rng, &[3, 2, 4]);
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Hausdorff).unwrap();
    assert!(
        post.sample(&w, &FiberMcmcOptions::default(), 0, &mut ())
            .is_err()
    );
}

#[test]
fn hmc_square_and_rectangular_real_and_complex_preserve_products() {
    let (k, s, a, tol) = (Kernel::hmc(100, 100), 100, 0.3, 1e-10);
    preserves_products::<f64>(k, s, a, tol, &[3, 3, 3], BaseMeasure::Hausdorff, 1);
    preserves_products::<f64>(k, s, a, tol, &[2, 3, 4, 2], BaseMeasure::Conditional, 2);
    preserves_products::<c64>(k, s, a, tol, &[2, 2, 2, 2], BaseMeasure::Conditional, 3);
    preserves_products::<c64>(k, s, a, tol, &[3, 4, 2], BaseMeasure::Hausdorff, 4);
    let mut rng = random::rng(4);
    let w: Network<c64> = random_net(&mut rng, &[3, 2, 4]);
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Hausdorff).unwrap();
    assert!(
        post.sample_hmc(&w, &HmcOptions::default(), 0, &mut ())
            .is_err()
    );
    let bad = HmcOptions {
        trajectory_length: Some(0.0),
        ..Default::default()
    };
    assert!(
        post.sample_hmc(
            &scalar_net(c64::new(1.0, 0.0), c64::new(1.0, 0.0)),
            &bad,
            0,
            &mut ()
        )
        .is_err()
    );
}

#[test]
fn graph_real_and_complex_preserve_products_and_reject_other_shapes() {
    let (k, s, a, tol) = (Kernel::graph(100, 100), 100, 0.3, 1e-12);
    let cond = BaseMeasure::Conditional;
    preserves_products::<f64>(k, s, a, tol, &[3, 3, 3], cond, 1);
    preserves_products::<f64>(k, s, a, tol, &[2, 2, 2, 2, 2], cond, 2);
    preserves_products::<c64>(k, s, a, tol, &[2, 2, 2, 2], cond, 3);
    preserves_products::<c64>(k, s, a, tol, &[3, 3, 3], cond, 4);
    let opts = GraphHmcOptions::default();
    // The Hausdorff measure is left to the constrained samplers.
    let haus = FiberPosterior::new(1.0, 1.0, BaseMeasure::Hausdorff).unwrap();
    let e = haus
        .sample_graph_hmc(&scalar_net(1.0, 1.0), &opts, 0, &mut ())
        .unwrap_err();
    assert!(e.to_string().contains("conditional measure only"), "{e}");
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    // Rectangular layers.
    let mut rng = random::rng(5);
    let w: Network<f64> = random_net(&mut rng, &[2, 3, 2]);
    let e = post.sample_graph_hmc(&w, &opts, 0, &mut ()).unwrap_err();
    assert!(e.to_string().contains("square layers"), "{e}");
    // Square layers, singular X (rank 1).
    let u: Mat<f64> = random::gaussian(&mut rng, 2, 1);
    let v: Mat<f64> = random::gaussian(&mut rng, 1, 2);
    let w = net(vec![&u * &v, random::gaussian(&mut rng, 2, 2)]);
    let e = post.sample_graph_hmc(&w, &opts, 0, &mut ()).unwrap_err();
    assert!(e.to_string().contains("invertible"), "{e}");
    let zero = Kernel::graph(0, GraphHmcOptions::default().burn_in);
    assert!(zero.sample(&post, &scalar_net(1.0, 1.0), 0).is_err());
}

// ---------------------------------------------------------------------------------------------
// Errors, the normal operator, batch means, the Jacobian.

#[test]
fn log_jacobian_scalar_closed_form() {
    // J = (w1^2 + w2^2)^{1/2} over R; over C the real Jacobian is |w1|^2 + |w2|^2.
    let lj = log_jacobian(&scalar_net(1.5, -0.4)).unwrap();
    assert!((lj - 0.5 * (1.5_f64.powi(2) + 0.16).ln()).abs() < 1e-13);
    let lj = log_jacobian(&scalar_net(c64::new(1.0, 1.0), c64::new(0.0, 0.5))).unwrap();
    assert!((lj - (2.25_f64).ln()).abs() < 1e-13);
}

fn explicit_matrix_matches_apply<T: Scalar>(w: &Network<T>) {
    let op = NormalOperator::new(w);
    let m = op.matrix();
    let (r, c) = (w.width(w.depth()), w.width(0));
    let mut rng = random::rng(4);
    let z: Mat<T> = random::gaussian(&mut rng, r, c);
    let vz = Mat::from_fn(r * c, 1, |i, _| z[(i % r, i / r)]);
    let mz = &m * &vz;
    let az = op.apply(z.as_ref());
    let err = (0..r * c)
        .map(|i| (mz[(i, 0)] - az[(i % r, i / r)]).modulus())
        .fold(0.0, f64::max);
    let scale = az.norm_l2();
    assert!(err <= 1e-13 * scale, "{err} vs {scale}");
}

#[test]
fn explicit_normal_matrix_matches_operator() {
    let mut rng = random::rng(1);
    let wr: Network<f64> = random_net(&mut rng, &[3, 4, 2, 5]);
    explicit_matrix_matches_apply(&wr);
    let wc: Network<c64> = random_net(&mut rng, &[2, 3, 4]);
    explicit_matrix_matches_apply(&wc);
}

#[test]
fn not_a_manifold_and_bad_input_are_errors() {
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Hausdorff).unwrap();
    let opts = FiberMcmcOptions::default();
    // X = 0.
    let e = post
        .sample(&scalar_net(1.0, 0.0), &opts, 0, &mut ())
        .unwrap_err();
    assert!(e.to_string().contains("zero"), "{e}");
    // widths 2,1,2: d phi d phi^* = W2W2^* (.) + (.) W1^*W1 is singular (rank-one factors).
    let mut rng = random::rng(2);
    let w: Network<f64> = random_net(&mut rng, &[2, 1, 2]);
    let e = post.sample(&w, &opts, 0, &mut ()).unwrap_err();
    assert!(e.to_string().contains("not onto"), "{e}");
    // Parameters.
    assert!(FiberPosterior::new(0.0, 1.0, BaseMeasure::Hausdorff).is_err());
    assert!(FiberPosterior::new(1.0, -1.0, BaseMeasure::Hausdorff).is_err());
    assert!(FiberPosterior::new(f64::NAN, 1.0, BaseMeasure::Hausdorff).is_err());
    let zero = Kernel::rwm(0, FiberMcmcOptions::default().burn_in);
    assert!(zero.sample(&post, &scalar_net(1.0, 1.0), 0).is_err());
}

#[test]
fn batch_means_of_iid_series_has_ess_near_n() {
    use rand::Rng;
    let mut rng = random::rng(8);
    let y: Vec<f64> = (0..10_000).map(|_| rng.random::<f64>()).collect();
    let (mean, ess, se) = batch_means(&y);
    assert!((mean - 0.5).abs() < 5.0 * se);
    assert!(ess > 5_000.0 && ess < 20_000.0, "{ess}");
}

/// $\nabla\log J_\varphi$ against central differences of [`log_jacobian`] in every real coordinate.
fn gradient_matches_differences<T: Scalar>(widths: &[usize], seed: u64) {
    let mut rng = random::rng(seed);
    let w: Network<T> = random_net(&mut rng, widths);
    let g = log_jacobian_gradient(&w).unwrap();
    let eps = 1e-6;
    let mut worst = 0.0_f64;
    let mut scale = 0.0_f64;
    for k in 1..=w.depth() {
        let (r, c) = w.w(k).shape();
        for i in 0..r {
            for j in 0..c {
                let parts: &[(f64, f64)] = if T::IS_COMPLEX {
                    &[(1.0, 0.0), (0.0, 1.0)]
                } else {
                    &[(1.0, 0.0)]
                };
                for &(re, im) in parts {
                    let shift = |s: f64| {
                        let mut v = w.clone();
                        v.w_mut(k)[(i, j)] += T::from_parts(s * re, s * im);
                        log_jacobian(&v).unwrap()
                    };
                    let fd = (shift(eps) - shift(-eps)) / (2.0 * eps);
                    let an = g[k - 1][(i, j)];
                    let an = re * an.re() + im * an.im();
                    worst = worst.max((fd - an).abs());
                    scale = scale.max(an.abs());
                }
            }
        }
    }
    assert!(scale > 0.0);
    assert!(
        worst <= 1e-6 * scale.max(1.0),
        "{widths:?}: {worst} (scale {scale})"
    );
}

#[test]
fn log_jacobian_gradient_matches_finite_differences() {
    gradient_matches_differences::<f64>(&[1, 1, 1], 1);
    gradient_matches_differences::<f64>(&[3, 3, 3], 2);
    gradient_matches_differences::<f64>(&[2, 3, 4, 2], 3);
    gradient_matches_differences::<c64>(&[2, 2, 2, 2], 4);
    gradient_matches_differences::<c64>(&[3, 4, 2], 5);
}

// ---------------------------------------------------------------------------------------------
// Graph chart against constrained HMC at d = 3, N = 3.

/// Mean and batch-means standard error of the moment norm over a chain's samples.
fn moment_mean_se<T: Scalar>(chain: &dln_bayes::FiberChain<T>) -> (f64, f64) {
    let y: Vec<f64> = chain.samples.iter().map(|w| w.moment_norm()).collect();
    let (m, _, se) = batch_means(&y);
    (m, se)
}

/// The graph chart and constrained HMC sample the same conditional posterior at d = 3, N = 3
/// (real): the means of ‖W‖² and of ‖G‖ agree within 5 combined standard errors.
#[test]
fn graph_agrees_with_constrained_hmc_d3_n3() {
    let mut rng = random::rng(31);
    let w0: Network<f64> = random_net(&mut rng, &[3, 3, 3, 3]);
    {
        let (measure, seed) = (BaseMeasure::Conditional, 1);
        let post = FiberPosterior::new(1.0, 1.0, measure).unwrap();
        let g = post
            .sample_graph_hmc(
                &w0,
                &GraphHmcOptions {
                    samples: 6000,
                    burn_in: 400,
                    ..Default::default()
                },
                seed,
                &mut (),
            )
            .unwrap();
        let h = post
            .sample_hmc(
                &w0,
                &HmcOptions {
                    samples: 1500,
                    burn_in: 300,
                    ..Default::default()
                },
                seed,
                &mut (),
            )
            .unwrap();
        let (gd, hd) = (g.diagnostics, h.diagnostics);
        let z =
            (gd.mean_l2_norm_sq - hd.mean_l2_norm_sq) / gd.standard_error.hypot(hd.standard_error);
        eprintln!(
            "{}: graph {gd:?}\n  hmc {hd:?}\n  z(|W|^2) = {z:.2}",
            measure.name()
        );
        assert!(z.abs() <= 5.0, "{}: ‖W‖² z = {z}", measure.name());
        let ((gm, gs), (hm, hs)) = (moment_mean_se(&g), moment_mean_se(&h));
        let zm = (gm - hm) / gs.hypot(hs);
        eprintln!("  z(|G|) = {zm:.2} ({gm:.3}±{gs:.3} vs {hm:.3}±{hs:.3})");
        assert!(zm.abs() <= 5.0, "{}: ‖G‖ z = {zm}", measure.name());
        assert!(gd.max_constraint_residual <= 1e-12, "{gd:?}");
        assert!(gd.acceptance_rate > 0.5, "{gd:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements (opt-in).

/// Measurement, not a test (opt-in: `cargo test -p dln-bayes --test posterior -- --ignored
/// --nocapture fiber_speed`): effective samples of ‖W‖² per second at d = 16, N = 4, βκ = 1 from a
/// prior sample, random walk, constrained HMC and (conditional measure) graph-chart HMC in the
/// same process (the criterion bench `bayes_fiber` runs the rwm/hmc comparison in release).
#[test]
#[ignore]
fn fiber_speed_d16_n4_rwm_vs_hmc_vs_graph() {
    use std::time::Instant;
    let mut rng = random::rng(1);
    let w0: Network<f64> = random_net(&mut rng, &[16, 16, 16, 16, 16]);
    for measure in [BaseMeasure::Hausdorff, BaseMeasure::Conditional] {
        let post = FiberPosterior::new(1.0, 1.0, measure).unwrap();
        let warm = post
            .sample(
                &w0,
                &FiberMcmcOptions {
                    samples: 1,
                    burn_in: 1000,
                    ..Default::default()
                },
                1,
                &mut (),
            )
            .unwrap();
        let opts = FiberMcmcOptions {
            samples: 4000,
            burn_in: 0,
            step: Some(warm.diagnostics.step),
            ..Default::default()
        };
        let t = Instant::now();
        let d = post
            .sample(&warm.samples[0], &opts, 2, &mut ())
            .unwrap()
            .diagnostics;
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "rwm {}: {} steps {secs:.1} s ({:.2} ms/step) acc {:.3} ESS {:.1} -> {:.2}/s mean {:.1}±{:.1}",
            measure.name(),
            d.steps,
            1e3 * secs / d.steps as f64,
            d.acceptance_rate,
            d.ess,
            d.ess / secs,
            d.mean_l2_norm_sq,
            d.standard_error
        );
        let warm = post
            .sample_hmc(
                &w0,
                &HmcOptions {
                    samples: 1,
                    burn_in: 150,
                    ..Default::default()
                },
                1,
                &mut (),
            )
            .unwrap();
        let opts = HmcOptions {
            samples: 400,
            burn_in: 0,
            step: Some(warm.diagnostics.step),
            ..Default::default()
        };
        let t = Instant::now();
        let d = post
            .sample_hmc(&warm.samples[0], &opts, 2, &mut ())
            .unwrap()
            .diagnostics;
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "hmc {}: {} trajectories x {} steps (h {:.3}) {secs:.1} s ({:.2} ms/RATTLE step) acc {:.3} pf {} rf {} ESS {:.1} -> {:.2}/s mean {:.1}±{:.1}",
            measure.name(),
            d.steps,
            d.leapfrog_steps,
            d.step,
            1e3 * secs / (d.steps * d.leapfrog_steps) as f64,
            d.acceptance_rate,
            d.projection_failures,
            d.reverse_failures,
            d.ess,
            d.ess / secs,
            d.mean_l2_norm_sq,
            d.standard_error
        );
        if measure == BaseMeasure::Conditional {
            // Graph-chart HMC (conditional measure only): step adapted in a warm-up with the
            // identity mass, then frozen.
            let warm = post
                .sample_graph_hmc(
                    &w0,
                    &GraphHmcOptions {
                        samples: 1,
                        burn_in: 300,
                        adapt_mass: false,
                        ..Default::default()
                    },
                    1,
                    &mut (),
                )
                .unwrap();
            let opts = GraphHmcOptions {
                samples: 1000,
                burn_in: 0,
                adapt_mass: false,
                step: Some(warm.diagnostics.step),
                ..Default::default()
            };
            let t = Instant::now();
            let d = post
                .sample_graph_hmc(&warm.samples[0], &opts, 2, &mut ())
                .unwrap()
                .diagnostics;
            let secs = t.elapsed().as_secs_f64();
            eprintln!(
                "graph-hmc {}: {} trajectories x {} steps (h {:.2e}) {secs:.1} s ({:.3} ms/leapfrog step) acc {:.3} ESS {:.1} -> {:.2}/s mean {:.1}±{:.1}",
                measure.name(),
                d.steps,
                d.leapfrog_steps,
                d.step,
                1e3 * secs / (d.steps * d.leapfrog_steps) as f64,
                d.acceptance_rate,
                d.ess,
                d.ess / secs,
                d.mean_l2_norm_sq,
                d.standard_error
            );
        }
        // Unavoidable work of one RATTLE step: the matrix of d phi d phi^* at the new point and
        // its Cholesky (+ the inverse for grad log J with the conditional measure), 20 times.
        let w = warm.samples[0].clone();
        let t = Instant::now();
        for _ in 0..20 {
            let op = NormalOperator::new(&w);
            let m = op.matrix();
            let llt = faer::linalg::solvers::Llt::new(m.as_ref(), faer::Side::Lower).unwrap();
            if measure == BaseMeasure::Conditional {
                use faer::linalg::solvers::DenseSolveCore;
                std::hint::black_box(llt.inverse());
            } else {
                std::hint::black_box(llt);
            }
        }
        eprintln!(
            "unavoidable per RATTLE step ({}): {:.2} ms",
            measure.name(),
            1e3 * t.elapsed().as_secs_f64() / 20.0
        );
    }
}

/// Measurement for the open rwm/hmc discrepancy of the Hausdorff mean of ‖W‖² at d = 16, N = 4
/// (opt-in: `cargo test -p dln-bayes --test posterior -- --ignored --nocapture hausdorff_rwm_from`):
/// the random walk restarted from an HMC state (equilibrated start) instead of a prior sample; if
/// its mean stays at the HMC value, the earlier gap was the random walk's unequilibrated burn-in.
#[test]
#[ignore]
fn hausdorff_rwm_from_hmc_state_d16_n4() {
    let mut rng = random::rng(1);
    let w0: Network<f64> = random_net(&mut rng, &[16, 16, 16, 16, 16]);
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Hausdorff).unwrap();
    let hmc = post
        .sample_hmc(
            &w0,
            &HmcOptions {
                samples: 300,
                burn_in: 150,
                ..Default::default()
            },
            1,
            &mut (),
        )
        .unwrap();
    let d = hmc.diagnostics;
    eprintln!(
        "hmc: mean {:.1}±{:.1} ESS {:.0}",
        d.mean_l2_norm_sq, d.standard_error, d.ess
    );
    let start = hmc.samples.last().unwrap();
    for (what, from) in [("from prior sample", &w0), ("from HMC state", start)] {
        let c = post
            .sample(
                from,
                &FiberMcmcOptions {
                    samples: 4000,
                    burn_in: 1000,
                    ..Default::default()
                },
                2,
                &mut (),
            )
            .unwrap();
        let n: Vec<f64> = c.samples.iter().map(|w| w.l2_norm_sq()).collect();
        let (h1, h2) = n.split_at(n.len() / 2);
        let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        eprintln!(
            "rwm {what}: mean {:.1}±{:.1} ESS {:.0}; halves {:.1} / {:.1}",
            c.diagnostics.mean_l2_norm_sq,
            c.diagnostics.standard_error,
            c.diagnostics.ess,
            m(h1),
            m(h2)
        );
    }
}

/// Measurement behind the default burn-in of each sampler (opt-in: `cargo test -p dln-bayes
/// --test posterior burn_in_bias -- --ignored --nocapture --test-threads 1`): on the instances of
/// the verify checks `bayes-fiber-*-quadrature` (d = 1, N = 2; |x|, β, κ = (0.5, 2, 0.5), (1, 1, 2),
/// (0.3, 0.5, 1); both measures where the sampler has them; real and complex; a random start on the
/// fiber as in the check) the z-score of the chain mean of ‖W‖² against the quadrature, over
/// 8 seeds per burn-in length. The start-up bias in standard errors is the seed average of z
/// per instance (its own noise is 1/√seeds); an RMS of z near 1 says the SE is honest.
#[test]
#[ignore]
fn burn_in_bias_verify_instances() {
    use rand::Rng;
    // `DLN_BURN_IN_SEEDS` overrides the number of seeds (default 8).
    let seeds: u64 = std::env::var("DLN_BURN_IN_SEEDS").map_or(8, |s| s.parse().unwrap());
    fn one<T: Scalar>(sampler: &str, burn_in: usize, seed: u64, out: &mut Vec<(String, f64)>) {
        let mut rng = random::rng(1000 + seed);
        let measures: &[BaseMeasure] = if sampler == "graph-hmc" {
            &[BaseMeasure::Conditional]
        } else {
            &[BaseMeasure::Hausdorff, BaseMeasure::Conditional]
        };
        for (x_abs, beta, kappa) in [(0.5, 2.0, 0.5), (1.0, 1.0, 2.0), (0.3, 0.5, 1.0)] {
            for &measure in measures {
                let phase = rng.random::<f64>() * std::f64::consts::TAU;
                let x = if T::IS_COMPLEX {
                    T::from_parts(x_abs * phase.cos(), x_abs * phase.sin())
                } else {
                    T::from_f64(x_abs * phase.cos().signum())
                };
                let s: f64 = 0.5 + rng.random::<f64>();
                let w1 = T::from_f64(if rng.random::<bool>() { s } else { -s });
                let w0 = scalar_net(w1, x / w1);
                let post = FiberPosterior::new(beta, kappa, measure).unwrap();
                let chain_seed = rng.random::<u64>();
                let kernel = match sampler {
                    "rwm" => Kernel::rwm(8000, burn_in),
                    "hmc" => Kernel::hmc(3000, burn_in),
                    _ => Kernel::graph(8000, burn_in),
                };
                let d = kernel.sample(&post, &w0, chain_seed).unwrap().diagnostics;
                let want = reference(beta * kappa, x_abs, T::IS_COMPLEX, measure);
                out.push((
                    format!(
                        "{} |x|={x_abs} bk={} {}",
                        if T::IS_COMPLEX { "C" } else { "R" },
                        beta * kappa,
                        measure.name()
                    ),
                    (d.mean_l2_norm_sq - want) / d.standard_error,
                ));
            }
        }
    }
    // `DLN_BURN_IN_BIAS=graph-hmc:300,hmc:500` runs a subset.
    let runs = std::env::var("DLN_BURN_IN_BIAS").unwrap_or_else(|_| {
        "graph-hmc:50,graph-hmc:100,graph-hmc:300,graph-hmc:1000,graph-hmc:2000,\
         hmc:50,hmc:100,hmc:300,hmc:500,hmc:1000,rwm:100,rwm:300,rwm:1000,rwm:2000"
            .to_owned()
    });
    for run in runs.split(',') {
        let (sampler, b) = run.split_once(':').unwrap();
        let b: usize = b.parse().unwrap();
        {
            let t = std::time::Instant::now();
            let mut zs: Vec<(String, f64)> = Vec::new();
            for seed in 0..seeds {
                one::<f64>(sampler, b, seed, &mut zs);
                one::<c64>(sampler, b, seed, &mut zs);
            }
            let mut names: Vec<String> = zs.iter().map(|(n, _)| n.clone()).collect();
            names.sort();
            names.dedup();
            let bias: Vec<(String, f64)> = names
                .iter()
                .map(|n| {
                    let v: Vec<f64> = zs.iter().filter(|(m, _)| m == n).map(|p| p.1).collect();
                    (n.clone(), v.iter().sum::<f64>() / v.len() as f64)
                })
                .collect();
            let worst_bias = bias
                .iter()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .unwrap();
            let rms = (zs.iter().map(|p| p.1 * p.1).sum::<f64>() / zs.len() as f64).sqrt();
            let max_z = zs.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
            let over5 = zs.iter().filter(|p| p.1.abs() > 5.0).count();
            eprintln!(
                "{sampler} burn-in {b}: {} chains, worst seed-mean z {:+.2} ({}), rms z {rms:.2}, max |z| {max_z:.2}, |z|>5: {over5} ({:.1} s)",
                zs.len(),
                worst_bias.1,
                worst_bias.0,
                t.elapsed().as_secs_f64()
            );
            for (n, m) in &bias {
                eprint!("  [{n}: {m:+.2}]");
            }
            eprintln!();
        }
    }
}

/// Measurement behind the default burn-in at d = 16, N = 4, βκ = 1 from a prior sample (opt-in:
/// `cargo test -p dln-bayes --test posterior burn_in_geweke -- --ignored --nocapture`; the runs are
/// `DLN_BURN_IN_RUNS`, e.g. `graph-hmc:conditional:300:1000,hmc:hausdorff:300:300`, sampler:
/// measure:burn-in:samples): Geweke's comparison of the first 10 % of the retained ‖W‖² trace with
/// its last 50 %, each with its batch-means standard error; |z| ≫ 2 means the chain was still
/// drifting after burn-in.
#[test]
#[ignore]
fn burn_in_geweke_d16_n4() {
    let runs = std::env::var("DLN_BURN_IN_RUNS").unwrap_or_else(|_| {
        "graph-hmc:conditional:300:1000,graph-hmc:conditional:2000:1000".to_owned()
    });
    let mut rng = random::rng(1);
    let w0: Network<f64> = random_net(&mut rng, &[16, 16, 16, 16, 16]);
    for run in runs.split(',') {
        let f: Vec<&str> = run.split(':').collect();
        let measure = if f[1] == "hausdorff" {
            BaseMeasure::Hausdorff
        } else {
            BaseMeasure::Conditional
        };
        let (burn_in, samples): (usize, usize) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        let post = FiberPosterior::new(1.0, 1.0, measure).unwrap();
        let t = std::time::Instant::now();
        let kernel = match f[0] {
            "rwm" => Kernel::rwm(samples, burn_in),
            "hmc" => Kernel::hmc(samples, burn_in),
            _ => Kernel::graph(samples, burn_in),
        };
        let chain = kernel.sample(&post, &w0, 2).unwrap();
        let y: Vec<f64> = chain.samples.iter().map(|w| w.l2_norm_sq()).collect();
        let n = y.len();
        let (m1, _, s1) = batch_means(&y[..n / 10]);
        let (m2, _, s2) = batch_means(&y[n / 2..]);
        let d = chain.diagnostics;
        eprintln!(
            "{run}: {:.0} s, start ‖W‖² {:.1}, mean {:.1}±{:.1} (ESS {:.0}), first 10 % {m1:.1}±{s1:.1}, last 50 % {m2:.1}±{s2:.1}, Geweke z {:+.2}",
            t.elapsed().as_secs_f64(),
            w0.l2_norm_sq(),
            d.mean_l2_norm_sq,
            d.standard_error,
            d.ess,
            (m1 - m2) / s1.hypot(s2)
        );
    }
}
