//! State-space models and their transfer functions,
//! $$G(s) = C\\,(sI-A)^{-1}B + D,$$
//! continuous-time ($\dot x = Ax+Bu$, $s = i\omega$ on the imaginary axis) or discrete-time
//! ($x_{k+1} = Ax_k+Bu_k$, $z = e^{i\omega h}$ on the unit circle for sampling time $h$).
//!
//! A [`StateSpace`] is validated once, on construction (shapes, finiteness, sampling time), and is
//! immutable afterwards, so every algorithm downstream may rely on a consistent realization.
//!
//! Frequency responses go through a [`FrequencyEvaluator`]: $A$ is reduced once to upper
//! Hessenberg form $A = QHQ^\top$ ($\tfrac{10}{3}n^3$ flops), after which each point costs one
//! Hessenberg solve, $O(n^2(m+1))$ flops, instead of a fresh $O(n^3)$ LU factorization.
//!
//! # References
//! - A. J. Laub, *Efficient multivariable frequency response computations*, IEEE TAC 26 (1981).

use crate::{Result, SystemsError};
use dln_linalg::LinalgError;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Par, c64};

/// Continuous or discrete time, with the sampling time of a discrete model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// $\dot x = Ax + Bu$; stability region: the open left half-plane.
    Continuous,
    /// $x_{k+1} = Ax_k + Bu_k$ with sampling time `dt` $=h>0$; stability region: the open unit disc.
    Discrete {
        /// Sampling time $h > 0$ (seconds per step).
        dt: f64,
    },
}

impl Sampling {
    /// `true` for [`Sampling::Discrete`].
    pub fn is_discrete(self) -> bool {
        matches!(self, Sampling::Discrete { .. })
    }

    /// Name of the stability region, as used in [`SystemsError::Unstable`].
    pub fn stability_region(self) -> &'static str {
        match self {
            Sampling::Continuous => "open left half-plane",
            Sampling::Discrete { .. } => "open unit disc",
        }
    }

    /// The point of the stability boundary at angular frequency $\omega$: $s = i\omega$ (CT) or
    /// $z = e^{i\omega h}$ (DT).
    pub fn boundary_point(self, omega: f64) -> c64 {
        match self {
            Sampling::Continuous => c64::new(0.0, omega),
            Sampling::Discrete { dt } => c64::new((omega * dt).cos(), (omega * dt).sin()),
        }
    }

    /// `true` when $\lambda$ lies strictly inside the stability region.
    pub fn is_stable_eigenvalue(self, l: c64) -> bool {
        match self {
            Sampling::Continuous => l.re < 0.0,
            Sampling::Discrete { .. } => l.re.hypot(l.im) < 1.0,
        }
    }
}

/// A validated state-space realization $(A,B,C,D)$ with $n$ states, $m$ inputs and $p$ outputs.
///
/// The transfer function is $G(s) = C(sI-A)^{-1}B + D$ ($p\times m$). The realization is real
/// (`f64`); complex realizations are handled by the generic functions in
/// [`realization`](crate::realization).
#[derive(Debug, Clone)]
pub struct StateSpace {
    a: Mat<f64>,
    b: Mat<f64>,
    c: Mat<f64>,
    d: Mat<f64>,
    sampling: Sampling,
}

fn finite(name: &'static str, m: MatRef<'_, f64>) -> Result<()> {
    dln_linalg::check_finite(m).map_err(|e| match e {
        LinalgError::NonFinite { row, col } => SystemsError::NonFinite { name, row, col },
        other => SystemsError::Linalg(other),
    })
}

