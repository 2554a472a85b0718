//! System norms:
//! $$\\|G\\|_{\mathcal H_\infty} = \sup_{\omega}\bar\sigma\big(G(i\omega)\big),\qquad
//! \\|G\\|_{\mathcal H_2}^2 = \operatorname{tr}(CPC^\top) = \\|CS\\|_F^2\quad(P = SS^\top,\ D = 0),$$
//! and the Hankel norm $\\|G\\|_H = \sigma_1$.
//!
//! # $\mathcal H_\infty$ / $\mathcal L_\infty$: level sets of the Hamiltonian
//! For $\gamma > \bar\sigma(D)$, $\gamma$ is a singular value of $G(i\omega)$ iff $i\omega$ is an
//! eigenvalue of the Hamiltonian matrix (with $R = D^\top D-\gamma^2I$, $S = DD^\top-\gamma^2 I$)
//! $$H(\gamma) = \begin{pmatrix} A - BR^{-1}D^\top C & -\gamma BR^{-1}B^\top\\\\
//! \gamma C^\top S^{-1}C & -A^\top + C^\top DR^{-1}B^\top\end{pmatrix}.$$
//! The Boyd–Balakrishnan / Bruinsma–Steinbuch iteration keeps a certified lower bound
//! $\gamma_{lb}$ (a value actually attained, $\bar\sigma(G(i\omega))$ at some $\omega$) and tests
//! $\gamma = (1+2\\,\mathrm{rtol})\gamma_{lb}$: if $H(\gamma)$ has no imaginary eigenvalue, $\gamma$ is
//! an upper bound and the iteration stops; otherwise the imaginary eigenvalues bracket the
//! intervals where $\bar\sigma > \gamma$ and $\gamma_{lb}$ is raised to the maximum over their
//! midpoints, then to a local maximum by golden-section search in the bracketing interval (so the
//! next level usually lies just above the peak and the iteration ends). Convergence is quadratic.
//! Rounding moves crossing eigenvalues off the axis, most of all where two crossings nearly
//! coincide (a narrow peak, or a peak close to $\omega = 0$ where $\pm i\omega_1,\pm i\omega_2$
//! cluster): candidates are therefore taken generously ($|\mathrm{Re}\,\lambda|\le
//! 10^{-6}|\lambda| + 10^{-8}\\|H\\|$, tested at both $|\mathrm{Im}\,\lambda|$ and $|\lambda|$,
//! with $\omega = 0$), and when no candidate raises $\gamma_{lb}$ the intervals between
//! consecutive candidates are searched before $\gamma$ is accepted as the upper bound: the 16
//! with the largest sampled $\bar\sigma$ (ends and midpoint), since for a level that is tiny
//! against $\\|B\\|\\|C\\|$ (the error of a good reduction, where $G$ and $G_r$ nearly cancel)
//! $\\|H\\|\sim\\|B\\|\\|C\\|/\gamma$ and every eigenvalue passes the generous test. The bounds
//! are certified up to the rounding of evaluating $G$ itself, an absolute error of order
//! $n\varepsilon\\|G\\|_\infty$ times the conditioning of the realization. The initial $\gamma_{lb}$ is the largest $\bar\sigma(G)$ over
//! $\omega\in\{0,\infty\}$, the pole frequencies $|\lambda|$ and $\operatorname{Im}\lambda$, a
//! log-spaced grid spanning the pole magnitudes and (discrete time) the pole angles and a uniform
//! grid on the unit circle. Levels closer to $\bar\sigma(D)$ than a relative margin
//! $\max(2\,\mathrm{rtol}, 10^{-6})$ are never tested: there $R$ or $S$ is nearly singular,
//! $\\|H(\gamma)\\|\sim(\gamma-\bar\sigma(D))^{-1}$, and rounding can push imaginary
//! eigenvalues off the axis, so a crossing would be missed; $R^{-1}$, $S^{-1}$ are formed from the
//! SVD of $D$. If the peak lies within that margin of $\bar\sigma(D)$, `upper` is
//! $(1+\max(2\,\mathrm{rtol},10^{-6}))\bar\sigma(D)$. Discrete-time models are mapped by the bilinear transform
//! $z = (1+s)/(1-s)$ ([`StateSpace::bilinear_to_continuous`]), which maps the unit circle onto the
//! imaginary axis and preserves the norm; the peak frequency is mapped back by
//! $\theta = 2\arctan\omega$.
//!
//! # Cost
//! Each level test is one real eigenvalue problem of order $2n$ (no eigenvectors); each
//! frequency evaluation is $O(n^2m)$ after one Hessenberg reduction, and for a state matrix
//! already in real Schur form (the error model of a reduction,
//! [`crate::reduction::Reduction::hinf_error`]) a block back substitution on split real and
//! imaginary parts that skips the zero blocks and allocates nothing, with
//! $\bar\sigma$ of the $p\times m$ response in closed form for $\min(m,p)\le2$. The initial
//! lower bound is refined around the four largest local maxima of the test grid, so that the
//! first level usually lies above the peak. When the caller knows the rounding level $\delta$ of
//! the evaluations ([`HinfOptions::abs_tol`]), rises of the attained peak below it are not
//! taken for new peaks: otherwise, for a tiny $\\|G\\|_\infty$ computed as a difference of large
//! transfer functions, each round of candidate sampling finds a rounding-noise "rise" and starts
//! another eigenvalue problem. [`linf_norm_profiled`] reports the level tests, their eigenvalue
//! time, the candidate counts and the evaluations ([`HinfProfile`]).
//!
//! # References
//! - S. Boyd, V. Balakrishnan, *A regularity result for the singular values of a transfer matrix
//!   and a quadratically convergent algorithm for computing its $L_\infty$-norm*, Systems &
//!   Control Letters 15 (1990).
//! - N. A. Bruinsma, M. Steinbuch, *A fast algorithm to compute the $H_\infty$-norm of a transfer
//!   function matrix*, Systems & Control Letters 14 (1990).

use crate::model::{
    FrequencyEvaluator, Sampling, ShiftedBlock2, StateSpace, eigenvalues,
    quasi_triangular_eigenvalues, require_stable_eigs, shifted_pivot, solve,
};
use crate::{Result, SystemsError};
use faer::{Mat, c64};

