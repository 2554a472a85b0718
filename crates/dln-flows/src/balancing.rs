//! The balancing (regularizing) flows on a fiber $\mathcal F_X$, which move $\mathbf W$ along its group
//! orbit towards the balanced manifold while keeping $X = W_N\cdots W_1$ fixed:
//! $$\text{L}^2:\ \ \dot{\mathbf W} = -\mathbf w_{\mathbf b},\quad \mathbf H(\mathbf b) = \mathbf G,
//!   \qquad\qquad \text{Kirwan–Ness:}\ \ \dot W_k = 2(W_kG_{k-1} - G_kW_k) = -(\mathbf w_{2\mathbf G})_k .$$
//!
//! The L² flow is the gradient flow of $\tfrac12\|\mathbf W\|^2$ on $(\mathcal F_X,\iota)$ (Lemma 5,
//! Theorem 2) and its moments decay **exactly** as $\mathbf G(t) = \mathbf G(0)e^{-2t}$ (by Lemma 4,
//! $d\mathbf G(\mathbf w_{\mathbf b}) = \mathbf H(\mathbf b)+\mathbf H(\mathbf b)^* = 2\mathbf G$; see erratum E4 for the
//! sign). The Kirwan–Ness flow is the Euclidean gradient flow of $\tfrac12\|\mathbf G\|^2$ (Theorem 10),
//! with $\frac{d}{dt}\tfrac12\|\mathbf G\|^2 = -\|\mathbf w_{2\mathbf G}\|^2$ (erratum E5). Both are
//! [`OrbitField`]s and run by default with the structure-preserving [`Rkmk5`]; [`Scheme::Generic`]
//! runs them with [`Dopri5`] instead (X then drifts at the level of the tolerance).
//!
//! Every sample reports $\|\mathbf G\|$, the gap $\|\mathbf W\|^2 - N\sum_i\sigma_i^{2/N}$ to the minimum on the
//! fiber ([`BalancedOrbit::l2_lower_bound`]) and $\|X(t)-X(0)\|/\|X(0)\|$.
//!
//! # References
//! Lindsey & Menon, arXiv:2511.01137, §2.4–§2.5 (Theorems 2 and 10).

use crate::integrator::{Dopri5, Integrator, OnOrbit, OrbitField, Rkmk5, Trajectory};
use crate::observer::{Observer, Progress, Termination};
use crate::options::FlowOptions;
use crate::{FlowError, Result};
use dln_algebra::{BalancedOrbit, CgOptions, FiberOperator, Network};
use dln_linalg::{Scalar, frob_sq};
use faer::Mat;

/// The L² regularizing flow as an orbit field: generator $\mathbf a = -\mathbf b$, $\mathbf H(\mathbf b) = \mathbf G$.
///
/// Each evaluation solves $\mathbf H(\mathbf b) = \mathbf G$ by preconditioned conjugate gradients
/// ([`FiberOperator::solve`]), warm-started from the previous solution.
#[derive(Debug, Clone)]
pub struct L2Field<T: Scalar> {
    cg: CgOptions,
    last_b: Option<Vec<Mat<T>>>,
    /// Total conjugate-gradient iterations.
    pub cg_iterations: usize,
}

impl<T: Scalar> L2Field<T> {
    /// With the given conjugate-gradient options (a relative residual of `1e-12` is ample).
    pub fn new(cg: CgOptions) -> Self {
        Self {
            cg,
            last_b: None,
            cg_iterations: 0,
        }
    }
}

impl<T: Scalar> Default for L2Field<T> {
    fn default() -> Self {
        Self::new(CgOptions {
            rtol: 1e-12,
            max_iter: 1000,
        })
    }
}

impl<T: Scalar> OrbitField<T> for L2Field<T> {
    /// $-\mathbf b$ with $\mathbf H(\mathbf b) = \mathbf G$.
    ///
    /// # Errors
    /// [`FlowError::SolveFailed`] if conjugate gradients stop above their tolerance.
    fn generator(&mut self, t: f64, w: &Network<T>) -> Result<Vec<Mat<T>>> {
        // H(b) = G = T^*W: the least-squares form keeps the CGLS fallback for (nearly) singular H.
        let layers: Vec<_> = w.layers().iter().map(|m| m.as_ref()).collect();
        let mut h = FiberOperator::new(w);
        let sol = h.solve_least_squares(&layers, self.last_b.as_deref(), self.cg)?;
        self.cg_iterations += sol.iterations;
        if !sol.converged {
            return Err(FlowError::SolveFailed {
                t,
                iterations: sol.iterations,
                residual: sol.residual,
            });
        }
        let a = sol.b.iter().map(|b| -b).collect();
        self.last_b = Some(sol.b);
        Ok(a)
    }
}

