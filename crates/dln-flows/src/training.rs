//! Training the network: the gradient flow and gradient descent of the regularized objective
//! $$L(\mathbf W) = E(W_N\cdots W_1) + \frac\kappa2\\|\mathbf W\\|_2^2,\qquad
//!   \partial_{W_k}L = (W_N\cdots W_{k+1})^*\\,E'(X)\\,(W_{k-1}\cdots W_1)^* + \kappa W_k .$$
//!
//! Conservation and decay laws (claims 26, 27): along the flow $\dot{\mathbf W} = -\nabla L$,
//! $$\mathbf G(t) = \mathbf G(0)\\,e^{-2\kappa t}\qquad\text{for every loss }E,$$
//! because $\nabla(E\circ\varphi)$ is normal to the fiber ($d\mathbf G(\nabla(E\circ\varphi)) = 0$) and
//! $d\mathbf G(\mathbf W) = 2\mathbf G$. With $\kappa = 0$ the moments are conserved, so the balanced
//! manifold and every level set $\mathcal M_{\mathbf G}$ are invariant. Every [`TrainingSample`] reports
//! $\|\mathbf G\|$ so these laws can be read off a run.
//!
//! # Algorithm
//! [`network_gradient`] forms the prefix products $P_k = W_k\cdots W_1$ ($N-1$ products, the last is
//! $X$), evaluates $E'(X)$, then sweeps down with the suffix $S_k = (W_N\cdots W_{k+1})^*E'(X)$,
//! $S_{k} = W_{k+1}^*S_{k+1}$, and $\partial_{W_k} = S_kP_{k-1}^*$: $3(N-1)$ matrix products plus the
//! loss's own (two for [`LeastSquares`](crate::loss::LeastSquares)). No other product is formed.

use crate::integrator::{Dopri5, Integrator, VectorField};
use crate::loss::Loss;
use crate::observer::{Observer, Progress, Termination};
use crate::options::FlowOptions;
use crate::{FlowError, FlowStats, Result};
use dln_algebra::{BalanceMethod, BalanceOptions, CgOptions, FiberOperator, Network, balance};
use dln_linalg::{Scalar, random};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par, unzip, zip};
use std::ops::ControlFlow;

/// Buffers for [`network_gradient_into`]: the prefix products, $E'(X)$, the back-propagated
/// suffixes and the gradient, sized once for the widths of a network so that a gradient evaluation
/// (and a gradient-descent step) allocates nothing.
#[derive(Debug, Clone)]
pub struct GradientWorkspace<T: Scalar> {
    widths: Vec<usize>,
    /// $P_k = W_k\cdots W_1$ for $k = 2..N$ at index $k-2$ ($P_N = X$); $P_1 = W_1$ is read in place.
    prefix: Vec<Mat<T>>,
    /// $E'(X)$ ($d_N\times d_0$).
    de: Mat<T>,
    /// $S_k = (W_N\cdots W_{k+1})^*E'(X)$ ($d_k\times d_0$) for $k = 1..N-1$ at index $k-1$.
    suffix: Vec<Mat<T>>,
    /// $\partial_{W_k}L$ at index $k-1$.
    grad: Vec<Mat<T>>,
    par: Par,
}

/// Products of at most this many multiply-adds ($128^3$) run on one thread: at these sizes a
/// product takes tens of microseconds and handing it to a thread pool costs a comparable time.
const SEQUENTIAL_FLOPS: usize = 1 << 21;

