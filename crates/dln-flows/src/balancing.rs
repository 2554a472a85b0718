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
//! [`OrbitField`]s and run by default ([`Scheme::Auto`]) with the structure-preserving [`Rkmk5`] —
//! except the L² flow from a point whose orbit is not closed (below); [`Scheme::Generic`] runs them
//! with [`Dopri5`] instead (X then drifts at the level of the tolerance).
//!
//! Every sample reports $\|\mathbf G\|$, the gap $\|\mathbf W\|^2 - N\sum_i\sigma_i^{2/N}$ to the minimum on the
//! fiber ([`BalancedOrbit::l2_lower_bound`]) and $\|X(t)-X(0)\|/\|X(0)\|$.
//!
//! # How long the decay law can be observed
//! The computed moments carry two errors: the integrator's, $\delta\mathbf W\approx\mathrm{rtol}\cdot\|\mathbf W\|$
//! (so $\delta\mathbf G\approx 2\,\mathrm{rtol}\,\|\mathbf W\|^2$, accumulated over the steps), and the rounding of
//! $W_kW_k^*-W_{k+1}^*W_{k+1}$ itself, $\approx d\,\varepsilon\,\|\mathbf W\|^2$. Relative to
//! $\|\mathbf G(t)\| = \|\mathbf G(0)\|e^{-2t}$ both grow like $e^{2t}\|\mathbf W\|^2/\|\mathbf G(0)\|$. With
//! `rtol = 1e-12` the law holds to $10^{-6}$ relative up to $t = 5$ (tested, real and complex, square
//! and rectangular widths: `decay_law_holds_to_t5`) and to $10^{-10}\|\mathbf W\|^2$ absolutely for
//! $t\le 3$ (verify claim 15). Beyond that the relative error grows by $e^2\approx 7.4$ per unit of
//! time, and once $\|\mathbf G\|$ reaches the rounding level of $\|\mathbf W\|^2$ (about $t\approx 12$–$16$
//! for $\|\mathbf G(0)\|\sim\|\mathbf W\|^2$) it stops decaying: $\|\mathbf G(t)\|/\|\mathbf W\|^2$ stays at
//! $10^{-16}$–$10^{-14}$ and only the absolute statement $\|\mathbf G(t)-\mathbf G(0)e^{-2t}\|\lesssim
//! d\,\varepsilon\,\|\mathbf W\|^2$ remains meaningful. $X$ is kept to rounding by [`Rkmk5`] at every $t$.
//!
//! # Orbits that are not closed: use the velocity form
//! The L² flow moves $\mathbf W$ inside its orbit, $\mathbf W(t) = g(t)\cdot\mathbf W(0)$, and [`Rkmk5`] steps
//! with the generator $\mathbf b$. When the orbit is not closed (non-square layers, e.g. widths
//! narrower at the ends, $[2,3,4,3,2]$) the flow can reach the orbit's boundary in finite time:
//! $g(t)$ diverges, the rank of $T$ drops at some $t^*$ (from 32 to 31 on that shape, measured at
//! $t^*\approx0.4465$ for the seed-1 instance of the tests), and the minimum-norm generator grows like
//! $1/(t^*-t)$ while the velocity $\mathbf w_{\mathbf b}$ stays bounded. No generator-based step reaches
//! $t^*$: [`Rkmk5`] stalls (its step size collapses, or $\|\mathbf b\|\approx10^{9}$ overflows the
//! action). The velocity field is defined on every orbit and the decay law holds along it on
//! either side of $t^*$; [`Scheme::Generic`] (the velocity on the weights) steps across (past
//! $t^*$ the computed trajectory is in an orbit of full rank again): on $[2,3,4,3,2]$, seeds 0–7, rtol $10^{-12}$, the law
//! holds to $3.4\cdot10^{-14}\|\mathbf W\|^2$ at $t\le3$ and $X$ to $4.3\cdot10^{-13}$ (test
//! `l2_flow_crosses_orbit_boundary_on_narrow_ends`, verify claim 15). This is not a defect of the
//! inner solve: the $\mathbf H$-solve converges in about 28 iterations up to $t^*$, cold or warm.
//!
//! # References
//! Lindsey & Menon, arXiv:2511.01137, §2.4–§2.5 (Theorems 2 and 10).