impl StateSpace {
    /// Builds and validates $(A,B,C,D)$: $A$ is $n\times n$, $B$ is $n\times m$, $C$ is $p\times n$,
    /// $D$ is $p\times m$, all entries finite, and a discrete sampling time is finite and positive.
    ///
    /// # Errors
    /// [`SystemsError::Dimension`] for inconsistent shapes, [`SystemsError::NonFinite`] naming the
    /// matrix and entry, [`SystemsError::InvalidArgument`] for a bad sampling time.
    pub fn new(
        a: Mat<f64>,
        b: Mat<f64>,
        c: Mat<f64>,
        d: Mat<f64>,
        sampling: Sampling,
    ) -> Result<Self> {
        let n = a.nrows();
        if a.ncols() != n {
            return Err(SystemsError::Dimension {
                what: format!("A is {}x{}, not square", a.nrows(), a.ncols()),
            });
        }
        if b.nrows() != n {
            return Err(SystemsError::Dimension {
                what: format!("A is {n}x{n} but B has {} rows", b.nrows()),
            });
        }
        if c.ncols() != n {
            return Err(SystemsError::Dimension {
                what: format!("A is {n}x{n} but C has {} columns", c.ncols()),
            });
        }
        if d.nrows() != c.nrows() || d.ncols() != b.ncols() {
            return Err(SystemsError::Dimension {
                what: format!(
                    "D is {}x{} but C has {} rows and B {} columns",
                    d.nrows(),
                    d.ncols(),
                    c.nrows(),
                    b.ncols()
                ),
            });
        }
        if let Sampling::Discrete { dt } = sampling {
            if !(dt.is_finite() && dt > 0.0) {
                return Err(SystemsError::InvalidArgument(format!(
                    "sampling time must be finite and positive, got {dt}"
                )));
            }
        }
        finite("A", a.as_ref())?;
        finite("B", b.as_ref())?;
        finite("C", c.as_ref())?;
        finite("D", d.as_ref())?;
        Ok(Self {
            a,
            b,
            c,
            d,
            sampling,
        })
    }

    /// A continuous-time model; see [`StateSpace::new`].
    ///
    /// # Errors
    /// As [`StateSpace::new`].
    pub fn continuous(a: Mat<f64>, b: Mat<f64>, c: Mat<f64>, d: Mat<f64>) -> Result<Self> {
        Self::new(a, b, c, d, Sampling::Continuous)
    }

    /// A discrete-time model with sampling time `dt`; see [`StateSpace::new`].
    ///
    /// # Errors
    /// As [`StateSpace::new`].
    pub fn discrete(a: Mat<f64>, b: Mat<f64>, c: Mat<f64>, d: Mat<f64>, dt: f64) -> Result<Self> {
        Self::new(a, b, c, d, Sampling::Discrete { dt })
    }

