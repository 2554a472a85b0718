//! Scaling of a realization by exact powers of two before the Gramian computation.
//!
//! Two independent transformations, both exact in floating point (every factor is a power of
//! two, so no rounding error is introduced and the scaled data represent *the same* system):
//!
//! 1. **Equilibration** (the idea of SLICOT `TB01ID`, written here from its published
//!    description): a diagonal state similarity $D = \operatorname{diag}(2^{k_1},\dots,2^{k_n})$,
//!    $$(A, B, C)\mapsto(D^{-1}AD,\ D^{-1}B,\ CD),$$
//!    chosen so that for every state $i$ the 1-norms of row $i$ and column $i$ of the system
//!    matrix $\begin{pmatrix}A&B\\C&0\end{pmatrix}$ (the diagonal entry $a_{ii}$ excluded) are as
//!    close as a power of two allows. The transfer function and the Hankel singular values are
//!    unchanged; the Gramians transform as $\tilde P = D^{-1}PD^{-1}$, $\tilde Q = DQD$.
//!    On badly scaled models (second-order models $M\ddot q + D\dot q + Kq = Bu$ with
//!    $\operatorname{cond}(M)\approx10^6$, row norms of $A$ from $1$ to $10^{13}$) the real Schur form
//!    and Hammarling's method are backward stable only relative to $\|A\|$, which hides the small
//!    Hankel singular values; after equilibration they are recovered to 9+ digits (see
//!    `docs/performance.md`, "HSV accuracy").
//! 2. **Magnitude scaling**: $(A, B, C)\mapsto(2^{-e_A}A,\ 2^{-e_B}B,\ 2^{-e_C}C)$ with
//!    $2^{e_X}\approx\max_{ij}|x_{ij}|$ ($e_A = 0$ in discrete time, and $e_A$ even). In continuous
//!    time $2^{-e_A}A$ is the same system on the time scale $2^{e_A}t$. Then
//!    $$P = 2^{2e_B-e_A}\tilde P,\quad Q = 2^{2e_C-e_A}\tilde Q,\quad
//!    \sigma_k = 2^{e_B+e_C-e_A}\tilde\sigma_k,$$
//!    so systems with entries $10^{\pm300}$ are computed without overflow or underflow, and an
//!    answer that does not fit in `f64` is reported as such
//!    ([`SystemsError::NotRepresentable`]) instead of surfacing as a non-finite intermediate.
//!
//! # Algorithm
//! Equilibration sweeps over the states; state $i$ with off-diagonal column norm $c$ and row norm
//! $r$ is scaled by $f = 2^k$, $k = \operatorname{round}(\tfrac12\log_2(r/c))$, when that lowers
//! $cf + r/f$ below $0.95(c+r)$; sweeps stop when no state changes (at most 100 sweeps). States
//! with $c = 0$ or $r = 0$ are left alone. Norms are accumulated relative to their largest term,
//! so entries near the overflow threshold are handled. $O(n(n+m+p))$ per sweep.
//!
//! # References
//! - SLICOT `TB01ID` documentation (balancing of a system matrix).
//! - B. N. Parlett, C. Reinsch, *Balancing a matrix for calculation of eigenvalues and
//!   eigenvectors*, Numer. Math. 13 (1969) 293–304.

use crate::model::{Sampling, StateSpace};
use crate::{Result, SystemsError};
use faer::Mat;

/// Multiplies `x` by $2^k$ exactly (up to overflow/underflow of the result), for any `k`.
pub(crate) fn ldexp(x: f64, k: i32) -> f64 {
    let mut x = x;
    let mut k = k;
    while k > 1000 {
        x *= 2f64.powi(1000);
        k -= 1000;
    }
    while k < -1000 {
        x *= 2f64.powi(-1000);
        k += 1000;
    }
    x * 2f64.powi(k)
}

/// The exponent $e$ with $2^e\le|x|<2^{e+1}$ (`None` for zero).
fn exponent(x: f64) -> Option<i32> {
    (x != 0.0).then(|| x.abs().log2().floor() as i32)
}

/// $\log_2\sum_i|x_i|$ without overflow ($-\infty$ for an all-zero input).
fn log2_norm1(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(0.0f64, |m, x| m.max(x.abs()));
    if m == 0.0 {
        return f64::NEG_INFINITY;
    }
    let s: f64 = xs.map(|x| x.abs() / m).sum();
    s.log2() + m.log2()
}

/// How a system was scaled before computing its Gramians (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct SystemScaling {
    /// Exponents $k_i$ of the state scaling $D = \operatorname{diag}(2^{k_i})$ (all zero without
    /// equilibration).
    pub state: Vec<i32>,
    /// $e_A$: the scaled $A$ is $2^{-e_A}D^{-1}AD$ (always 0 in discrete time; even).
    pub ea: i32,
    /// $e_B$: the scaled $B$ is $2^{-e_B}D^{-1}B$.
    pub eb: i32,
    /// $e_C$: the scaled $C$ is $2^{-e_C}CD$.
    pub ec: i32,
}