use crate::integrator::{Dopri5, Integrator, OnOrbit, OrbitField, Rkmk5, Trajectory};
use crate::observer::{Observer, Progress, Termination};
use crate::options::FlowOptions;
use crate::{FlowError, Result};
use dln_algebra::{
    BalancedOrbit, CgOptions, FiberOperator, Network, NormalOperator, NormalPreconditioner,
    generator_from_tangent, kempf_ness::orbit_is_closed,
};
use dln_linalg::Scalar;
use dln_linalg::scaled::{ScaledReal, frob_norm_scaled, ldexp, pow2_exponent, scale_pow2};
use faer::Mat;
use std::ops::ControlFlow;

/// How the L² flow solves for its generator at each evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FiberSolver {
    /// The normal equation $\mathcal M(Z) = NX$ on $\mathbb F^{d_N\times d_0}$ (iterations independent of
    /// $N$, preconditioner $\mathcal A_{N,X}^{-1}$ exact at balance), $\mathbf w_{\mathbf b} = \mathbf W - d\varphi^*(Z)$
    /// and $\mathbf b$ from the layer recursion ([`dln_algebra::NormalOperator`]). Falls back to
    /// [`FiberSolver::H`] where it does not apply: always for non-square layers; for one evaluation
    /// when the solve does not converge or the recovered $\mathbf b$ fails its consistency check
    /// (singular or ill-conditioned $X$ or layers).
    #[default]
    Normal,
    /// $\mathbf H(\mathbf b) = \mathbf G$ by block-preconditioned CG with a CGLS fallback
    /// ([`FiberOperator::solve_least_squares`]); iterations grow with $N$.
    H,
}

/// The L² regularizing flow as an orbit field: generator $\mathbf a = -\mathbf b$, $\mathbf H(\mathbf b) = \mathbf G$.
///
/// With [`FiberSolver::Normal`] (default) each evaluation solves the normal equation warm-started
/// from the previous $Z$, with the preconditioner built once from the SVD of $X$ (fixed along the
/// flow); with [`FiberSolver::H`] it solves $\mathbf H(\mathbf b) = \mathbf G$, warm-started from the previous
/// $\mathbf b$.
#[derive(Debug, Clone)]
pub struct L2Field<T: Scalar> {
    cg: CgOptions,
    solver: FiberSolver,
    pre: Option<NormalPreconditioner<T>>,
    last_z: Option<Mat<T>>,
    last_b: Option<Vec<Mat<T>>>,
    /// Total inner (linear-solver) iterations, both routes.
    pub cg_iterations: usize,
    /// Evaluations solved by the $\mathbf H$ route (all of them with [`FiberSolver::H`]).
    pub h_solves: usize,
    /// Evaluations the normal route could not serve (unconverged solve, singular layers, or a
    /// generator failing its consistency check also after re-tightening), solved by the $\mathbf H$
    /// route instead.
    pub normal_rejected: usize,
    /// Refinements of a normal-route velocity by a correction solve (see [`REFINE`]).
    pub normal_refined: usize,
}

impl<T: Scalar> L2Field<T> {
    /// With the given inner-solve options and the default [`FiberSolver::Normal`].
    pub fn new(cg: CgOptions) -> Self {
        Self::with_solver(cg, FiberSolver::Normal)
    }

    /// With the given inner-solve options and solver.
    pub fn with_solver(cg: CgOptions, solver: FiberSolver) -> Self {
        Self {
            cg,
            solver,
            pre: None,
            last_z: None,
            last_b: None,
            cg_iterations: 0,
            h_solves: 0,
            normal_rejected: 0,
            normal_refined: 0,
        }
    }