impl<T: Scalar> GradientWorkspace<T> {
    /// Buffers for a network with widths $d_0,\dots,d_N$.
    ///
    /// # Panics
    /// If `widths` has fewer than two entries.
    #[track_caller]
    pub fn new(widths: &[usize]) -> Self {
        assert!(
            widths.len() >= 2,
            "GradientWorkspace: need d0, ..., dN with N >= 1"
        );
        let n = widths.len() - 1;
        let d0 = widths[0];
        let largest = widths
            .windows(2)
            .map(|w| w[0] * w[1] * d0)
            .max()
            .unwrap_or(0);
        let par = if largest <= SEQUENTIAL_FLOPS {
            Par::Seq
        } else {
            faer::get_global_parallelism()
        };
        Self {
            widths: widths.to_vec(),
            prefix: (2..=n).map(|k| Mat::zeros(widths[k], d0)).collect(),
            de: Mat::zeros(widths[n], d0),
            suffix: (1..n).map(|k| Mat::zeros(widths[k], d0)).collect(),
            grad: (1..=n)
                .map(|k| Mat::zeros(widths[k], widths[k - 1]))
                .collect(),
            par,
        }
    }
    /// The widths $d_0,\dots,d_N$ the buffers are sized for.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }
    /// The gradient of the last [`network_gradient_into`], input layer first.
    pub fn gradient(&self) -> &[Mat<T>] {
        &self.grad
    }
    /// The gradient, moved out (the workspace keeps empty matrices in its place and must not be
    /// reused).
    fn into_gradient(self) -> Vec<Mat<T>> {
        self.grad
    }
}

/// Checks that `w` has the widths `ws` was built for.
#[track_caller]
fn check_widths<T: Scalar>(w: &[Mat<T>], ws: &GradientWorkspace<T>) {
    let n = w.len();
    assert!(
        n + 1 == ws.widths.len()
            && w.iter()
                .enumerate()
                .all(|(k, m)| { m.nrows() == ws.widths[k + 1] && m.ncols() == ws.widths[k] }),
        "network_gradient_into: the layers do not have the workspace's widths {:?}",
        ws.widths
    );
}

/// $E(X)$ and $\nabla_{\mathbf W}\big(E\circ\varphi + \tfrac\kappa2\|\mathbf W\|^2\big)$, input layer first.
///
/// The returned value is $E(X)$ **without** the regularizer. Allocates its buffers; a loop calls
/// [`network_gradient_into`] with one [`GradientWorkspace`] instead.
///
/// # Panics
/// If `w` is empty, its layers do not compose, or the loss's shape is not $(d_N, d_0)$.
#[track_caller]
pub fn network_gradient<T: Scalar, L: Loss<T> + ?Sized>(
    w: &[Mat<T>],
    loss: &L,
    kappa: f64,
) -> (f64, Vec<Mat<T>>) {
    assert!(!w.is_empty(), "network_gradient: empty network");
    let mut widths = vec![w[0].ncols()];
    widths.extend(w.iter().map(|m| m.nrows()));
    let mut ws = GradientWorkspace::new(&widths);
    let e = network_gradient_into(w, loss, kappa, &mut ws);
    (e, ws.into_gradient())
}

