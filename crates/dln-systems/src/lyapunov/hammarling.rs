//! Hammarling's method: the upper-triangular Cholesky factor $U$ of the solution
//! $X = UU^{\mathsf T}$ of the Lyapunov or Stein equation with right-hand side $BB^{\mathsf T}$,
//! without forming $X$ (SLICOT `SB03OD`'s task): the driver, the recursion over the
//! quasi-triangular Schur factor, and its $1\times1$ / $2\times2$ diagonal-block step (the
//! complex-pair step from Hammarling's complex formulas).

use super::{CholeskyFactor, TimeDomain, finite, residual_of};
use crate::schur::{RealSchur, real_schur};
use crate::sylvester::{SingularBlock, gemm, sylv_tri};
use crate::{Result, SystemsError};
use dln_linalg::c64;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::reborrow::*;
use faer::{Accum, Mat, MatMut, MatRef};

/// Checks stability of $A$ from its Schur form, naming the worst eigenvalue.
fn check_stable(s: &RealSchur, time: TimeDomain) -> Result<()> {
    let ev = s.eigenvalues();
    let worst = ev.iter().copied().max_by(|x, y| {
        let (kx, ky) = match time {
            TimeDomain::Continuous => (x.re, y.re),
            TimeDomain::Discrete => (x.norm(), y.norm()),
        };
        kx.total_cmp(&ky)
    });
    if let Some(l) = worst {
        if !time.is_stable(l) {
            return Err(SystemsError::Unstable {
                re: l.re,
                im: l.im,
                region: time.region(),
            });
        }
    }
    Ok(())
}

/// Solves $AX + XA^{\mathsf T} + BB^{\mathsf T} = 0$ (continuous, $A$ Hurwitz) or
/// $AXA^{\mathsf T} - X + BB^{\mathsf T} = 0$ (discrete, $A$ Schur-stable) for the Cholesky factor
/// $U$ of $X = UU^{\mathsf T}$ directly (Hammarling's method).
///
/// $B$ is $n\times m$ with any $m$ ($m > n$ allowed). $X$ and $BB^{\mathsf T}$ are never formed, so
/// the accuracy is governed by the conditioning of $U$ rather than of $X = UU^{\mathsf T}$ (whose
/// condition number is the square). For the observability Gramian of $(A, C)$, pass
/// $(A^{\mathsf T}, C^{\mathsf T})$. To reproduce SLICOT `SB03OD` (`TRANS='N'`, $B$ $m\times n$,
/// $A^{\mathsf T}X + XA = -B^{\mathsf T}B$, $X = U_s^{\mathsf T}U_s$), pass
/// $(A^{\mathsf T}, B^{\mathsf T})$: our $UU^{\mathsf T}$ equals SLICOT's $U_s^{\mathsf T}U_s$ (the
/// two triangular factors differ, as the factorizations $UU^{\mathsf T}$ and
/// $U_s^{\mathsf T}U_s$ do).
///
/// # Errors
/// [`SystemsError::NonFinite`] for NaN/Inf input; [`SystemsError::Unstable`] naming the
/// eigenvalue of $A$ with the largest real part (CT) or modulus (DT) if it lies outside the open
/// stability region; [`SystemsError::NoConvergence`] if the Schur decomposition fails.
///
/// # Panics
/// If $A$ is not square or $B$ does not have $n$ rows.
///
/// # Algorithm
/// With $A = ZTZ^{\mathsf T}$ and $\tilde B = Z^{\mathsf T}B$ (compressed to $n$ columns by a QR
/// factorization when $m > n$), write $T = \begin{pmatrix}T_{11}&t_{12}\\\\0&t_{22}\end{pmatrix}$
/// with a trailing $1\times1$ or $2\times2$ block $t_{22}$, rotate $\tilde B$ from the right so
/// that its trailing rows are $(0\\ r_{22})$ with $r_{22}$ upper triangular, and split
/// $\tilde U = \begin{pmatrix}U_{11}&u_{12}\\\\0&u_{22}\end{pmatrix}$. Then (CT)
/// $t_{22}u_{22}u_{22}^{\mathsf T} + u_{22}u_{22}^{\mathsf T}t_{22}^{\mathsf T} + r_{22}r_{22}^{\mathsf T}
/// = 0$ gives $u_{22}$; with $S = u_{22}^{\mathsf T}t_{22}^{\mathsf T}u_{22}^{-\mathsf T}$ and
/// $\alpha = r_{22}^{\mathsf T}u_{22}^{-\mathsf T}$ (which satisfy $S+S^{\mathsf T} = -\alpha^{\mathsf
/// T}\alpha$), $u_{12}$ solves the quasi-triangular Sylvester equation
/// $T_{11}u_{12} + u_{12}S = -t_{12}u_{22} - r_{12}\alpha$, and the leading block satisfies the same
/// kind of equation with the factor $(\tilde B_{1}\\ \\ r_{12} - u_{12}\alpha^{\mathsf T})$ — the
/// number of columns never grows. In discrete time $S^{\mathsf T}S + \alpha^{\mathsf T}\alpha = I$,
/// $T_{11}u_{12}S - u_{12} = -t_{12}u_{22}S - r_{12}\alpha$, and the new factor is
/// $(v\\ r_{12})W_\perp$ with $v = T_{11}u_{12} + t_{12}u_{22}$ and $W_\perp$ an orthonormal
/// complement of $\binom{S}{\alpha}$. Cost: the Schur form plus $\approx n^3/3 + O(n^2 m)$ flops for
/// the recursion plus $\approx 4n^3$ for $Z\tilde U$ and its RQ factorization, and $\approx 4n^3$ for
/// the residual.
pub fn lyapunov_cholesky(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    time: TimeDomain,
) -> Result<CholeskyFactor> {
    assert_eq!(a.nrows(), a.ncols(), "lyapunov_cholesky: A must be square");
    assert_eq!(
        b.nrows(),
        a.nrows(),
        "lyapunov_cholesky: B must have n rows"
    );
    finite("A", a)?;
    finite("B", b)?;
    let n = a.nrows();
    if n == 0 {
        return Ok(CholeskyFactor {
            u: Mat::zeros(0, 0),
            residual: 0.0,
        });
    }
    let s = real_schur(a)?;
    let u = lyapunov_cholesky_schur(&s, b, time)?;
    // Residual with X = U U^T (diagnostic only; the solver never forms X).
    let mut x = Mat::<f64>::zeros(n, n);
    gemm(x.as_mut(), u.as_ref(), u.transpose(), 1.0, true);
    let mut bbt = Mat::<f64>::zeros(n, n);
    gemm(bbt.as_mut(), b, b.transpose(), 1.0, true);
    let residual = residual_of(a, x.as_ref(), bbt.as_ref(), time);
    Ok(CholeskyFactor { u, residual })
}

/// [`lyapunov_cholesky`] for $A$ given by its real Schur form; returns $U$ only.
///
/// Uses the level-3 (blocked) recursion with block size [`HAMMARLING_BLOCK`] in continuous time
/// (see [`lyapunov_cholesky_schur_blocked`]).
///
/// # Errors
/// [`SystemsError::Unstable`] if $A$ is not stable.
///
/// # Panics
/// If $B$ does not have $n$ rows.
pub fn lyapunov_cholesky_schur(
    s: &RealSchur,
    b: MatRef<'_, f64>,
    time: TimeDomain,
) -> Result<Mat<f64>> {
    lyapunov_cholesky_schur_blocked(s, b, time, HAMMARLING_BLOCK)
}

/// Default block size of the level-3 Hammarling recursion ([`lyapunov_cholesky_schur_blocked`]).
pub const HAMMARLING_BLOCK: usize = 64;

