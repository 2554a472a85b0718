//! The Dormand–Prince 5(4) pair, in a flat chart ([`Dopri5`]) and in the exponential chart of the
//! group orbit ([`Rkmk5`]).
//!
//! One step from $y_n$ computes stages in local coordinates $\mathbf u$ around $y_n$:
//! $$\mathbf u_i = h\sum_{j<i}a_{ij}\tilde k_j,\qquad Y_i = \psi_{y_n}(\mathbf u_i),\qquad
//!   \tilde k_i = \mathrm{dexp}^{-1}_{\mathbf u_i}\big(f(t_n+c_ih,\,Y_i)\big),\qquad y_{n+1} = \psi_{y_n}(\mathbf u_7),$$
//! with $\psi_y(\mathbf u) = y+\mathbf u$ and $\mathrm{dexp}^{-1} = \mathrm{id}$ for [`Dopri5`], and
//! $\psi_{\mathbf W}(\mathbf u) = e^{\mathbf u}\cdot\mathbf W$,
//! $\mathrm{dexp}^{-1}_{\mathbf u}(\mathbf k) = \mathbf k - \tfrac12[\mathbf u,\mathbf k] + \tfrac1{12}[\mathbf u,[\mathbf u,\mathbf k]]$
//! for [`Rkmk5`] (the next Bernoulli term, $B_3$, vanishes, so this truncation keeps order 5).
//! The embedded fourth-order solution gives the error estimate $h\sum_j e_j\tilde k_j$, measured in
//! the weights (for [`Rkmk5`] through $\mathbf w_{\mathbf e}$ at $y_{n+1}$). The seventh stage is the
//! first of the next step (FSAL), so an accepted step costs six evaluations.
//!
//! # References
//! - J. R. Dormand, P. J. Prince, *A family of embedded Runge–Kutta formulae*, J. Comput. Appl.
//!   Math. 6 (1980); dense output from E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, §II.6.
//! - H. Munthe-Kaas, *High order Runge–Kutta methods on manifolds*, Appl. Numer. Math. 29 (1999).

use super::{FlowStats, Integrator, OrbitField, StepOutcome, VectorField};
use crate::options::FlowOptions;
use crate::{FlowError, Result};
use dln_algebra::Network;
use dln_linalg::{Scalar, expm};
use faer::{Mat, Scale};

const C: [f64; 7] = [0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0];
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
        0.0,
        0.0,
    ],
    [
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
        0.0,
    ],
    [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// $b - \hat b$.
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];
/// Dense-output coefficients (Hairer's `CONTD5`).
const D: [f64; 7] = [
    -12715105075.0 / 11282082432.0,
    0.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
];

fn axpy<T: Scalar>(acc: &mut [Mat<T>], c: f64, x: &[Mat<T>]) {
    if c == 0.0 {
        return;
    }
    for (a, b) in acc.iter_mut().zip(x) {
        *a += Scale(T::from_f64(c)) * b;
    }
}

fn zeros_like<T: Scalar>(x: &[Mat<T>]) -> Vec<Mat<T>> {
    x.iter().map(|m| Mat::zeros(m.nrows(), m.ncols())).collect()
}

fn all_finite<T: Scalar>(x: &[Mat<T>]) -> bool {
    x.iter().all(|m| m.as_ref().is_all_finite())
}

/// Componentwise commutator $[\mathbf u,\mathbf k]_j = u_jk_j - k_ju_j$ in $\mathfrak g=\prod\mathfrak{gl}(d_j)$.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn lie_bracket<T: Scalar>(u: &[Mat<T>], k: &[Mat<T>]) -> Vec<Mat<T>> {
    assert_eq!(u.len(), k.len(), "lie_bracket: lengths differ");
    u.iter().zip(k).map(|(a, b)| a * b - b * a).collect()
}