/// [`network_gradient`] into the buffers of `ws` (read the gradient with
/// [`GradientWorkspace::gradient`]); returns $E(X)$. Allocates nothing when the loss's
/// [`Loss::value_and_gradient_into`] does not.
///
/// # Algorithm
/// $P_k = W_kP_{k-1}$ ($k = 2..N$, $X = P_N$), $E'(X)$ in place, then for $k = N..1$:
/// $\partial_{W_k} = S_kP_{k-1}^* + \kappa W_k$ and $S_{k-1} = W_k^*S_k$ ($S_N = E'(X)$), every
/// product written into its buffer with faer's `matmul` ($3(N-1)$ products in all).
///
/// # Panics
/// If the layers do not have the widths `ws` was built for, or the loss's shape is not
/// $(d_N, d_0)$.
#[track_caller]
pub fn network_gradient_into<T: Scalar, L: Loss<T> + ?Sized>(
    w: &[Mat<T>],
    loss: &L,
    kappa: f64,
    ws: &mut GradientWorkspace<T>,
) -> f64 {
    check_widths(w, ws);
    let n = w.len();
    assert_eq!(
        loss.shape(),
        (w[n - 1].nrows(), w[0].ncols()),
        "network_gradient: loss shape is not (d_N, d_0)"
    );
    let par = ws.par;
    let one = T::from_f64(1.0);
    // Prefix products P_2..P_N (P_1 = W_1 read in place).
    for k in 2..=n {
        let (done, rest) = ws.prefix.split_at_mut(k - 2);
        let prev = if k == 2 {
            w[0].as_ref()
        } else {
            done[k - 3].as_ref()
        };
        matmul(
            rest[0].as_mut(),
            Accum::Replace,
            w[k - 1].as_ref(),
            prev,
            one,
            par,
        );
    }
    let x = if n == 1 {
        w[0].as_ref()
    } else {
        ws.prefix[n - 2].as_ref()
    };
    let e = loss.value_and_gradient_into(x, ws.de.as_mut());
    let kappa_t = T::from_f64(kappa);
    for k in (1..=n).rev() {
        // S_k = (W_N ... W_{k+1})^* E'(X).
        let s_k = if k == n {
            ws.de.as_ref()
        } else {
            ws.suffix[k - 1].as_ref()
        };
        let g = ws.grad[k - 1].as_mut();
        match k {
            1 => {
                let mut g = g;
                g.copy_from(s_k);
            }
            2 => matmul(g, Accum::Replace, s_k, w[0].adjoint(), one, par),
            _ => matmul(g, Accum::Replace, s_k, ws.prefix[k - 3].adjoint(), one, par),
        }
        if kappa != 0.0 {
            zip!(ws.grad[k - 1].as_mut(), w[k - 1].as_ref())
                .for_each(|unzip!(g, wk)| *g += kappa_t * *wk);
        }
        if k >= 2 {
            // S_{k-1} = W_k^* S_k.
            let (lower, upper) = ws.suffix.split_at_mut(k - 1);
            let s_k = if k == n {
                ws.de.as_ref()
            } else {
                upper[0].as_ref()
            };
            matmul(
                lower[k - 2].as_mut(),
                Accum::Replace,
                w[k - 1].adjoint(),
                s_k,
                one,
                par,
            );
        }
    }
    e
}

/// The training vector field $\dot{\mathbf W} = -\nabla_{\mathbf W}\big(E\circ\varphi + \tfrac\kappa2\|\mathbf W\|^2\big)$.
#[derive(Debug, Clone)]
pub struct TrainingField<L> {
    /// The loss $E$.
    pub loss: L,
    /// Weight decay $\kappa\ge0$.
    pub kappa: f64,
}

impl<T: Scalar, L: Loss<T>> VectorField<T> for TrainingField<L> {
    fn eval(&mut self, _t: f64, w: &[Mat<T>]) -> Result<Vec<Mat<T>>> {
        let (_, g) = network_gradient(w, &self.loss, self.kappa);
        Ok(g.into_iter().map(|m| -m).collect())
    }
}

/// Diagnostics of a training run at one time (or iteration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingSample {
    /// Time $t$ (gradient descent: iteration times the step size).
    pub t: f64,
    /// Iteration number (gradient descent) or accepted steps so far (flow; at the end only).
    pub step: usize,
    /// $E(X)$.
    pub loss: f64,
    /// $\|\mathbf G\|$.
    pub moment_norm: f64,
    /// $\|\mathbf W\|^2$.
    pub l2_norm_sq: f64,
    /// Norm of the fiber-tangent (regularizing) part of the velocity, if requested.
    pub tangent_norm: Option<f64>,
    /// Norm of the fiber-normal (learning) part of the velocity, if requested.
    pub normal_norm: Option<f64>,
}

/// Result of [`train_flow`] or [`gradient_descent`].
#[derive(Debug, Clone)]
pub struct TrainingRun<T: Scalar> {
    /// The network at the end.
    pub network: Network<T>,
    /// Samples (the first at $t=0$).
    pub samples: Vec<TrainingSample>,
    /// Integrator counters (for gradient descent: `n_steps` iterations, `n_evals` gradients).
    pub stats: FlowStats,
    /// Why the run ended.
    pub termination: Termination,
}