/// [`lyapunov_cholesky_schur`] with an explicit block size `block` of the level-3 recursion;
/// `block = 0` or `block >= n` runs the unblocked (level-2) recursion.
///
/// # Errors
/// [`SystemsError::Unstable`] if $A$ is not stable.
///
/// # Panics
/// If $B$ does not have $n$ rows.
///
/// # Algorithm
/// Continuous time, block variant of Hammarling's method (Kressner 2008): split
/// $T = \begin{pmatrix}T_{11}&T_{12}\\0&T_{22}\end{pmatrix}$ with a trailing block $T_{22}$ of
/// about `block` rows (never cutting a $2\times2$ block). The unblocked recursion on
/// $(T_{22}, \tilde B_2)$ gives $U_{22}$ and, tracked along its steps, the matrices
/// $\hat S = U_{22}^{\mathsf T}T_{22}^{\mathsf T}U_{22}^{-\mathsf T}$ (block lower triangular,
/// diagonal blocks the steps' $S$) and $\hat\Pi$, $Q$, $M$ with which the top rows of the unblocked
/// recursion would have evolved: $\tilde B_1 \leftarrow \tilde B_1Q - U_{12}M$ — all assembled
/// from the steps' $S$, $\alpha$ and reflectors, never by inverting $U_{22}$. Then $U_{12}$ solves
/// the quasi-triangular Sylvester equation
/// $$T_{11}U_{12} + U_{12}\hat S = -T_{12}U_{22} - \tilde B_1\hat\Pi$$
/// (recursive blocked, Jonsson–Kågström: matrix products), and the method continues on
/// $(T_{11}, \tilde B_1Q - U_{12}M)$. Discrete time runs the unblocked recursion.
pub fn lyapunov_cholesky_schur_blocked(
    s: &RealSchur,
    b: MatRef<'_, f64>,
    time: TimeDomain,
    block: usize,
) -> Result<Mat<f64>> {
    let n = s.t.nrows();
    assert_eq!(b.nrows(), n, "lyapunov_cholesky: B must have n rows");
    let ut = lyapunov_cholesky_tilde(s, b, time, block)?;
    if n == 0 {
        return Ok(ut);
    }
    Ok(back_transform(s, ut.as_ref()))
}

/// The factor $\tilde U$ in Schur coordinates (upper triangular, non-negative diagonal):
/// $\tilde U\tilde U^{\mathsf T} = Y$, $TY + YT^{\mathsf T} + \tilde B\tilde B^{\mathsf T} = 0$
/// (or the discrete analogue), $\tilde B = Z^{\mathsf T}B$; the solution is
/// $X = Z\tilde U\tilde U^{\mathsf T}Z^{\mathsf T}$. [`lyapunov_cholesky_schur_blocked`] without
/// the back-transformation (the RQ factorization of $Z\tilde U$, $\approx 4n^3$ flops), for
/// callers that stay in Schur coordinates (Hankel singular values). `block` as there.
///
/// # Errors
/// [`SystemsError::Unstable`] if $A$ is not stable.
///
/// # Panics
/// If $B$ does not have $n$ rows.
pub fn lyapunov_cholesky_tilde(
    s: &RealSchur,
    b: MatRef<'_, f64>,
    time: TimeDomain,
    block: usize,
) -> Result<Mat<f64>> {
    let n = s.t.nrows();
    assert_eq!(b.nrows(), n, "lyapunov_cholesky: B must have n rows");
    check_stable(s, time)?;
    let m = b.ncols();
    if n == 0 || m == 0 {
        return Ok(Mat::zeros(n, n));
    }
    // B~ = Z^T B, compressed to at most n columns, at least min(2, n).
    let mut bt = Mat::<f64>::zeros(n, m);
    gemm(bt.as_mut(), s.z.transpose(), b, 1.0, true);
    let w0 = if m > n {
        // B~ B~^T = R^T R with B~^T = Q R.
        let r = bt.transpose().to_owned().qr().R().to_owned();
        bt = r.transpose().to_owned();
        n
    } else {
        m
    };
    let w = w0.max(2.min(n));
    let mut bw = Mat::<f64>::zeros(n, w);
    bw.as_mut()
        .submatrix_mut(0, 0, n, w0)
        .copy_from(bt.as_ref().submatrix(0, 0, n, w0));
    let mut ut = Mat::<f64>::zeros(n, n);
    let discrete = time == TimeDomain::Discrete;
    if !discrete && block > 0 && block < n {
        let b0 = bw.clone();
        if hammarling_blocked(s.t.as_ref(), bw.as_mut(), ut.as_mut(), block).is_ok() {
            return Ok(ut);
        }
        // A Sylvester block overflowed: the unblocked recursion (which scales nothing either,
        // but never stops) from the start.
        bw = b0;
        ut.fill(0.0);
    }
    hammarling_tri(s.t.as_ref(), bw.as_mut(), ut.as_mut(), discrete, None);
    Ok(ut)
}

/// $U$ upper triangular with non-negative diagonal and $UU^{\mathsf T} = (Z\tilde U)(Z\tilde
/// U)^{\mathsf T}$: the RQ factorization of $Z\tilde U$.
fn back_transform(s: &RealSchur, ut: MatRef<'_, f64>) -> Mat<f64> {
    let n = ut.nrows();
    // U U^T = (Z U~)(Z U~)^T; RQ of M = Z U~ via QR of (J M)^T.
    let mut mz = Mat::<f64>::zeros(n, n);
    triangular::matmul(
        mz.as_mut(),
        BlockStructure::Rectangular,
        Accum::Replace,
        s.z.as_ref(),
        BlockStructure::Rectangular,
        ut,
        BlockStructure::TriangularUpper,
        1.0,
        faer::get_global_parallelism(),
    );
    let nmat = Mat::from_fn(n, n, |i, j| mz[(n - 1 - j, i)]);
    let r = nmat.qr().R().to_owned();
    let mut u = Mat::from_fn(n, n, |i, j| {
        if i <= j {
            r[(n - 1 - j, n - 1 - i)]
        } else {
            0.0
        }
    });
    for j in 0..n {
        if u[(j, j)] < 0.0 {
            for i in 0..=j {
                u[(i, j)] = -u[(i, j)];
            }
        }
    }
    u
}

/// Householder reflector $H = I - \tau vv^{\mathsf T}$ with $H x = \beta e_{\text{last}}$ for
/// `x` (length $\ell$); returns $(\tau, \beta)$ and $v$ with $v_{\text{last}} = 1$.
///
/// $\beta = -\operatorname{sign}(x_\ell)\|x\|_2$, $\tau = (\beta - x_\ell)/\beta$,
/// $v_i = x_i/(x_\ell - \beta)$. The right-hand sides of Hammarling's recursion decay with the
/// Gramian's eigenvalues and reach the subnormal range on large models (random stable $n = 1000$):
/// there $1/(x_\ell-\beta)$ overflows to $\infty$ and $v$ becomes NaN. So when
/// $\|x\|_2 < \texttt{safmin} = \texttt{MIN\_POSITIVE}/\varepsilon$ the vector is first scaled by the
/// exact power of two $1/\texttt{safmin} = 2^{970}$ (as LAPACK `dlarfg` does), and $\beta$ scaled
/// back; $v$ and $\tau$ are scale invariant.
fn reflector_to_last(x: &[f64], v: &mut [f64]) -> (f64, f64) {
    const SAFMIN: f64 = f64::MIN_POSITIVE / f64::EPSILON;
    let l = x.len();
    v[..l].copy_from_slice(x);
    let norm_head = |v: &[f64]| v[..l - 1].iter().fold(0.0f64, |s, &vi| s.hypot(vi));
    let mut sig = norm_head(v);
    if sig == 0.0 {
        v[l - 1] = 1.0;
        return (0.0, x[l - 1]);
    }
    let mut rescalings = 0;
    while v[l - 1].hypot(sig) < SAFMIN && rescalings < 4 {
        for vi in v[..l].iter_mut() {
            *vi /= SAFMIN;
        }
        sig = norm_head(v);
        rescalings += 1;
    }
    let alpha = v[l - 1];
    let beta = if alpha >= 0.0 {
        -alpha.hypot(sig)
    } else {
        alpha.hypot(sig)
    };
    let tau = (beta - alpha) / beta;
    let scal = 1.0 / (alpha - beta);
    for vi in v[..l - 1].iter_mut() {
        *vi *= scal;
    }
    v[l - 1] = 1.0;
    let mut beta = beta;
    for _ in 0..rescalings {
        beta *= SAFMIN;
    }
    (tau, beta)
}