    /// $A$ ($n\times n$).
    pub fn a(&self) -> MatRef<'_, f64> {
        self.a.as_ref()
    }
    /// $B$ ($n\times m$).
    pub fn b(&self) -> MatRef<'_, f64> {
        self.b.as_ref()
    }
    /// $C$ ($p\times n$).
    pub fn c(&self) -> MatRef<'_, f64> {
        self.c.as_ref()
    }
    /// $D$ ($p\times m$).
    pub fn d(&self) -> MatRef<'_, f64> {
        self.d.as_ref()
    }
    /// Continuous or discrete time.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }
    /// `true` for a discrete-time model.
    pub fn is_discrete(&self) -> bool {
        self.sampling.is_discrete()
    }
    /// State dimension $n$.
    pub fn order(&self) -> usize {
        self.a.nrows()
    }
    /// Number of inputs $m$.
    pub fn inputs(&self) -> usize {
        self.b.ncols()
    }
    /// Number of outputs $p$.
    pub fn outputs(&self) -> usize {
        self.c.nrows()
    }
    /// The four matrices $(A,B,C,D)$.
    pub fn into_parts(self) -> (Mat<f64>, Mat<f64>, Mat<f64>, Mat<f64>) {
        (self.a, self.b, self.c, self.d)
    }

    /// Eigenvalues of $A$ (the poles of a minimal realization).
    ///
    /// # Errors
    /// [`SystemsError::NoConvergence`] if the QR algorithm fails.
    pub fn poles(&self) -> Result<Vec<c64>> {
        eigenvalues(self.a.as_ref())
    }

    /// Checks that every eigenvalue of $A$ lies strictly inside the stability region.
    ///
    /// # Errors
    /// [`SystemsError::Unstable`] naming the eigenvalue of largest real part (CT) or modulus (DT)
    /// when it is not inside the region; eigenvalue failures.
    pub fn require_stable(&self) -> Result<()> {
        require_stable_eigs(&self.poles()?, self.sampling)
    }

    /// `true` when $A$ is stable (Hurwitz for CT, Schur for DT).
    ///
    /// # Errors
    /// Eigenvalue failures.
    pub fn is_stable(&self) -> Result<bool> {
        Ok(self
            .poles()?
            .iter()
            .all(|&l| self.sampling.is_stable_eigenvalue(l)))
    }

    /// The same model with another sampling description (matrices unchanged).
    ///
    /// # Errors
    /// [`SystemsError::InvalidArgument`] for a bad sampling time.
    pub fn with_sampling(&self, sampling: Sampling) -> Result<Self> {
        Self::new(
            self.a.clone(),
            self.b.clone(),
            self.c.clone(),
            self.d.clone(),
            sampling,
        )
    }

    /// The state transformation $(TAT^{-1}, TB, CT^{-1}, D)$ given $T$ and $T^{-1}$.
    ///
    /// # Panics
    /// If `t` or `t_inv` is not $n\times n$.
    #[track_caller]
    pub fn transform(&self, t: MatRef<'_, f64>, t_inv: MatRef<'_, f64>) -> Self {
        let n = self.order();
        assert!(
            t.nrows() == n && t.ncols() == n && t_inv.nrows() == n && t_inv.ncols() == n,
            "transform: T must be n x n"
        );
        Self {
            a: t * &self.a * t_inv,
            b: t * &self.b,
            c: &self.c * t_inv,
            d: self.d.clone(),
            sampling: self.sampling,
        }
    }

    /// The first `k` Markov parameters $CB, CAB, \dots, CA^{k-1}B$ (impulse response
    /// $h_1,\dots,h_k$ of a DT model). $D$ is $h_0$ and is not included.
    pub fn markov_parameters(&self, k: usize) -> Vec<Mat<f64>> {
        let mut out = Vec::with_capacity(k);
        let mut x = self.b.clone();
        for _ in 0..k {
            out.push(&self.c * &x);
            x = &self.a * &x;
        }
        out
    }

    /// The DC gain $G(0) = D - CA^{-1}B$ (CT) or $G(1) = D + C(I-A)^{-1}B$ (DT).
    ///
    /// # Errors
    /// [`LinalgError::Singular`] when $0$ (CT) or $1$ (DT) is a pole.
    pub fn dc_gain(&self) -> Result<Mat<f64>> {
        let n = self.order();
        let m = match self.sampling {
            Sampling::Continuous => -&self.a,
            Sampling::Discrete { .. } => Mat::<f64>::identity(n, n) - &self.a,
        };
        let x = solve(m.as_ref(), self.b.as_ref())?;
        Ok(&self.d + &self.c * x)
    }

    /// The parallel connection $G + \text{sign}\cdot H$, realized as
    /// $(\mathrm{diag}(A_G,A_H), [B_G; B_H], [C_G,\ \text{sign}\,C_H], D_G + \text{sign}\,D_H)$.
    ///
    /// # Errors
    /// [`SystemsError::Dimension`] if the input/output counts differ;
    /// [`SystemsError::InvalidArgument`] if the samplings differ.
    pub fn parallel(&self, other: &StateSpace, sign: f64) -> Result<Self> {
        if self.inputs() != other.inputs() || self.outputs() != other.outputs() {
            return Err(SystemsError::Dimension {
                what: format!(
                    "parallel connection of {}x{} and {}x{} systems",
                    self.outputs(),
                    self.inputs(),
                    other.outputs(),
                    other.inputs()
                ),
            });
        }
        if self.sampling != other.sampling {
            return Err(SystemsError::InvalidArgument(
                "parallel connection of systems with different sampling".into(),
            ));
        }
        let (n1, n2) = (self.order(), other.order());
        let n = n1 + n2;
        let a = Mat::from_fn(n, n, |i, j| match (i < n1, j < n1) {
            (true, true) => self.a[(i, j)],
            (false, false) => other.a[(i - n1, j - n1)],
            _ => 0.0,
        });
        let b = Mat::from_fn(n, self.inputs(), |i, j| {
            if i < n1 {
                self.b[(i, j)]
            } else {
                other.b[(i - n1, j)]
            }
        });
        let c = Mat::from_fn(self.outputs(), n, |i, j| {
            if j < n1 {
                self.c[(i, j)]
            } else {
                sign * other.c[(i, j - n1)]
            }
        });
        let d = Mat::from_fn(self.outputs(), self.inputs(), |i, j| {
            self.d[(i, j)] + sign * other.d[(i, j)]
        });
        Ok(Self {
            a,
            b,
            c,
            d,
            sampling: self.sampling,
        })
    }

    /// The same model in the real Schur coordinates of $A$: $(T, Z^\top B, CZ, D)$ with
    /// $A = ZTZ^\top$ ([`crate::schur::real_schur`]). Its transfer function is that of `self` up
    /// to the Schur form's rounding (a few $\varepsilon\\|A\\|$ backward error); frequency
    /// evaluations and $\mathcal H_\infty$ norms of a model in these coordinates take the
    /// quasi-triangular fast path ([`crate::norms`], "Cost").
    ///
    /// # Errors
    /// [`SystemsError::NoConvergence`] from the Schur form.
    ///
    /// # Algorithm
    /// One real Schur form, $\approx 25n^3$ flops, and $O(n^2(m+p))$ for $Z^\top B$, $CZ$.
    pub fn in_schur_coordinates(&self) -> Result<Self> {
        self.with_schur(&crate::schur::real_schur(self.a())?)
    }

    /// The same model in the coordinates of a real Schur form $A = ZTZ^\top$ the caller already
    /// has: $(T, Z^\top B, CZ, D)$.
    pub(crate) fn with_schur(&self, s: &crate::schur::RealSchur) -> Result<Self> {
        StateSpace::new(
            s.t.clone(),
            s.z.transpose() * self.b(),
            self.c() * &s.z,
            self.d().to_owned(),
            self.sampling(),
        )
    }

    /// The error system $G - H$ (see [`StateSpace::parallel`]).
    ///
    /// # Errors
    /// As [`StateSpace::parallel`].
    pub fn sub(&self, other: &StateSpace) -> Result<Self> {
        self.parallel(other, -1.0)
    }

    /// Transfer function at one complex point $s$ (CT) or $z$ (DT): $C(sI-A)^{-1}B+D$.
    ///
    /// For many points build a [`FrequencyEvaluator`] once.
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if $s$ is (numerically) an eigenvalue of $A$.
    pub fn eval(&self, s: c64) -> Result<Mat<c64>> {
        FrequencyEvaluator::new(self)?.eval(s)
    }

    /// Frequency response $G(i\omega)$ (CT) or $G(e^{i\omega h})$ (DT) at each $\omega$ (rad/s).
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if a point is a pole.
    ///
    /// # Algorithm
    /// One Hessenberg reduction, then $O(n^2(m+1))$ per frequency (see [`FrequencyEvaluator`]).
    pub fn frequency_response(&self, omegas: &[f64]) -> Result<Vec<Mat<c64>>> {
        let ev = FrequencyEvaluator::new(self)?;
        omegas.iter().map(|&w| ev.at_frequency(w)).collect()
    }

    /// The bilinear (Tustin) image in continuous time used for DT norms:
    /// $z = \frac{1+s}{1-s}$, i.e. $A_c = (A-I)(A+I)^{-1}$, $B_c = \sqrt2(A+I)^{-1}B$,
    /// $C_c = \sqrt2\\,C(A+I)^{-1}$, $D_c = D - C(A+I)^{-1}B$, with $G_c(s) = G_d\big(\tfrac{1+s}{1-s}\big)$.
    /// The unit circle maps onto the imaginary axis ($z = e^{i\theta}\mapsto s = i\tan\frac\theta2$),
    /// so $\mathcal H_\infty$ norms and Hankel singular values are preserved.
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if $-1$ is an eigenvalue of $A$; [`SystemsError::InvalidArgument`]
    /// for a continuous model.
    pub fn bilinear_to_continuous(&self) -> Result<Self> {
        if !self.is_discrete() {
            return Err(SystemsError::InvalidArgument(
                "bilinear_to_continuous needs a discrete-time model".into(),
            ));
        }
        let n = self.order();
        let ap = &self.a + Mat::<f64>::identity(n, n);
        let lu = ap.partial_piv_lu();
        check_lu_diag(lu.U())?;
        let apt = ap.transpose().to_owned();
        let lut = apt.partial_piv_lu();
        // X = (A+I)^{-1} B,  Y = C (A+I)^{-1}  (solve (A+I)^T Y^T = C^T)
        let x = lu.solve(&self.b);
        let yt = lut.solve(self.c.transpose());
        let s2 = std::f64::consts::SQRT_2;
        let am = &self.a - Mat::<f64>::identity(n, n);
        // A_c = (A-I)(A+I)^{-1} = ((A+I)^{-T}(A-I)^T)^T
        let act = lut.solve(am.transpose());
        let a = act.transpose().to_owned();
        let b = Mat::from_fn(n, self.inputs(), |i, j| s2 * x[(i, j)]);
        let c = Mat::from_fn(self.outputs(), n, |i, j| s2 * yt[(j, i)]);
        let d = &self.d - &self.c * &x;
        Self::continuous(a, b, c, d)
    }
}