/// A norm value certified to lie in `[lower, upper]`, attained (to within `lower`) at `frequency`.
///
/// The field docs describe [`linf_norm`] (and [`hinf_norm`]). The certified error of a reduction
/// ([`crate::reduction::Reduction::hinf_error`]) fills it the same way on its full route; on its
/// balanced-tail route the bracket is widened by the tail bound $\tau_k$ and `value` is attained
/// by the error system $G_k - G_{s,r}$, i.e. within $\tau_k$ of a value of the true error
/// (see there).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormEstimate {
    /// The reported value, `lower` (a value actually attained by $\bar\sigma(G)$ at `frequency`).
    pub value: f64,
    /// Certified lower bound.
    pub lower: f64,
    /// Certified upper bound (up to the eigenvalue test's rounding),
    /// `upper <= max((1+2 rtol) lower, (1+max(2 rtol, 1e-6)) sigma_max(D))`: levels closer to
    /// $\bar\sigma(D)$ than the relative margin $10^{-6}$ are not tested (see the module docs).
    pub upper: f64,
    /// Angular frequency (rad/s; for DT $\omega\in[0,\pi/h]$) where `lower` is attained;
    /// `f64::INFINITY` for the feedthrough limit of a CT model.
    pub frequency: f64,
    /// Number of Hamiltonian eigenvalue problems solved.
    pub iterations: usize,
}

/// Options of the $\mathcal H_\infty$ level-set iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HinfOptions {
    /// Relative gap between certified lower and upper bounds (default $10^{-9}$).
    pub rtol: f64,
    /// Maximal number of Hamiltonian eigenvalue problems (default 60).
    pub max_iterations: usize,
    /// Absolute tolerance $\delta\ge0$ (default 0): the rounding level of evaluating
    /// $\bar\sigma(G(i\omega))$, when the caller knows it. A rise of the attained peak
    /// $\gamma_{lb}$ by no more than $\mathrm{rtol}\,\gamma_{lb} + \delta$ during a level test is
    /// taken for rounding noise: it does not start another level test, and `upper` becomes
    /// $(1+2\,\mathrm{rtol})$ times the raised peak (so `upper - lower` stays
    /// $\le 2\,\mathrm{rtol}\cdot$`lower`). Without it, when $G$ is a small difference of large
    /// transfer functions (a reduction error), each round of candidate sampling finds a noise
    /// "rise" and starts another Hamiltonian eigenvalue problem. A true peak missed this way lies
    /// within $\delta$ of `lower`, the accuracy the evaluations allow anyway.
    pub abs_tol: f64,
}

impl Default for HinfOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-9,
            max_iterations: 60,
            abs_tol: 0.0,
        }
    }
}

/// $\\|G\\|_{\mathcal H_\infty}$ of a stable model, with default options.
///
/// # Errors
/// [`SystemsError::Unstable`] if $A$ is not stable; see [`linf_norm`].
pub fn hinf_norm(sys: &StateSpace) -> Result<NormEstimate> {
    hinf_norm_with(sys, HinfOptions::default())
}

/// $\\|G\\|_{\mathcal H_\infty}$ of a stable model.
///
/// # Errors
/// [`SystemsError::Unstable`] if $A$ is not stable; see [`linf_norm`].
///
/// # Algorithm
/// See the [module documentation](self): each iteration is one real nonsymmetric eigenvalue
/// problem of size $2n$, about $10(2n)^3$ flops; typically 2–6 iterations.
pub fn hinf_norm_with(sys: &StateSpace, opts: HinfOptions) -> Result<NormEstimate> {
    require_stable_eigs(&sys.poles()?, sys.sampling())?;
    linf_norm(sys, opts)
}

/// $\\|G\\|_{\mathcal L_\infty} = \sup_\omega \bar\sigma(G(i\omega))$ (or over the unit circle), for
/// any model without poles on the stability boundary (no stability required). For a stable model
/// this is the $\mathcal H_\infty$ norm.
///
/// # Errors
/// [`SystemsError::InvalidArgument`] for a non-positive `rtol`;
/// [`dln_linalg::LinalgError::Singular`] if a pole lies on the boundary (or, DT, at $z=-1$);
/// [`SystemsError::NoConvergence`] if the iteration or an eigenvalue problem fails.
pub fn linf_norm(sys: &StateSpace, opts: HinfOptions) -> Result<NormEstimate> {
    linf_norm_profiled(sys, opts).map(|(est, _)| est)
}

/// What one run of the level-set iteration did and where its time went (for measurements;
/// [`linf_norm_profiled`]). Times are wall-clock seconds of the calling thread.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HinfProfile {
    /// Order $2n$ of the Hamiltonian matrices (of the continuous-time image for a DT model).
    pub hamiltonian_order: usize,
    /// `true` when the frequency evaluations took the quasi-triangular fast path (a state matrix
    /// in real Schur form), `false` for the Hessenberg [`FrequencyEvaluator`].
    pub fast_evaluations: bool,
    /// Per level test: the time to form $H(\gamma)$ and compute its eigenvalues.
    pub eigen_seconds: Vec<f64>,
    /// Per level test: the number of candidate crossings (eigenvalues passing the test near the
    /// imaginary axis, before the frequencies $|\mathrm{Im}\,\lambda|$ and $|\lambda|$ are merged).
    pub candidates: Vec<usize>,
    /// Evaluations of $\bar\sigma(G(i\omega))$ before the first level test (the initial lower bound).
    pub initial_evaluations: usize,
    /// All evaluations of $\bar\sigma(G(i\omega))$.
    pub evaluations: usize,
    /// Time spent in those evaluations.
    pub evaluation_seconds: f64,
    /// The whole run.
    pub total_seconds: f64,
}

/// [`linf_norm`] and its [`HinfProfile`].
///
/// # Errors
/// As [`linf_norm`].
pub fn linf_norm_profiled(
    sys: &StateSpace,
    opts: HinfOptions,
) -> Result<(NormEstimate, HinfProfile)> {
    let mut prof = HinfProfile::default();
    let est = linf_norm_into(sys, opts, &mut prof)?;
    Ok((est, prof))
}