    /// The normal-equation route; `None` where it does not apply.
    ///
    /// The velocity $\mathbf v = \mathbf W - d\varphi^*(Z)$ of an inexact $Z$ carries a normal component
    /// $d\varphi^*(\delta Z)$, $\mathcal M(\delta Z) = d\varphi(\mathbf v)$; the layer recursion for $\mathbf b$
    /// cannot remove it and amplifies it by the layers' conditioning (measured in numpy, d = 16,
    /// N = 4, layers of condition 100: a normal component of $0.02\times$ the acceptance threshold
    /// gives $\|\mathbf v - T\mathbf b\|$ of $1.1$–$1.9\times$ it). Continuing PCG on $\mathcal M(Z) = NX$
    /// does not help past a floor: its residual $NX - \mathcal M(Z)$ is formed with a rounding error
    /// $\approx\varepsilon\|\mathcal M\|\|Z\|$, which grows with $\operatorname{cond}(X)$. So when the generator
    /// fails its consistency check $\|\mathbf v - T\mathbf b\|\le100\,\mathrm{rtol}\,\|\mathbf W\|$, the
    /// velocity is refined instead (at most [`REFINE`] times): the normal component is measured from
    /// $\mathbf v$ itself, $R = d\varphi(\mathbf v)$ (rounding $\approx\varepsilon\sum_j\|S_j\|\|v_j\|\|P_j\|$,
    /// independent of $\|Z\|$), $\mathcal M(\delta Z) = R$ is solved from zero to the relative accuracy
    /// the measured excess asks for (a correction needs only a few digits), and
    /// $\mathbf v \mathrel{-}= d\varphi^*(\delta Z)$. The acceptance test itself is never relaxed.
    fn normal_generator(&mut self, w: &Network<T>) -> Result<Option<Vec<Mat<T>>>> {
        let m = NormalOperator::new(w);
        if self.pre.is_none() {
            self.pre = Some(NormalPreconditioner::new(m.product().as_ref(), w.depth())?);
        }
        let pre = self.pre.as_ref().expect("just built");
        // Both norms in scaled form (no under/overflow for weights far from 1): accept when
        // ‖vel − T b‖ ≤ 100·rtol·‖W‖, rtol the caller's inner tolerance.
        let w_norm = w.l2_norm_scaled();
        let target = 100.0 * self.cg.rtol;
        let guess = self.last_z.take();
        let (mut vel, sol) = m.l2_velocity(guess.as_ref().map(|z| z.as_ref()), pre, self.cg)?;
        self.cg_iterations += sol.iterations;
        let mut z = sol.z;
        if !sol.converged {
            self.last_z = Some(z);
            self.normal_rejected += 1;
            return Ok(None);
        }
        for attempt in 0..=REFINE {
            let Some(mut b) = generator_from_tangent(w, &vel) else {
                break;
            };
            // The recursion is exact only if vel is an orbit tangent vector; rounding is amplified
            // by the conditioning of the layers. Refine (b += recursion of the residual vel − T b).
            let mut excess = f64::INFINITY;
            for _ in 0..3 {
                let tb = w.infinitesimal_action(&b);
                let r: Vec<Mat<T>> = vel.iter().zip(&tb).map(|(v, x)| v - x).collect();
                let err = tuple_norm_scaled(&r);
                excess = if err.is_zero() {
                    0.0
                } else {
                    err.ratio(w_norm) / target
                };
                if excess <= 1.0 {
                    break;
                }
                match generator_from_tangent(w, &r) {
                    Some(db) => b.iter_mut().zip(db).for_each(|(x, y)| *x += y),
                    None => break,
                }
            }
            if excess <= 1.0 {
                self.last_z = Some(z);
                self.last_b = Some(b.clone());
                return Ok(Some(b.iter().map(|bk| -bk).collect()));
            }
            if attempt == REFINE || !excess.is_finite() {
                break;
            }
            // Remove the normal component of vel: M(δZ) = dφ(vel), to the accuracy the excess asks
            // for (with a margin of 10).
            let vr: Vec<_> = vel.iter().map(|v| v.as_ref()).collect();
            let r = m.differential(&vr);
            let opts = CgOptions {
                rtol: (0.1 / excess).clamp(1e-10, 0.1),
                ..self.cg
            };
            let corr = m.solve(r.as_ref(), None, pre, opts)?;
            self.cg_iterations += corr.iterations;
            self.normal_refined += 1;
            for (v, n) in vel.iter_mut().zip(m.differential_adjoint(corr.z.as_ref())) {
                *v -= n;
            }
            z += &corr.z;
        }
        // Keep the warm start for the next evaluation even when this one falls back.
        self.last_z = Some(z);
        self.normal_rejected += 1;
        Ok(None)
    }
}