/// $\mathrm{dexp}^{-1}_{\mathbf u}(\mathbf k)$ truncated after the second commutator,
/// $\mathbf k - \tfrac12[\mathbf u,\mathbf k] + \tfrac1{12}[\mathbf u,[\mathbf u,\mathbf k]]$ (error $O(|\mathbf u|^4)$,
/// since $B_3 = 0$).
pub fn dexp_inv<T: Scalar>(u: &[Mat<T>], k: &[Mat<T>]) -> Vec<Mat<T>> {
    let c1 = lie_bracket(u, k);
    let c2 = lie_bracket(u, &c1);
    let mut out = k.to_vec();
    axpy(&mut out, -0.5, &c1);
    axpy(&mut out, 1.0 / 12.0, &c2);
    out
}

/// The local chart in which the Dormand–Prince stages are combined.
pub(crate) trait Chart<T: Scalar> {
    type Point: Clone;
    fn weights<'a>(&self, p: &'a Self::Point) -> &'a [Mat<T>];
    fn retract(&self, base: &Self::Point, u: &[Mat<T>]) -> Result<Self::Point>;
    fn field(&mut self, t: f64, p: &Self::Point) -> Result<Vec<Mat<T>>>;
    fn correct(&self, u: &[Mat<T>], k: Vec<Mat<T>>) -> Vec<Mat<T>>;
    /// The error (or velocity) in the coordinates, mapped to the weights at `p`.
    fn to_weights(&self, p: &Self::Point, e: &[Mat<T>]) -> Vec<Mat<T>>;
}

pub(crate) struct Flat<F>(F);

impl<T: Scalar, F: VectorField<T>> Chart<T> for Flat<F> {
    type Point = Vec<Mat<T>>;
    fn weights<'a>(&self, p: &'a Vec<Mat<T>>) -> &'a [Mat<T>] {
        p
    }
    fn retract(&self, base: &Vec<Mat<T>>, u: &[Mat<T>]) -> Result<Vec<Mat<T>>> {
        Ok(base.iter().zip(u).map(|(b, x)| b + x).collect())
    }
    fn field(&mut self, t: f64, p: &Vec<Mat<T>>) -> Result<Vec<Mat<T>>> {
        self.0.eval(t, p)
    }
    fn correct(&self, _u: &[Mat<T>], k: Vec<Mat<T>>) -> Vec<Mat<T>> {
        k
    }
    fn to_weights(&self, _p: &Vec<Mat<T>>, e: &[Mat<T>]) -> Vec<Mat<T>> {
        e.to_vec()
    }
}

pub(crate) struct Exponential<F>(F);

impl<T: Scalar, F: OrbitField<T>> Chart<T> for Exponential<F> {
    type Point = Network<T>;
    fn weights<'a>(&self, p: &'a Network<T>) -> &'a [Mat<T>] {
        p.layers()
    }
    fn retract(&self, base: &Network<T>, u: &[Mat<T>]) -> Result<Network<T>> {
        let mut g = Vec::with_capacity(u.len());
        let mut g_inv = Vec::with_capacity(u.len());
        for a in u {
            g.push(expm(a.as_ref())?);
            g_inv.push(expm((-a).as_ref())?);
        }
        Ok(base.act_with_inverse(&g, &g_inv))
    }
    fn field(&mut self, t: f64, p: &Network<T>) -> Result<Vec<Mat<T>>> {
        self.0.generator(t, p)
    }
    fn correct(&self, u: &[Mat<T>], k: Vec<Mat<T>>) -> Vec<Mat<T>> {
        dexp_inv(u, &k)
    }
    fn to_weights(&self, p: &Network<T>, e: &[Mat<T>]) -> Vec<Mat<T>> {
        p.infinitesimal_action(e)
    }
}

/// Data of the last accepted step, for dense output.
struct LastStep<T: Scalar, P> {
    t0: f64,
    h: f64,
    y0: P,
    /// $\mathbf u(\theta) = \theta(r_2 + (1-\theta)(r_3 + \theta(r_4 + (1-\theta)r_5)))$.
    r: [Vec<Mat<T>>; 4],
}

pub(crate) struct Engine<T: Scalar, Ch: Chart<T>> {
    chart: Ch,
    t: f64,
    h: f64,
    y: Ch::Point,
    /// $f$ at `y` (FSAL).
    k1: Option<Vec<Mat<T>>>,
    opts: FlowOptions,
    stats: FlowStats,
    stop: Option<f64>,
    last: Option<LastStep<T, Ch::Point>>,
}