fn linf_norm_into(
    sys: &StateSpace,
    opts: HinfOptions,
    prof: &mut HinfProfile,
) -> Result<NormEstimate> {
    if !(opts.rtol > 0.0 && opts.rtol < 1.0) {
        return Err(SystemsError::InvalidArgument(format!(
            "rtol must lie in (0, 1), got {}",
            opts.rtol
        )));
    }
    if !(opts.abs_tol >= 0.0 && opts.abs_tol.is_finite()) {
        return Err(SystemsError::InvalidArgument(format!(
            "abs_tol must be finite and non-negative, got {}",
            opts.abs_tol
        )));
    }
    match sys.sampling() {
        Sampling::Continuous => linf_ct(sys, opts, &[], prof),
        Sampling::Discrete { dt } => {
            let ct = sys.bilinear_to_continuous()?;
            // Extra test frequencies for the initial lower bound, mapped by omega = tan(theta/2):
            // the pole angles of the DT model and a uniform grid of angles in (0, pi).
            const NTHETA: usize = 32;
            let mut extra: Vec<f64> = sys
                .poles()?
                .iter()
                .map(|l| l.im.atan2(l.re).abs())
                .filter(|t| *t > 0.0 && *t < std::f64::consts::PI)
                .collect();
            extra.extend((1..NTHETA).map(|k| std::f64::consts::PI * k as f64 / NTHETA as f64));
            let extra: Vec<f64> = extra.iter().map(|t| (0.5 * t).tan()).collect();
            let mut est = linf_ct(&ct, opts, &extra, prof)?;
            est.frequency = if est.frequency.is_infinite() {
                std::f64::consts::PI / dt
            } else {
                2.0 * est.frequency.atan() / dt
            };
            Ok(est)
        }
    }
}

/// Relative margin above $\bar\sigma(D)$ below which the level $\gamma$ is never tested: for
/// $\gamma\to\bar\sigma(D)$ the matrices $R$, $S$ become singular, $H(\gamma)$ has entries of size
/// $\sim 1/(\gamma-\bar\sigma(D))$, and rounding of order $\varepsilon\\|H\\|^2$ can move a pair of
/// imaginary eigenvalues $\pm i\omega$ onto the real axis (the crossing is then missed).
const FEEDTHROUGH_MARGIN: f64 = 1e-6;

/// $X^{-1}$ for $X = MM^\top - \gamma^2 I$ ($M = U\Sigma V^\top$ thin, `u` the relevant factor),
/// $X^{-1} = U\operatorname{diag}\big(1/((\sigma_i-\gamma)(\sigma_i+\gamma))\big)U^\top
/// - \gamma^{-2}(I-UU^\top)$, with the small differences formed without cancellation.
fn shifted_gram_inverse(u: &Mat<f64>, sv: &[f64], gamma: f64) -> Mat<f64> {
    let k = u.nrows();
    let mut x = Mat::<f64>::identity(k, k) * (-1.0 / (gamma * gamma));
    for (j, &sj) in sv.iter().enumerate() {
        let w = 1.0 / ((sj - gamma) * (sj + gamma)) + 1.0 / (gamma * gamma);
        for c in 0..k {
            let ucj = u[(c, j)] * w;
            for r in 0..k {
                x[(r, c)] += u[(r, j)] * ucj;
            }
        }
    }
    x
}

/// $\bar\sigma(G(i\omega))$ for a model whose state matrix $T$ is quasi-upper triangular (a real
/// Schur form; in particular the block-diagonal error model $\operatorname{diag}(T_s, T_r)$ of a
/// reduction): each point is one block back substitution $(i\omega I - T)X = \tilde B$,
/// $\approx 2n^2m$ real multiply-adds, on split real/imaginary parts (the inner loops are plain
/// axpys over contiguous columns of $T$, starting at each column's first non-zero row, so the zero
/// off-diagonal block of a block-diagonal $T$ costs nothing), then $\tilde CX + D$ and the largest
/// singular value of that $p\times m$ matrix (closed form for $\min(m,p)\le2$). No allocation per
/// point.
struct QuasiTriangularSigma {
    t: Mat<f64>,
    /// First row with a non-zero entry of each column of `t` (at most the column's index).
    top: Vec<usize>,
    /// $\tilde B$, column-major.
    b: Vec<f64>,
    /// $\tilde C$, row-major (row $i$ contiguous).
    c: Vec<f64>,
    d: Mat<f64>,
    scale: f64,
    /// Workspace: real and imaginary parts of $X$ ([`BATCH`] blocks of $n\times m$, column-major)
    /// and $G$.
    work: std::cell::RefCell<(Vec<f64>, Vec<f64>, Vec<c64>)>,
}

impl QuasiTriangularSigma {
    /// `None` if the state matrix is not quasi-upper triangular.
    fn new(sys: &StateSpace) -> Option<Self> {
        let t = sys.a();
        if !crate::model::is_quasi_triangular(t) {
            return None;
        }
        let (n, m, p) = (sys.order(), sys.inputs(), sys.outputs());
        let top = (0..n)
            .map(|j| (0..j).find(|&i| t[(i, j)] != 0.0).unwrap_or(j))
            .collect();
        let b = (0..m)
            .flat_map(|j| (0..n).map(move |i| (i, j)))
            .map(|(i, j)| sys.b()[(i, j)])
            .collect();
        let c = (0..p)
            .flat_map(|i| (0..n).map(move |k| (i, k)))
            .map(|(i, k)| sys.c()[(i, k)])
            .collect();
        Some(Self {
            t: t.to_owned(),
            top,
            b,
            c,
            d: sys.d().to_owned(),
            scale: t.norm_l2().max(f64::MIN_POSITIVE),
            work: std::cell::RefCell::new((
                vec![0.0; BATCH * n * m],
                vec![0.0; BATCH * n * m],
                vec![c64::new(0.0, 0.0); p * m],
            )),
        })
    }

    /// $\bar\sigma(G(s))$ at $s = i\omega$.
    fn sigma_max(&self, omega: f64) -> Result<f64> {
        let mut out = [Ok(0.0)];
        self.sigma_max_batch(&[omega], &mut out);
        let [v] = out;
        v
    }