/// Options of [`train_flow`].
#[derive(Debug, Clone, Copy)]
pub struct TrainingOptions {
    /// Weight decay $\kappa\ge0$. Default `0`.
    pub kappa: f64,
    /// Tolerances. Default `rtol = 1e-10`, `atol = 1e-12`. [`train_flow`] reads `atol` in units
    /// of the initial weights when they are small: with $\|\mathbf W(0)\|\in[2^{e-1},2^{e})$ and
    /// $e<0$ it integrates with $\mathrm{atol}\cdot2^{e}$, so that a tiny initialisation
    /// ($\|\mathbf W(0)\| = 2^{-500}$, say) is followed as accurately as a unit one instead of being
    /// swamped by an absolute tolerance far above its entries; for $\|\mathbf W(0)\|\ge\tfrac12$ it is
    /// used as given.
    pub integration: FlowOptions,
    /// Also split the velocity into fiber-tangent and normal parts at every sample (one
    /// conjugate-gradient solve per sample). Default `false`.
    pub split: bool,
}

impl Default for TrainingOptions {
    fn default() -> Self {
        Self {
            kappa: 0.0,
            integration: crate::FlowBuilder::new()
                .rtol(1e-10)
                .atol(1e-12)
                .build()
                .expect("valid"),
            split: false,
        }
    }
}

/// The fast–slow split of the training velocity $\mathbf V = -\nabla L$ at $\mathbf W$:
/// $\mathbf V = \mathbf V_{\mathrm{tan}} + \mathbf V_{\mathrm{nor}}$ with $\mathbf V_{\mathrm{tan}}\in T_{\mathbf W}\mathcal F_X$ (regularizing:
/// moves along the fiber, $X$ fixed to first order) and $\mathbf V_{\mathrm{nor}}\perp T_{\mathbf W}\mathcal F_X$ (learning).
#[derive(Debug, Clone)]
pub struct VelocitySplit<T: Scalar> {
    /// $\mathbf V_{\mathrm{tan}} = \mathbf w_{\mathbf b}$, $\mathbf H(\mathbf b) = T^*\mathbf V$.
    pub tangent: Vec<Mat<T>>,
    /// $\mathbf V_{\mathrm{nor}} = \mathbf V - \mathbf V_{\mathrm{tan}}$.
    pub normal: Vec<Mat<T>>,
}

impl<T: Scalar> VelocitySplit<T> {
    /// $\|\mathbf V_{\mathrm{tan}}\|$.
    pub fn tangent_norm(&self) -> f64 {
        dln_algebra::tuple_norm_sq(&self.tangent).sqrt()
    }
    /// $\|\mathbf V_{\mathrm{nor}}\|$.
    pub fn normal_norm(&self) -> f64 {
        dln_algebra::tuple_norm_sq(&self.normal).sqrt()
    }
}

/// Splits the training velocity at `w` with [`FiberOperator::project_tangent`].
///
/// Since $\nabla(E\circ\varphi)$ is normal to the fiber, the tangent part is $-\kappa$ times the
/// tangent part of $\mathbf W$, i.e. $-\kappa\\,\mathbf w_{\mathbf b}$ with $\mathbf H(\mathbf b) = \mathbf G$: it vanishes exactly
/// on the balanced manifold.
///
/// # Errors
/// Preconditioner failures of the fiber solve.
pub fn split_velocity<T: Scalar, L: Loss<T> + ?Sized>(
    w: &Network<T>,
    loss: &L,
    kappa: f64,
    cg: CgOptions,
) -> Result<VelocitySplit<T>> {
    let (_, g) = network_gradient(w.layers(), loss, kappa);
    let v: Vec<Mat<T>> = g.into_iter().map(|m| -m).collect();
    let views: Vec<_> = v.iter().map(|m| m.as_ref()).collect();
    let mut h = FiberOperator::new(w);
    let (tangent, _) = h.project_tangent(&views, cg)?;
    let normal = v.iter().zip(&tangent).map(|(a, b)| a - b).collect();
    Ok(VelocitySplit { tangent, normal })
}