/// How many times [`L2Field`] refines the velocity of one normal-route evaluation whose generator
/// fails its consistency check (one correction solve each), before falling back to the
/// $\mathbf H$ route.
pub const REFINE: usize = 2;

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
    /// [`FlowError::SolveFailed`] if the inner solve stops above its tolerance.
    fn generator(&mut self, t: f64, w: &Network<T>) -> Result<Vec<Mat<T>>> {
        // Non-square layers never take the normal route; otherwise a failed attempt (an
        // inconsistent generator or an unconverged solve) falls back for this evaluation only.
        let square = w.layers().iter().all(|l| l.nrows() == l.ncols());
        if self.solver == FiberSolver::Normal && square {
            if let Some(a) = self.normal_generator(w)? {
                return Ok(a);
            }
        }
        // H(b) = G = T^*W: the least-squares form keeps the CGLS fallback for (nearly) singular H.
        let layers: Vec<_> = w.layers().iter().map(|m| m.as_ref()).collect();
        let mut h = FiberOperator::new(w);
        let sol = h.solve_least_squares(&layers, self.last_b.as_deref(), self.cg)?;
        self.cg_iterations += sol.iterations;
        self.h_solves += 1;
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
    /// [`Scheme::Structured`], except for the L² flow from a point whose orbit is not closed
    /// ([`orbit_is_closed`]: not every layer has the rank of $X$), which runs
    /// [`Scheme::Generic`]: there the L² flow can reach the orbit's boundary in finite time,
    /// where the generator-based [`Rkmk5`] stalls (module docs).
    #[default]
    Auto,
    /// [`Rkmk5`]: $X$ preserved to rounding.
    Structured,
    /// [`Dopri5`] on the weights: $X$ preserved to the tolerance only.
    Generic,
}

impl Scheme {
    /// `"auto"`, `"structured"` or `"generic"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Structured => "structured",
            Self::Generic => "generic",
        }
    }
}

/// Options of [`balancing_flow`].
#[derive(Debug, Clone, Copy)]
pub struct BalancingOptions {
    /// The flow. Default [`BalancingFlow::L2`].
    pub flow: BalancingFlow,
    /// The integrator. Default [`Scheme::Auto`].
    pub scheme: Scheme,
    /// Tolerances. Default `rtol = 1e-10`, `atol = 1e-12`.
    pub integration: FlowOptions,
    /// Inner-solve options of the L² flow. The relative residual actually used is
    /// $\max(\texttt{cg.rtol},\ 0.1\cdot\texttt{integration.rtol})$: tied to the integrator's tolerance,
    /// never tighter than needed. Default `rtol = 1e-12`, `max_iter = 1000`.
    pub cg: CgOptions,
    /// The L² flow's inner solver. Default [`FiberSolver::Normal`].
    pub solver: FiberSolver,
}

impl Default for BalancingOptions {
    fn default() -> Self {
        Self {
            flow: BalancingFlow::L2,
            scheme: Scheme::Auto,
            integration: crate::FlowBuilder::new()
                .rtol(1e-10)
                .atol(1e-12)
                .build()
                .expect("valid"),
            cg: CgOptions {
                rtol: 1e-12,
                max_iter: 1000,
            },
            solver: FiberSolver::Normal,
        }
    }
}