/// Applies $H = I - \tau vv^{\mathsf T}$ from the right to columns `0..l` of rows `0..p` of `b`.
fn apply_reflector_right(
    mut b: MatMut<'_, f64>,
    p: usize,
    l: usize,
    v: &[f64],
    tau: f64,
    y: &mut [f64],
) {
    if tau == 0.0 || p == 0 {
        return;
    }
    let y = &mut y[..p];
    y.fill(0.0);
    for (c, &vc) in v[..l].iter().enumerate() {
        if vc != 0.0 {
            let col = b.rb().col(c);
            for r in 0..p {
                y[r] += col[r] * vc;
            }
        }
    }
    for (c, &vc) in v[..l].iter().enumerate() {
        let f = tau * vc;
        if f != 0.0 {
            let mut col = b.rb_mut().col_mut(c);
            for r in 0..p {
                col[r] -= y[r] * f;
            }
        }
    }
}

/// A $2\times2$ block stored row-major.
type Block2 = [[f64; 2]; 2];

/// The small problem of one Hammarling step: $u_{22}$ ($k\times k$ upper triangular), $S$ and
/// $\alpha$ ($k\times k$) from $t_{22}$ and $r_{22}$.
fn hammarling_small(
    t22: [[f64; 2]; 2],
    r22: [[f64; 2]; 2],
    k: usize,
    discrete: bool,
) -> (Block2, Block2, Block2) {
    if k == 1 {
        let (t, r) = (t22[0][0], r22[0][0]);
        let d = if discrete {
            ((1.0 - t) * (1.0 + t)).sqrt()
        } else {
            (-2.0 * t).sqrt()
        };
        let u = r.abs() / d;
        let alpha = if r < 0.0 { -d } else { d };
        return (
            [[u, 0.0], [0.0, 0.0]],
            [[t, 0.0], [0.0, 0.0]],
            [[alpha, 0.0], [0.0, 0.0]],
        );
    }
    // Normalize r22.
    // hypot, not a sum of squares: r22 may be far below sqrt(MIN_POSITIVE) (decayed right-hand
    // sides of large models), where the squares would underflow to zero.
    let rn = r22[0][0].hypot(r22[0][1]).hypot(r22[1][1]);
    let r = if rn > 0.0 {
        [[r22[0][0] / rn, r22[0][1] / rn], [0.0, r22[1][1] / rn]]
    } else {
        [[1.0, 0.0], [0.0, 1.0]]
    };
    let scale = if rn > 0.0 { rn } else { 0.0 };
    let (un, s, alpha) = match hammarling_pair(t22, r, discrete) {
        Some(step) => step,
        None => hammarling_block_via_gram(t22, r, discrete),
    };
    let u = [
        [un[0][0] * scale, un[0][1] * scale],
        [0.0, un[1][1] * scale],
    ];
    (u, s, alpha)
}

/// The $2\times2$ Hammarling step for a block $t$ with a complex-conjugate pair
/// $\lambda, \bar\lambda$ ($\lambda = a + i\omega$, $\omega > 0$) and a normalized upper-triangular
/// $r$: returns $u$ (upper triangular, $uu^{\mathsf T} = Y$ with $tY + Yt^{\mathsf T} + rr^{\mathsf T}
/// = 0$, resp. $tYt^{\mathsf T} - Y + rr^{\mathsf T} = 0$), $S = u^{\mathsf T}t^{\mathsf
/// T}u^{-\mathsf T}$ and $\alpha = r^{\mathsf T}u^{-\mathsf T}$, without forming $Y$ and without
/// inverting $u$; `None` if the eigenvalues of $t$ are real.
///
/// Hammarling's complex formulation (1982, §6): with the unitary $Q$ of the complex Schur form
/// $Q^{*}tQ = T_c = \begin{pmatrix}\lambda&\mu\\\\0&\bar\lambda\end{pmatrix}$ ($Q$'s first
/// column an eigenvector, $\det Q = 1$) and a unitary $G$ with $Q^{*}rG = R_c =
/// \begin{pmatrix}r_1&r_{12}\\\\0&r_2\end{pmatrix}$, $r_2 > 0$, the complex factor
/// $U_c = \begin{pmatrix}\nu_1&u_{12}\\\\0&\nu_2\end{pmatrix}$ of $Y_c = Q^{*}YQ$ is, with
/// $\kappa = \sqrt{-2a}$ (CT) resp. $\sqrt{1-|\lambda|^2}$ (DT) and $d = 2\lambda$ (CT) resp.
/// $\lambda^2 - 1$ (DT),
/// $$\nu_2 = \frac{r_2}{\kappa},\quad u_{12} = -\frac{\mu\nu_2\,[\lambda] + \kappa r_{12}}{d},
/// \quad \rho' = \frac{2i\omega\,r_{12} + \mu r_2}{d},\quad
/// \nu_1 = \frac{\\|(r_1, \rho')\\|}{\kappa},$$
/// ($[\lambda]$ in DT only) where $\rho'$ is the column left for the leading entry. No step
/// cancels: $\rho'$ — small exactly when the pair is nearly uncontrollable from $r$ (eigenvalues
/// $-100\pm10^{-8}i$ with a rank-one $r$, the case suspected on lf10) — is a sum of two
/// products, not a difference of $O(1)$ numbers, and $r_1 = \det(Q^{*}r)/r_2$. Then
/// $K = U_c^{-1}T_cU_c = \begin{pmatrix}\lambda&-\kappa\rho'/\nu_1\\\\0&\bar\lambda
/// \end{pmatrix}$ and $L = U_c^{-1}R_c = \begin{pmatrix}\kappa r_1/\\|\cdot\\|&\kappa
/// [\lambda]\rho'/\\|\cdot\\|\\\\0&\kappa\end{pmatrix}$ have bounded entries. The real factor:
/// $M = QU_c = uW$ with $W$ unitary, $u_{11} = \\|M_{1,:}\\|$, $u_{01} = \operatorname{Re}
/// M_{0,:}M_{1,:}^{*}/u_{11}$, $u_{00} = \nu_1\nu_2/u_{11}$ ($|\det M| = \nu_1\nu_2$), $W$'s rows
/// $w_1 = M_{1,:}/u_{11}$ and $w_0 = (\bar w_{11}, -\bar w_{10})$; finally
/// $S = WK^{*}W^{*}$ and $\alpha = GL^{*}W^{*}$ (real up to rounding). They satisfy
/// $S + S^{\mathsf T} + \alpha^{\mathsf T}\alpha = 0$ (CT), $S^{\mathsf T}S + \alpha^{\mathsf
/// T}\alpha = I$ (DT) to rounding, whatever the conditioning of $u$.
fn hammarling_pair(t: Block2, r: Block2, discrete: bool) -> Option<(Block2, Block2, Block2)> {
    let c = |re: f64, im: f64| c64::new(re, im);
    let p = 0.5 * (t[0][0] - t[1][1]);
    let a = 0.5 * (t[0][0] + t[1][1]);
    let (b01, b10) = (t[0][1], t[1][0]);
    // omega^2 = -(p^2 + b01 b10) > 0 for a complex pair; sqrt|b01| sqrt|b10| avoids
    // under/overflow of the product in the standardized case p = 0.
    let omega = if p == 0.0 {
        if b01 * b10 >= 0.0 || b01 == 0.0 {
            return None;
        }
        b01.abs().sqrt() * b10.abs().sqrt()
    } else {
        let d = p * p + b01 * b10;
        if d >= 0.0 || !d.is_finite() {
            return None;
        }
        (-d).sqrt()
    };
    let lambda = c(a, omega);
    // Eigenvector x = (b01, lambda - t00) = (b01, -p + i omega); Q = [x, (-conj x1, conj x0)]/|x|.
    let nx = b01.hypot(p).hypot(omega);
    let q = [
        [c(b01 / nx, 0.0), c(p / nx, omega / nx)],
        [c(-p / nx, omega / nx), c(b01 / nx, 0.0)],
    ];
    let det_q = q[0][0] * q[1][1] - q[0][1] * q[1][0];
    let tq1 = [
        c(t[0][0], 0.0) * q[0][1] + c(t[0][1], 0.0) * q[1][1],
        c(t[1][0], 0.0) * q[0][1] + c(t[1][1], 0.0) * q[1][1],
    ];
    let mu = q[0][0].conj() * tq1[0] + q[1][0].conj() * tq1[1];
    // R~ = Q^* r.
    let rt =
        |i: usize, j: usize| q[0][i].conj() * c(r[0][j], 0.0) + q[1][i].conj() * c(r[1][j], 0.0);
    let (y0, y1, z0, z1) = (rt(0, 0), rt(0, 1), rt(1, 0), rt(1, 1));
    let r2 = z0.norm().hypot(z1.norm());
    if r2 == 0.0 || !r2.is_finite() {
        return None;
    }
    // G = [[z1, conj z0], [-z0, conj z1]] / r2: (z0, z1) G = (0, r2), det G = 1.
    let g = [[z1 / r2, z0.conj() / r2], [-z0 / r2, z1.conj() / r2]];
    let r12 = (y0 * z0.conj() + y1 * z1.conj()) / r2;
    let r1 = det_q.conj() * c(r[0][0] * r[1][1], 0.0) / r2;
    let (kappa, d) = if discrete {
        let m = lambda.norm();
        (((1.0 - m) * (1.0 + m)).sqrt(), lambda * lambda - 1.0)
    } else {
        ((-2.0 * a).sqrt(), lambda * 2.0)
    };
    let nu2 = r2 / kappa;
    let mu_nu2 = if discrete {
        mu * nu2 * lambda
    } else {
        mu * nu2
    };
    let u12 = -(mu_nu2 + r12 * kappa) / d;
    let rho = (c(0.0, 2.0 * omega) * r12 + mu * r2) / d;
    let nrm = r1.norm().hypot(rho.norm());
    let nu1 = nrm / kappa;
    // K = U_c^{-1} T_c U_c, L = U_c^{-1} R_c (bounded entries; see the doc).
    let (k01, l00, l01) = if nrm > 0.0 {
        let rho_l = if discrete { rho * lambda } else { rho };
        (
            -(rho * kappa) * (kappa / nrm),
            r1 * (kappa / nrm),
            rho_l * (kappa / nrm),
        )
    } else {
        (c(0.0, 0.0), c(kappa, 0.0), c(0.0, 0.0))
    };
    let k = [[lambda, k01], [c(0.0, 0.0), lambda.conj()]];
    let l = [[l00, l01], [c(0.0, 0.0), c(kappa, 0.0)]];
    // M = Q U_c.
    let uc = [[c(nu1, 0.0), u12], [c(0.0, 0.0), c(nu2, 0.0)]];
    let mm = |i: usize, j: usize| q[i][0] * uc[0][j] + q[i][1] * uc[1][j];
    let (m00, m01, m10, m11) = (mm(0, 0), mm(0, 1), mm(1, 0), mm(1, 1));
    let u11 = m10.norm().hypot(m11.norm());
    if u11 == 0.0 || !u11.is_finite() {
        return None;
    }
    let u01 = (m00 * m10.conj() + m01 * m11.conj()).re / u11;
    let u00 = nu1 * (nu2 / u11);
    let w1 = [m10 / u11, m11 / u11];
    let w0 = [det_q * w1[1].conj(), -(det_q * w1[0].conj())];
    let w = [w0, w1];
    // S = W K^* W^*, alpha = G L^* W^* (real parts; the imaginary parts are rounding).
    let prod = |x: [[c64; 2]; 2], y: [[c64; 2]; 2]| {
        let mut z = [[c(0.0, 0.0); 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                z[i][j] = x[i][0] * y[0][j] + x[i][1] * y[1][j];
            }
        }
        z
    };
    let adj = |x: [[c64; 2]; 2]| {
        [
            [x[0][0].conj(), x[1][0].conj()],
            [x[0][1].conj(), x[1][1].conj()],
        ]
    };
    let sc = prod(prod(w, adj(k)), adj(w));
    let ac = prod(prod(g, adj(l)), adj(w));
    let re = |x: [[c64; 2]; 2]| [[x[0][0].re, x[0][1].re], [x[1][0].re, x[1][1].re]];
    Some(([[u00, u01], [0.0, u11]], re(sc), re(ac)))
}