    /// $\bar\sigma(G(i\omega_f))$ for up to [`BATCH`] frequencies at once: one pass over the
    /// columns of $T$ serves all of them (each column is read from memory once and reused from
    /// the first-level cache), which matters once $T$ no longer fits the second-level cache.
    fn sigma_max_batch(&self, omegas: &[f64], out: &mut [Result<f64>]) {
        let t = &self.t;
        let n = t.nrows();
        let m = self.d.ncols();
        let p = self.d.nrows();
        let nb = omegas.len();
        assert!(nb <= BATCH && out.len() == nb);
        let cols = nb * m;
        let mut guard = self.work.borrow_mut();
        let (xr, xi, g) = &mut *guard;
        for f in 0..nb {
            for j in 0..m {
                xr[(f * m + j) * n..(f * m + j + 1) * n]
                    .copy_from_slice(&self.b[j * n..(j + 1) * n]);
            }
        }
        xi[..cols * n].iter_mut().for_each(|x| *x = 0.0);
        // Singular points (poles): the relative pivot size, reported as an error at the end.
        let mut failed: [Option<f64>; BATCH] = [None; BATCH];
        // x_i += t_ik v_c for rows top..end of column k, all columns c = (frequency, input).
        let axpy =
            |xr: &mut [f64], xi: &mut [f64], k: usize, end: usize, vr: &[f64], vi: &[f64]| {
                let lo = self.top[k].min(end);
                let col = &t.col_as_slice(k)[lo..end];
                for c in 0..cols {
                    let (ar, ai) = (vr[c], vi[c]);
                    let r = &mut xr[c * n + lo..c * n + end];
                    for (x, &tv) in r.iter_mut().zip(col) {
                        *x += ar * tv;
                    }
                    let r = &mut xi[c * n + lo..c * n + end];
                    for (x, &tv) in r.iter_mut().zip(col) {
                        *x += ai * tv;
                    }
                }
            };
        let mut vr = [0.0f64; 2 * MAX_FAST_INPUTS * BATCH];
        let mut vi = [0.0f64; 2 * MAX_FAST_INPUTS * BATCH];
        let mut k = n;
        while k > 0 {
            if k >= 2 && t[(k - 1, k - 2)] != 0.0 {
                // 2x2 block (k-2, k-1): (sI - T_kk) x_k = rhs_k.
                let (i0, i1) = (k - 2, k - 1);
                for (f, &omega) in omegas.iter().enumerate() {
                    let s = c64::new(0.0, omega);
                    let tiny = f64::EPSILON * (self.scale + omega.abs());
                    let blk = ShiftedBlock2::new(t.as_ref(), i0, s, tiny);
                    if let Err(r) = blk {
                        failed[f].get_or_insert(r);
                    }
                    for j in 0..m {
                        let c = f * m + j;
                        let r0 = c64::new(xr[c * n + i0], xi[c * n + i0]);
                        let r1 = c64::new(xr[c * n + i1], xi[c * n + i1]);
                        let (x0, x1) = match &blk {
                            Ok(blk) => blk.solve(r0, r1),
                            Err(_) => (c64::new(0.0, 0.0), c64::new(0.0, 0.0)),
                        };
                        (xr[c * n + i0], xi[c * n + i0]) = (x0.re, x0.im);
                        (xr[c * n + i1], xi[c * n + i1]) = (x1.re, x1.im);
                        (vr[c], vi[c], vr[cols + c], vi[cols + c]) = (x0.re, x0.im, x1.re, x1.im);
                    }
                }
                axpy(xr, xi, i0, i0, &vr[..cols], &vi[..cols]);
                axpy(xr, xi, i1, i0, &vr[cols..2 * cols], &vi[cols..2 * cols]);
                k -= 2;
            } else {
                let i0 = k - 1;
                for (f, &omega) in omegas.iter().enumerate() {
                    let tiny = f64::EPSILON * (self.scale + omega.abs());
                    let piv = shifted_pivot(t.as_ref(), i0, c64::new(0.0, omega), tiny);
                    if let Err(r) = piv {
                        failed[f].get_or_insert(r);
                    }
                    for j in 0..m {
                        let c = f * m + j;
                        let x0 = match piv {
                            Ok(piv) => c64::new(xr[c * n + i0], xi[c * n + i0]) / piv,
                            Err(_) => c64::new(0.0, 0.0),
                        };
                        (xr[c * n + i0], xi[c * n + i0]) = (x0.re, x0.im);
                        (vr[c], vi[c]) = (x0.re, x0.im);
                    }
                }
                axpy(xr, xi, i0, i0, &vr[..cols], &vi[..cols]);
                k -= 1;
            }
        }
        for (f, o) in out.iter_mut().enumerate() {
            if let Some(r) = failed[f] {
                *o = Err(dln_linalg::LinalgError::Singular {
                    rcond: r / (self.scale + omegas[f].abs()),
                }
                .into());
                continue;
            }
            // G = C~ X + D
            for i in 0..p {
                let crow = &self.c[i * n..(i + 1) * n];
                for j in 0..m {
                    let c = f * m + j;
                    let (mut re, mut im) = (self.d[(i, j)], 0.0);
                    for ((&cv, &a), &b) in crow
                        .iter()
                        .zip(&xr[c * n..(c + 1) * n])
                        .zip(&xi[c * n..(c + 1) * n])
                    {
                        re += cv * a;
                        im += cv * b;
                    }
                    g[i * m + j] = c64::new(re, im);
                }
            }
            *o = sigma_max_small(g, p, m);
        }
    }
}

/// Frequencies evaluated together by [`QuasiTriangularSigma`].
const BATCH: usize = 4;

/// Right-hand sides handled by the fast path's stack buffers ([`QuasiTriangularSigma`]).
const MAX_FAST_INPUTS: usize = 16;

/// $\bar\sigma$ of the $p\times m$ complex matrix `g` (row-major): closed form from the $2\times2$
/// (or $1\times1$) Gram matrix of the smaller side, scaled by the largest entry (no under- or
/// overflow), else an SVD.
fn sigma_max_small(g: &[c64], p: usize, m: usize) -> Result<f64> {
    let amax = g
        .iter()
        .fold(0.0f64, |a, z| a.max(z.re.abs()).max(z.im.abs()));
    if amax == 0.0 || !amax.is_finite() {
        return if amax.is_finite() {
            Ok(0.0)
        } else {
            Err(dln_linalg::LinalgError::NonFinite { row: 0, col: 0 }.into())
        };
    }
    let k = p.min(m);
    if k <= 2 {
        // Gram entries w_ab = sum over the longer side of conj(g_a) g_b (scaled).
        let entry = |a: usize, l: usize| -> c64 {
            let z = if m <= p { g[l * m + a] } else { g[a * m + l] };
            z / amax
        };
        let len = p.max(m);
        let (mut w00, mut w11, mut w01) = (0.0f64, 0.0f64, c64::new(0.0, 0.0));
        for l in 0..len {
            let z0 = entry(0, l);
            w00 += z0.norm_sqr();
            if k == 2 {
                let z1 = entry(1, l);
                w11 += z1.norm_sqr();
                w01 += z0.conj() * z1;
            }
        }
        let lmax = if k == 1 {
            w00
        } else {
            0.5 * (w00 + w11) + (0.5 * (w00 - w11)).hypot(w01.norm())
        };
        return Ok(amax * lmax.sqrt());
    }
    let gm = Mat::<c64>::from_fn(p, m, |i, j| g[i * m + j]);
    Ok(dln_linalg::singular_values(gm.as_ref())?
        .first()
        .copied()
        .unwrap_or(0.0))
}