/// Diagnostics of a balancing flow at one time, in the units of the caller's weights.
///
/// The `f64` magnitudes are rounded from the exact scaled values (the `*_scaled` fields): they
/// saturate to `inf` or round towards `0` when the weights are so large or so small that the
/// quantity leaves the `f64` range (e.g. $\|\mathbf W\|^2$ for weights $\times2^{\pm600}$). The relative
/// quantities are always right.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BalancingSample {
    /// Time.
    pub t: f64,
    /// $\|\mathbf G(t)\|$.
    pub moment_norm: f64,
    /// $\|\mathbf G(t)\|/\|\mathbf W(t)\|^2$ (scale-invariant; computed in scaled form, right at every
    /// scale even when the absolute norms leave the `f64` range).
    pub moment_norm_rel: f64,
    /// $\|\mathbf W(t)\|^2$.
    pub l2_norm_sq: f64,
    /// $\|\mathbf W(t)\|^2 - N\sum_i\sigma_i^{2/N}$.
    pub l2_gap: f64,
    /// $\|X(t) - X(0)\|_F/\|X(0)\|_F$ (the absolute change $\|X(t)\|_F$ when $X(0)=0$).
    pub product_rel_change: f64,
    /// $\|\mathbf G(t)\|$, exact in scaled form.
    pub moment_norm_scaled: ScaledReal,
    /// $\|\mathbf W(t)\|^2$, exact in scaled form.
    pub l2_norm_sq_scaled: ScaledReal,
    /// $\|\mathbf W(t)\|^2 - N\sum_i\sigma_i^{2/N}$, exact in scaled form.
    pub l2_gap_scaled: ScaledReal,
}

/// Result of [`balancing_flow`].
#[derive(Debug, Clone)]
pub struct BalancingRun<T: Scalar> {
    /// The network at the last sample time reached.
    pub network: Network<T>,
    /// One sample per requested time reached.
    pub samples: Vec<BalancingSample>,
    /// $N\sum_i\sigma_i(X(0))^{2/N}$ (rounded from [`BalancingRun::lower_bound_scaled`]).
    pub lower_bound: f64,
    /// $N\sum_i\sigma_i(X(0))^{2/N}$, exact in scaled form.
    pub lower_bound_scaled: ScaledReal,
    /// Integrator counters.
    pub stats: crate::FlowStats,
    /// Total inner linear-solver iterations (L² flow).
    pub cg_iterations: usize,
    /// Right-hand-side evaluations solved by the $\mathbf H$ route (L² flow; 0 when the normal route
    /// served them all).
    pub h_solves: usize,
    /// Why the run ended.
    pub termination: Termination,
    /// The integrator that ran ([`Scheme::Structured`] or [`Scheme::Generic`]; [`Scheme::Auto`]
    /// resolved).
    pub scheme: Scheme,
}

/// $(\sum_k\|A_k\|_F^2)^{1/2}$ of a tuple of matrices in scaled form (no under/overflow).
fn tuple_norm_scaled<T: Scalar>(a: &[Mat<T>]) -> ScaledReal {
    ScaledReal::sum(a.iter().map(|x| {
        let n = frob_norm_scaled(x.as_ref());
        n.mul(n)
    }))
    .sqrt()
}

/// $x\cdot2^{k}$, exactly.
fn shift_scaled(x: ScaledReal, k: i64) -> ScaledReal {
    ScaledReal::new(x.mantissa(), x.exponent() + k)
}

/// How far below $2^{0}$ the largest entry of a layer may be brought by the normalisation of
/// [`balancing_flow`]: above $2^{-968}$, the entries down to its rounding level stay normal numbers.
const LAYER_FLOOR: i64 = 968;

/// The exponent $e$ of the power of two $s = 2^{e}$ by which [`balancing_flow`] divides the weights:
/// $\|\mathbf W\|\in[2^{e-1},2^{e})$, so that the normalised state has norm in $[\tfrac12,1)$; lowered
/// (never below $0$) when dividing by $2^{e}$ would bring a layer's largest entry below
/// $2^{-968}$ (layers of very different magnitudes), so that no entry loses bits. $0$ for
/// $\mathbf W = 0$.
fn normalising_exponent<T: Scalar>(w: &Network<T>) -> i64 {
    let norm = w.l2_norm_scaled();
    if norm.is_zero() {
        return 0;
    }
    let e = norm.exponent();
    let smallest_layer = w
        .layers()
        .iter()
        .filter_map(|l| pow2_exponent(l.as_ref()))
        .min();
    match smallest_layer {
        Some(m) if e > 0 => e.min((m + LAYER_FLOOR).max(0)),
        _ => e,
    }
}

/// $2^{k}W_j$ for every layer (exact while the entries stay normal numbers).
fn scale_layers<T: Scalar>(layers: &[Mat<T>], k: i64) -> Vec<Mat<T>> {
    layers.iter().map(|l| scale_pow2(l.as_ref(), k)).collect()
}