fn training_sample<T: Scalar, L: Loss<T> + ?Sized>(
    t: f64,
    step: usize,
    w: &Network<T>,
    loss: &L,
    kappa: f64,
    split: bool,
) -> Result<TrainingSample> {
    let e = loss.value(w.product().as_ref());
    if !e.is_finite() {
        return Err(FlowError::Diverged {
            t,
            step,
            what: "loss is not finite",
        });
    }
    let (tangent_norm, normal_norm) = if split {
        let s = split_velocity(
            w,
            loss,
            kappa,
            CgOptions {
                rtol: 1e-12,
                max_iter: 2000,
            },
        )?;
        (Some(s.tangent_norm()), Some(s.normal_norm()))
    } else {
        (None, None)
    };
    Ok(TrainingSample {
        t,
        step,
        loss: e,
        moment_norm: w.moment_norm(),
        l2_norm_sq: w.l2_norm_sq(),
        tangent_norm,
        normal_norm,
    })
}

fn to_network<T: Scalar>(w: Vec<Mat<T>>, t: f64, step: usize) -> Result<Network<T>> {
    Network::new(w).map_err(|_| FlowError::Diverged {
        t,
        step,
        what: "weights are not finite",
    })
}

/// Integrates the training flow $\dot{\mathbf W} = -\nabla L$ from `w0` with [`Dopri5`] and samples it at
/// `t_eval`.
///
/// # Errors
/// [`FlowError::Diverged`] (when and what) for non-finite loss, weights or velocity; integration
/// failures.
///
/// # Panics
/// If the loss's shape is not $(d_N, d_0)$, or `t_eval` is empty or decreasing.
///
/// # Examples
/// ```
/// use dln_algebra::Network;
/// use dln_flows::{loss::Frobenius, training::{train_flow, TrainingOptions}};
/// use dln_linalg::random;
/// let mut rng = random::rng(7);
/// let w = Network::new((0..3).map(|_| random::gaussian::<f64, _>(&mut rng, 3, 3)).collect()).unwrap();
/// let loss = Frobenius::new(random::gaussian(&mut rng, 3, 3));
/// let opts = TrainingOptions { kappa: 0.5, ..Default::default() };
/// let run = train_flow(&w, &loss, &opts, &[0.0, 1.0], &mut ()).unwrap();
/// // G(t) = G(0) e^{-2 kappa t} for every loss.
/// let ratio = run.samples[1].moment_norm / run.samples[0].moment_norm;
/// assert!((ratio / (-1.0f64).exp() - 1.0).abs() < 1e-6);
/// ```
#[track_caller]
pub fn train_flow<T: Scalar, L: Loss<T>, O>(
    w0: &Network<T>,
    loss: &L,
    opts: &TrainingOptions,
    t_eval: &[f64],
    obs: &mut O,
) -> Result<TrainingRun<T>>
where
    O: for<'a> Observer<Progress<'a, T>>,
{
    initial_loss_representable(w0, loss)?;
    let mut integration = opts.integration;
    integration.atol = atol_in_units_of(w0, integration.atol);
    let mut rk = Dopri5::new(
        TrainingField {
            loss,
            kappa: opts.kappa,
        },
        0.0,
        w0.layers().to_vec(),
        integration,
    );
    let traj = rk.solve_dense(t_eval, obs)?;
    let mut samples = Vec::with_capacity(traj.t.len());
    let mut last = w0.clone();
    for (t, w) in traj.t.iter().zip(traj.w) {
        let net = to_network(w, *t, traj.stats.n_steps)?;
        samples.push(training_sample(
            *t,
            traj.stats.n_steps,
            &net,
            loss,
            opts.kappa,
            opts.split,
        )?);
        last = net;
    }
    Ok(TrainingRun {
        network: last,
        samples,
        stats: traj.stats,
        termination: traj.termination,
    })
}