impl SystemScaling {
    /// $\log_2$ of the factor $2^{e_B+e_C-e_A}$ mapping the scaled Hankel singular values to the
    /// original ones.
    pub fn hsv_exponent(&self) -> i32 {
        self.eb + self.ec - self.ea
    }

    /// An error computed on the scaled model, restated for the original one: the eigenvalue of
    /// [`SystemsError::Unstable`] is multiplied back by $2^{e_A}$.
    pub fn unscale_error(&self, e: SystemsError) -> SystemsError {
        match e {
            SystemsError::Unstable { re, im, region } => SystemsError::Unstable {
                re: ldexp(re, self.ea),
                im: ldexp(im, self.ea),
                region,
            },
            other => other,
        }
    }

    /// The controllability factor in original coordinates: $S = 2^{e_B-e_A/2}D\tilde S$.
    ///
    /// # Errors
    /// [`SystemsError::NotRepresentable`] if an entry overflows.
    pub fn unscale_controllability_factor(&self, s: &Mat<f64>) -> Result<Mat<f64>> {
        let e = self.eb - self.ea / 2;
        let out = Mat::from_fn(s.nrows(), s.ncols(), |i, j| {
            ldexp(s[(i, j)], e + self.state[i])
        });
        check_representable(&out, "controllability Gramian factor S (P = S·Sᵀ)")?;
        Ok(out)
    }

    /// The observability factor in original coordinates: $R = 2^{e_C-e_A/2}\tilde RD^{-1}$.
    ///
    /// # Errors
    /// [`SystemsError::NotRepresentable`] if an entry overflows.
    pub fn unscale_observability_factor(&self, r: &Mat<f64>) -> Result<Mat<f64>> {
        let e = self.ec - self.ea / 2;
        let out = Mat::from_fn(r.nrows(), r.ncols(), |i, j| {
            ldexp(r[(i, j)], e - self.state[j])
        });
        check_representable(&out, "observability Gramian factor R (Q = Rᵀ·R)")?;
        Ok(out)
    }
}

fn check_representable(m: &Mat<f64>, quantity: &'static str) -> Result<()> {
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            if !m[(i, j)].is_finite() {
                return Err(SystemsError::NotRepresentable {
                    quantity,
                    detail: format!("entry ({i}, {j}) overflows f64"),
                });
            }
        }
    }
    Ok(())
}

/// Multiplies Hankel singular values $\tilde\sigma$ of the scaled system by $2^e$.
///
/// Values that fall below the normal range of `f64` ($2^{-1022}$) are returned rounded to the
/// nearest subnormal (or zero), as any `f64` computation would; an error is raised only when
/// $\sigma_1$ itself overflows or underflows the normal range, i.e. when the answer as a whole
/// cannot be represented.
///
/// # Errors
/// [`SystemsError::NotRepresentable`] naming $\sigma_k$ and its value as $x\cdot2^e$.
pub(crate) fn unscale_hsv(hsv: &mut [f64], e: i32) -> Result<()> {
    let bad = |k: usize, x: f64| SystemsError::NotRepresentable {
        quantity: "Hankel singular value",
        detail: format!(
            "σ_{} = {x:.6e}·2^{e} ≈ 10^{:.1} is outside the range of f64",
            k + 1,
            x.log10() + f64::from(e) * std::f64::consts::LOG10_2
        ),
    };
    if let Some(&s1) = hsv.first() {
        let y = ldexp(s1, e);
        if s1 > 0.0 && !(y.is_finite() && y >= f64::MIN_POSITIVE) {
            return Err(bad(0, s1));
        }
    }
    for x in hsv.iter_mut() {
        *x = ldexp(*x, e);
    }
    Ok(())
}

/// Scales a system by powers of two (module docs): equilibration of the state coordinates if
/// `equilibrate`, then magnitude scaling of $A$ (continuous time), $B$ and $C$. $D$ is kept.
///
/// # Errors
/// Never for a valid [`StateSpace`] (the scaled matrices are finite); the `Result` carries
/// construction errors of the scaled model.
pub fn scale_system(sys: &StateSpace, equilibrate: bool) -> Result<(StateSpace, SystemScaling)> {
    let n = sys.order();
    let mut a = sys.a().to_owned();
    let mut b = sys.b().to_owned();
    let mut c = sys.c().to_owned();
    let mut state = vec![0i32; n];
    // Magnitudes first (so that the balancing of [A B; C 0] is not dominated by a B or C of
    // magnitude 2^{±1000}), then the state equilibration, then the magnitudes again.
    let (mut ea, mut eb, mut ec) = magnitude_scale(&mut a, &mut b, &mut c, sys.sampling());
    if equilibrate {
        equilibrate_in_place(&mut a, &mut b, &mut c, &mut state);
        let (ea2, eb2, ec2) = magnitude_scale(&mut a, &mut b, &mut c, sys.sampling());
        ea += ea2;
        eb += eb2;
        ec += ec2;
    }
    let scaled = StateSpace::new(a, b, c, sys.d().to_owned(), sys.sampling())?;
    Ok((scaled, SystemScaling { state, ea, eb, ec }))
}