/// The $2\times2$ step through the Gramian (fallback for a block with real eigenvalues, which a
/// standardized Schur form does not produce): solves the $3\times3$ system for
/// $Y = uu^{\mathsf T}$, takes a reverse Cholesky factor and $S = u^{\mathsf T}t^{\mathsf
/// T}u^{-\mathsf T}$, $\alpha = r^{\mathsf T}u^{-\mathsf T}$ by inverting $u$ — which loses the
/// small entry of $u$ to cancellation when $Y$ is nearly singular.
fn hammarling_block_via_gram(t22: Block2, r: Block2, discrete: bool) -> (Block2, Block2, Block2) {
    // Y = [[y0, y1], [y1, y2]] solves t Y + Y t^T + r r^T = 0 (CT) or t Y t^T - Y + r r^T = 0 (DT).
    let rr = [
        r[0][0] * r[0][0] + r[0][1] * r[0][1],
        r[0][1] * r[1][1],
        r[1][1] * r[1][1],
    ];
    let t = t22;
    let mut m = [0.0f64; 9];
    let mut rhs = [-rr[0], -rr[1], -rr[2]];
    // Entry (i,j) of the operator applied to basis E00, E01+E10, E11.
    let basis = [
        [[1.0, 0.0], [0.0, 0.0]],
        [[0.0, 1.0], [1.0, 0.0]],
        [[0.0, 0.0], [0.0, 1.0]],
    ];
    let idx = [(0usize, 0usize), (0, 1), (1, 1)];
    for (col, e) in basis.iter().enumerate() {
        // L(E)
        let mut l = [[0.0f64; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                let mut v = 0.0;
                if discrete {
                    for p in 0..2 {
                        for q in 0..2 {
                            v += t[i][p] * e[p][q] * t[j][q];
                        }
                    }
                    v -= e[i][j];
                } else {
                    for p in 0..2 {
                        v += t[i][p] * e[p][j] + e[i][p] * t[j][p];
                    }
                }
                l[i][j] = v;
            }
        }
        for (row, &(i, j)) in idx.iter().enumerate() {
            m[row * 3 + col] = l[i][j];
        }
    }
    let _ = crate::schur::small_solve(&mut m, 3, &mut rhs, f64::MIN_POSITIVE * 1e3);
    let (y0, y1, y2) = (rhs[0], rhs[1], rhs[2]);
    // Reverse Cholesky: Y = u u^T, u upper: u11 = sqrt(y2), u01 = y1/u11, u00 = sqrt(y0 - u01^2).
    let u11 = y2.max(0.0).sqrt();
    let u01 = if u11 > 0.0 { y1 / u11 } else { 0.0 };
    let det = (y0 * y2 - y1 * y1).max(0.0);
    let u00 = if u11 > 0.0 {
        (det / y2).sqrt()
    } else {
        y0.max(0.0).sqrt()
    };
    let un = [[u00, u01], [0.0, u11]];
    // S = u^T t^T u^{-T}, alpha = r^T u^{-T}. u^{-T} is lower: inv(u)^T.
    let inv = if u00 > 0.0 && u11 > 0.0 {
        [[1.0 / u00, -u01 / (u00 * u11)], [0.0, 1.0 / u11]]
    } else {
        [[0.0, 0.0], [0.0, 0.0]]
    };
    let uinv_t = [[inv[0][0], inv[1][0]], [inv[0][1], inv[1][1]]];
    let mul = |x: [[f64; 2]; 2], y: [[f64; 2]; 2]| {
        let mut z = [[0.0f64; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                z[i][j] = x[i][0] * y[0][j] + x[i][1] * y[1][j];
            }
        }
        z
    };
    let tr = |x: [[f64; 2]; 2]| [[x[0][0], x[1][0]], [x[0][1], x[1][1]]];
    let s = mul(mul(tr(un), tr(t)), uinv_t);
    let alpha = mul(tr(r), uinv_t);
    (un, s, alpha)
}