/// The Kirwan–Ness flow as an orbit field: generator $\mathbf a = -2\mathbf G$. As a
/// [`crate::VectorField`] it is the explicit cubic system $\dot W_k = 2(W_kG_{k-1} - G_kW_k)$.
#[derive(Debug, Clone, Copy, Default)]
pub struct KirwanNessField;

impl<T: Scalar> OrbitField<T> for KirwanNessField {
    fn generator(&mut self, _t: f64, w: &Network<T>) -> Result<Vec<Mat<T>>> {
        Ok(w.moments()
            .into_iter()
            .map(|g| faer::Scale(T::from_f64(-2.0)) * &g)
            .collect())
    }
}

impl<T: Scalar> crate::VectorField<T> for KirwanNessField {
    fn eval(&mut self, _t: f64, w: &[Mat<T>]) -> Result<Vec<Mat<T>>> {
        Ok(kirwan_ness_velocity(w))
    }
}

/// The Kirwan–Ness velocity $\dot W_k = 2(W_kG_{k-1} - G_kW_k)$, $G_0 = G_N = 0$ (equation (1.22)),
/// for any widths; it equals $-\nabla_{\mathbf W}\tfrac12\|\mathbf G\|^2$.
pub fn kirwan_ness_velocity<T: Scalar>(w: &[Mat<T>]) -> Vec<Mat<T>> {
    let n = w.len();
    let g: Vec<Mat<T>> = (1..n)
        .map(|k| &w[k - 1] * w[k - 1].adjoint() - w[k].adjoint() * &w[k])
        .collect();
    (1..=n)
        .map(|k| {
            let mut v = Mat::<T>::zeros(w[k - 1].nrows(), w[k - 1].ncols());
            if k >= 2 {
                v += &w[k - 1] * &g[k - 2];
            }
            if k < n {
                v -= &g[k - 1] * &w[k - 1];
            }
            faer::Scale(T::from_f64(2.0)) * &v
        })
        .collect()
}

/// Which balancing flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalancingFlow {
    /// $\dot{\mathbf W} = -\mathbf w_{\mathbf b}$, $\mathbf H(\mathbf b) = \mathbf G$.
    L2,
    /// $\dot{\mathbf W} = -\mathbf w_{2\mathbf G}$.
    KirwanNess,
}

impl BalancingFlow {
    /// `"l2"` or `"kirwan-ness"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::L2 => "l2",
            Self::KirwanNess => "kirwan-ness",
        }
    }
}

/// Which integrator runs an orbit flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// [`Rkmk5`]: $X$ preserved to rounding.
    #[default]
    Structured,
    /// [`Dopri5`] on the weights: $X$ preserved to the tolerance only.
    Generic,
}

/// Options of [`balancing_flow`].
#[derive(Debug, Clone, Copy)]
pub struct BalancingOptions {
    /// The flow. Default [`BalancingFlow::L2`].
    pub flow: BalancingFlow,
    /// The integrator. Default [`Scheme::Structured`].
    pub scheme: Scheme,
    /// Tolerances. Default `rtol = 1e-10`, `atol = 1e-12`.
    pub integration: FlowOptions,
    /// Conjugate-gradient options of the L² flow's solves. Default `rtol = 1e-12`, `max_iter = 1000`.
    pub cg: CgOptions,
}

impl Default for BalancingOptions {
    fn default() -> Self {
        Self {
            flow: BalancingFlow::L2,
            scheme: Scheme::Structured,
            integration: crate::FlowBuilder::new()
                .rtol(1e-10)
                .atol(1e-12)
                .build()
                .expect("valid"),
            cg: CgOptions {
                rtol: 1e-12,
                max_iter: 1000,
            },
        }
    }
}

/// Diagnostics of a balancing flow at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BalancingSample {
    /// Time.
    pub t: f64,
    /// $\|\mathbf G(t)\|$.
    pub moment_norm: f64,
    /// $\|\mathbf W(t)\|^2$.
    pub l2_norm_sq: f64,
    /// $\|\mathbf W(t)\|^2 - N\sum_i\sigma_i(X)^{2/N}$.
    pub l2_gap: f64,
    /// $\|X(t) - X(0)\|_F/\|X(0)\|_F$.
    pub product_rel_change: f64,
}

/// Result of [`balancing_flow`].
#[derive(Debug, Clone)]
pub struct BalancingRun<T: Scalar> {
    /// The network at the last sample time reached.
    pub network: Network<T>,
    /// One sample per requested time reached.
    pub samples: Vec<BalancingSample>,
    /// $N\sum_i\sigma_i(X(0))^{2/N}$.
    pub lower_bound: f64,
    /// Integrator counters.
    pub stats: crate::FlowStats,
    /// Total conjugate-gradient iterations (L² flow).
    pub cg_iterations: usize,
    /// Why the run ended.
    pub termination: Termination,
}

