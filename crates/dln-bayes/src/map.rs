//! MAP estimation and the effective regulariser on the end-to-end matrix (theory §6; the paper's
//! §4.1–4.3 read on $X$).
//!
//! The MAP point of the Gibbs target $\propto e^{-\beta(E\circ\varphi + \frac\kappa2\|\mathbf W\|^2)}$ minimises
//! $E(\varphi(\mathbf W)) + \frac\kappa2\|\mathbf W\|^2$. Minimising first over the fiber $\mathcal F_X$
//! (Theorem 1, any widths and rank) leaves a problem on $X$ alone,
//! $$\min_X\ E(X) + R(X),\qquad R(X) = \min_{\mathcal F_X}\tfrac\kappa2\|\mathbf W\|^2 = \tfrac\kappa2N\sum_i\sigma_i(X)^{2/N},$$
//! with $R = +\infty$ when $\operatorname{rank}X$ exceeds the narrowest hidden width $r_{\max}$ (then
//! the fiber is empty). $R$ is $\frac\kappa2\|X\|_F^2$ for $N=1$, the nuclear norm $\kappa\|X\|_*$ for
//! $N=2$ and a non-convex Schatten-$2/N$ quasi-norm for $N\ge3$. The minimiser on the fiber is the
//! balanced orbit, so the MAP weights are balanced.
//!
//! **Gradient.** Where $X$ has full numerical rank, $\nabla_XR = \kappa\sum_i\sigma_i^{2/N-1}u_iv_i^*$. At a
//! rank-deficient $X$ [`EffectiveRegulariser::gradient`] returns the same sum over the non-zero
//! singular values: for $N=2$ this is the minimum-norm element of the subdifferential
//! $\kappa(U_rV_r^* + \{Z: U_r^*Z = 0, ZV_r = 0, \|Z\|_2\le1\})$; for $N\ge3$ it is the minimum-norm
//! element of the (unbounded) regular subdifferential (the function grows like $\sigma^{2/N}$, faster than
//! linearly, in the rank-increasing directions); for $N=1$ it is $\kappa X$.
//!
//! **Proximal map.** By von Neumann's trace inequality
//! $\operatorname{prox}_{tR}(Y) = \operatorname{argmin}_X\frac12\|X-Y\|_F^2 + tR(X)$ shares the singular vectors
//! of $Y$, and each singular value solves the scalar problem
//! $$x(y) = \operatorname{argmin}_{x\ge0}\ \tfrac12(x-y)^2 + c\,x^p,\qquad c = \tfrac{t\kappa N}2,\ p = \tfrac2N,$$
//! whose non-zero stationary points are roots of $g(x) = x - y + cpx^{p-1}$. $g$ is convex and, to the right
//! of its minimum $x_* = (cp(1-p))^{1/(2-p)}$ ($x_* = 0$ for $p\ge1$), increasing, so its largest root is
//! found by Newton's method from $x = y$ (monotone, safeguarded by bisection on $[x_*, y]$); for $p<1$ it is
//! then compared with $x = 0$. Closed forms: $x = y/(1+t\kappa)$ for $N=1$, $x = (y-t\kappa)_+$ for $N=2$.
//! With a bottleneck $r_{\max} < \min(d_0,d_N)$ only the $r_{\max}$ largest values are kept (the gain
//! $\phi(0)-\phi(x(y))$ increases with $y$).
//!
//! **MAP estimation** ([`map_estimate`]): proximal gradient
//! $X\leftarrow\operatorname{prox}_{tR}(X - t\,E'(X))$ with backtracking on $t$ (accepted when $t$ is below the
//! inverse secant Lipschitz constant of $E'$ along the step), from a given start. For $N\ge3$ the problem is non-convex and the iteration
//! finds a stationary point near the start. The result carries the balanced weights at the estimate
//! ([`dln_algebra::BalancedOrbit::centre`]) and the stationarity residual that bounds
//! $\|\nabla_{\mathbf W}(E\circ\varphi + \frac\kappa2\|\mathbf W\|^2)\|$ there.

use crate::error::{BayesError, Result, positive};
use dln_algebra::{BalancedOrbit, Network};
use dln_flows::loss::Loss;
use dln_linalg::{Scalar, scale_cols, thin_svd};
use faer::{Mat, MatRef};