/// Hammarling's recursion on the quasi-triangular $T$: with $B$ ($n\times w$, $w\ge\min(2,n)$)
/// overwritten, computes upper-triangular $\tilde U$ with $\tilde U\tilde U^{\mathsf T} = Y$,
/// $TY + YT^{\mathsf T} + BB^{\mathsf T} = 0$ (or the discrete analogue).
///
/// With `track`, also records how the steps act on rows *above* this problem (see [`Track`]):
/// the blocked driver [`hammarling_blocked`] runs this recursion on a trailing diagonal block.
fn hammarling_tri(
    t: MatRef<'_, f64>,
    mut b: MatMut<'_, f64>,
    mut u: MatMut<'_, f64>,
    discrete: bool,
    mut track: Option<&mut Track>,
) {
    let n = t.nrows();
    let w = b.ncols();
    let mut v = vec![0.0f64; w];
    let mut xbuf = vec![0.0f64; w];
    let mut ybuf = vec![0.0f64; n];
    // Work arrays for the u12 solve: rhs (acc) and the solution, k columns each.
    let mut acc = Mat::<f64>::zeros(n, 2);
    let mut sol = Mat::<f64>::zeros(n, 2);
    let mut p = n;
    while p > 0 {
        let k = if p >= 2 && t[(p - 1, p - 2)] != 0.0 {
            2
        } else {
            1
        };
        let j0 = p - k;
        // RQ of the trailing k rows of B (rows j0..p): row p-1 -> (0..0, rho), row p-2 -> (0..0, *, *).
        for step in 0..k {
            let row = p - 1 - step;
            let l = w - step;
            for c in 0..l {
                xbuf[c] = b[(row, c)];
            }
            let (tau, beta) = reflector_to_last(&xbuf[..l], &mut v);
            apply_reflector_right(b.rb_mut(), p, l, &v, tau, &mut ybuf);
            if let Some(tr) = track.as_deref_mut() {
                tr.reflect(l, &v, tau);
            }
            // Set the row exactly.
            for c in 0..l - 1 {
                b[(row, c)] = 0.0;
            }
            b[(row, l - 1)] = if tau == 0.0 { xbuf[l - 1] } else { beta };
        }
        let mut r22 = [[0.0f64; 2]; 2];
        let mut t22 = [[0.0f64; 2]; 2];
        for i in 0..k {
            for j in 0..k {
                r22[i][j] = b[(j0 + i, w - k + j)];
                t22[i][j] = t[(j0 + i, j0 + j)];
            }
        }
        if k == 2 {
            r22[1][0] = 0.0;
        }
        let (u22, s, alpha) = hammarling_small(t22, r22, k, discrete);
        for i in 0..k {
            for j in 0..k {
                u[(j0 + i, j0 + j)] = u22[i][j];
            }
        }
        if let Some(tr) = track.as_deref_mut() {
            tr.step(j0, k, s, alpha);
        }
        if j0 == 0 {
            break;
        }
        // rhs0 = -(t12 u22 [S]) - r12 alpha ; rows 0..j0, k columns.
        // CT: T11 x + x S = rhs0.   DT: T11 x S - x = rhs0 with rhs0 = -(t12 u22 S + r12 alpha).
        let mut tu = [[0.0f64; 2]; 2]; // u22 S (DT) or u22 (CT), k x k
        for i in 0..k {
            for j in 0..k {
                tu[i][j] = if discrete {
                    (0..k).map(|l| u22[i][l] * s[l][j]).sum()
                } else {
                    u22[i][j]
                };
            }
        }
        for r in 0..j0 {
            for j in 0..k {
                let mut val = 0.0;
                for l in 0..k {
                    val -= t[(r, j0 + l)] * tu[l][j] + b[(r, w - k + l)] * alpha[l][j];
                }
                sol[(r, j)] = val; // holds rhs0 until solved
                acc[(r, j)] = 0.0; // sum_{L>I} T_IL x_L
            }
        }
        // Block back substitution over T11.
        let mut iend = j0;
        while iend > 0 {
            let bi = if iend >= 2 && t[(iend - 1, iend - 2)] != 0.0 {
                2
            } else {
                1
            };
            let i0 = iend - bi;
            // Right-hand side for this block.
            let mut rhs = [[0.0f64; 2]; 2];
            for ii in 0..bi {
                for j in 0..k {
                    let a_s: f64 = if discrete {
                        (0..k).map(|l| acc[(i0 + ii, l)] * s[l][j]).sum()
                    } else {
                        acc[(i0 + ii, j)]
                    };
                    rhs[ii][j] = sol[(i0 + ii, j)] - a_s;
                }
            }
            let x = small_block(t, i0, bi, s, k, rhs, discrete);
            for ii in 0..bi {
                for j in 0..k {
                    sol[(i0 + ii, j)] = x[ii][j];
                }
            }
            // acc[0..i0] += T[0..i0, I] x.
            for ii in 0..bi {
                let tcol = t.col(i0 + ii);
                for j in 0..k {
                    let xv = x[ii][j];
                    if xv != 0.0 {
                        let mut ac = acc.as_mut().col_mut(j);
                        for r in 0..i0 {
                            ac[r] += tcol[r] * xv;
                        }
                    }
                }
            }
            // For DT keep acc_I itself (needed for v): add the diagonal-block part later.
            iend = i0;
        }
        // u12 = sol; write into U.
        for r in 0..j0 {
            for j in 0..k {
                u[(r, j0 + j)] = sol[(r, j)];
            }
        }
        // New factor column(s) of B (columns w-k..w, rows 0..j0).
        if discrete {
            // v = T11 u12 + t12 u22 = (acc + diagonal-block part) + t12 u22.
            // W = [S; alpha] (2k x k); W_perp orthonormal complement.
            let wp = orth_complement(s, alpha, k);
            for r in 0..j0 {
                // Diagonal-block part of T11 u12 for row r.
                let bi_start = if r >= 1 && t[(r, r - 1)] != 0.0 {
                    r - 1
                } else {
                    r
                };
                let bi_end = if r + 1 < j0 && t[(r + 1, r)] != 0.0 {
                    r + 2
                } else {
                    r + 1
                };
                let mut vv = [0.0f64; 2];
                let mut rr = [0.0f64; 2];
                for j in 0..k {
                    let mut val = acc[(r, j)];
                    for c in bi_start..bi_end {
                        val += t[(r, c)] * sol[(c, j)];
                    }
                    for l in 0..k {
                        val += t[(r, j0 + l)] * u22[l][j];
                    }
                    vv[j] = val;
                    rr[j] = b[(r, w - k + j)];
                }
                for j in 0..k {
                    let mut val = 0.0;
                    for l in 0..k {
                        val += vv[l] * wp[l][j] + rr[l] * wp[k + l][j];
                    }
                    b[(r, w - k + j)] = val;
                }
            }
        } else {
            for r in 0..j0 {
                let mut yv = [0.0f64; 2];
                for j in 0..k {
                    // y = r12 - u12 alpha^T.
                    let mut val = b[(r, w - k + j)];
                    for l in 0..k {
                        val -= sol[(r, l)] * alpha[j][l];
                    }
                    yv[j] = val;
                }
                for j in 0..k {
                    b[(r, w - k + j)] = yv[j];
                }
            }
        }
        p = j0;
    }
}

/// What the steps of Hammarling's recursion on a trailing diagonal block $T_{22}$ do to the rows
/// above it (continuous time). Those rows of $\tilde B$ evolve as $\tilde B_1Q - U_{12}M$ ($Q$:
/// the product of the right reflectors, $w\times w$; $M$: $m\times w$), and the step on columns
/// $J$ asks for $T_{11}U_{12,J} + U_{12,J}S_J = -(T_{12}U_{22})_J - (\tilde B_1Q - U_{12}M)_L\,
/// \alpha_J$ ($L$ the last $k$ columns at that step), i.e. column block $J$ of
/// $T_{11}U_{12} + U_{12}\hat S = -T_{12}U_{22} - \tilde B_1\hat\Pi$ with
/// $\hat S_{:,J} = E_JS_J - M_{:,L}\alpha_J$ and $\hat\Pi_{:,J} = Q_{:,L}\alpha_J$; afterwards
/// $M_{J,L} \mathrel{+}= \alpha_J^{\mathsf T}$.
struct Track {
    /// $Q$, $w\times w$.
    q: Mat<f64>,
    /// $M$, $m\times w$.
    m: Mat<f64>,
    /// $\hat S$, $m\times m$ (block lower triangular).
    s_hat: Mat<f64>,
    /// $\hat\Pi$, $w\times m$.
    pi: Mat<f64>,
    y: Vec<f64>,
}

impl Track {
    fn new(w: usize, m: usize) -> Self {
        Track {
            q: Mat::identity(w, w),
            m: Mat::zeros(m, w),
            s_hat: Mat::zeros(m, m),
            pi: Mat::zeros(w, m),
            y: vec![0.0; w.max(m)],
        }
    }

