//! Checks of `dln_bayes::posterior`: the posterior on the fiber of $w_2w_1 = x$ ($d = 1$, $N = 2$)
//! against 1-D quadrature on the hyperbola, for both base measures, real and complex.
//!
//! With $t = |w_1|$, $q = t^2+|x|^2/t^2 = \|\mathbf W\|^2$ and $g = e^{-\beta\kappa q/2}$, the posterior
//! densities in $t$ are, for the Hausdorff measure, $g\sqrt{1+x^2/t^4}$ over $\mathbb R$ (arc length of
//! the hyperbola) and $g\,(t+|x|^2/t^3)$ over $\mathbb C$ (area of the holomorphic graph
//! $w_2 = x/w_1$, integrated over the phase), and for the conditional law of the prior $g/t$ in both
//! fields (the prior density at $(w_1, x/w_1)$ times the Jacobian $|\partial w_2/\partial x|^{c_F}$).
//! $\mathbb E\|\mathbf W\|^2$ by the trapezoid rule in $\log t$ is compared with the chain's mean; the
//! tolerance is 5 batch-means standard errors of the chain. Both samplers: the constrained
//! random-walk chain (`bayes-fiber-posterior-quadrature`) and constrained HMC
//! (`bayes-fiber-hmc-quadrature`, Lelièvre–Rousset–Stoltz 2019); for the conditional measure also
//! Euclidean HMC in the graph chart $w_1 = x/w_2$ (`bayes-fiber-graph-hmc-quadrature`, density
//! $e^{-\beta\kappa(|w_2|^2+|x|^2/|w_2|^2)/2}|w_2|^{-c_F}$ in $w_2$).
//!
//! Blocked Gibbs over adjacent layer pairs (`bayes-fiber-block-gibbs-quadrature`) is checked at
//! $N = 3$, where its two blocks alternate, against 2-D quadrature on $w_3w_2w_1 = x$ in
//! $t_i = \log|w_i|$, $i = 2, 3$ (chart $w_1 = x/(w_2w_3)$, $r_i = e^{t_i}$,
//! $q = r_2^2+r_3^2+|x|^2/(r_2r_3)^2$, $|\nabla w_1|^2 = |x|^2/(r_2^4r_3^2)+|x|^2/(r_2^2r_3^4)$): the
//! conditional density is $g$ in both fields (prior times $|w_2w_3|^{-c_F}$, times the
//! $(r_2r_3)^{c_F}$ of polar coordinates), the Hausdorff one $g\sqrt{1+|\nabla w_1|^2}\,r_2r_3$
//! over $\mathbb R$ and $g(1+|\nabla w_1|^2)r_2^2r_3^2$ over $\mathbb C$ (the latter only to show
//! that the comparison fails for the other measure).

use super::{Check, CheckResult, Ctx};
use dln_algebra::Network;
use dln_bayes::posterior::scalar_fiber_mean_l2_norm_sq;
use dln_bayes::{
    BaseMeasure, BlockGibbsOptions, FiberMcmcOptions, FiberPosterior, GraphHmcOptions, HmcOptions,
};
use dln_linalg::{Scalar, c64};
use faer::Mat;
use rand::Rng;