/// The state equilibration alone: $(D^{-1}AD,\ D^{-1}B,\ CD,\ D_{\rm ft})$ with
/// $D = \operatorname{diag}(2^{k_i})$ the exponents chosen by [`scale_system`] (no magnitude
/// scaling). Exact in floating point: the result is the same system (same transfer function, same
/// Hankel singular values) in better scaled state coordinates. Used by model reduction
/// ([`crate::reduction::ReductionOptions::equilibrate`]), whose reduced model lives in balanced
/// coordinates and therefore needs no mapping back.
///
/// # Errors
/// [`SystemsError::NonFinite`]-type construction errors if a scaled entry overflows (possible only
/// for entries within a factor $2^{|k_i-k_j|}$ of the overflow threshold).
pub fn equilibrate(sys: &StateSpace) -> Result<(StateSpace, Vec<i32>)> {
    let (_, sc) = scale_system(sys, true)?;
    let k = sc.state;
    let (a, b, c) = (sys.a(), sys.b(), sys.c());
    let eq = StateSpace::new(
        Mat::from_fn(a.nrows(), a.ncols(), |i, j| ldexp(a[(i, j)], k[j] - k[i])),
        Mat::from_fn(b.nrows(), b.ncols(), |i, j| ldexp(b[(i, j)], -k[i])),
        Mat::from_fn(c.nrows(), c.ncols(), |i, j| ldexp(c[(i, j)], k[j])),
        sys.d().to_owned(),
        sys.sampling(),
    )?;
    Ok((eq, k))
}

/// Divides $A$ (continuous time only; by an even power), $B$, $C$ by the powers of two nearest
/// below their largest entries; returns the exponents $(e_A, e_B, e_C)$.
fn magnitude_scale(
    a: &mut Mat<f64>,
    b: &mut Mat<f64>,
    c: &mut Mat<f64>,
    sampling: Sampling,
) -> (i32, i32, i32) {
    let maxabs = |m: &Mat<f64>| {
        let mut x = 0.0f64;
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                x = x.max(m[(i, j)].abs());
            }
        }
        x
    };
    let ea = match sampling {
        Sampling::Continuous => exponent(maxabs(a)).map_or(0, |e| e - e.rem_euclid(2)),
        Sampling::Discrete { .. } => 0,
    };
    let eb = exponent(maxabs(b)).unwrap_or(0);
    let ec = exponent(maxabs(c)).unwrap_or(0);
    let scale = |m: &mut Mat<f64>, e: i32| {
        if e != 0 {
            for j in 0..m.ncols() {
                for i in 0..m.nrows() {
                    m[(i, j)] = ldexp(m[(i, j)], -e);
                }
            }
        }
    };
    scale(a, ea);
    scale(b, eb);
    scale(c, ec);
    (ea, eb, ec)
}

/// The equilibration sweeps (module docs), in place; `k` accumulates the exponents.
fn equilibrate_in_place(a: &mut Mat<f64>, b: &mut Mat<f64>, c: &mut Mat<f64>, k: &mut [i32]) {
    let n = a.nrows();
    for _sweep in 0..100 {
        let mut changed = false;
        for i in 0..n {
            let lc = log2_norm1(
                (0..n)
                    .filter(|&r| r != i)
                    .map(|r| a[(r, i)])
                    .chain((0..c.nrows()).map(|r| c[(r, i)])),
            );
            let lr = log2_norm1(
                (0..n)
                    .filter(|&q| q != i)
                    .map(|q| a[(i, q)])
                    .chain((0..b.ncols()).map(|q| b[(i, q)])),
            );
            if !lc.is_finite() || !lr.is_finite() {
                continue;
            }
            let f = ((lr - lc) / 2.0).round();
            if f == 0.0 {
                continue;
            }
            // Relative to the larger norm: c 2^f + r 2^-f < 0.95 (c + r).
            let top = lc.max(lr);
            let (cn, rn) = ((lc - top).exp2(), (lr - top).exp2());
            if cn * f.exp2() + rn * (-f).exp2() >= 0.95 * (cn + rn) {
                continue;
            }
            let f = f as i32;
            for r in 0..n {
                a[(r, i)] = ldexp(a[(r, i)], f);
            }
            for q in 0..n {
                a[(i, q)] = ldexp(a[(i, q)], -f);
            }
            for r in 0..c.nrows() {
                c[(r, i)] = ldexp(c[(r, i)], f);
            }
            for q in 0..b.ncols() {
                b[(i, q)] = ldexp(b[(i, q)], -f);
            }
            k[i] += f;
            changed = true;
        }
        if !changed {
            break;
        }
    }
}