    /// A right reflector $I - \tau vv^{\mathsf T}$ on columns `0..l`.
    fn reflect(&mut self, l: usize, v: &[f64], tau: f64) {
        let (w, m) = (self.q.nrows(), self.m.nrows());
        apply_reflector_right(self.q.as_mut(), w, l, v, tau, &mut self.y);
        apply_reflector_right(self.m.as_mut(), m, l, v, tau, &mut self.y);
    }

    /// The step on columns `j0..j0 + k` with its $S$ and $\alpha$.
    fn step(&mut self, j0: usize, k: usize, s: Block2, alpha: Block2) {
        let (w, m) = (self.q.nrows(), self.m.nrows());
        for j in 0..k {
            for r in 0..m {
                let mut val = 0.0;
                for l in 0..k {
                    val -= self.m[(r, w - k + l)] * alpha[l][j];
                }
                self.s_hat[(r, j0 + j)] = val;
            }
            for i in 0..k {
                self.s_hat[(j0 + i, j0 + j)] += s[i][j];
            }
            for r in 0..w {
                let mut val = 0.0;
                for l in 0..k {
                    val += self.q[(r, w - k + l)] * alpha[l][j];
                }
                self.pi[(r, j0 + j)] = val;
            }
        }
        // Rows J of U_12 enter B~_1's last k columns as -U_{12,J} alpha^T.
        for i in 0..k {
            for l in 0..k {
                self.m[(j0 + l, w - k + i)] += alpha[i][l];
            }
        }
    }
}

/// The level-3 Hammarling recursion in continuous time (see
/// [`lyapunov_cholesky_schur_blocked`]): trailing diagonal blocks of about `nb` rows by the
/// unblocked recursion with a [`Track`], the coupling by the recursive blocked Sylvester solver.
/// Fails only if a $1\times1$/$2\times2$ Sylvester block would overflow.
fn hammarling_blocked(
    t: MatRef<'_, f64>,
    mut b: MatMut<'_, f64>,
    mut u: MatMut<'_, f64>,
    nb: usize,
) -> std::result::Result<(), SingularBlock> {
    let w = b.ncols();
    let mut p = t.nrows();
    while p > 0 {
        let mut p0 = p.saturating_sub(nb.max(2));
        if p0 > 0 && t[(p0, p0 - 1)] != 0.0 {
            // Keep the 2x2 block (p0 - 1, p0) whole.
            p0 -= 1;
        }
        let m = p - p0;
        let mut track = Track::new(w, m);
        hammarling_tri(
            t.submatrix(p0, p0, m, m),
            b.rb_mut().submatrix_mut(p0, 0, m, w),
            u.rb_mut().submatrix_mut(p0, p0, m, m),
            false,
            Some(&mut track),
        );
        if p0 == 0 {
            break;
        }
        // F = -T12 U22 - B~_1 Pi; solve T11 X + X S_hat = F.
        let (mut u_top, u22) = u.rb_mut().submatrix_mut(0, p0, p, m).split_at_row_mut(p0);
        gemm(
            u_top.rb_mut(),
            t.submatrix(0, p0, p0, m),
            u22.rb(),
            -1.0,
            true,
        );
        gemm(
            u_top.rb_mut(),
            b.rb().submatrix(0, 0, p0, w),
            track.pi.as_ref(),
            -1.0,
            false,
        );
        sylv_tri(
            t.submatrix(0, 0, p0, p0),
            track.s_hat.transpose(),
            u_top.rb_mut(),
            false,
            f64::MIN_POSITIVE * 1e3,
        )?;
        // B~_1 <- B~_1 Q - U12 M.
        let b_top = b.rb().submatrix(0, 0, p0, w).to_owned();
        let mut b1 = b.rb_mut().submatrix_mut(0, 0, p0, w);
        gemm(b1.rb_mut(), b_top.as_ref(), track.q.as_ref(), 1.0, true);
        gemm(b1, u_top.rb(), track.m.as_ref(), -1.0, false);
        p = p0;
    }
    Ok(())
}

/// Solves $T_{II}x + xS = r$ (CT) or $T_{II}xS - x = r$ (DT) for the $b_i\times k$ block $x$.
fn small_block(
    t: MatRef<'_, f64>,
    i0: usize,
    bi: usize,
    s: [[f64; 2]; 2],
    k: usize,
    rhs: [[f64; 2]; 2],
    discrete: bool,
) -> [[f64; 2]; 2] {
    let dim = bi * k;
    let mut m = [0.0f64; 16];
    let mut r = [0.0f64; 8];
    // vec column-major (i + j bi).  CT: (I ⊗ T_II + S^T ⊗ I); DT: (S^T ⊗ T_II - I).
    for j in 0..k {
        for i in 0..bi {
            let row = i + j * bi;
            r[row] = rhs[i][j];
            for l in 0..k {
                for q in 0..bi {
                    let col = q + l * bi;
                    let tiq = t[(i0 + i, i0 + q)];
                    let v = if discrete {
                        s[l][j] * tiq - if row == col { 1.0 } else { 0.0 }
                    } else {
                        (if j == l { tiq } else { 0.0 }) + (if i == q { s[l][j] } else { 0.0 })
                    };
                    m[row * dim + col] = v;
                }
            }
        }
    }
    let _ = crate::schur::small_solve(&mut m[..dim * dim], dim, &mut r, f64::MIN_POSITIVE * 1e3);
    let mut x = [[0.0f64; 2]; 2];
    for j in 0..k {
        for i in 0..bi {
            x[i][j] = r[i + j * bi];
        }
    }
    x
}