/// The time exponent of a flow of homogeneity degree $d$ ($F(s\mathbf V) = s^{d}F(\mathbf V)$): with
/// $\mathbf W = s\mathbf V$, $\dot{\mathbf W} = F(\mathbf W)$ becomes $\frac{d\mathbf V}{d\tau} = F(\mathbf V)$ in
/// $\tau = s^{d-1}t$. The L² flow has $d = 1$ ($\mathbf b$ solves $\mathbf H(\mathbf b) = \mathbf G$, quadratic on
/// both sides, so it is scale-free and $\mathbf w_{\mathbf b}$ is linear in $\mathbf W$): $\tau = t$. The
/// Kirwan–Ness flow $\dot W_k = 2(W_kG_{k-1} - G_kW_k)$ has $d = 3$: $\tau = s^{2}t$.
fn time_exponent(flow: BalancingFlow, e: i64) -> i64 {
    match flow {
        BalancingFlow::L2 => 0,
        BalancingFlow::KirwanNess => 2 * e,
    }
}

/// An observer of the normalised run that shows the caller's observer the run in its own units:
/// weights $\times2^{e}$, times and step sizes $\times2^{-k}$ ($k$ the time exponent), the caller's
/// final time.
struct InUserUnits<'o, O> {
    inner: &'o mut O,
    e: i64,
    time_shift: i64,
    t_end: f64,
}

impl<O> InUserUnits<'_, O> {
    fn forward<T: Scalar, R>(
        &mut self,
        p: &Progress<'_, T>,
        f: impl FnOnce(&mut O, &Progress<'_, T>) -> R,
    ) -> R {
        let scaled;
        let weights = if self.e == 0 {
            p.weights
        } else {
            scaled = scale_layers(p.weights, self.e);
            &scaled
        };
        let q = Progress {
            t: ldexp(p.t, -self.time_shift),
            h: ldexp(p.h, -self.time_shift),
            t_end: self.t_end,
            weights,
            stats: p.stats,
        };
        f(self.inner, &q)
    }
}

impl<'a, T: Scalar, O> Observer<Progress<'a, T>> for InUserUnits<'_, O>
where
    O: for<'b> Observer<Progress<'b, T>>,
{
    fn on_start(&mut self, name: &str, s: &Progress<'a, T>) -> ControlFlow<()> {
        self.forward(s, |o, q| o.on_start(name, q))
    }
    fn on_step(&mut self, s: &Progress<'a, T>) -> ControlFlow<()> {
        self.forward(s, |o, q| o.on_step(q))
    }
    fn on_finish(&mut self, s: &Progress<'a, T>, why: &Termination) {
        self.forward(s, |o, q| o.on_finish(q, why))
    }
}

/// An error of the normalised run with its times and step sizes in the caller's units.
fn error_in_user_units(err: FlowError, time_shift: i64) -> FlowError {
    if time_shift == 0 {
        return err;
    }
    let u = |x: f64| ldexp(x, -time_shift);
    match err {
        FlowError::Diverged { t, step, what } => FlowError::Diverged {
            t: u(t),
            step,
            what,
        },
        FlowError::StepSizeTooSmall { t, h } => FlowError::StepSizeTooSmall { t: u(t), h: u(h) },
        FlowError::MaxStepsReached { t, max_steps } => {
            FlowError::MaxStepsReached { t: u(t), max_steps }
        }
        FlowError::TimeOutOfRange {
            requested,
            from,
            to,
        } => FlowError::TimeOutOfRange {
            requested: u(requested),
            from: u(from),
            to: u(to),
        },
        FlowError::SolveFailed {
            t,
            iterations,
            residual,
        } => FlowError::SolveFailed {
            t: u(t),
            iterations,
            residual,
        },
        other => other,
    }
}