impl<T: Scalar, Ch: Chart<T>> Engine<T, Ch> {
    fn new(chart: Ch, t0: f64, y0: Ch::Point, opts: FlowOptions) -> Self {
        Self {
            chart,
            t: t0,
            h: opts.h0.unwrap_or(0.0),
            y: y0,
            k1: None,
            opts,
            stats: FlowStats::default(),
            stop: None,
            last: None,
        }
    }

    /// The weighted RMS norm, accumulated as $\mathrm{scale}^2\cdot\mathrm{ssq}$ (LAPACK's `lassq`
    /// update) so that ratios above $10^{154}$ (a velocity $2^{500}$ against `atol` $10^{-12}$) do not
    /// overflow their squares: an overflowing norm rejected every step until $h$ underflowed to 0.
    fn wrms(&self, e: &[Mat<T>], y0: &[Mat<T>], y1: &[Mat<T>]) -> f64 {
        let (mut scale, mut ssq, mut n) = (0.0f64, 1.0f64, 0usize);
        for ((e, a), b) in e.iter().zip(y0).zip(y1) {
            for j in 0..e.ncols() {
                for i in 0..e.nrows() {
                    let sc = self.opts.atol
                        + self.opts.rtol * a[(i, j)].modulus().max(b[(i, j)].modulus());
                    let r = e[(i, j)].modulus() / sc;
                    if r > scale {
                        ssq = 1.0 + ssq * (scale / r) * (scale / r);
                        scale = r;
                    } else if r > 0.0 {
                        ssq += (r / scale) * (r / scale);
                    } else if r.is_nan() {
                        return f64::NAN;
                    }
                    n += 1;
                }
            }
        }
        if n == 0 {
            0.0
        } else {
            scale * (ssq / n as f64).sqrt()
        }
    }

    fn ensure_k1(&mut self) -> Result<()> {
        if self.k1.is_none() {
            let k = self.chart.field(self.t, &self.y)?;
            self.stats.n_evals += 1;
            if !all_finite(&k) {
                return Err(FlowError::Diverged {
                    t: self.t,
                    step: self.stats.n_steps,
                    what: "vector field is not finite",
                });
            }
            if self.h <= 0.0 {
                let w = self.chart.weights(&self.y);
                let v = self.chart.to_weights(&self.y, &k);
                let d0 = self.wrms(w, w, w);
                let d1 = self.wrms(&v, w, w);
                let h = if d0 > 1e-5 && d1 > 1e-5 {
                    0.01 * d0 / d1
                } else {
                    1e-6
                };
                self.h = h.min(self.opts.h_max);
            }
            self.k1 = Some(k);
        }
        Ok(())
    }