/// The frequency evaluations of the level-set iteration: the quasi-triangular fast path when the
/// state matrix allows it, else the Hessenberg [`FrequencyEvaluator`]; counts the evaluations.
struct SigmaEvaluator {
    fast: Option<QuasiTriangularSigma>,
    general: Option<FrequencyEvaluator>,
    count: std::cell::Cell<usize>,
    seconds: std::cell::Cell<f64>,
}

impl SigmaEvaluator {
    fn new(sys: &StateSpace) -> Result<Self> {
        let fast = if sys.inputs() <= MAX_FAST_INPUTS && sys.sampling() == Sampling::Continuous {
            QuasiTriangularSigma::new(sys)
        } else {
            None
        };
        let general = if fast.is_none() {
            Some(FrequencyEvaluator::new(sys)?)
        } else {
            None
        };
        Ok(Self {
            fast,
            general,
            count: std::cell::Cell::new(0),
            seconds: std::cell::Cell::new(0.0),
        })
    }

    fn sigma_max(&self, omega: f64) -> Result<f64> {
        self.count.set(self.count.get() + 1);
        let start = std::time::Instant::now();
        let out = match (&self.fast, &self.general) {
            (Some(f), _) => f.sigma_max(omega),
            (None, Some(g)) => g.sigma_max(omega),
            (None, None) => unreachable!("SigmaEvaluator has one of its two paths"),
        };
        self.seconds
            .set(self.seconds.get() + start.elapsed().as_secs_f64());
        out
    }

    /// $\bar\sigma(G(i\omega))$ at each of `omegas` ($-\infty$ at a pole), batched on the fast
    /// path.
    fn sigma_many(&self, omegas: &[f64]) -> Vec<f64> {
        self.count.set(self.count.get() + omegas.len());
        let start = std::time::Instant::now();
        let out = match (&self.fast, &self.general) {
            (Some(f), _) => {
                let mut out = Vec::with_capacity(omegas.len());
                let mut res: [Result<f64>; BATCH] = std::array::from_fn(|_| Ok(0.0));
                for chunk in omegas.chunks(BATCH) {
                    let res = &mut res[..chunk.len()];
                    f.sigma_max_batch(chunk, res);
                    out.extend(
                        res.iter()
                            .map(|r| *r.as_ref().unwrap_or(&f64::NEG_INFINITY)),
                    );
                }
                out
            }
            (None, Some(g)) => omegas
                .iter()
                .map(|&w| g.sigma_max(w).unwrap_or(f64::NEG_INFINITY))
                .collect(),
            (None, None) => unreachable!("SigmaEvaluator has one of its two paths"),
        };
        self.seconds
            .set(self.seconds.get() + start.elapsed().as_secs_f64());
        out
    }
}

/// Best attained value of $\bar\sigma(G)$ found so far, and where.
#[derive(Debug, Clone, Copy)]
struct Peak {
    value: f64,
    omega: f64,
}

impl Peak {
    fn offer(&mut self, value: f64, omega: f64) -> bool {
        if value > self.value {
            self.value = value;
            self.omega = omega;
            true
        } else {
            false
        }
    }
}

/// Intervals between candidate crossings searched by golden section, most promising first,
/// when no candidate raised the peak (see [`linf_ct`]).
const MAX_SEARCHED_INTERVALS: usize = 16;

/// Local maxima of the initial frequency grid refined by golden section (see [`linf_ct`]).
const INITIAL_REFINEMENTS: usize = 4;

/// Number of golden-section steps of a local refinement (bracket shrinks by $0.618^{k}$).
const REFINE_STEPS: usize = 30;

/// Local maximization of $\bar\sigma(G(i\omega))$ over $[lo, hi]$ by golden-section search (on
/// $\log\omega$ when $lo > 0$): every evaluated value is attained, so `peak` only improves.
fn refine(ev: &SigmaEvaluator, lo: f64, hi: f64, peak: &mut Peak) {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return;
    }
    let logs = lo > 0.0;
    let (to, from) = (
        |x: f64, l: bool| if l { x.exp() } else { x },
        |w: f64, l: bool| if l { w.ln() } else { w },
    );
    let (mut a, mut b) = (from(lo, logs), from(hi, logs));
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let f = |x: f64, peak: &mut Peak| -> f64 {
        let w = to(x, logs);
        match ev.sigma_max(w) {
            Ok(v) => {
                peak.offer(v, w);
                v
            }
            Err(_) => f64::NEG_INFINITY,
        }
    };
    let mut x1 = b - g * (b - a);
    let mut x2 = a + g * (b - a);
    let (mut f1, mut f2) = (f(x1, peak), f(x2, peak));
    for _ in 0..REFINE_STEPS {
        if f1 >= f2 {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = f(x1, peak);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = f(x2, peak);
        }
    }
}

/// The neighbours of `w` in the sorted list `ws` (a bracket for a local refinement).
fn bracket(ws: &[f64], w: f64) -> (f64, f64) {
    let i = ws.partition_point(|x| *x < w);
    let lo = if i > 0 { ws[i - 1] } else { 0.0 };
    let hi = ws
        .iter()
        .skip(i)
        .copied()
        .find(|x| *x > w)
        .unwrap_or(2.0 * w.max(1.0));
    (lo, hi)
}

fn linf_ct(
    sys: &StateSpace,
    opts: HinfOptions,
    extra: &[f64],
    prof: &mut HinfProfile,
) -> Result<NormEstimate> {
    let start = std::time::Instant::now();
    let est = linf_ct_inner(sys, opts, extra, prof);
    prof.total_seconds = start.elapsed().as_secs_f64();
    est
}