/// $R(X) = \frac\kappa2N\sum_i\sigma_i^{2/N}$ for a network of depth $N$ whose narrowest hidden width is
/// `bottleneck` (`None`: no constraint beyond the shape of $X$).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectiveRegulariser {
    depth: usize,
    kappa: f64,
    bottleneck: Option<usize>,
}

/// The threshold at or below which a singular value counts as zero, $\tau = \max(m,n)\,\varepsilon\,\sigma_1$:
/// the numerical rank of [`dln_algebra::moment::numerical_rank`], so that $R$ and the balanced
/// weights of [`dln_algebra::BalancedOrbit`] agree.
fn rank_threshold(sigma: &[f64], m: usize, n: usize) -> f64 {
    m.max(n) as f64 * f64::EPSILON * sigma.first().copied().unwrap_or(0.0)
}

impl EffectiveRegulariser {
    /// $R$ for depth $N\ge1$ and weight decay $\kappa>0$, without a rank constraint.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] for $N = 0$ or $\kappa$ not finite and positive.
    pub fn new(depth: usize, kappa: f64) -> Result<Self> {
        positive("kappa", kappa)?;
        if depth == 0 {
            return Err(BayesError::InvalidParameter {
                name: "depth",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        Ok(Self {
            depth,
            kappa,
            bottleneck: None,
        })
    }

    /// $R$ for networks of widths $d_0,\dots,d_N$: depth $N$ and the rank constraint
    /// $\operatorname{rank}X\le\min_{0<k<N}d_k$.
    ///
    /// # Errors
    /// As [`EffectiveRegulariser::new`]; [`BayesError::InvalidWidths`] for fewer than two widths or a
    /// zero width.
    pub fn for_widths(widths: &[usize], kappa: f64) -> Result<Self> {
        if widths.len() < 2 || widths.contains(&0) {
            return Err(BayesError::InvalidWidths {
                widths: widths.to_vec(),
                reason: "need d_0, ..., d_N with N >= 1, all positive",
            });
        }
        let mut r = Self::new(widths.len() - 1, kappa)?;
        let hidden = widths[1..widths.len() - 1].iter().copied().min();
        r.bottleneck = hidden.filter(|&h| h < widths[0].min(widths[widths.len() - 1]));
        Ok(r)
    }

    /// The depth $N$.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// $\kappa$.
    pub fn kappa(&self) -> f64 {
        self.kappa
    }

    /// The rank constraint $r_{\max}$, if it binds.
    pub fn bottleneck(&self) -> Option<usize> {
        self.bottleneck
    }

    /// $R$ from the singular values (non-increasing) of an $m\times n$ matrix:
    /// $\frac\kappa2N\sum_{\sigma_i>\tau}\sigma_i^{2/N}$, $+\infty$ when more than $r_{\max}$ of them exceed
    /// $\tau$. Singular values at or below the rank threshold $\tau = \max(m,n)\varepsilon\sigma_1$ count
    /// as zero: they are rounding noise of a rank-deficient $X$, and for $N\ge3$ would otherwise add
    /// $\tau^{2/N}\gg\varepsilon$ to the value (the same threshold as the numerical rank of
    /// [`dln_algebra::BalancedOrbit`]).
    pub fn value_sigma(&self, sigma: &[f64], m: usize, n: usize) -> f64 {
        let thr = rank_threshold(sigma, m, n);
        let kept = sigma.iter().filter(|&&s| s > thr);
        if let Some(r) = self.bottleneck {
            if kept.clone().count() > r {
                return f64::INFINITY;
            }
        }
        let p = 2.0 / self.depth as f64;
        0.5 * self.kappa * self.depth as f64 * kept.map(|s| s.powf(p)).sum::<f64>()
    }

    /// $R(X)$.
    ///
    /// # Errors
    /// SVD failures (e.g. non-finite $X$).
    pub fn value<T: Scalar>(&self, x: MatRef<'_, T>) -> Result<f64> {
        let s = dln_linalg::singular_values(x)?;
        Ok(self.value_sigma(&s, x.nrows(), x.ncols()))
    }

    /// $\kappa\sum_{\sigma_i>\tau}\sigma_i^{2/N-1}u_iv_i^*$: the gradient where $X$ has full numerical
    /// rank, and at rank-deficient $X$ the minimum-norm (regular) subgradient described in the module
    /// docs ($\tau$ the rank threshold $\max(m,n)\varepsilon\sigma_1$).
    ///
    /// # Errors
    /// SVD failures.
    pub fn gradient<T: Scalar>(&self, x: MatRef<'_, T>) -> Result<Mat<T>> {
        let svd = thin_svd(x)?;
        let thr = rank_threshold(&svd.s, x.nrows(), x.ncols());
        let e = 2.0 / self.depth as f64 - 1.0;
        let w: Vec<f64> = svd
            .s
            .iter()
            .map(|&s| if s > thr { self.kappa * s.powf(e) } else { 0.0 })
            .collect();
        Ok(scale_cols(svd.u.as_ref(), &w) * svd.v.adjoint())
    }

    /// The scalar proximal map $x(y) = \operatorname{argmin}_{x\ge0}\frac12(x-y)^2 + \frac{t\kappa N}2x^{2/N}$
    /// for $y\ge0$, $t>0$ (see the module docs). Non-decreasing in $y$.
    ///
    /// # Panics
    /// If $t$ is not finite and positive (a caller's error).
    #[track_caller]
    pub fn prox_scalar(&self, y: f64, t: f64) -> f64 {
        assert!(t.is_finite() && t > 0.0, "prox_scalar: t must be positive");
        prox_power(
            y,
            0.5 * t * self.kappa * self.depth as f64,
            2.0 / self.depth as f64,
        )
    }

    /// $\operatorname{prox}_{tR}(Y) = \operatorname{argmin}_X\frac12\|X-Y\|_F^2 + tR(X)$ (for $N\ge3$ a global
    /// minimiser of this non-convex problem; ties at the threshold go to the non-zero root).
    ///
    /// # Errors
    /// SVD failures; [`BayesError::InvalidParameter`] for $t$ not finite and positive.
    pub fn prox<T: Scalar>(&self, y: MatRef<'_, T>, t: f64) -> Result<Mat<T>> {
        positive("t", t)?;
        let svd = thin_svd(y)?;
        let mut x: Vec<f64> = svd.s.iter().map(|&s| self.prox_scalar(s, t)).collect();
        if let Some(r) = self.bottleneck {
            for xi in x.iter_mut().skip(r) {
                *xi = 0.0;
            }
        }
        Ok(scale_cols(svd.u.as_ref(), &x) * svd.v.adjoint())
    }
}

/// $\operatorname{argmin}_{x\ge0}\frac12(x-y)^2 + cx^p$ for $c\ge0$, $p\in(0,2]$.
fn prox_power(y: f64, c: f64, p: f64) -> f64 {
    if y.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return 0.0;
    }
    if c <= 0.0 {
        return y;
    }
    let g = |x: f64| x - y + c * p * x.powf(p - 1.0);
    let dg = |x: f64| 1.0 + c * p * (p - 1.0) * x.powf(p - 2.0);
    // Left end of the bracket: the minimum of the convex g (0 when p >= 1).
    let lo0 = if p < 1.0 {
        (c * p * (1.0 - p)).powf(1.0 / (2.0 - p))
    } else {
        0.0
    };
    if lo0 >= y {
        return 0.0;
    }
    let g_lo = if p < 1.0 {
        g(lo0)
    } else if p > 1.0 {
        -y
    } else {
        c - y
    };
    if g_lo >= 0.0 {
        return 0.0;
    }
    // Newton from the right end (g(y) = c p y^{p-1} > 0): monotone for convex increasing g;
    // bisection keeps it inside the bracket.
    let (mut lo, mut hi) = (lo0, y);
    let mut x = y;
    for _ in 0..200 {
        let gx = g(x);
        if gx > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        let mut next = x - gx / dg(x);
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        let done = (next - x).abs() <= 4.0 * f64::EPSILON * x;
        x = next;
        if done || hi - lo <= 4.0 * f64::EPSILON * hi {
            break;
        }
    }
    if p < 1.0 {
        // Compare with the stationary point x = 0: phi(x) - phi(0) = x^2/2 - xy + c x^p.
        let gain = 0.5 * x * x - x * y + c * x.powf(p);
        if gain > 0.0 {
            return 0.0;
        }
    }
    x
}

/// Options of [`map_estimate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapOptions {
    /// Iteration limit. Default 10 000.
    pub max_iter: usize,
    /// Stop when $\|X_{k+1}-X_k\|_F\le\mathrm{tol}\cdot\max(1,\|X_k\|_F)$. Default $10^{-12}$.
    pub tol: f64,
    /// The first step size $t$ (halved by backtracking). Default 1.
    pub step: f64,
}

impl Default for MapOptions {
    fn default() -> Self {
        Self {
            max_iter: 10_000,
            tol: 1e-12,
            step: 1.0,
        }
    }
}

/// The result of [`map_estimate`].
#[derive(Debug, Clone)]
pub struct MapEstimate<T: Scalar> {
    /// The estimate $X$.
    pub x: Mat<T>,
    /// $E(X) + R(X)$.
    pub objective: f64,
    /// $R(X)$.
    pub regulariser: f64,
    /// Balanced weights at $X$ (the centre of its fiber): a MAP point of the weights.
    pub network: Network<T>,
    /// $\max(\|U_r^*M\|_F, \|MV_r\|_F)$ with $M = E'(X) + \nabla R(X)$ and $U_r, V_r$ the singular vectors of
    /// the non-zero singular values: at the balanced weights,
    /// $\|\nabla_{\mathbf W}(E\circ\varphi+\frac\kappa2\|\mathbf W\|^2)\|\le\sqrt N\lambda_{\max}^{N-1}$ times this.
    pub stationarity: f64,
    /// Iterations used.
    pub iterations: usize,
    /// Whether the step criterion was met within `max_iter`.
    pub converged: bool,
    /// The last step size.
    pub step: f64,
}

/// MAP estimate of $X$: a minimiser of $E(X) + R(X)$ by proximal gradient from `x0` (see the module
/// docs), for networks of the given widths and weight decay $\kappa$.
///
/// # Errors
/// [`BayesError::InvalidParameter`] for invalid $\kappa$ or options; [`BayesError::InvalidWidths`];
/// [`BayesError::Unsupported`] when the loss or `x0` is not $d_N\times d_0$; SVD failures;
/// [`dln_flows::FlowError::Diverged`] when the objective becomes non-finite.
pub fn map_estimate<T: Scalar, L: Loss<T> + ?Sized>(
    loss: &L,
    widths: &[usize],
    kappa: f64,
    x0: MatRef<'_, T>,
    opts: &MapOptions,
) -> Result<MapEstimate<T>> {
    let reg = EffectiveRegulariser::for_widths(widths, kappa)?;
    positive("step", opts.step)?;
    positive("tol", opts.tol)?;
    let shape = (widths[widths.len() - 1], widths[0]);
    if loss.shape() != shape || x0.shape() != shape {
        return Err(BayesError::Unsupported {
            what: format!(
                "MAP estimate: the loss ({:?}) and the start ({:?}) must be d_N x d_0 = {shape:?}",
                loss.shape(),
                x0.shape()
            ),
        });
    }
    let diverged = |step: usize| {
        BayesError::Flows(dln_flows::FlowError::Diverged {
            t: 0.0,
            step,
            what: "MAP objective is not finite",
        })
    };
    // Start from the prox of x0, so that the rank constraint holds.
    let mut x = reg.prox(x0, f64::MIN_POSITIVE.sqrt())?;
    let (mut e, mut g) = loss.value_and_gradient(x.as_ref());
    let mut r = reg.value(x.as_ref())?;
    let mut t = opts.step;
    let mut converged = false;
    let mut it = 0;
    while it < opts.max_iter {
        it += 1;
        let (x_new, e_new, g_new, r_new) = loop {
            let z = &x - faer::Scale(T::from_f64(t)) * &g;
            let xn = reg.prox(z.as_ref(), t)?;
            let (en, gn) = loss.value_and_gradient(xn.as_ref());
            if !en.is_finite() {
                if t < 1e-300 {
                    return Err(diverged(it));
                }
                t *= 0.5;
                continue;
            }
            // Accept when t is below the inverse of the secant Lipschitz constant of E' along the
            // step, t * |E'(X+) - E'(X)| <= |X+ - X| (for a quadratic E this implies the descent
            // lemma E(X+) <= E(X) + <E'(X), d> + |d|^2/(2t), hence F(X+) <= F(X)); unlike the
            // function-value test it does not stall on rounding near the solution.
            let dn = (&xn - &x).norm_l2();
            let dg = (&gn - &g).norm_l2();
            if t * dg <= dn || t < 1e-300 {
                let rn = reg.value(xn.as_ref())?;
                break (xn, en, gn, rn);
            }
            t *= 0.5;
        };
        if !(e_new + r_new).is_finite() {
            return Err(diverged(it));
        }
        let dx = (&x_new - &x).norm_l2();
        let scale = x.norm_l2().max(1.0);
        x = x_new;
        e = e_new;
        r = r_new;
        g = g_new;
        if dx <= opts.tol * scale {
            converged = true;
            break;
        }
        // Let the step grow again slowly.
        t *= 1.25;
    }
    let stationarity = stationarity(&reg, x.as_ref(), g.as_ref())?;
    let network = BalancedOrbit::new(x.as_ref(), widths)?.centre();
    Ok(MapEstimate {
        objective: e + r,
        regulariser: r,
        x,
        network,
        stationarity,
        iterations: it,
        converged,
        step: t,
    })
}

/// $\max(\|U_r^*M\|_F,\|MV_r\|_F)$, $M = E'(X)+\nabla R(X)$ (see [`MapEstimate::stationarity`]).
fn stationarity<T: Scalar>(
    reg: &EffectiveRegulariser,
    x: MatRef<'_, T>,
    e_grad: MatRef<'_, T>,
) -> Result<f64> {
    let svd = thin_svd(x)?;
    let thr = rank_threshold(&svd.s, x.nrows(), x.ncols());
    let r = svd.s.iter().filter(|&&s| s > thr).count();
    let m = e_grad + reg.gradient(x)?;
    let ur = svd.u.subcols(0, r);
    let vr = svd.v.subcols(0, r);
    let left = (ur.adjoint() * &m).norm_l2();
    let right = (&m * vr).norm_l2();
    Ok(left.max(right))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: golden-section refinement around the best point of a fine grid.
    fn brute(y: f64, c: f64, p: f64) -> f64 {
        let phi = |x: f64| 0.5 * (x - y) * (x - y) + c * x.powf(p);
        let n = 20_000;
        let hi = y.max(0.0) * 1.5 + 1.0;
        let (mut best, mut bx) = (phi(0.0), 0.0);
        for i in 1..=n {
            let x = hi * i as f64 / n as f64;
            if phi(x) < best {
                best = phi(x);
                bx = x;
            }
        }
        let h = hi / n as f64;
        let (mut a, mut b) = ((bx - h).max(0.0), bx + h);
        for _ in 0..200 {
            let m1 = a + 0.382 * (b - a);
            let m2 = a + 0.618 * (b - a);
            if phi(m1) < phi(m2) {
                b = m2;
            } else {
                a = m1;
            }
        }
        let xr = 0.5 * (a + b);
        if phi(0.0) <= phi(xr) { 0.0 } else { xr }
    }

    #[test]
    fn prox_closed_forms_depth_one_and_two() {
        for &(y, t, kappa) in &[
            (2.0, 0.5, 1.0),
            (0.3, 1.0, 0.7),
            (5.0, 0.1, 3.0),
            (1e-8, 1.0, 1.0),
        ] {
            let r1 = EffectiveRegulariser::new(1, kappa).unwrap();
            let want1 = y / (1.0 + t * kappa);
            assert!((r1.prox_scalar(y, t) - want1).abs() <= 4.0 * f64::EPSILON * y);
            let r2 = EffectiveRegulariser::new(2, kappa).unwrap();
            let want2 = (y - t * kappa).max(0.0);
            assert!((r2.prox_scalar(y, t) - want2).abs() <= 4.0 * f64::EPSILON * y);
        }
    }

    #[test]
    fn prox_matches_brute_force_and_is_monotone() {
        for n in 1..=6 {
            let reg = EffectiveRegulariser::new(n, 0.8).unwrap();
            let (c, p) = (0.5 * 0.8 * n as f64, 2.0 / n as f64);
            let mut prev = 0.0;
            for i in 0..=60 {
                let y = 0.1 * i as f64;
                let x = reg.prox_scalar(y, 1.0);
                let phi = |x: f64| 0.5 * (x - y) * (x - y) + c * x.powf(p);
                let b = brute(y, c, p);
                assert!(
                    phi(x) <= phi(b) + 1e-12 * (1.0 + y * y),
                    "N={n} y={y}: prox {x} (phi {}) worse than brute force {b} (phi {})",
                    phi(x),
                    phi(b)
                );
                assert!(x >= prev - 1e-14, "N={n}: not monotone at y={y}");
                if x > 0.0 {
                    // Stationarity of the non-zero root.
                    let g = x - y + c * p * x.powf(p - 1.0);
                    assert!(g.abs() <= 1e-12 * (1.0 + y), "N={n} y={y}: g = {g}");
                }
                prev = x;
            }
        }
    }

    #[test]
    fn value_gradient_and_prox_on_matrices() {
        use dln_linalg::c64;
        use dln_linalg::random::{gaussian, rng};
        let mut g = rng(11);
        for n in 1..=4 {
            let reg = EffectiveRegulariser::new(n, 0.6).unwrap();
            let x: Mat<c64> = gaussian(&mut g, 3, 4);
            // Gradient against a central difference of the value.
            let v: Mat<c64> = gaussian(&mut g, 3, 4);
            let h = 1e-5;
            let f = |s: f64| {
                reg.value((&x + faer::Scale(c64::new(s, 0.0)) * &v).as_ref())
                    .unwrap()
            };
            let fd = (f(h) - f(-h)) / (2.0 * h);
            let an = dln_linalg::re_inner(reg.gradient(x.as_ref()).unwrap().as_ref(), v.as_ref());
            assert!(
                (fd - an).abs() <= 1e-7 * (1.0 + an.abs()),
                "N={n}: {fd} vs {an}"
            );
            // The prox minimises 1/2|X - Y|^2 + t R(X) better than nearby points.
            let t = 0.7;
            let p = reg.prox(x.as_ref(), t).unwrap();
            let obj = |z: &Mat<c64>| {
                0.5 * (z - &x).norm_l2().powi(2) + t * reg.value(z.as_ref()).unwrap()
            };
            let base = obj(&p);
            for _ in 0..20 {
                let d: Mat<c64> = gaussian(&mut g, 3, 4);
                let z = &p + faer::Scale(c64::new(1e-3, 0.0)) * &d;
                assert!(
                    obj(&z) >= base - 1e-12,
                    "N={n}: prox is not a local minimiser"
                );
            }
        }
    }

    #[test]
    fn bottleneck_caps_the_rank() {
        use dln_linalg::random::{gaussian, rng};
        let reg = EffectiveRegulariser::for_widths(&[4, 2, 4], 0.1).unwrap();
        assert_eq!(reg.bottleneck(), Some(2));
        let mut g = rng(3);
        let y: Mat<f64> = gaussian(&mut g, 4, 4);
        let p = reg.prox(y.as_ref(), 1.0).unwrap();
        let s = dln_linalg::singular_values(p.as_ref()).unwrap();
        assert!(s[2] <= 1e-12 * s[0], "{s:?}");
        assert!(reg.value(y.as_ref()).unwrap().is_infinite());
        assert!(reg.value(p.as_ref()).unwrap().is_finite());
    }

    #[test]
    fn frobenius_map_is_the_prox_of_the_target() {
        use dln_flows::loss::Frobenius;
        use dln_linalg::random::{gaussian, rng};
        let mut g = rng(5);
        for n in 1..=4 {
            let widths = vec![3; n + 1];
            let y: Mat<f64> = faer::Scale(2.0) * gaussian::<f64, _>(&mut g, 3, 3);
            let kappa = 0.4;
            let est = map_estimate(
                &Frobenius::new(y.clone()),
                &widths,
                kappa,
                y.as_ref(),
                &MapOptions::default(),
            )
            .unwrap();
            assert!(est.converged, "N={n}");
            let reg = EffectiveRegulariser::new(n, kappa).unwrap();
            let want = reg.prox(y.as_ref(), 1.0).unwrap();
            let err = (&est.x - &want).norm_l2() / want.norm_l2();
            assert!(err <= 1e-9, "N={n}: {err}");
            assert!(est.network.moment_norm() <= 1e-10 * est.network.l2_norm_sq());
        }
    }
}