/// Diagnostics of the normalised state `v` ($\mathbf W = 2^{e}\mathbf V$) against the normalised
/// initial product `x0` and lower bound, in the caller's units: $\|\mathbf G\|$, $\|\mathbf W\|^2$ and the gap
/// are quadratic ($\times2^{2e}$), the relative quantities invariant, and the absolute change of
/// $X$ (used when $X(0) = 0$) of degree $N$. The norms are computed in scaled form and rounded to
/// `f64` only at the end, so the relative quantities are right at every scale.
fn sample<T: Scalar>(
    t: f64,
    v: &Network<T>,
    x0: &Mat<T>,
    lower_bound: ScaledReal,
    e: i64,
) -> BalancingSample {
    let l2 = v.l2_norm_scaled();
    let l2 = l2.mul(l2);
    let moment_norm = v.moment_norm_scaled();
    let x = v.product();
    let change = frob_norm_scaled((&x - x0).as_ref());
    let x0_norm = frob_norm_scaled(x0.as_ref());
    let moment_norm_scaled = shift_scaled(moment_norm, 2 * e);
    let l2_norm_sq_scaled = shift_scaled(l2, 2 * e);
    let l2_gap_scaled = shift_scaled(l2.sub(lower_bound), 2 * e);
    BalancingSample {
        t,
        moment_norm: moment_norm_scaled.to_f64(),
        moment_norm_rel: if moment_norm.is_zero() {
            0.0
        } else {
            moment_norm.ratio(l2)
        },
        l2_norm_sq: l2_norm_sq_scaled.to_f64(),
        l2_gap: l2_gap_scaled.to_f64(),
        product_rel_change: if change.is_zero() {
            0.0
        } else if x0_norm.is_zero() {
            // X(0) = 0: the absolute change (a relative one is undefined), of degree N in W.
            shift_scaled(change, v.depth() as i64 * e).to_f64()
        } else {
            change.ratio(x0_norm)
        },
        moment_norm_scaled,
        l2_norm_sq_scaled,
        l2_gap_scaled,
    }
}