fn linf_ct_inner(
    sys: &StateSpace,
    opts: HinfOptions,
    extra: &[f64],
    prof: &mut HinfProfile,
) -> Result<NormEstimate> {
    let (n, m, p) = (sys.order(), sys.inputs(), sys.outputs());
    let d = sys.d().to_owned();
    let dsvd = dln_linalg::thin_svd(d.as_ref())?;
    let sd = dsvd.s.first().copied().unwrap_or(0.0);
    if n == 0 {
        return Ok(NormEstimate {
            value: sd,
            lower: sd,
            upper: sd,
            frequency: f64::INFINITY,
            iterations: 0,
        });
    }
    let ev = SigmaEvaluator::new(sys)?;
    prof.fast_evaluations = ev.fast.is_some();
    prof.hamiltonian_order = 2 * n;
    // A quasi-triangular A (a Schur form, e.g. the error model of a reduction) gives its poles
    // for free.
    let poles = match quasi_triangular_eigenvalues(sys.a()) {
        Some(p) => p,
        None => eigenvalues(sys.a())?,
    };
    // Poles on the imaginary axis make the norm infinite.
    let anorm = sys.a().norm_l2();
    for l in &poles {
        if l.re.abs() <= 1e-12 * anorm.max(l.norm()).max(f64::MIN_POSITIVE) {
            return Err(dln_linalg::LinalgError::Singular { rcond: l.re.abs() }.into());
        }
    }
    // Initial lower bound (Bruinsma-Steinbuch): omega = infinity (D) and omega = 0 explicitly,
    // the pole frequencies |lambda| (most lightly damped first) and Im(lambda), the caller's extra
    // frequencies (DT: the pole angles and a uniform grid on the unit circle), and a log-spaced
    // grid spanning the pole magnitudes; then a local maximization around the best of them. A
    // lower bound well above sigma(D) also keeps H(gamma) well conditioned.
    let mut peak = Peak {
        value: sd,
        omega: f64::INFINITY,
    };
    let mut test: Vec<f64> = vec![0.0];
    test.extend(extra.iter().copied().filter(|w| w.is_finite() && *w >= 0.0));
    let mut lp: Vec<(f64, f64)> = poles
        .iter()
        .filter(|l| l.im >= 0.0)
        .map(|l| {
            (
                l.im.abs() / l.norm().max(f64::MIN_POSITIVE) / l.re.abs().max(f64::MIN_POSITIVE),
                l.norm(),
            )
        })
        .collect();
    lp.sort_by(|a, b| b.0.total_cmp(&a.0));
    for &(_, w) in lp.iter().take(40) {
        test.push(w);
    }
    for l in poles.iter().filter(|l| l.im > 0.0).take(200) {
        test.push(l.im);
    }
    let mags = poles.iter().map(|l| l.norm()).filter(|w| *w > 0.0);
    let (wlo, whi) = mags.fold((f64::INFINITY, 0.0_f64), |(a, b), w| (a.min(w), b.max(w)));
    if wlo.is_finite() && whi > 0.0 {
        let (l0, l1) = ((wlo / 10.0).ln(), (whi * 10.0).ln());
        const NGRID: usize = 100;
        for k in 0..NGRID {
            test.push((l0 + (l1 - l0) * k as f64 / (NGRID - 1) as f64).exp());
        }
    }
    test.sort_by(f64::total_cmp);
    test.dedup();
    let vals = ev.sigma_many(&test);
    // Local maximization around the INITIAL_REFINEMENTS largest local maxima of the grid (not
    // only the largest: two peaks of nearly equal height are common in reduction errors, and a
    // lower bound below the true peak costs one more Hamiltonian eigenproblem).
    let mut local: Vec<usize> = (0..test.len())
        .filter(|&k| {
            vals[k].is_finite()
                && (k == 0 || vals[k] >= vals[k - 1])
                && (k + 1 == test.len() || vals[k] >= vals[k + 1])
        })
        .collect();
    local.sort_by(|&x, &y| vals[y].total_cmp(&vals[x]));
    for &k in local.iter().take(INITIAL_REFINEMENTS) {
        peak.offer(vals[k], test[k]);
        let (lo, hi) = bracket(&test, test[k]);
        refine(&ev, lo, hi, &mut peak);
    }
    if peak.value == 0.0 {
        // G vanishes at every test point: try a generic frequency before concluding.
        let s = ev.sigma_max(1.0 + anorm)?;
        if s == 0.0 {
            return Ok(NormEstimate {
                value: 0.0,
                lower: 0.0,
                upper: 0.0,
                frequency: 0.0,
                iterations: 0,
            });
        }
        peak = Peak {
            value: s,
            omega: 1.0 + anorm,
        };
    }
    // Never test a level closer to sigma(D) than this (see FEEDTHROUGH_MARGIN).
    let gamma_floor = (1.0 + FEEDTHROUGH_MARGIN.max(2.0 * opts.rtol)) * sd;
    let (a, b, c) = (sys.a(), sys.b(), sys.c());
    let dt_c = d.transpose() * c;
    prof.initial_evaluations = ev.count.get();
    let record = |prof: &mut HinfProfile| {
        prof.evaluations = ev.count.get();
        prof.evaluation_seconds = ev.seconds.get();
    };
    for it in 1..=opts.max_iterations {
        let eigen_start = std::time::Instant::now();
        let gamma = ((1.0 + 2.0 * opts.rtol) * peak.value).max(gamma_floor);
        // R = D^T D - g^2 I, S = D D^T - g^2 I (both negative definite since gamma > sigma(D)),
        // inverted through the SVD of D.
        let rinv = shifted_gram_inverse(&dsvd.v, &dsvd.s, gamma);
        let sinv = shifted_gram_inverse(&dsvd.u, &dsvd.s, gamma);
        debug_assert!(rinv.nrows() == m && sinv.nrows() == p);
        let rinv_dt_c = &rinv * &dt_c; // R^{-1} D^T C
        let rinv_bt = &rinv * b.transpose(); // R^{-1} B^T
        let sinv_c = &sinv * c; // S^{-1} C
        let h11 = a - b * &rinv_dt_c;
        let h12 = b * &rinv_bt * (-gamma);
        let h21 = c.transpose() * &sinv_c * gamma;
        let h22 = -a.transpose() + c.transpose() * &d * &rinv_bt;
        let h = Mat::from_fn(2 * n, 2 * n, |i, j| match (i < n, j < n) {
            (true, true) => h11[(i, j)],
            (true, false) => h12[(i, j - n)],
            (false, true) => h21[(i - n, j)],
            (false, false) => h22[(i - n, j - n)],
        });
        let hn = h.norm_l2();
        // Our multishift QR without Schur vectors (faer's eigenvalue routine as a fallback if it
        // does not converge): this eigenproblem of order 2n dominates the cost of the norm.
        let eigs = match crate::schur::real_eigenvalues(h.as_ref()) {
            Ok(e) => e,
            Err(_) => eigenvalues(h.as_ref())?,
        };
        prof.eigen_seconds.push(eigen_start.elapsed().as_secs_f64());
        // Candidate crossings: eigenvalues near the imaginary axis. The tolerance is generous (a
        // spurious candidate only costs one evaluation of sigma(G), it cannot raise the peak),
        // since rounding moves the eigenvalues of a crossing pair off the axis, most of all where
        // two crossings nearly coincide (a narrow peak just above gamma, or a peak near omega = 0
        // where +-i w1, +-i w2 form a cluster): there the pair is tested at both |Im l| and |l|.
        let mut ws: Vec<f64> = Vec::new();
        for l in eigs.iter().filter(|l| l.im >= 0.0) {
            if l.re.abs() <= 1e-6 * l.norm() + 1e-8 * hn {
                ws.push(l.im);
                ws.push(l.norm());
            }
        }
        prof.candidates.push(ws.len() / 2);
        record(prof);
        if ws.is_empty() {
            return Ok(NormEstimate {
                value: peak.value,
                lower: peak.value,
                upper: gamma,
                frequency: peak.omega,
                iterations: it,
            });
        }
        ws.push(0.0);
        ws.sort_by(f64::total_cmp);
        ws.dedup();
        let before = peak.value;
        // sigma at each candidate and at the midpoint of each interval between consecutive
        // candidates (batched); each interval ranked by the largest of the three.
        let mids: Vec<f64> = ws.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let at = ev.sigma_many(&ws);
        let at_mid = ev.sigma_many(&mids);
        for (&w, &v) in ws.iter().zip(&at).chain(mids.iter().zip(&at_mid)) {
            peak.offer(v, w);
        }
        let mut intervals: Vec<(usize, f64)> = (0..mids.len())
            .map(|k| (k, at[k].max(at[k + 1]).max(at_mid[k])))
            .collect();
        // A rise within rtol * before + abs_tol (the rounding noise of the evaluations at a tiny
        // level gives such rises, HinfOptions::abs_tol) does not warrant another level test: the
        // interval search below decides, and upper becomes (1 + 2 rtol) times the raised peak.
        if peak.value > before * (1.0 + opts.rtol) + opts.abs_tol {
            let (lo, hi) = bracket(&ws, peak.omega);
            refine(&ev, lo, hi, &mut peak);
            record(prof);
            continue;
        }
        // No midpoint rose above the peak: the crossings are spurious, or inaccurate enough to
        // miss a narrow interval where sigma > gamma. Search the intervals between consecutive
        // candidates before accepting gamma as the upper bound, most promising first (largest
        // sampled sigma), at most MAX_SEARCHED_INTERVALS of them: when the level is tiny
        // against the size of B and C (the error of a good reduction, where G and G_r nearly
        // cancel), ||H|| ~ ||B|| ||C|| / gamma and every eigenvalue passes the generous test,
        // so searching all n intervals would cost O(n) golden-section searches of O(n^2) each.
        intervals.sort_by(|x, y| y.1.total_cmp(&x.1));
        for &(k, _) in intervals.iter().take(MAX_SEARCHED_INTERVALS) {
            refine(&ev, ws[k], ws[k + 1], &mut peak);
        }
        record(prof);
        if peak.value <= before * (1.0 + opts.rtol) + opts.abs_tol {
            return Ok(NormEstimate {
                value: peak.value,
                lower: peak.value,
                upper: gamma.max((1.0 + 2.0 * opts.rtol) * peak.value),
                frequency: peak.omega,
                iterations: it,
            });
        }
    }
    Err(SystemsError::NoConvergence {
        what: "H-infinity level-set iteration",
        iterations: opts.max_iterations,
    })
}