/// Finite weights whose loss $E(\varphi(\mathbf W(0)))$ is already outside the `f64` range (weights or
/// data scaled by $2^{500}$, say) cannot be trained in `f64`: say so, instead of reporting a
/// divergence at $t = 0$. Called by [`train_flow`] and [`gradient_descent`] (and by the noisy
/// training of `dln-bayes`) before the first step.
///
/// # Errors
/// [`FlowError::NotRepresentable`] when the loss at finite `w0` is not finite.
pub fn initial_loss_representable<T: Scalar, L: Loss<T> + ?Sized>(
    w0: &Network<T>,
    loss: &L,
) -> Result<()> {
    let e = loss.value(w0.product().as_ref());
    if e.is_finite() || !w0.layers().iter().all(|l| l.as_ref().is_all_finite()) {
        return Ok(());
    }
    Err(FlowError::NotRepresentable {
        what: format!(
            "the loss at the initial weights overflows (‖W(0)‖ = {}, loss {e}); rescale the data or the initialisation",
            w0.l2_norm_scaled()
        ),
    })
}

/// The absolute tolerance [`train_flow`] integrates with: $\mathrm{atol}\cdot2^{\min(e,0)}$ where
/// $\|\mathbf W(0)\|\in[2^{e-1},2^{e})$ (see [`TrainingOptions::integration`]); never below the
/// smallest positive `f64`.
fn atol_in_units_of<T: Scalar>(w0: &Network<T>, atol: f64) -> f64 {
    let norm = w0.l2_norm_scaled();
    let e = if norm.is_zero() {
        0
    } else {
        norm.exponent().min(0)
    };
    // 2^e in two exact halves (2^e alone underflows to 0 below e = −1074).
    let half = i32::try_from(e / 2).unwrap_or(i32::MIN / 2);
    let rest = i32::try_from(e - e / 2).unwrap_or(i32::MIN / 2);
    let scaled = atol * 2f64.powi(half) * 2f64.powi(rest);
    scaled.max(f64::from_bits(1))
}