    fn step(&mut self) -> Result<StepOutcome> {
        if let Some(stop) = self.stop {
            if self.t >= stop {
                return Ok(StepOutcome::StopTimeReached);
            }
        }
        self.ensure_k1()?;
        loop {
            let mut h = self.h.min(self.opts.h_max);
            let mut last = false;
            if let Some(stop) = self.stop {
                if self.t + h >= stop || self.t + 1.01 * h >= stop {
                    h = stop - self.t;
                    last = true;
                }
            }
            let (t0, y0) = (self.t, &self.y);
            let mut ks: Vec<Vec<Mat<T>>> = Vec::with_capacity(7);
            ks.push(self.k1.clone().expect("ensured"));
            let mut ok = true;
            let mut u = zeros_like(&ks[0]);
            let mut y_new = None;
            for i in 1..7 {
                u = zeros_like(&ks[0]);
                for j in 0..i {
                    axpy(&mut u, h * A[i][j], &ks[j]);
                }
                if !all_finite(&u) {
                    ok = false;
                    break;
                }
                let p = self.chart.retract(y0, &u)?;
                let k = self.chart.field(t0 + C[i] * h, &p)?;
                self.stats.n_evals += 1;
                if !all_finite(&k) {
                    ok = false;
                    break;
                }
                let kt = self.chart.correct(&u, k.clone());
                if i == 6 {
                    ks.push(kt);
                    y_new = Some((p, k));
                } else {
                    ks.push(kt);
                }
            }
            let err = if ok {
                let (p, _) = y_new.as_ref().expect("seven stages");
                let mut e = zeros_like(&ks[0]);
                for j in 0..7 {
                    axpy(&mut e, h * E[j], &ks[j]);
                }
                let ew = self.chart.to_weights(p, &e);
                self.wrms(&ew, self.chart.weights(y0), self.chart.weights(p))
            } else {
                f64::INFINITY
            };
            let c = self.opts.controller;
            if err <= 1.0 {
                let (p, k7) = y_new.expect("accepted");
                // Dense output coefficients in the chart around y0.
                let r2 = u;
                let mut r3 = zeros_like(&r2);
                axpy(&mut r3, h, &ks[0]);
                axpy(&mut r3, -1.0, &r2);
                let mut r4 = r2.clone();
                axpy(&mut r4, -h, &ks[6]);
                axpy(&mut r4, -1.0, &r3);
                let mut r5 = zeros_like(&r2);
                for j in 0..7 {
                    axpy(&mut r5, h * D[j], &ks[j]);
                }
                let y_prev = std::mem::replace(&mut self.y, p);
                self.last = Some(LastStep {
                    t0,
                    h,
                    y0: y_prev,
                    r: [r2, r3, r4, r5],
                });
                self.k1 = Some(k7);
                self.t = if last {
                    self.stop.expect("last step has a stop time")
                } else {
                    t0 + h
                };
                self.stats.n_steps += 1;
                let fac = if err > 0.0 {
                    (c.safety * err.powf(-0.2)).clamp(c.fac_min, c.fac_max)
                } else {
                    c.fac_max
                };
                // Do not let a short final step shrink the next step.
                self.h = if last { self.h.max(h * fac) } else { h * fac };
                return Ok(if last {
                    StepOutcome::StopTimeReached
                } else {
                    StepOutcome::Stepped
                });
            }
            self.stats.n_rejected += 1;
            let fac = if err.is_finite() {
                (c.safety * err.powf(-0.2)).clamp(c.fac_min, 1.0)
            } else {
                c.fac_min
            };
            self.h = h * fac;
            // Relative to |t| only: a flow whose natural time scale is 2^-500 (data of size 2^500)
            // takes steps of that size near t = 0 legitimately; a step that no longer advances t
            // is the absolute floor.
            if self.h < self.opts.h_min * self.t.abs() || self.t + self.h <= self.t {
                return Err(FlowError::StepSizeTooSmall {
                    t: self.t,
                    h: self.h,
                });
            }
        }
    }

    fn interpolate(&self, t: f64) -> Result<Vec<Mat<T>>> {
        let tol = 1e-13 * t.abs().max(self.t.abs());
        if (t - self.t).abs() <= tol {
            return Ok(self.chart.weights(&self.y).to_vec());
        }
        let last = self.last.as_ref().ok_or(FlowError::TimeOutOfRange {
            requested: t,
            from: self.t,
            to: self.t,
        })?;
        if t < last.t0 - tol || t > self.t + tol {
            return Err(FlowError::TimeOutOfRange {
                requested: t,
                from: last.t0,
                to: self.t,
            });
        }
        let th = ((t - last.t0) / last.h).clamp(0.0, 1.0);
        let [r2, r3, r4, r5] = &last.r;
        let mut inner = r4.clone();
        for (a, b) in inner.iter_mut().zip(r5) {
            *a += Scale(T::from_f64(1.0 - th)) * b;
        }
        let mut mid = r3.clone();
        axpy(&mut mid, th, &inner);
        let mut u = r2.clone();
        axpy(&mut u, 1.0 - th, &mid);
        for m in &mut u {
            *m = Scale(T::from_f64(th)) * &*m;
        }
        let p = self.chart.retract(&last.y0, &u)?;
        Ok(self.chart.weights(&p).to_vec())
    }
}