/// $\\|G\\|_{\mathcal H_2}$ from a controllability Gramian factor $P = SS^\top$:
/// $\\|G\\|_2^2 = \\|CS\\|_F^2$ (CT, requires $D = 0$) or $\\|CS\\|_F^2 + \\|D\\|_F^2$ (DT).
///
/// # Errors
/// [`SystemsError::InvalidArgument`] for a CT model with $D \ne 0$ (the norm is infinite).
///
/// # Panics
/// If `s` does not have $n$ rows.
#[track_caller]
pub fn h2_norm_from_factor(sys: &StateSpace, s: faer::MatRef<'_, f64>) -> Result<f64> {
    assert_eq!(
        s.nrows(),
        sys.order(),
        "h2_norm_from_factor: factor must have n rows"
    );
    let dn = sys.d().norm_l2();
    let cs = sys.c() * s;
    let v = cs.norm_l2();
    match sys.sampling() {
        Sampling::Continuous => {
            if dn > 0.0 {
                return Err(SystemsError::InvalidArgument(
                    "H2 norm of a continuous-time model with D != 0 is infinite".into(),
                ));
            }
            Ok(v)
        }
        Sampling::Discrete { .. } => Ok(v.hypot(dn)),
    }
}

/// $\\|G\\|_{\mathcal H_2}$ of a stable model: $\\|CS\\|_F$ (CT, $D=0$) or
/// $(\\|CS\\|_F^2+\\|D\\|_F^2)^{1/2}$ (DT), with $P = SS^\top$ from Hammarling's method.
///
/// # Errors
/// [`SystemsError::Unstable`] for an unstable $A$; [`SystemsError::InvalidArgument`] for a CT
/// model with $D\ne0$.
///
/// # Algorithm
/// One Schur form and one Hammarling solve, $\approx 30n^3$ flops.
pub fn h2_norm(sys: &StateSpace) -> Result<f64> {
    let s = crate::gramian::controllability_factor(sys)?;
    h2_norm_from_factor(sys, s.as_ref())
}