pub(super) fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "bayes-fiber-posterior-quadrature",
            "(4.5), §4.3; coarea formula; Zappa–Holmes-Cerfon–Goodman 2018",
            "d=1, N=2: E‖W‖² of the fiber posterior ∝ e^{−βκ‖W‖²/2} (Hausdorff, and /J_φ conditional) = 1-D quadrature on w₂w₁ = x, within 5 batch-means SE",
            |cx| {
                fiber_quadrature::<f64>(cx, Target::Same)?;
                fiber_quadrature::<c64>(cx, Target::Same)
            },
        )
        .api(&[
            "dln_bayes::posterior::FiberPosterior::sample",
            "dln_bayes::posterior::BaseMeasure",
            "dln_bayes::posterior::batch_means",
            "dln_algebra::fiber::NormalOperator::matrix",
        ]),
        Check::new(
            "bayes-fiber-hmc-quadrature",
            "(4.5), §4.3; coarea formula; Lelièvre–Rousset–Stoltz 2019",
            "d=1, N=2: constrained HMC (RATTLE + reverse check) for the fiber posterior ∝ e^{−βκ‖W‖²/2} (Hausdorff, and /J_φ conditional with the ∇log J_φ force) = 1-D quadrature on w₂w₁ = x, within 5 batch-means SE",
            |cx| {
                fiber_quadrature_with::<f64>(cx, Target::Same, Sampler::Hmc)?;
                fiber_quadrature_with::<c64>(cx, Target::Same, Sampler::Hmc)
            },
        )
        .api(&[
            "dln_bayes::posterior::FiberPosterior::sample_hmc",
            "dln_bayes::posterior::HmcOptions",
            "dln_bayes::posterior::log_jacobian_gradient",
            "dln_bayes::posterior::BaseMeasure",
        ]),
        Check::new(
            "bayes-fiber-graph-hmc-quadrature",
            "§4.3; coarea formula; change of variables X = S·W₁",
            "d=1, N=2: Euclidean HMC in the graph chart w₁ = x/w₂ for the conditional fiber posterior (density e^{−βκ(|w₂|²+|x|²/|w₂|²)/2}/|w₂|^{c_F}) = 1-D quadrature on w₂w₁ = x, within 5 batch-means SE",
            |cx| {
                fiber_quadrature_with::<f64>(cx, Target::Same, Sampler::Graph)?;
                fiber_quadrature_with::<c64>(cx, Target::Same, Sampler::Graph)
            },
        )
        .api(&[
            "dln_bayes::posterior::FiberPosterior::sample_graph_hmc",
            "dln_bayes::posterior::GraphHmcOptions",
            "dln_bayes::posterior::BaseMeasure",
        ]),
        Check::new(
            "bayes-fiber-block-gibbs-quadrature",
            "§4.3; coarea formula; change of variables X = L·W_{k+1}W_k·R",
            "d=1, N=3: blocked Gibbs over adjacent layer pairs (block law e^{−βκ(|v|²+|p_k/v|²)/2}/|v|^{c_F}, p_k = w_{k+1}w_k) for the conditional fiber posterior = 2-D quadrature on w₃w₂w₁ = x, within 5 batch-means SE",
            |cx| {
                block_gibbs_quadrature::<f64>(cx, Target::Same)?;
                block_gibbs_quadrature::<c64>(cx, Target::Same)
            },
        )
        .api(&[
            "dln_bayes::posterior::FiberPosterior::sample_block_gibbs",
            "dln_bayes::posterior::BlockGibbsOptions",
            "dln_bayes::posterior::BaseMeasure",
        ]),
    ]
}

/// Which sampler runs the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sampler {
    /// `FiberPosterior::sample` (constrained random-walk Metropolis).
    Rwm,
    /// `FiberPosterior::sample_hmc` (constrained HMC).
    Hmc,
    /// `FiberPosterior::sample_graph_hmc` (graph-chart HMC; conditional measure only).
    Graph,
}

/// Which quadrature the chain is compared with: its own measure, or (to show that the check can
/// fail) the other one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Same,
    // Constructed by the failing-target test in `tests.rs`.
    #[cfg_attr(not(test), allow(dead_code))]
    Swapped,
}

/// $\mathbb E\|\mathbf W\|^2$ on $w_2w_1 = x$ by quadrature ([`scalar_fiber_mean_l2_norm_sq`], depth 2).
pub(crate) fn quadrature(a: f64, x_abs: f64, complex: bool, measure: BaseMeasure) -> f64 {
    scalar_fiber_mean_l2_norm_sq(2, a, x_abs, complex, measure)
}

pub(crate) fn fiber_quadrature<T: Scalar>(cx: &mut Ctx, target: Target) -> CheckResult {
    fiber_quadrature_with::<T>(cx, target, Sampler::Rwm)
}