macro_rules! delegate_integrator {
    ($ty:ident, $bound:ident) => {
        impl<T: Scalar, F: $bound<T>> Integrator<T> for $ty<T, F> {
            fn t(&self) -> f64 {
                self.0.t
            }
            fn h(&self) -> f64 {
                self.0.h
            }
            fn weights(&self) -> &[Mat<T>] {
                self.0.chart.weights(&self.0.y)
            }
            fn stats(&self) -> FlowStats {
                self.0.stats
            }
            fn set_stop_time(&mut self, t: f64) -> Result<()> {
                if t < self.0.t {
                    return Err(FlowError::TimeOutOfRange {
                        requested: t,
                        from: self.0.t,
                        to: f64::INFINITY,
                    });
                }
                self.0.stop = Some(t);
                Ok(())
            }
            fn step(&mut self) -> Result<StepOutcome> {
                self.0.step()
            }
            fn interpolate(&self, t: f64) -> Result<Vec<Mat<T>>> {
                self.0.interpolate(t)
            }
            fn max_steps(&self) -> usize {
                self.0.opts.max_steps
            }
        }
    };
}

/// Dormand–Prince 5(4) for a general [`VectorField`] on weight tuples, with error control and
/// fourth-order dense output.
///
/// # Algorithm
/// Six evaluations per accepted step (FSAL); error norm and controller as in
/// [`FlowOptions`](crate::FlowOptions).
pub struct Dopri5<T: Scalar, F: VectorField<T>>(Engine<T, Flat<F>>);

impl<T: Scalar, F: VectorField<T>> Dopri5<T, F> {
    /// Starts at $(t_0,\mathbf W_0)$ (input layer first).
    pub fn new(field: F, t0: f64, w0: Vec<Mat<T>>, opts: FlowOptions) -> Self {
        Self(Engine::new(Flat(field), t0, w0, opts))
    }
    /// The vector field.
    pub fn field(&self) -> &F {
        &self.0.chart.0
    }
    /// Consumes the integrator and returns the current weights.
    pub fn into_weights(self) -> Vec<Mat<T>> {
        self.0.y
    }
}
delegate_integrator!(Dopri5, VectorField);

/// Runge–Kutta–Munthe-Kaas 5(4) for an [`OrbitField`]: the structure-preserving integrator of flows
/// along group orbits.
///
/// Every accepted state is $e^{\mathbf u}\cdot\mathbf W_n$, applied as
/// $W_k\mapsto e^{u_k}W_ke^{-u_{k-1}}$ with $e^{\pm u_k}$ both from [`expm()`] (a diagonal Padé
/// approximant satisfies $r(-A) = r(A)^{-1}$ exactly), so $X = \varphi(\mathbf W)$ changes only by
/// rounding in each step, whatever the tolerance.
///
/// # Algorithm
/// Dormand–Prince coefficients in the exponential chart (see the module doc); per stage $2(N-1)$
/// matrix exponentials, $2N-2$ products for the action, and one generator evaluation.
pub struct Rkmk5<T: Scalar, F: OrbitField<T>>(Engine<T, Exponential<F>>);

impl<T: Scalar, F: OrbitField<T>> Rkmk5<T, F> {
    /// Starts at $(t_0,\mathbf W_0)$.
    pub fn new(field: F, t0: f64, w0: Network<T>, opts: FlowOptions) -> Self {
        Self(Engine::new(Exponential(field), t0, w0, opts))
    }
    /// The orbit field.
    pub fn field(&self) -> &F {
        &self.0.chart.0
    }
    /// The current state as a network.
    pub fn network(&self) -> &Network<T> {
        &self.0.y
    }
    /// Consumes the integrator and returns the current network.
    pub fn into_network(self) -> Network<T> {
        self.0.y
    }
}
delegate_integrator!(Rkmk5, OrbitField);

/// Adapter: an [`OrbitField`] seen as the [`VectorField`] $\mathbf W\mapsto\mathbf w_{\mathbf a(t,\mathbf W)}$, to run
/// an orbit flow with a generic integrator (for comparison with [`Rkmk5`]).
pub struct OnOrbit<F>(pub F);

impl<T: Scalar, F: OrbitField<T>> VectorField<T> for OnOrbit<F> {
    fn eval(&mut self, t: f64, w: &[Mat<T>]) -> Result<Vec<Mat<T>>> {
        let net = Network::new(w.to_vec())?;
        let a = self.0.generator(t, &net)?;
        Ok(net.infinitesimal_action(&a))
    }
}