/// Runs a balancing flow from `w0` and samples it at `t_eval` (non-decreasing, starting at or after 0).
///
/// # Scale
/// Both flows are homogeneous, so the run is carried out on the normalised weights
/// $\mathbf V = 2^{-e}\mathbf W$ with $\|\mathbf V\|\in[\tfrac12,1)$ (see the private `normalising_exponent`)
/// and mapped back exactly: the L² flow is of degree 1, so $\mathbf W(t) = 2^{e}\mathbf V(t)$ at the
/// same times; the Kirwan–Ness flow is of degree 3, so $\mathbf W(t) = 2^{e}\mathbf V(2^{2e}t)$. The
/// absolute tolerance (in the units of $\mathbf W$) becomes $2^{-e}\,\texttt{atol}$, the initial and
/// largest step sizes are converted to the normalised time $\tau = 2^{2e}t$ of the Kirwan–Ness flow
/// (its `h_min` test applies in $\tau$), and everything reported — samples, the observer's
/// [`Progress`], times in errors — is in the caller's units. Scaling by a power of two is exact,
/// so the run of $2^{k}\mathbf W$ is $2^{k}$ times the run of $\mathbf W$ (Kirwan–Ness: at times
/// $2^{-2k}t$) to the last bit, for weights of any magnitude.
///
/// # Errors
/// Integration failures ([`FlowError::StepSizeTooSmall`], [`FlowError::MaxStepsReached`]),
/// [`FlowError::SolveFailed`] from the L² flow's solves, SVD failures for the lower bound, and
/// [`FlowError::NotRepresentable`] when the Kirwan–Ness flow's normalised time $2^{2e}t$ of a
/// requested time overflows `f64` (weights of norm $\gtrsim2^{512}$: the flow's time scale
/// $\|\mathbf W\|^{-2}$ is then below the `f64` range).
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
    assert!(!t_eval.is_empty(), "balancing_flow: no output times");
    let e = normalising_exponent(w0);
    let time_shift = time_exponent(opts.flow, e);
    let v0 = Network::new(scale_layers(w0.layers(), -e))?;
    let taus = t_eval
        .iter()
        .map(|&t| {
            let tau = ldexp(t, time_shift);
            if tau.is_finite() {
                Ok(tau)
            } else {
                Err(FlowError::NotRepresentable {
                    what: format!(
                        "the {} flow of weights with ‖W‖ ≈ 2^{e} runs on the time scale \
                         ‖W‖^-2 ≈ 2^{}: t = {t:e} is t·2^{time_shift} of its time units, beyond \
                         f64 (the flow is cubic in W, so its speed grows as ‖W‖²)",
                        opts.flow.name(),
                        -2 * e,
                    ),
                })
            }
        })
        .collect::<Result<Vec<f64>>>()?;
    let mut integration = opts.integration;
    // atol is in the units of W. Clamped to [smallest subnormal, f64::MAX] so that the error test
    // never divides by 0 (that far below the weights' size it is pure relative control anyway).
    integration.atol = ldexp(integration.atol, -e).clamp(f64::from_bits(1), f64::MAX);
    integration.h0 = integration.h0.map(|h| ldexp(h, time_shift));
    integration.h_max = ldexp(integration.h_max, time_shift);
    let mut user_obs = InUserUnits {
        inner: obs,
        e,
        time_shift,
        t_end: *t_eval.last().expect("non-empty"),
    };
    let in_user_units = |err| error_in_user_units(err, time_shift);

    let orbit = BalancedOrbit::of(&v0)?;
    let lower_bound = orbit.l2_lower_bound_scaled();
    // Auto: the generator of the L² flow can diverge at the boundary of an orbit that is not
    // closed (module docs); the Kirwan–Ness generator (the moments) stays bounded.
    let scheme = match (opts.scheme, opts.flow) {
        (Scheme::Auto, BalancingFlow::L2) if !orbit_is_closed(&v0, orbit.rank())? => {
            Scheme::Generic
        }
        (Scheme::Auto, _) => Scheme::Structured,
        (s, _) => s,
    };
    let x0 = v0.product();
    let mut cg_iterations = 0;
    let mut h_solves = 0;
    let cg = CgOptions {
        rtol: opts.cg.rtol.max(0.1 * opts.integration.rtol),
        ..opts.cg
    };
    let traj: Trajectory<T> = match (opts.flow, scheme) {
        (BalancingFlow::L2, Scheme::Structured | Scheme::Auto) => {
            let field = L2Field::with_solver(cg, opts.solver);
            let mut rk = Rkmk5::new(field, 0.0, v0.clone(), integration);
            let tr = rk
                .solve_dense(&taus, &mut user_obs)
                .map_err(in_user_units)?;
            cg_iterations = rk.field().cg_iterations;
            h_solves = rk.field().h_solves;
            tr
        }
        (BalancingFlow::KirwanNess, Scheme::Structured | Scheme::Auto) => {
            Rkmk5::new(KirwanNessField, 0.0, v0.clone(), integration)
                .solve_dense(&taus, &mut user_obs)
                .map_err(in_user_units)?
        }
        (BalancingFlow::L2, Scheme::Generic) => {
            let mut rk = Dopri5::new(
                OnOrbit(L2Field::with_solver(cg, opts.solver)),
                0.0,
                v0.layers().to_vec(),
                integration,
            );
            let tr = rk
                .solve_dense(&taus, &mut user_obs)
                .map_err(in_user_units)?;
            cg_iterations = rk.field().0.cg_iterations;
            h_solves = rk.field().0.h_solves;
            tr
        }
        (BalancingFlow::KirwanNess, Scheme::Generic) => {
            Dopri5::new(KirwanNessField, 0.0, v0.layers().to_vec(), integration)
                .solve_dense(&taus, &mut user_obs)
                .map_err(in_user_units)?
        }
    };
    // The trajectory's samples are at a prefix of `taus`, i.e. at the same prefix of `t_eval`.
    let mut samples = Vec::with_capacity(traj.t.len());
    let mut last = v0;
    for (t, v) in t_eval.iter().zip(traj.w) {
        let net = Network::new(v).map_err(|_| FlowError::Diverged {
            t: *t,
            step: traj.stats.n_steps,
            what: "weights are not finite",
        })?;
        samples.push(sample(*t, &net, &x0, lower_bound, e));
        last = net;
    }
    let network = Network::new(scale_layers(last.layers(), e))?;
    let lower_bound_scaled = shift_scaled(lower_bound, 2 * e);
    Ok(BalancingRun {
        network,
        samples,
        lower_bound: lower_bound_scaled.to_f64(),
        lower_bound_scaled,
        stats: traj.stats,
        cg_iterations,
        h_solves,
        termination: traj.termination,
        scheme,
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