/// Gradient descent $\mathbf W\leftarrow\mathbf W - \eta\\,\nabla L(\mathbf W)$ for `steps` iterations,
/// sampling every `sample_every` iterations (and at the start and the end). The observer sees
/// $t = k\eta$ after iteration $k$.
///
/// The discrete iteration does not conserve $\mathbf G$: with $\kappa = 0$,
/// $\mathbf G_{k+1} - \mathbf G_k = \eta^2\big(\nabla_kL\\,\nabla_kL^* - \nabla_{k+1}L^*\nabla_{k+1}L\big)$, which is $O(\eta^2)$.
///
/// # Errors
/// [`FlowError::Diverged`] with the iteration and time at which the loss, the gradient or the
/// weights stopped being finite; [`FlowError::InvalidOption`] for a non-positive step size.
///
/// # Panics
/// If the loss's shape is not $(d_N, d_0)$.
pub fn gradient_descent<T: Scalar, L: Loss<T>, O>(
    w0: &Network<T>,
    loss: &L,
    kappa: f64,
    lr: f64,
    steps: usize,
    sample_every: usize,
    obs: &mut O,
) -> Result<TrainingRun<T>>
where
    O: for<'a> Observer<Progress<'a, T>>,
{
    if !(lr > 0.0 && lr.is_finite()) {
        return Err(FlowError::InvalidOption {
            name: "lr",
            value: lr,
            reason: "must be positive and finite",
        });
    }
    initial_loss_representable(w0, loss)?;
    let every = sample_every.max(1);
    let t_end = lr * steps as f64;
    let mut w = w0.layers().to_vec();
    let mut stats = FlowStats::default();
    let mut samples = vec![training_sample(0.0, 0, w0, loss, kappa, false)?];
    let mut termination = Termination::StopTimeReached;
    let progress = |w: &[Mat<T>], k: usize, stats: FlowStats| -> (f64, f64, f64, FlowStats) {
        let _ = w;
        (k as f64 * lr, lr, t_end, stats)
    };
    {
        let (t, h, t_end, stats) = progress(&w, 0, stats);
        if obs
            .on_start(
                "gradient-descent",
                &Progress {
                    t,
                    h,
                    t_end,
                    weights: &w,
                    stats,
                },
            )
            .is_break()
        {
            termination = Termination::Interrupted;
        }
    }
    let mut k = 0;
    let mut ws = GradientWorkspace::new(&w0.widths());
    let minus_lr = T::from_f64(-lr);
    while termination == Termination::StopTimeReached && k < steps {
        let e = network_gradient_into(&w, loss, kappa, &mut ws);
        stats.n_evals += 1;
        let t = k as f64 * lr;
        if !e.is_finite() {
            return Err(FlowError::Diverged {
                t,
                step: k,
                what: "loss is not finite",
            });
        }
        for (wk, gk) in w.iter_mut().zip(ws.gradient()) {
            zip!(wk.as_mut(), gk.as_ref()).for_each(|unzip!(w, g)| *w += minus_lr * *g);
        }
        k += 1;
        stats.n_steps = k;
        if !w.iter().all(|m| m.as_ref().is_all_finite()) {
            return Err(FlowError::Diverged {
                t: k as f64 * lr,
                step: k,
                what: "weights are not finite",
            });
        }
        if k % every == 0 || k == steps {
            let net = to_network(w.clone(), k as f64 * lr, k)?;
            samples.push(training_sample(k as f64 * lr, k, &net, loss, kappa, false)?);
        }
        let (t, h, t_end, stats) = progress(&w, k, stats);
        if let ControlFlow::Break(()) = obs.on_step(&Progress {
            t,
            h,
            t_end,
            weights: &w,
            stats,
        }) {
            termination = Termination::Interrupted;
        }
    }
    if termination == Termination::Interrupted && samples.last().map(|s| s.step) != Some(k) {
        let net = to_network(w.clone(), k as f64 * lr, k)?;
        samples.push(training_sample(k as f64 * lr, k, &net, loss, kappa, false)?);
    }
    let (t, h, t_end, st) = progress(&w, k, stats);
    obs.on_finish(
        &Progress {
            t,
            h,
            t_end,
            weights: &w,
            stats: st,
        },
        &termination,
    );
    let network = to_network(w, k as f64 * lr, k)?;
    Ok(TrainingRun {
        network,
        samples,
        stats,
        termination,
    })
}

/// The standard random initialisation of a network with widths $d_0,\dots,d_N$: independent
/// layers with entries $N(0, 1/d_{k-1})$ (real, or complex with that total variance), drawn in
/// order $W_1,\dots,W_N$ from `random::rng(seed)`; with `balanced`, the result is then moved to
/// the balanced point of its fiber (Kempf–Ness, [`BalanceMethod::Svd`]), which keeps $X$.
///
/// The `dln train` program and the Python binding both start from this, so a seed means the same
/// weights everywhere.
///
/// # Errors
/// [`FlowError::Algebra`] if `widths` has fewer than two entries or a zero width, or if balancing
/// fails.
pub fn gaussian_init<T: Scalar>(widths: &[usize], seed: u64, balanced: bool) -> Result<Network<T>> {
    let mut rng = random::rng(seed);
    let layers = widths
        .windows(2)
        .map(|d| {
            random::scaled(
                random::gaussian::<T, _>(&mut rng, d[1], d[0]).as_ref(),
                1.0 / (d[0] as f64).sqrt(),
            )
        })
        .collect();
    let net = Network::new(layers)?;
    if !balanced {
        return Ok(net);
    }
    let opts = BalanceOptions {
        method: BalanceMethod::Svd,
        ..Default::default()
    };
    Ok(balance(&net, opts)?.network)
}