/// Eigenvalues of a real square matrix (faer's QR algorithm).
pub(crate) fn eigenvalues(a: MatRef<'_, f64>) -> Result<Vec<c64>> {
    if a.nrows() == 0 {
        return Ok(Vec::new());
    }
    a.eigenvalues().map_err(|_| SystemsError::NoConvergence {
        what: "eigenvalues (QR algorithm)",
        iterations: 0,
    })
}

/// [`SystemsError::Unstable`] for the least stable eigenvalue when it is not inside the region.
pub(crate) fn require_stable_eigs(eigs: &[c64], sampling: Sampling) -> Result<()> {
    let key = |l: &c64| match sampling {
        Sampling::Continuous => l.re,
        Sampling::Discrete { .. } => l.re.hypot(l.im),
    };
    if let Some(worst) = eigs
        .iter()
        .copied()
        .max_by(|x, y| key(x).total_cmp(&key(y)))
    {
        if !sampling.is_stable_eigenvalue(worst) {
            return Err(SystemsError::Unstable {
                re: worst.re,
                im: worst.im,
                region: sampling.stability_region(),
            });
        }
    }
    Ok(())
}

fn check_lu_diag(u: MatRef<'_, f64>) -> Result<()> {
    let n = u.nrows();
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for i in 0..n {
        let v = u[(i, i)].abs();
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let rcond = if hi > 0.0 { lo / hi } else { 0.0 };
    if n > 0 && (rcond <= f64::EPSILON || !rcond.is_finite()) {
        return Err(LinalgError::Singular { rcond }.into());
    }
    Ok(())
}

/// $A^{-1}B$ by LU with partial pivoting, rejecting (numerically) singular $A$.
pub(crate) fn solve(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Mat<f64>> {
    let lu = a.partial_piv_lu();
    check_lu_diag(lu.U())?;
    Ok(lu.solve(b))
}

/// `true` if every entry below the first subdiagonal is exactly zero.
pub(crate) fn is_upper_hessenberg(a: MatRef<'_, f64>) -> bool {
    let n = a.nrows();
    (0..n).all(|j| (j + 2..n).all(|i| a[(i, j)] == 0.0))
}

/// `true` if `a` is upper Hessenberg without two consecutive non-zero subdiagonal entries
/// (quasi-upper triangular: diagonal blocks of size 1 and 2).
pub(crate) fn is_quasi_triangular(a: MatRef<'_, f64>) -> bool {
    let n = a.nrows();
    is_upper_hessenberg(a)
        && (1..n.saturating_sub(1)).all(|k| a[(k, k - 1)] == 0.0 || a[(k + 1, k)] == 0.0)
}

/// The shifted $1\times1$ diagonal block $s - t_{ii}$ of $sI - T$ for quasi-upper-triangular $T$
/// (one step of the block back substitution of [`FrequencyEvaluator`] and of the batched
/// $\mathcal H_\infty$ evaluator in [`crate::norms`]).
///
/// # Errors
/// `Err(r)` with $r = |s - t_{ii}|$ when $r \le$ `tiny` or $r$ is not finite (singular to working
/// precision: $s$ is a pole); the caller turns $r$ into its error.
pub(crate) fn shifted_pivot(
    t: MatRef<'_, f64>,
    i: usize,
    s: c64,
    tiny: f64,
) -> std::result::Result<c64, f64> {
    let piv = s - t[(i, i)];
    let r = piv.norm();
    if r <= tiny || !r.is_finite() {
        return Err(r);
    }
    Ok(piv)
}

/// The shifted $2\times2$ diagonal block $S = sI - T_{kk}$ (rows and columns $i_0, i_0+1$) of a
/// quasi-upper-triangular $T$, solved by Cramer's rule:
/// $$S^{-1}\begin{pmatrix}r_0\\ r_1\end{pmatrix} = \frac{1}{\det S}
/// \begin{pmatrix}s_{11}r_0 - s_{01}r_1\\ s_{00}r_1 - s_{10}r_0\end{pmatrix},\qquad
/// \det S = s_{00}s_{11} - s_{01}s_{10}.$$
/// One step of the block back substitution of [`FrequencyEvaluator`] and of the batched
/// $\mathcal H_\infty$ evaluator in [`crate::norms`] (one copy for both).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShiftedBlock2 {
    a00: c64,
    a01: c64,
    a10: c64,
    a11: c64,
    det: c64,
}

impl ShiftedBlock2 {
    /// $S = sI - T_{i_0:i_0+2,\,i_0:i_0+2}$.
    ///
    /// # Errors
    /// `Err(r)` with $r = |\det S| / \max_{ij}|s_{ij}|$ when $|\det S| \le$ `tiny`
    /// $\cdot\max_{ij}|s_{ij}|$ or $\det S$ is not finite (singular to working precision: $s$ is
    /// a pole); the caller turns $r$ into its error.
    pub(crate) fn new(
        t: MatRef<'_, f64>,
        i0: usize,
        s: c64,
        tiny: f64,
    ) -> std::result::Result<Self, f64> {
        let i1 = i0 + 1;
        let a00 = s - t[(i0, i0)];
        let a01 = c64::new(-t[(i0, i1)], 0.0);
        let a10 = c64::new(-t[(i1, i0)], 0.0);
        let a11 = s - t[(i1, i1)];
        let det = a00 * a11 - a01 * a10;
        let dn = det.norm();
        let bn = a00.norm().max(a11.norm()).max(a01.norm()).max(a10.norm());
        if dn <= tiny * bn || !dn.is_finite() {
            return Err(dn / bn.max(f64::MIN_POSITIVE));
        }
        Ok(Self {
            a00,
            a01,
            a10,
            a11,
            det,
        })
    }

    /// $S^{-1}(r_0, r_1)^{\mathsf T}$.
    #[inline]
    pub(crate) fn solve(&self, r0: c64, r1: c64) -> (c64, c64) {
        (
            (self.a11 * r0 - self.a01 * r1) / self.det,
            (self.a00 * r1 - self.a10 * r0) / self.det,
        )
    }
}

/// Eigenvalues of a quasi-upper-triangular matrix (any $2\times2$ diagonal blocks, standardized
/// or not), or `None` if `a` is not quasi-upper triangular.
pub(crate) fn quasi_triangular_eigenvalues(a: MatRef<'_, f64>) -> Option<Vec<c64>> {
    if !is_quasi_triangular(a) {
        return None;
    }
    let n = a.nrows();
    let mut ev = Vec::with_capacity(n);
    let mut k = 0;
    while k < n {
        if k + 1 < n && a[(k + 1, k)] != 0.0 {
            let (p, q, r, s) = (a[(k, k)], a[(k, k + 1)], a[(k + 1, k)], a[(k + 1, k + 1)]);
            let mean = 0.5 * (p + s);
            let half = 0.5 * (p - s);
            let disc = half * half + q * r;
            if disc >= 0.0 {
                // real pair: the larger-magnitude root without cancellation, the other from det
                let root = disc.sqrt();
                let l1 = mean + root.copysign(mean);
                let det = p * s - q * r;
                let l2 = if l1 != 0.0 { det / l1 } else { mean - root };
                ev.push(c64::new(l1, 0.0));
                ev.push(c64::new(l2, 0.0));
            } else {
                let im = (-disc).sqrt();
                ev.push(c64::new(mean, im));
                ev.push(c64::new(mean, -im));
            }
            k += 2;
        } else {
            ev.push(c64::new(a[(k, k)], 0.0));
            k += 1;
        }
    }
    Some(ev)
}

/// Upper Hessenberg form $A = QHQ^\top$ ($H$ upper Hessenberg, $Q$ orthogonal).
pub(crate) fn hessenberg(a: MatRef<'_, f64>) -> (Mat<f64>, Mat<f64>) {
    use faer::linalg::{
        evd::hessenberg as hb, householder, qr::no_pivoting::factor::recommended_block_size,
    };
    let n = a.nrows();
    if n <= 2 {
        return (a.to_owned(), Mat::identity(n, n));
    }
    let par = Par::Seq;
    let bs = recommended_block_size::<f64>(n - 1, n - 1);
    let mut h = a.to_owned();
    let mut hh = Mat::<f64>::zeros(bs, n - 1);
    let req = hb::hessenberg_in_place_scratch::<f64>(n, bs, par, Default::default()).or(
        householder::apply_block_householder_sequence_on_the_right_in_place_scratch::<f64>(
            n - 1,
            bs,
            n - 1,
        ),
    );
    let mut buf = MemBuffer::new(req);
    let stack = MemStack::new(&mut buf);
    hb::hessenberg_in_place(h.as_mut(), hh.as_mut(), par, stack, Default::default());
    let mut q = Mat::<f64>::identity(n, n);
    householder::apply_block_householder_sequence_on_the_right_in_place_with_conj(
        h.as_ref().submatrix(1, 0, n - 1, n - 1),
        hh.as_ref(),
        faer::Conj::No,
        q.as_mut().submatrix_mut(1, 1, n - 1, n - 1),
        par,
        stack,
    );
    for j in 0..n {
        for i in j + 2..n {
            h[(i, j)] = 0.0;
        }
    }
    (h, q)
}

/// Repeated evaluation of $G(s) = \tilde C(sI-H)^{-1}\tilde B + D$ with $H = Q^\top AQ$ upper
/// Hessenberg, $\tilde B = Q^\top B$, $\tilde C = CQ$.
///
/// # Algorithm
/// Setup: Hessenberg reduction, $\tfrac{10}{3}n^3 + O(n^2(m+p))$ flops. Each point: Gaussian
/// elimination with adjacent-row partial pivoting on the complex Hessenberg matrix $sI-H$ and
/// back substitution, $O(n^2(m+1))$ flops, plus $O(pnm)$ for the output map.
#[derive(Debug, Clone)]
pub struct FrequencyEvaluator {
    h: Mat<f64>,
    bt: Mat<f64>,
    ct: Mat<f64>,
    d: Mat<f64>,
    sampling: Sampling,
    scale: f64,
    quasi_triangular: bool,
}

impl FrequencyEvaluator {
    /// Reduces $A$ to Hessenberg form.
    ///
    /// # Errors
    /// None at present (the reduction is backward stable); kept fallible for future checks.
    ///
    /// A state matrix that is already upper Hessenberg (e.g. a real Schur form) is used as it is;
    /// a quasi-upper-triangular one (no two consecutive non-zero subdiagonal entries) is solved by
    /// block back substitution, $O(n^2m)$ real-by-complex operations per point.
    pub fn new(sys: &StateSpace) -> Result<Self> {
        let a = sys.a();
        let (h, bt, ct) = if is_upper_hessenberg(a) {
            (a.to_owned(), sys.b().to_owned(), sys.c().to_owned())
        } else {
            let (h, q) = hessenberg(a);
            let bt = q.transpose() * sys.b();
            let ct = sys.c() * &q;
            (h, bt, ct)
        };
        let scale = h.norm_l2().max(f64::MIN_POSITIVE);
        let quasi_triangular = is_quasi_triangular(h.as_ref());
        Ok(Self {
            h,
            bt,
            ct,
            d: sys.d().to_owned(),
            sampling: sys.sampling(),
            scale,
            quasi_triangular,
        })
    }

    /// $(sI-T)^{-1}\tilde B$ for quasi-upper-triangular $T$ by block back substitution.
    fn solve_quasi_triangular(&self, s: c64) -> Result<Mat<c64>> {
        let t = &self.h;
        let n = t.nrows();
        let m = self.bt.ncols();
        let mut x = Mat::<c64>::from_fn(n, m, |i, j| c64::new(self.bt[(i, j)], 0.0));
        let tiny = f64::EPSILON * (self.scale + s.norm());
        let singular = |r: f64| -> SystemsError {
            LinalgError::Singular {
                rcond: r / (self.scale + s.norm()),
            }
            .into()
        };
        let mut k = n;
        while k > 0 {
            let two = k >= 2 && t[(k - 1, k - 2)] != 0.0;
            if two {
                // 2x2 block rows/cols (k-2, k-1): solve (sI - T_kk) x_k = rhs_k.
                let (i0, i1) = (k - 2, k - 1);
                let blk = ShiftedBlock2::new(t.as_ref(), i0, s, tiny).map_err(singular)?;
                for j in 0..m {
                    (x[(i0, j)], x[(i1, j)]) = blk.solve(x[(i0, j)], x[(i1, j)]);
                }
                for j in 0..m {
                    let (x0, x1) = (x[(i0, j)], x[(i1, j)]);
                    for i in 0..i0 {
                        x[(i, j)] += x0 * t[(i, i0)] + x1 * t[(i, i1)];
                    }
                }
                k -= 2;
            } else {
                let i0 = k - 1;
                let piv = shifted_pivot(t.as_ref(), i0, s, tiny).map_err(singular)?;
                for j in 0..m {
                    let x0 = x[(i0, j)] / piv;
                    x[(i0, j)] = x0;
                    for i in 0..i0 {
                        x[(i, j)] += x0 * t[(i, i0)];
                    }
                }
                k -= 1;
            }
        }
        Ok(x)
    }

    /// $G$ at the boundary point of frequency $\omega$: $s=i\omega$ (CT) or $z=e^{i\omega h}$ (DT).
    ///
    /// # Errors
    /// As [`FrequencyEvaluator::eval`].
    pub fn at_frequency(&self, omega: f64) -> Result<Mat<c64>> {
        self.eval(self.sampling.boundary_point(omega))
    }

    /// $G(s)$ at an arbitrary complex point.
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if $sI-H$ is singular to working precision ($s$ is a pole).
    pub fn eval(&self, s: c64) -> Result<Mat<c64>> {
        let n = self.h.nrows();
        let m = self.bt.ncols();
        if self.quasi_triangular {
            let x = self.solve_quasi_triangular(s)?;
            return Ok(self.output_map(x.as_ref()));
        }
        // W = sI - H (complex, Hessenberg), X = B~ (complex)
        let mut w = Mat::<c64>::from_fn(n, n, |i, j| {
            if i > j + 1 {
                c64::new(0.0, 0.0)
            } else if i == j {
                s - c64::new(self.h[(i, j)], 0.0)
            } else {
                c64::new(-self.h[(i, j)], 0.0)
            }
        });
        let mut x = Mat::<c64>::from_fn(n, m, |i, j| c64::new(self.bt[(i, j)], 0.0));
        for k in 0..n.saturating_sub(1) {
            if w[(k + 1, k)].norm() > w[(k, k)].norm() {
                for j in k..n {
                    let t = w[(k, j)];
                    w[(k, j)] = w[(k + 1, j)];
                    w[(k + 1, j)] = t;
                }
                for j in 0..m {
                    let t = x[(k, j)];
                    x[(k, j)] = x[(k + 1, j)];
                    x[(k + 1, j)] = t;
                }
            }
            let piv = w[(k, k)];
            if piv.norm() == 0.0 {
                continue; // singular; detected below
            }
            let l = w[(k + 1, k)] / piv;
            if l.norm() != 0.0 {
                for j in k + 1..n {
                    let t = w[(k, j)];
                    w[(k + 1, j)] -= l * t;
                }
                for j in 0..m {
                    let t = x[(k, j)];
                    x[(k + 1, j)] -= l * t;
                }
            }
            w[(k + 1, k)] = c64::new(0.0, 0.0);
        }
        let tiny = f64::EPSILON * (self.scale + s.norm());
        for i in 0..n {
            let r = w[(i, i)].norm();
            if r <= tiny || !r.is_finite() {
                return Err(LinalgError::Singular {
                    rcond: r / (self.scale + s.norm()),
                }
                .into());
            }
        }
        for j in 0..m {
            for i in (0..n).rev() {
                let mut acc = x[(i, j)];
                for k in i + 1..n {
                    acc -= w[(i, k)] * x[(k, j)];
                }
                x[(i, j)] = acc / w[(i, i)];
            }
        }
        Ok(self.output_map(x.as_ref()))
    }

    /// $\tilde CX + D$.
    fn output_map(&self, x: MatRef<'_, c64>) -> Mat<c64> {
        let (n, m, p) = (self.h.nrows(), self.bt.ncols(), self.ct.nrows());
        let mut g = Mat::<c64>::from_fn(p, m, |i, j| c64::new(self.d[(i, j)], 0.0));
        for j in 0..m {
            for k in 0..n {
                let xv = x[(k, j)];
                for i in 0..p {
                    g[(i, j)] += xv * self.ct[(i, k)];
                }
            }
        }
        g
    }

    /// Largest singular value $\bar\sigma(G(i\omega))$ (or at $e^{i\omega h}$).
    ///
    /// # Errors
    /// As [`FrequencyEvaluator::eval`]; SVD failure.
    pub fn sigma_max(&self, omega: f64) -> Result<f64> {
        let g = self.at_frequency(omega)?;
        Ok(dln_linalg::singular_values(g.as_ref())?
            .first()
            .copied()
            .unwrap_or(0.0))
    }
}