/// Diagnostics of `w` against the initial product `x0` and the lower bound.
fn sample<T: Scalar>(t: f64, w: &Network<T>, x0: &Mat<T>, lower_bound: f64) -> BalancingSample {
    let l2 = w.l2_norm_sq();
    let x = w.product();
    let denom = x0.norm_l2().max(f64::MIN_POSITIVE);
    BalancingSample {
        t,
        moment_norm: w.moment_norm(),
        l2_norm_sq: l2,
        l2_gap: l2 - lower_bound,
        product_rel_change: frob_sq((&x - x0).as_ref()).sqrt() / denom,
    }
}

/// Runs a balancing flow from `w0` and samples it at `t_eval` (non-decreasing, starting at or after 0).
///
/// # Errors
/// Integration failures ([`FlowError::StepSizeTooSmall`], [`FlowError::MaxStepsReached`]),
/// [`FlowError::SolveFailed`] from the L² flow's solves, and SVD failures for the lower bound.
///
/// # Panics
/// If `t_eval` is empty or decreasing.
///
/// # Examples
/// ```
/// use dln_algebra::Network;
/// use dln_flows::balancing::{balancing_flow, BalancingOptions};
/// use dln_linalg::random;
/// let mut rng = random::rng(3);
/// let w = Network::new((0..3).map(|_| random::gaussian::<f64, _>(&mut rng, 4, 4)).collect()).unwrap();
/// let run = balancing_flow(&w, &BalancingOptions::default(), &[0.0, 1.0], &mut ()).unwrap();
/// let (g0, g1) = (run.samples[0].moment_norm, run.samples[1].moment_norm);
/// assert!((g1 / g0 - (-2.0f64).exp()).abs() < 1e-7);
/// assert!(run.samples[1].product_rel_change < 1e-13);
/// ```
#[track_caller]
pub fn balancing_flow<T: Scalar, O>(
    w0: &Network<T>,
    opts: &BalancingOptions,
    t_eval: &[f64],
    obs: &mut O,
) -> Result<BalancingRun<T>>
where
    O: for<'a> Observer<Progress<'a, T>>,
{
    let lower_bound = BalancedOrbit::of(w0)?.l2_lower_bound();
    let x0 = w0.product();
    let mut cg_iterations = 0;
    let traj: Trajectory<T> = match (opts.flow, opts.scheme) {
        (BalancingFlow::L2, Scheme::Structured) => {
            let mut rk = Rkmk5::new(L2Field::new(opts.cg), 0.0, w0.clone(), opts.integration);
            let tr = rk.solve_dense(t_eval, obs)?;
            cg_iterations = rk.field().cg_iterations;
            tr
        }
        (BalancingFlow::KirwanNess, Scheme::Structured) => {
            Rkmk5::new(KirwanNessField, 0.0, w0.clone(), opts.integration)
                .solve_dense(t_eval, obs)?
        }
        (BalancingFlow::L2, Scheme::Generic) => {
            let mut rk = Dopri5::new(
                OnOrbit(L2Field::new(opts.cg)),
                0.0,
                w0.layers().to_vec(),
                opts.integration,
            );
            let tr = rk.solve_dense(t_eval, obs)?;
            cg_iterations = rk.field().0.cg_iterations;
            tr
        }
        (BalancingFlow::KirwanNess, Scheme::Generic) => {
            Dopri5::new(KirwanNessField, 0.0, w0.layers().to_vec(), opts.integration)
                .solve_dense(t_eval, obs)?
        }
    };
    let mut samples = Vec::with_capacity(traj.t.len());
    let mut last = w0.clone();
    for (t, w) in traj.t.iter().zip(traj.w) {
        let net = Network::new(w).map_err(|_| FlowError::Diverged {
            t: *t,
            step: traj.stats.n_steps,
            what: "weights are not finite",
        })?;
        samples.push(sample(*t, &net, &x0, lower_bound));
        last = net;
    }
    Ok(BalancingRun {
        network: last,
        samples,
        lower_bound,
        stats: traj.stats,
        cg_iterations,
        termination: traj.termination,
    })
}

/// `k` equally spaced times $0, T/(k-1), \dots, T$ (`k >= 2`; `k < 2` gives $[0, T]$).
pub fn linspace(t_end: f64, k: usize) -> Vec<f64> {
    let k = k.max(2);
    (0..k)
        .map(|i| {
            if i + 1 == k {
                t_end
            } else {
                t_end * i as f64 / (k - 1) as f64
            }
        })
        .collect()
}