/// $\\|G\\|_{\mathcal L_2}$ of a model without poles on the stability boundary (stable or not;
/// SLICOT AB13BD's `JOBN='L'`), via the additive split $G = G_s + G_u$ at the boundary.
///
/// Continuous time ($D = 0$ required): $G_s\in\mathcal H_2$ and $G_u\in\mathcal H_2^\perp$ are
/// orthogonal and $G_u(-s)$ has the stable realization $(-A_u, B_u, -C_u)$, so
/// $\\|G\\|_2^2 = \\|G_s\\|_2^2 + \\|(-A_u,B_u,C_u)\\|_2^2$. Discrete time: with
/// $\tilde A = A_u^{-1}$ the anticausal part is $-\sum_{k\ge0}C_u\tilde A^{k+1}B_uz^k$, so
/// $\\|G\\|_2^2 = \\|G_s-D\\|_2^2 + \\|D - C_uA_u^{-1}B_u\\|_F^2 + \\|(\tilde A, \tilde AB_u, C_u\tilde A, 0)\\|_2^2$.
///
/// # Errors
/// [`SystemsError::Unstable`] if a pole lies on the boundary (the norm is infinite);
/// [`SystemsError::InvalidArgument`] for a CT model with $D\ne0$; split failures.
pub fn l2_norm(sys: &StateSpace) -> Result<f64> {
    let alpha = if sys.is_discrete() { 1.0 } else { 0.0 };
    let sp = crate::split::additive_split(sys, alpha)?;
    let (u, s) = (&sp.unstable, &sp.stable);
    match sys.sampling() {
        Sampling::Continuous => {
            let gs = if s.order() > 0 || s.d().norm_l2() > 0.0 {
                h2_norm(s)?
            } else {
                0.0
            };
            let gu = if u.order() > 0 {
                let refl = StateSpace::continuous(
                    -u.a(),
                    u.b().to_owned(),
                    u.c().to_owned(),
                    u.d().to_owned(),
                )?;
                h2_norm(&refl)?
            } else {
                0.0
            };
            Ok(gs.hypot(gu))
        }
        Sampling::Discrete { dt } => {
            let strict = StateSpace::discrete(
                s.a().to_owned(),
                s.b().to_owned(),
                s.c().to_owned(),
                Mat::zeros(s.outputs(), s.inputs()),
                dt,
            )?;
            let gs = h2_norm(&strict)?;
            if u.order() == 0 {
                return Ok(gs.hypot(sys.d().norm_l2()));
            }
            let ai = solve(u.a(), Mat::<f64>::identity(u.order(), u.order()).as_ref())?;
            let d0 = sys.d() - u.c() * &ai * u.b();
            let anti = StateSpace::discrete(
                ai.clone(),
                &ai * u.b(),
                u.c() * &ai,
                Mat::zeros(u.outputs(), u.inputs()),
                dt,
            )?;
            let ga = h2_norm(&anti)?;
            Ok((gs * gs + d0.norm_l2().powi(2) + ga * ga).sqrt())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dln_linalg::random::{gaussian, rng};
    use faer::mat;

    /// The quasi-triangular fast path against the Hessenberg evaluator on block-diagonal Schur
    /// forms (two diagonal blocks, as in a reduction's error model), all shapes including the
    /// SVD fallback ($\min(m, p) > 2$) and frequencies at 0, near the poles and far above them.
    #[test]
    fn fast_path_matches_hessenberg_evaluator() {
        let mut r = rng(17);
        for (n1, n2, m, p) in [
            (9, 4, 2, 2),
            (6, 0, 1, 3),
            (7, 5, 3, 1),
            (8, 3, 3, 4),
            (5, 5, 4, 4),
        ] {
            let a1: Mat<f64> = gaussian(&mut r, n1, n1);
            let a2: Mat<f64> = gaussian(&mut r, n2, n2);
            let t1 = crate::schur::real_schur(a1.as_ref()).unwrap().t;
            let t2 = crate::schur::real_schur(a2.as_ref()).unwrap().t;
            let n = n1 + n2;
            let t = Mat::from_fn(n, n, |i, j| match (i < n1, j < n1) {
                (true, true) => t1[(i, j)] - if i == j { 3.0 } else { 0.0 },
                (false, false) => t2[(i - n1, j - n1)] - if i == j { 3.0 } else { 0.0 },
                _ => 0.0,
            });
            let sys = StateSpace::continuous(
                t,
                gaussian(&mut r, n, m),
                gaussian(&mut r, p, n),
                gaussian(&mut r, p, m),
            )
            .unwrap();
            let fast = QuasiTriangularSigma::new(&sys).expect("quasi-triangular");
            assert!(
                fast.top[n1..].iter().all(|&k| k >= n1),
                "block structure seen"
            );
            let slow = FrequencyEvaluator::new(&sys).unwrap();
            let omegas = [0.0, 1e-6, 0.3, 1.0, 2.7, 10.0, 1e4];
            for w in omegas {
                let (x, y) = (fast.sigma_max(w).unwrap(), slow.sigma_max(w).unwrap());
                assert!(
                    (x - y).abs() <= 1e-12 * y,
                    "n1 {n1} n2 {n2} m {m} p {p} omega {w}: {x} vs {y}"
                );
            }
            // batched: the same values, bit for bit (the same operations in the same order)
            for chunk in omegas.chunks(BATCH) {
                let mut out: Vec<Result<f64>> = chunk.iter().map(|_| Ok(0.0)).collect();
                fast.sigma_max_batch(chunk, &mut out);
                for (w, o) in chunk.iter().zip(out) {
                    let single = fast.sigma_max(*w).unwrap();
                    assert!((o.unwrap() - single).abs() <= 0.0, "batch at {w}");
                }
            }
        }
        // a pole inside a batch fails that frequency only
        let sys = StateSpace::continuous(
            mat![[-1.0, 0.0], [0.0, 0.0]],
            mat![[1.0], [1.0]],
            mat![[1.0, 1.0]],
            mat![[0.0]],
        )
        .unwrap();
        let fast = QuasiTriangularSigma::new(&sys).unwrap();
        let mut out: Vec<Result<f64>> = (0..3).map(|_| Ok(0.0)).collect();
        fast.sigma_max_batch(&[1.0, 0.0, 2.0], &mut out);
        assert!(out[1].is_err(), "the pole at 0");
        for (k, w) in [(0usize, 1.0f64), (2, 2.0)] {
            // |1/(1 + iw) + 1/(iw)|
            let g = c64::new(1.0, 0.0) / c64::new(1.0, w) + c64::new(1.0, 0.0) / c64::new(0.0, w);
            let v = *out[k].as_ref().unwrap();
            assert!(
                (v - g.norm()).abs() <= 4.0 * f64::EPSILON * g.norm(),
                "{v} vs {}",
                g.norm()
            );
        }
    }

    #[test]
    fn sigma_max_small_closed_form() {
        // [[3, 4i], [0, 0]] has singular values 5, 0; scaled far down and up
        for s in [1.0, 1e-200, 1e200] {
            let g = [
                c64::new(3.0 * s, 0.0),
                c64::new(0.0, 4.0 * s),
                c64::new(0.0, 0.0),
                c64::new(0.0, 0.0),
            ];
            let v = sigma_max_small(&g, 2, 2).unwrap();
            assert!((v - 5.0 * s).abs() <= 4.0 * f64::EPSILON * 5.0 * s, "{v}");
        }
        assert!(sigma_max_small(&[c64::new(0.0, 0.0); 3], 1, 3).unwrap() <= 0.0);
    }
}