/// An orthonormal basis ($2k\times k$) of the orthogonal complement of the columns of
/// $W = \binom{S}{\alpha}$ (which are orthonormal up to rounding).
fn orth_complement(s: [[f64; 2]; 2], alpha: [[f64; 2]; 2], k: usize) -> [[f64; 2]; 4] {
    let mut out = [[0.0f64; 2]; 4];
    if k == 1 {
        let (sv, av) = (s[0][0], alpha[0][0]);
        let nrm = sv.hypot(av);
        let (sv, av) = if nrm > 0.0 {
            (sv / nrm, av / nrm)
        } else {
            (0.0, 1.0)
        };
        out[0][0] = -av;
        out[1][0] = sv;
        return out;
    }
    // Gram–Schmidt: orthonormalize W's columns, then complete with unit vectors.
    let mut basis: Vec<[f64; 4]> = Vec::with_capacity(4);
    let cols = [
        [s[0][0], s[1][0], alpha[0][0], alpha[1][0]],
        [s[0][1], s[1][1], alpha[0][1], alpha[1][1]],
    ];
    let add = |mut x: [f64; 4], basis: &mut Vec<[f64; 4]>| -> bool {
        for _ in 0..2 {
            for bv in basis.iter() {
                let d: f64 = (0..4).map(|i| x[i] * bv[i]).sum();
                for i in 0..4 {
                    x[i] -= d * bv[i];
                }
            }
        }
        let nrm = (0..4).map(|i| x[i] * x[i]).sum::<f64>().sqrt();
        if nrm > 1e-8 {
            for xi in x.iter_mut() {
                *xi /= nrm;
            }
            basis.push(x);
            true
        } else {
            false
        }
    };
    for c in cols {
        add(c, &mut basis);
    }
    let nw = basis.len();
    for e in 0..4 {
        if basis.len() == 4 {
            break;
        }
        let mut x = [0.0; 4];
        x[e] = 1.0;
        add(x, &mut basis);
    }
    for (j, bv) in basis[nw..].iter().take(2).enumerate() {
        for i in 0..4 {
            out[i][j] = bv[i];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! The $2\times2$ Hammarling step on its own: residuals of the small equation and the
    //! identities of $S$ and $\alpha$, and the exact determinant of a nearly uncontrollable pair.
    use super::*;

    type B2 = [[f64; 2]; 2];

    fn mul(x: B2, y: B2) -> B2 {
        let mut z = [[0.0; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                z[i][j] = x[i][0] * y[0][j] + x[i][1] * y[1][j];
            }
        }
        z
    }
    fn tr(x: B2) -> B2 {
        [[x[0][0], x[1][0]], [x[0][1], x[1][1]]]
    }
    fn add(x: B2, y: B2, f: f64) -> B2 {
        [
            [x[0][0] + f * y[0][0], x[0][1] + f * y[0][1]],
            [x[1][0] + f * y[1][0], x[1][1] + f * y[1][1]],
        ]
    }
    fn nrm(x: B2) -> f64 {
        x[0][0].hypot(x[0][1]).hypot(x[1][0]).hypot(x[1][1])
    }

    /// xorshift64*, uniform in (-1, 1).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            2.0 * (v as f64 / (1u64 << 53) as f64) - 1.0
        }
    }

    /// Checks one step; returns the four relative defects.
    fn defects(t: B2, r: B2, discrete: bool) -> [f64; 4] {
        let (u, s, alpha) = hammarling_small(t, r, 2, discrete);
        assert!(u[1][0] == 0.0 && u[0][0] >= 0.0 && u[1][1] >= 0.0, "{u:?}");
        let y = mul(u, tr(u));
        let rr = mul(r, tr(r));
        let (tn, un, rn) = (nrm(t), nrm(u), nrm(r));
        // Small equation.
        let res = if discrete {
            add(add(mul(mul(t, y), tr(t)), y, -1.0), rr, 1.0)
        } else {
            add(add(mul(t, y), mul(y, tr(t)), 1.0), rr, 1.0)
        };
        let scale = if discrete { tn * tn + 1.0 } else { 2.0 * tn };
        let d0 = nrm(res) / (scale * un * un + rn * rn);
        // u^T t^T = S u^T and alpha u^T = r^T.
        let d1 = nrm(add(mul(tr(u), tr(t)), mul(s, tr(u)), -1.0)) / (tn * un);
        let d2 = nrm(add(mul(alpha, tr(u)), tr(r), -1.0)) / rn;
        // S + S^T + alpha^T alpha = 0 (CT), S^T S + alpha^T alpha = I (DT): the small equation
        // in the metric of u, which a nearly singular u amplifies in the Gram route.
        let ata = mul(tr(alpha), alpha);
        let d3 = if discrete {
            nrm(add(
                add(mul(tr(s), s), ata, 1.0),
                [[1.0, 0.0], [0.0, 1.0]],
                -1.0,
            ))
        } else {
            nrm(add(add(s, tr(s), 1.0), ata, 1.0)) / tn
        };
        [d0, d1, d2, d3]
    }

    #[test]
    fn pair_step_residuals_on_random_blocks() {
        let mut g = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..4000 {
            let discrete = case % 2 == 1;
            // A 2x2 block with a complex pair: standardized (t00 = t11) or general.
            let (b01, b10) = (g.next(), g.next());
            let (b01, b10) = if b01 * b10 < 0.0 {
                (b01, b10)
            } else {
                (b01, -b10)
            };
            let p = if case % 3 == 0 {
                0.0
            } else {
                0.1 * g.next() * (-b01 * b10).sqrt()
            };
            let a = if discrete {
                0.3 * g.next()
            } else {
                -0.05 - g.next().abs()
            };
            let mut t = [[a + p, b01], [b10, a - p]];
            if discrete {
                // Scale into the unit disc.
                let rad = (a * a - (p * p + b01 * b10)).sqrt();
                let f = 0.95 * g.next().abs().max(0.05) / rad.max(1e-300);
                t = [[t[0][0] * f, t[0][1] * f], [t[1][0] * f, t[1][1] * f]];
            }
            let rank_one = case % 4 < 2;
            let r = [
                [if rank_one { 0.0 } else { g.next() }, g.next()],
                [0.0, g.next()],
            ];
            let d = defects(t, r, discrete);
            let tol = 1e-13;
            assert!(
                d.iter().all(|&x| x < tol),
                "case {case} ({}): t = {t:?}, r = {r:?}: defects {d:?}",
                if discrete { "DT" } else { "CT" }
            );
        }
    }

    /// $t = aI + \omega J$ (CT) or $c\,R(\theta)$ (DT) with a rank-one $r$ — the lf10 situation
    /// ($-100\pm10^{-8}i$): the exact $\det Y$ is known in closed form, and $u_{00}u_{11} =
    /// \sqrt{\det Y}$ must hold to working accuracy although $Y$ is singular to working precision.
    #[test]
    fn nearly_uncontrollable_pair_keeps_its_small_factor_entry() {
        let v = [0.6, -0.8];
        let r = [[0.0, v[0]], [0.0, v[1]]];
        for &omega in &[1.0f64, 1e-4, 1e-8, 1e-12] {
            // CT: det Y = omega^2 / (beta^2 D), beta = -2a, D = beta^2 + 4 omega^2.
            let a: f64 = -100.0;
            let t = [[a, omega], [-omega, a]];
            let beta = -2.0 * a;
            let dd = beta * beta + 4.0 * omega * omega;
            let want = omega / (beta * dd.sqrt());
            let (u, _, _) = hammarling_small(t, r, 2, false);
            let got = u[0][0] * u[1][1];
            assert!(
                ((got - want) / want).abs() < 1e-12,
                "CT omega = {omega:e}: u00 u11 = {got:e}, exact {want:e}"
            );
            let d = defects(t, r, false);
            assert!(d.iter().all(|&x| x < 1e-13), "CT omega = {omega:e}: {d:?}");
            // DT: t = c R(theta), det Y = (g^2 - |z|^2)/4, g = 1/(1-q), z = 1/(1 - q e^{2i theta}).
            let (c, theta) = (0.5f64, omega);
            let t = [
                [c * theta.cos(), c * theta.sin()],
                [-c * theta.sin(), c * theta.cos()],
            ];
            let q = c * c;
            let m = ((1.0 - q) * (1.0 - q) + 4.0 * q * theta.sin().powi(2)).sqrt();
            let g = 1.0 / (1.0 - q);
            let z = 1.0 / m;
            let g_minus_z = 4.0 * q * theta.sin().powi(2) / ((m + 1.0 - q) * (1.0 - q) * m);
            let want = ((g_minus_z * (g + z)).sqrt()) / 2.0;
            let (u, _, _) = hammarling_small(t, r, 2, true);
            let got = u[0][0] * u[1][1];
            assert!(
                ((got - want) / want).abs() < 1e-12,
                "DT theta = {theta:e}: u00 u11 = {got:e}, exact {want:e}"
            );
            let d = defects(t, r, true);
            assert!(d.iter().all(|&x| x < 1e-13), "DT theta = {theta:e}: {d:?}");
        }
    }

    /// The Gram route (the fallback for real eigenvalues) loses the small entry on the same
    /// block: kept as a record of the defect the complex formulas remove.
    #[test]
    fn gram_route_loses_the_small_entry() {
        let r = [[0.0, 0.6], [0.0, -0.8]];
        let (a, omega): (f64, f64) = (-100.0, 1e-8);
        let t = [[a, omega], [-omega, a]];
        let beta = -2.0 * a;
        let want = omega / (beta * (beta * beta + 4.0 * omega * omega).sqrt());
        let (u, _, _) = hammarling_block_via_gram(t, r, false);
        let got = u[0][0] * u[1][1];
        assert!(
            ((got - want) / want).abs() > 1e-3,
            "Gram route: u00 u11 = {got:e}, exact {want:e}"
        );
    }
}

#[cfg(test)]
mod blocked_tests {
    //! The level-3 recursion against the unblocked one: quasi-triangular $T$ with $2\times2$
    //! blocks placed where the block boundaries fall, graded spectra, tiny orders.
    use super::*;