pub(crate) fn fiber_quadrature_with<T: Scalar>(
    cx: &mut Ctx,
    target: Target,
    sampler: Sampler,
) -> CheckResult {
    let samples = match (sampler, cx.thorough()) {
        (Sampler::Rwm, true) => 40_000,
        (Sampler::Rwm, false) => 8_000,
        (Sampler::Hmc, true) => 20_000,
        (Sampler::Hmc, false) => 3_000,
        (Sampler::Graph, true) => 40_000,
        (Sampler::Graph, false) => 8_000,
    };
    let measures: &[BaseMeasure] = if sampler == Sampler::Graph {
        &[BaseMeasure::Conditional]
    } else {
        &[BaseMeasure::Hausdorff, BaseMeasure::Conditional]
    };
    // (|x|, beta, kappa): three shapes of the hyperbola and temperatures.
    for (x_abs, beta, kappa) in [(0.5, 2.0, 0.5), (1.0, 1.0, 2.0), (0.3, 0.5, 1.0)] {
        for &measure in measures {
            // A random point of the fiber: random phase (complex) or sign, random split of |x|.
            let phase = cx.rng().random::<f64>() * std::f64::consts::TAU;
            // Over R the "phase" is a sign: x = ±|x|.
            let x = if T::IS_COMPLEX {
                T::from_parts(x_abs * phase.cos(), x_abs * phase.sin())
            } else {
                T::from_f64(x_abs * phase.cos().signum())
            };
            let s: f64 = 0.5 + cx.rng().random::<f64>();
            let w1 = T::from_f64(if cx.rng().random::<bool>() { s } else { -s });
            let w2 = x / w1;
            let w0 = Network::new(vec![
                Mat::from_fn(1, 1, |_, _| w1),
                Mat::from_fn(1, 1, |_, _| w2),
            ])?;
            let post = FiberPosterior::new(beta, kappa, measure)?;
            let seed = cx.rng().random::<u64>();
            let chain = match sampler {
                Sampler::Rwm => {
                    let opts = FiberMcmcOptions {
                        samples,
                        burn_in: 2000,
                        ..Default::default()
                    };
                    post.sample(&w0, &opts, seed, &mut ())?
                }
                Sampler::Hmc => {
                    let opts = HmcOptions {
                        samples,
                        burn_in: 500,
                        ..Default::default()
                    };
                    post.sample_hmc(&w0, &opts, seed, &mut ())?
                }
                Sampler::Graph => {
                    let opts = GraphHmcOptions {
                        samples,
                        burn_in: 2000,
                        ..Default::default()
                    };
                    post.sample_graph_hmc(&w0, &opts, seed, &mut ())?
                }
            };
            let d = chain.diagnostics;
            let against = match (target, measure) {
                (Target::Same, m) => m,
                (Target::Swapped, BaseMeasure::Hausdorff) => BaseMeasure::Conditional,
                (Target::Swapped, _) => BaseMeasure::Hausdorff,
            };
            let want = quadrature(beta * kappa, x_abs, T::IS_COMPLEX, against);
            let name = format!(
                "{}{} |x|={x_abs} βκ={} {} vs {} quadrature",
                match sampler {
                    Sampler::Rwm => "",
                    Sampler::Hmc => "HMC ",
                    Sampler::Graph => "graph HMC ",
                },
                super::field::<T>(),
                beta * kappa,
                measure.name(),
                against.name()
            );
            // The z-score of the chain mean; the tolerance is 5 standard errors.
            cx.record(
                format!("{name}: |mean−E|/SE"),
                (d.mean_l2_norm_sq - want).abs() / d.standard_error,
                5.0,
            );
            cx.record(
                format!("{name}: constraint residual"),
                d.max_constraint_residual,
                1e-10,
            );
        }
    }
    Ok(())
}

/// $\mathbb E\|\mathbf W\|^2$ on $w_3w_2w_1 = x$ by 2-D quadrature ([`scalar_fiber_mean_l2_norm_sq`], depth 3).
pub(crate) fn quadrature3(a: f64, x_abs: f64, complex: bool, measure: BaseMeasure) -> f64 {
    scalar_fiber_mean_l2_norm_sq(3, a, x_abs, complex, measure)
}

/// The block-Gibbs chain (conditional measure) at $d = 1$, $N = 3$ against the 2-D quadrature of
/// the conditional measure (`Target::Same`) or of the Hausdorff one (`Target::Swapped`).
pub(crate) fn block_gibbs_quadrature<T: Scalar>(cx: &mut Ctx, target: Target) -> CheckResult {
    let samples = if cx.thorough() { 40_000 } else { 8_000 };
    for (x_abs, beta, kappa) in [(0.5, 2.0, 0.5), (1.0, 1.0, 2.0), (0.3, 0.5, 1.0)] {
        let phase = cx.rng().random::<f64>() * std::f64::consts::TAU;
        let x = if T::IS_COMPLEX {
            T::from_parts(x_abs * phase.cos(), x_abs * phase.sin())
        } else {
            T::from_f64(x_abs * phase.cos().signum())
        };
        // A random point of the fiber: random signs and sizes of w_1, w_2; w_3 = x/(w_2 w_1).
        let mut w = [T::from_f64(1.0); 2];
        for wk in &mut w {
            let s: f64 = 0.5 + cx.rng().random::<f64>();
            *wk = T::from_f64(if cx.rng().random::<bool>() { s } else { -s });
        }
        let w3 = x / (w[1] * w[0]);
        let w0 = Network::new(
            [w[0], w[1], w3]
                .iter()
                .map(|&v| Mat::from_fn(1, 1, |_, _| v))
                .collect(),
        )?;
        let post = FiberPosterior::new(beta, kappa, BaseMeasure::Conditional)?;
        let seed = cx.rng().random::<u64>();
        let opts = BlockGibbsOptions {
            samples,
            burn_in: 2000,
            ..Default::default()
        };
        let d = post.sample_block_gibbs(&w0, &opts, seed, &mut ())?.diagnostics;
        let against = match target {
            Target::Same => BaseMeasure::Conditional,
            Target::Swapped => BaseMeasure::Hausdorff,
        };
        let want = quadrature3(beta * kappa, x_abs, T::IS_COMPLEX, against);
        let name = format!(
            "block Gibbs {} N=3 |x|={x_abs} βκ={} conditional vs {} quadrature",
            super::field::<T>(),
            beta * kappa,
            against.name()
        );
        cx.record(
            format!("{name}: |mean−E|/SE"),
            (d.mean_l2_norm_sq - want).abs() / d.standard_error,
            5.0,
        );
        cx.record(
            format!("{name}: constraint residual"),
            d.max_constraint_residual,
            1e-10,
        );
    }
    Ok(())
}