    /// xorshift64*, uniform in (-1, 1).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            2.0 * (v as f64 / (1u64 << 53) as f64) - 1.0
        }
    }

    /// A stable quasi-triangular $T$ (with $Z = I$) whose $2\times2$ blocks start at the rows in
    /// `pairs`; diagonal real parts in $-[10^{-g}, 1]$ log-uniformly ($g$ = `grade`).
    fn schur_form(n: usize, pairs: &[usize], grade: f64, g: &mut Rng) -> RealSchur {
        let mut t = Mat::<f64>::zeros(n, n);
        for j in 0..n {
            for i in 0..j {
                t[(i, j)] = g.next();
            }
        }
        let mut i = 0;
        while i < n {
            let re = -(10f64).powf(-grade * 0.5 * (g.next() + 1.0));
            if pairs.contains(&i) && i + 1 < n {
                let (b, c) = (0.1 + g.next().abs(), -(0.1 + g.next().abs()));
                t[(i, i)] = re;
                t[(i + 1, i + 1)] = re;
                t[(i, i + 1)] = b;
                t[(i + 1, i)] = c;
                i += 2;
            } else {
                t[(i, i)] = re;
                i += 1;
            }
        }
        if grade > 0.0 {
            // A graded T: coupling entries of the size of their diagonal entries (else the
            // solution grows like (|T_12| / |T_ii|)^n and overflows).
            for j in 0..n {
                for i in 0..j {
                    if !(j == i + 1 && t[(j, i)] != 0.0) {
                        t[(i, j)] *= (t[(i, i)] * t[(j, j)]).abs().sqrt();
                    }
                }
            }
        }
        RealSchur {
            t,
            z: Mat::identity(n, n),
        }
    }

    /// $\|TY + YT^{\mathsf T} + BB^{\mathsf T}\|_F / (2\|T\|_F\|Y\|_F + \|B\|_F^2)$ with
    /// $Y = UU^{\mathsf T}$.
    fn residual(s: &RealSchur, b: MatRef<'_, f64>, u: MatRef<'_, f64>) -> f64 {
        let y = u * u.transpose();
        let ty = &s.t * &y;
        let r = &ty + ty.transpose() + b * b.transpose();
        let bn = b.norm_l2();
        r.norm_l2() / (2.0 * s.t.norm_l2() * y.norm_l2() + bn * bn)
    }

    /// Relative distance of the two solutions $UU^{\mathsf T}$.
    fn distance(u1: MatRef<'_, f64>, u2: MatRef<'_, f64>) -> f64 {
        let (y1, y2) = (u1 * u1.transpose(), u2 * u2.transpose());
        (&y1 - &y2).norm_l2() / y1.norm_l2()
    }

    fn check(s: &RealSchur, b: MatRef<'_, f64>, blocks: &[usize], what: &str) {
        let n = s.t.nrows();
        let tol = 20.0 * n as f64 * f64::EPSILON;
        let u0 = lyapunov_cholesky_tilde(s, b, TimeDomain::Continuous, 0).unwrap();
        let r0 = residual(s, b, u0.as_ref());
        assert!(r0 < tol, "{what}: unblocked residual {r0:e}");
        for &nb in blocks {
            let u = lyapunov_cholesky_tilde(s, b, TimeDomain::Continuous, nb).unwrap();
            for j in 0..n {
                assert!(u[(j, j)] >= 0.0, "{what}, nb = {nb}: negative diagonal");
                for i in j + 1..n {
                    assert!(u[(i, j)] == 0.0, "{what}, nb = {nb}: not upper triangular");
                }
            }
            // Residual and the solution Y = U U^T. (The factors themselves agree only as well as
            // the Cholesky factorization of Y is conditioned: with a rank-one B, Y is singular to
            // working precision and its trailing factor entries are not determined by Y; see
            // `well_conditioned_factors_agree`.)
            let r = residual(s, b, u.as_ref());
            let d = distance(u0.as_ref(), u.as_ref());
            assert!(
                r < tol && d < tol,
                "{what}, nb = {nb}: residual {r:e}, |Y - Y0|/|Y0| = {d:e} (tol {tol:e})"
            );
        }
    }

    #[test]
    fn blocked_agrees_with_unblocked_on_random_forms() {
        let mut g = Rng(0x5851_f42d_4c95_7f2d);
        for (case, &n) in [40usize, 57, 64, 100].iter().enumerate() {
            let pairs: Vec<usize> = (0..n).filter(|i| i % 5 == 1).collect();
            let s = schur_form(n, &pairs, 0.0, &mut g);
            let w = 1 + case % 3;
            let b = Mat::from_fn(n, w, |_, _| g.next());
            check(
                &s,
                b.as_ref(),
                &[1, 2, 3, 7, 16, 33],
                &format!("random n = {n}, m = {w}"),
            );
        }
    }

    /// A full-rank $B$ ($n$ columns) makes $Y$ well conditioned: then the factors themselves
    /// agree to rounding.
    #[test]
    fn well_conditioned_factors_agree() {
        let mut g = Rng(0x0123_4567_89ab_cdef);
        for &n in &[30usize, 77] {
            let pairs: Vec<usize> = (0..n).filter(|i| i % 4 == 0).collect();
            let s = schur_form(n, &pairs, 0.0, &mut g);
            let b = Mat::from_fn(n, n, |_, _| g.next());
            let u0 = lyapunov_cholesky_tilde(&s, b.as_ref(), TimeDomain::Continuous, 0).unwrap();
            for nb in [3usize, 8, 20] {
                let u =
                    lyapunov_cholesky_tilde(&s, b.as_ref(), TimeDomain::Continuous, nb).unwrap();
                let du = (&u - &u0).norm_l2() / u0.norm_l2();
                assert!(
                    du < 1e3 * n as f64 * f64::EPSILON,
                    "n = {n}, nb = {nb}: |U - U0|/|U0| = {du:e}"
                );
            }
        }
    }

    #[test]
    fn blocked_agrees_on_graded_spectra() {
        let mut g = Rng(0x2545_f491_4f6c_dd1d);
        for &(n, grade) in &[(60usize, 4.0), (90, 8.0)] {
            let pairs: Vec<usize> = (0..n).filter(|i| i % 7 == 3).collect();
            let s = schur_form(n, &pairs, grade, &mut g);
            // A rank-one B: the Gramian's eigenvalues decay fast, U is graded.
            let b = Mat::from_fn(n, 1, |_, _| g.next());
            check(
                &s,
                b.as_ref(),
                &[4, 10, 32],
                &format!("graded n = {n}, 1e-{grade}"),
            );
        }
    }

    /// Block boundaries that fall inside a $2\times2$ block: with $n = 20$ and block size 5 the
    /// first boundary is at row 15; pairs starting at rows 14 (cut at 15) and 9/4 (the following
    /// boundaries after the shift) are kept whole.
    #[test]
    fn block_boundaries_never_cut_a_pair() {
        let mut g = Rng(0x9e37_79b9_7f4a_7c15);
        for pairs in [
            vec![14usize],
            vec![14, 9, 4],
            vec![0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
        ] {
            let s = schur_form(20, &pairs, 1.0, &mut g);
            let b = Mat::from_fn(20, 2, |_, _| g.next());
            check(
                &s,
                b.as_ref(),
                &[2, 3, 4, 5, 6],
                &format!("pairs {pairs:?}"),
            );
        }
    }

    #[test]
    fn tiny_orders() {
        let mut g = Rng(0xdead_beef_cafe_f00d);
        for n in 1usize..=5 {
            for pairs in [vec![], vec![0usize], vec![n.saturating_sub(2)]] {
                let s = schur_form(n, &pairs, 0.0, &mut g);
                for w in 1..=3 {
                    let b = Mat::from_fn(n, w, |_, _| g.next());
                    check(
                        &s,
                        b.as_ref(),
                        &[1, 2, 3],
                        &format!("n = {n}, pairs {pairs:?}, m = {w}"),
                    );
                }
            }
        }
    }

    /// Right-hand sides far below `sqrt(MIN_POSITIVE)`: the underflow-safe reflectors keep the
    /// blocked route finite and equal to the unblocked one.
    #[test]
    fn tiny_right_hand_sides_stay_finite() {
        let mut g = Rng(0x1234_5678_9abc_def1);
        let n = 48;
        let pairs: Vec<usize> = (0..n).filter(|i| i % 6 == 2).collect();
        let s = schur_form(n, &pairs, 2.0, &mut g);
        let b = Mat::from_fn(n, 2, |_, _| 1e-300 * g.next());
        let u0 = lyapunov_cholesky_tilde(&s, b.as_ref(), TimeDomain::Continuous, 0).unwrap();
        let u = lyapunov_cholesky_tilde(&s, b.as_ref(), TimeDomain::Continuous, 8).unwrap();
        assert!(u.as_ref().is_all_finite() && u0.as_ref().is_all_finite());
        let un = u0.norm_l2();
        assert!(un > 0.0, "U vanished");
        // Y/|U0|^2 (Y itself underflows).
        let d = distance((&u0 * (1.0 / un)).as_ref(), (&u * (1.0 / un)).as_ref());
        assert!(d < 20.0 * n as f64 * f64::EPSILON, "|Y - Y0|/|Y0| = {d:e}");
    }
}
