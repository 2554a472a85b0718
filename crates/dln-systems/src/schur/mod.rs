//! Schur forms with reordering: $A = Z\\,T\\,Z^{*}$ with $Z$ orthogonal (unitary) and $T$ (quasi-)upper
//! triangular.
//!
//! - [`real_schur`]: the real Schur form $A = Z T Z^{\mathsf T}$ of a real matrix, $T$ quasi-upper
//!   triangular with $1\times1$ blocks (real eigenvalues) and *standardized* $2\times2$ blocks
//!   $\begin{pmatrix}a&b\\\\c&a\end{pmatrix}$, $bc<0$, holding the complex-conjugate pairs
//!   $a\pm i\sqrt{|bc|}$ (LAPACK's convention).
//! - [`reorder_real_schur`]: an orthogonal similarity that moves a selected set of eigenvalues
//!   (conjugate pairs together) to the leading block, so that the leading columns of $Z$ span the
//!   corresponding invariant subspace.
//! - [`complex_schur`] / [`reorder_complex_schur`]: the same over $\mathbb C$, $T$ upper triangular.
//!
//! # Algorithm
//! faer 0.24 keeps its standard Schur form private but exposes its blocked Hessenberg reduction.
//! [`real_schur`] reduces $A = Q_0 H Q_0^{\mathsf T}$ with faer (blocked, level-3 and
//! parallel: $\tfrac{10}{3}n^3$ flops plus $\tfrac43 n^3$ to form $Q_0$) and then runs a QR
//! iteration on $H$, accumulating the orthogonal transformations into $Z$. Both QR iterations are
//! written for this crate from the published algorithms:
//!
//! - `aed` (for $n\ge 75$): the small-bulge multishift QR iteration with aggressive early
//!   deflation (Braman–Byers–Mathias 2002, Parts I and II; Kressner's book, ch. 1): AED on a
//!   trailing window, then a sweep with a tightly packed chain of $3\times3$ bulges moved in
//!   slabs whose orthogonal updates are accumulated and applied to the rest of $H$ and to $Z$ by
//!   matrix products (level 3);
//! - `double_shift` (small active blocks, the AED windows, and the fallback of a stalled
//!   multishift iteration): the Francis double-shift QR iteration (the LAPACK `dlahqr` strategy as
//!   described in the literature: Ahues–Tisseur deflation criterion,
//!   two-consecutive-small-subdiagonals test, exceptional shifts every 10 iterations, at most
//!   $30\max(n,10)$ iterations per eigenvalue).
//!
//! One set of small kernels (`kernels`: $2\times2$ standardization, small Sylvester solve,
//! block swap, the Ahues–Tisseur test) serves the QR iterations, AED and the reordering.
//! (Until 2026-12 the crate carried a multishift code adapted from faer's crate-private
//! implementation; it was removed for provenance and replaced by `aed`.)
//!
//! Deflated $2\times2$ blocks are standardized by a rotation (as LAPACK `dlanv2`). The QR phase
//! is $O(n^3)$ (the double-shift iteration alone spends $\approx 20n^3$ flops in level-1/2
//! loops; the multishift iteration does most of its work in matrix products);
//! backward stable,
//! $\|A - ZTZ^{\mathsf T}\|_F = O(n\varepsilon\|A\|_F)$.
//!
//! For complex input, [`complex_schur`] uses faer's public complex QZ on the pencil $(H, I)$:
//! $H = QSW^{*}$, $I = QRW^{*}$ with $R$ triangular and unitary, hence
//! $T = Q^{*}HQ = SR^{-1}$, computed by one triangular solve (its unblocked kernel: the blocked
//! variant misbehaves on $(H, I)$ in faer 0.24.4).
//!
//! Reordering swaps adjacent $1\times1$/$2\times2$ blocks as LAPACK `trexc`/`trsen`: for
//! $\begin{pmatrix}T_{11}&T_{12}\\\\0&T_{22}\end{pmatrix}$ the Sylvester equation
//! $T_{11}X - XT_{22} = -\gamma T_{12}$ gives the invariant subspace
//! $\operatorname{span}\begin{pmatrix}X\\\\\gamma I\end{pmatrix}$ of $T_{22}$; the orthogonal factor of
//! its QR factorization swaps the blocks. A swap whose result is not block triangular to
//! working precision (the blocks have nearly equal eigenvalues) is rejected with an error.
//! Each swap costs $O(n)$; a full reordering at most $O(n^3)$.
//!
//! # References
//! - G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed., §7.5–7.6 (2013).
//! - Z. Bai, J. W. Demmel, *On swapping diagonal blocks in real Schur form*, Linear Algebra Appl.
//!   186 (1993) 73–95.
//! - M. Ahues, F. Tisseur, *A new deflation criterion for the QR algorithm*, LAPACK Working Note 122
//!   (1997).
//! - E. Anderson et al., *LAPACK Users' Guide*, 3rd ed. (routines `dlahqr`, `dlanv2`, `dtrexc`,
//!   `dlaexc`, `ztrexc`).
//! - K. Braman, R. Byers, R. Mathias, *The multishift QR algorithm. Part I: Maintaining
//!   well-focused shifts and level 3 performance*; *Part II: Aggressive early deflation*, SIAM J.
//!   Matrix Anal. Appl. 23 (2002) 929–947 and 948–973.

mod aed;
mod double_shift;
mod kernels;
pub mod profile;

pub(crate) use kernels::small_solve;
use kernels::swap_real;

use crate::{Result, SystemsError};
use dln_linalg::{Scalar, c64, check_finite};
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::evd::{ComputeEigenvectors, hessenberg};
use faer::linalg::gevd::{GeneralizedSchurParams, qz_cplx};
use faer::linalg::householder;
use faer::reborrow::*;
use faer::traits::ComplexField;
use faer::{Conj, Mat, MatMut, MatRef, Par};

/// The real Schur form $A = Z\\,T\\,Z^{\mathsf T}$.
///
/// $Z$ is orthogonal; $T$ is quasi-upper triangular with $1\times1$ blocks and standardized
/// $2\times2$ blocks $\begin{pmatrix}a&b\\\\c&a\end{pmatrix}$, $bc<0$, whose eigenvalues are the
/// complex-conjugate pair $a\pm i\sqrt{|bc|}$. A $2\times2$ block is recognised by a nonzero
/// subdiagonal entry $t_{k+1,k}$; all other subdiagonal entries are exactly zero.
#[derive(Debug, Clone)]
pub struct RealSchur {
    /// The quasi-upper-triangular factor $T$.
    pub t: Mat<f64>,
    /// The orthogonal factor $Z$ (Schur vectors).
    pub z: Mat<f64>,
}

impl RealSchur {
    /// The eigenvalues $\lambda_k$ of $A$ in diagonal order of $T$; a conjugate pair of a $2\times2$
    /// block appears as $a + i\omega,\\ a - i\omega$ with $\omega>0$.
    pub fn eigenvalues(&self) -> Vec<c64> {
        real_schur_eigenvalues(self.t.as_ref())
    }

    /// The sizes ($1$ or $2$) of the diagonal blocks of $T$, top to bottom.
    pub fn block_sizes(&self) -> Vec<usize> {
        let n = self.t.nrows();
        let mut out = Vec::new();
        let mut k = 0;
        while k < n {
            let s = block_size_at(self.t.as_ref(), k);
            out.push(s);
            k += s;
        }
        out
    }
}

/// Eigenvalues of a quasi-upper-triangular matrix with standardized $2\times2$ blocks (diagonal
/// order).
pub(crate) fn real_schur_eigenvalues(t: MatRef<'_, f64>) -> Vec<c64> {
    let n = t.nrows();
    let mut ev = Vec::with_capacity(n);
    let mut k = 0;
    while k < n {
        if block_size_at(t, k) == 2 {
            let (a, b, c, d) = (t[(k, k)], t[(k, k + 1)], t[(k + 1, k)], t[(k + 1, k + 1)]);
            let re = 0.5 * (a + d);
            let disc = 0.25 * (a - d) * (a - d) + b * c;
            let im = if disc < 0.0 { (-disc).sqrt() } else { 0.0 };
            ev.push(c64::new(re, im));
            ev.push(c64::new(re, -im));
            k += 2;
        } else {
            ev.push(c64::new(t[(k, k)], 0.0));
            k += 1;
        }
    }
    ev
}

/// Size of the diagonal block starting at row `k` of a quasi-triangular matrix.
#[inline]
pub(crate) fn block_size_at(t: MatRef<'_, f64>, k: usize) -> usize {
    if k + 1 < t.nrows() && t[(k + 1, k)] != 0.0 {
        2
    } else {
        1
    }
}

/// Size of the diagonal block ending at row `j`.
#[inline]
fn block_size_ending_at(t: MatRef<'_, f64>, j: usize) -> usize {
    if j >= 1 && t[(j, j - 1)] != 0.0 { 2 } else { 1 }
}

/// The complex Schur form $A = Z\\,T\\,Z^{*}$, $Z$ unitary and $T$ upper triangular with the
/// eigenvalues of $A$ on its diagonal.
#[derive(Debug, Clone)]
pub struct ComplexSchur {
    /// The upper-triangular factor $T$.
    pub t: Mat<c64>,
    /// The unitary factor $Z$ (Schur vectors).
    pub z: Mat<c64>,
}

impl ComplexSchur {
    /// The eigenvalues $t_{kk}$ in diagonal order.
    pub fn eigenvalues(&self) -> Vec<c64> {
        (0..self.t.nrows()).map(|k| self.t[(k, k)]).collect()
    }
}

fn par() -> Par {
    faer::get_global_parallelism()
}

/// Hessenberg reduction $A = Q H Q^{*}$ with $Q$ formed explicitly.
fn hessenberg_with_q<T: ComplexField>(a: MatRef<'_, T>, par: Par) -> (Mat<T>, Mat<T>) {
    let (mut h, hh) = hessenberg_factor(a, par);
    let q = form_q(h.as_ref(), hh.as_ref(), par);
    let n = h.nrows();
    for j in 0..n {
        for i in j + 2..n {
            h[(i, j)] = T::zero_impl();
        }
    }
    (h, q)
}

/// faer's blocked Hessenberg reduction in place: $H$ on and above the subdiagonal, the Householder
/// vectors below it, their block factors in the second matrix (empty for $n\le2$).
fn hessenberg_factor<T: ComplexField>(a: MatRef<'_, T>, par: Par) -> (Mat<T>, Mat<T>) {
    let n = a.nrows();
    let mut h = a.to_owned();
    if n <= 2 {
        return (h, Mat::zeros(0, 0));
    }
    let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<T>(n - 1, n - 1);
    let mut hh = Mat::<T>::zeros(bs, n - 1);
    let params = Default::default();
    let mut mem = MemBuffer::new(hessenberg::hessenberg_in_place_scratch::<T>(
        n, bs, par, params,
    ));
    let stack = MemStack::new(&mut mem);
    hessenberg::hessenberg_in_place(h.as_mut(), hh.as_mut(), par, stack, params);
    (h, hh)
}

/// $Q$ of a Hessenberg reduction from [`hessenberg_factor`]'s output (blocked Householder
/// application to the identity).
fn form_q<T: ComplexField>(h: MatRef<'_, T>, hh: MatRef<'_, T>, par: Par) -> Mat<T> {
    let n = h.nrows();
    let mut q = Mat::<T>::identity(n, n);
    if n <= 2 {
        return q;
    }
    let bs = hh.nrows();
    let mut mem = MemBuffer::new(
        householder::apply_block_householder_sequence_on_the_right_in_place_scratch::<T>(
            n - 1,
            bs,
            n - 1,
        ),
    );
    let stack = MemStack::new(&mut mem);
    householder::apply_block_householder_sequence_on_the_right_in_place_with_conj(
        h.submatrix(1, 0, n - 1, n - 1),
        hh,
        Conj::No,
        q.as_mut().submatrix_mut(1, 1, n - 1, n - 1),
        par,
        stack,
    );
    q
}

/// Hessenberg reduction $A = Q H Q^{\mathsf T}$ keeping only $H$ (column-major, zeros below the
/// subdiagonal).
fn hessenberg_only(a: MatRef<'_, f64>) -> Vec<f64> {
    let n = a.nrows();
    let mut h = a.to_owned();
    if n > 2 {
        let par = par();
        let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<f64>(n - 1, n - 1);
        let mut hh = Mat::<f64>::zeros(bs, n - 1);
        let params = Default::default();
        let mut mem = MemBuffer::new(hessenberg::hessenberg_in_place_scratch::<f64>(
            n, bs, par, params,
        ));
        let stack = MemStack::new(&mut mem);
        hessenberg::hessenberg_in_place(h.as_mut(), hh.as_mut(), par, stack, params);
    }
    (0..n * n)
        .map(|k| {
            if k % n > k / n + 1 {
                0.0
            } else {
                h[(k % n, k / n)]
            }
        })
        .collect()
}

/// The eigenvalues of a real square matrix, in the diagonal order of a real Schur form
/// (conjugate pairs adjacent, positive imaginary part first), without the Schur vectors.
///
/// # Errors
/// [`SystemsError::Linalg`] if $A$ has a non-finite entry; [`SystemsError::NoConvergence`] if the
/// QR iteration does not converge.
///
/// # Panics
/// If $A$ is not square.
///
/// # Algorithm
/// As [`real_schur`] (faer's Hessenberg reduction, then our multishift QR with aggressive early
/// deflation, or the double-shift QR for $n < 75$) but neither $Q_0$ nor $Z$ is formed, which
/// saves about a third of the work.
#[track_caller]
pub fn real_eigenvalues(a: MatRef<'_, f64>) -> Result<Vec<c64>> {
    assert_eq!(
        a.nrows(),
        a.ncols(),
        "real_eigenvalues: matrix must be square"
    );
    check_finite(a)?;
    let n = a.nrows();
    if n <= 1 {
        return Ok((0..n).map(|k| c64::new(a[(k, k)], 0.0)).collect());
    }
    let mut hv = hessenberg_only(a);
    if !aed::multishift_qr(&mut hv, &mut [], n) || hv.iter().any(|x| !x.is_finite()) {
        return Err(no_convergence("multishift QR iteration (eigenvalues)", n));
    }
    Ok(real_schur_eigenvalues(MatRef::from_column_major_slice(
        &hv, n, n,
    )))
}

fn no_convergence(what: &'static str, n: usize) -> SystemsError {
    SystemsError::NoConvergence {
        what,
        iterations: 30 * n.max(1),
    }
}

/// Real Schur decomposition $A = Z\\,T\\,Z^{\mathsf T}$ (see [`RealSchur`]).
///
/// # Errors
/// [`SystemsError::Linalg`] if $A$ has a non-finite entry; [`SystemsError::NoConvergence`] if the
/// QR iteration does not converge (the result is also checked for structure and finiteness).
///
/// # Panics
/// If $A$ is not square.
///
/// # Algorithm
/// faer's blocked Hessenberg reduction, then (for $n\ge 75$) the small-bulge multishift QR
/// iteration with aggressive early deflation, below that the Francis double-shift QR iteration,
/// both written for this crate (module docs); the $2\times2$ blocks are standardized. $O(n^3)$:
/// $\approx 5n^3$ flops for the Hessenberg reduction and $Q_0$, then the QR iteration with $Z$,
/// its flops mostly in matrix products. About as fast as faer's own `eigen()` (thread CPU time,
/// one process, loaded machine): 0.9–1.1× at $n = 1000$ and 2000, 1.0–1.3× at $n = 250$ and 500
/// (stage split: [`profile::real_schur_profiled`] and `docs/performance.md`).
///
/// # Example
/// ```
/// use dln_systems::schur::real_schur;
/// use faer::mat;
/// let a = mat![[0.0, 1.0, 2.0], [-1.0, 0.0, 3.0], [0.0, 0.0, -2.0]];
/// let s = real_schur(a.as_ref()).unwrap();
/// assert!((&s.z * &s.t * s.z.transpose() - &a).norm_l2() < 1e-14);
/// let ev = s.eigenvalues(); // ±i and -2, in diagonal order
/// assert_eq!(ev.iter().filter(|l| (l.norm() - 1.0).abs() < 1e-14).count(), 2);
/// ```
#[track_caller]
pub fn real_schur(a: MatRef<'_, f64>) -> Result<RealSchur> {
    assert_eq!(a.nrows(), a.ncols(), "real_schur: matrix must be square");
    check_finite(a)?;
    let n = a.nrows();
    if n <= 1 {
        return Ok(RealSchur {
            t: a.to_owned(),
            z: Mat::identity(n, n),
        });
    }
    let t0 = profile::start();
    let (h, hh) = hessenberg_factor(a, par());
    profile::stop(t0, |p, d| p.hessenberg += d);
    let t0 = profile::start();
    let q = form_q(h.as_ref(), hh.as_ref(), par());
    profile::stop(t0, |p, d| p.form_q += d);
    // Francis double-shift QR on H, accumulating into Z = Q; it also standardizes the 2x2
    // blocks (dlanv2).
    let mut hv: Vec<f64> = (0..n * n)
        .map(|k| {
            if k % n > k / n + 1 {
                0.0
            } else {
                h[(k % n, k / n)]
            }
        })
        .collect();
    let mut zv: Vec<f64> = (0..n * n).map(|k| q[(k % n, k / n)]).collect();
    if !aed::multishift_qr(&mut hv, &mut zv, n) {
        return Err(no_convergence(
            "double-shift QR iteration (real Schur form)",
            n,
        ));
    }
    let t = Mat::from_fn(n, n, |i, j| if i > j + 1 { 0.0 } else { hv[i + j * n] });
    let z = Mat::from_fn(n, n, |i, j| zv[i + j * n]);
    for k in 0..n {
        for i in 0..n {
            if !t[(i, k)].is_finite() || !z[(i, k)].is_finite() {
                return Err(no_convergence(
                    "double-shift QR iteration (real Schur form)",
                    n,
                ));
            }
        }
    }
    // Defensive: two consecutive nonzero subdiagonals cannot occur after convergence.
    let mut k = 0;
    while k + 1 < n {
        if t[(k + 1, k)] != 0.0 {
            if k + 2 < n && t[(k + 2, k + 1)] != 0.0 {
                return Err(no_convergence(
                    "double-shift QR iteration (real Schur form)",
                    n,
                ));
            }
            k += 2;
        } else {
            k += 1;
        }
    }
    Ok(RealSchur { t, z })
}

/// Reorders a real Schur form so that the eigenvalues $\lambda$ with `select(λ)` come first.
///
/// On return $A = Z T Z^{\mathsf T}$ still holds, $T$ is in standardized real Schur form, and the
/// leading $k\times k$ block $T_{11}$ carries exactly the selected eigenvalues; the first $k$
/// columns of $Z$ are an orthonormal basis of the corresponding invariant subspace of $A$. A
/// conjugate pair is selected when `select` holds for either member, and is kept together. The
/// relative order of the selected (and of the unselected) blocks is preserved. Returns $k$.
///
/// # Errors
/// [`SystemsError::NoConvergence`] if a swap is rejected because the two blocks have eigenvalues
/// too close to be separated to working precision (LAPACK `trexc`'s `INFO = 1`). The
/// decomposition is then still a valid Schur form, only partially reordered.
///
/// # Algorithm
/// Adjacent swaps of $1\times1$/$2\times2$ blocks (module docs), $O(n)$ flops each, at most
/// $O(n^2)$ swaps.
pub fn reorder_real_schur(s: &mut RealSchur, select: impl Fn(c64) -> bool) -> Result<usize> {
    let n = s.t.nrows();
    let sel_block = |t: MatRef<'_, f64>, k: usize, sz: usize| -> bool {
        if sz == 1 {
            select(c64::new(t[(k, k)], 0.0))
        } else {
            let ev = real_schur_eigenvalues(t.submatrix(k, k, 2, 2));
            select(ev[0]) || select(ev[1])
        }
    };
    let mut ks = 0;
    let mut k = 0;
    while k < n {
        let sz = block_size_at(s.t.as_ref(), k);
        if sel_block(s.t.as_ref(), k, sz) {
            let mut cur = k;
            let mut cur_sz = sz;
            let mut split = false;
            while cur > ks {
                let psz = block_size_ending_at(s.t.as_ref(), cur - 1);
                swap_real(s.t.as_mut(), s.z.as_mut(), cur - psz, psz, cur_sz)?;
                cur -= psz;
                let new_sz = block_size_at(s.t.as_ref(), cur);
                if new_sz != cur_sz {
                    split = true;
                    cur_sz = new_sz;
                }
            }
            if split {
                ks += cur_sz;
                k = ks;
                continue;
            }
            ks += sz;
        }
        k += sz;
    }
    Ok(ks)
}

/// Complex Schur decomposition $A = Z\\,T\\,Z^{*}$, $T$ upper triangular (see [`ComplexSchur`]).
///
/// Real input is first brought to real Schur form ([`real_schur`]) and its $2\times2$ blocks are
/// then triangularized by unitary rotations (as MATLAB's `rsf2csf`), so conjugate pairs appear as
/// adjacent diagonal entries $a+i\omega, a-i\omega$.
///
/// # Errors
/// [`SystemsError::Linalg`] if $A$ has a non-finite entry; [`SystemsError::NoConvergence`] if the QZ
/// iteration fails.
///
/// # Panics
/// If $A$ is not square.
///
/// # Algorithm
/// Complex input: faer's blocked Hessenberg reduction and complex multishift QZ on $(H, I)$, then
/// $T = SR^{-1}$; $O(n^3)$.
#[track_caller]
pub fn complex_schur<T: Scalar>(a: MatRef<'_, T>) -> Result<ComplexSchur> {
    assert_eq!(a.nrows(), a.ncols(), "complex_schur: matrix must be square");
    check_finite(a)?;
    let n = a.nrows();
    if !T::IS_COMPLEX {
        let ar = Mat::from_fn(n, n, |i, j| a[(i, j)].re());
        let rs = real_schur(ar.as_ref())?;
        return Ok(real_to_complex_schur(&rs));
    }
    let ac = Mat::from_fn(n, n, |i, j| c64::new(a[(i, j)].re(), a[(i, j)].im()));
    if n <= 1 {
        return Ok(ComplexSchur {
            t: ac,
            z: Mat::identity(n, n),
        });
    }
    let (mut s, mut q) = hessenberg_with_q(ac.as_ref(), par());
    let mut r = Mat::<c64>::identity(n, n);
    let par = par();
    // faer's blocked QZ misbehaves on (H, I) for larger n: use its unblocked kernel.
    let mut params: GeneralizedSchurParams = faer::auto!(c64);
    params.blocking_threshold = usize::MAX / 4;
    let mut alpha = Mat::<c64>::zeros(n, 1);
    let mut beta = Mat::<c64>::zeros(n, 1);
    let mut zq = q.clone();
    {
        let req = StackReq::all_of(&[
            qz_cplx::hessenberg_to_qz_scratch::<c64>(n, par, params),
            faer::linalg::temp_mat_scratch::<c64>(n, n).array(2),
        ]);
        let mut mem = MemBuffer::new(req);
        let stack = MemStack::new(&mut mem);
        qz_cplx::hessenberg_to_qz(
            s.as_mut(),
            r.as_mut(),
            Some(q.as_mut()),
            Some(zq.as_mut()),
            alpha.as_mut().col_mut(0),
            beta.as_mut().col_mut(0),
            ComputeEigenvectors::Yes,
            par,
            params,
            stack,
        );
    }
    for k in 0..n {
        if r[(k, k)].norm().is_nan() || r[(k, k)].norm() <= 0.5 {
            return Err(no_convergence("QZ iteration (complex Schur form)", n));
        }
    }
    for j in 0..n {
        for i in j + 1..n {
            s[(i, j)] = c64::new(0.0, 0.0);
        }
    }
    faer::linalg::triangular_solve::solve_lower_triangular_in_place(
        r.as_ref().transpose(),
        s.as_mut().transpose_mut(),
        par,
    );
    for j in 0..n {
        for i in 0..n {
            if !s[(i, j)].finite() || !q[(i, j)].finite() {
                return Err(no_convergence("QZ iteration (complex Schur form)", n));
            }
        }
    }
    Ok(ComplexSchur { t: s, z: q })
}

/// Converts a real Schur form into a complex one by triangularizing the standardized $2\times2$
/// blocks with unitary rotations.
pub fn real_to_complex_schur(rs: &RealSchur) -> ComplexSchur {
    let n = rs.t.nrows();
    let mut t = Mat::from_fn(n, n, |i, j| c64::new(rs.t[(i, j)], 0.0));
    let mut z = Mat::from_fn(n, n, |i, j| c64::new(rs.z[(i, j)], 0.0));
    let mut k = 0;
    while k < n {
        if block_size_at(rs.t.as_ref(), k) == 2 {
            let (a, b, c) = (rs.t[(k, k)], rs.t[(k, k + 1)], rs.t[(k + 1, k)]);
            let _ = a;
            let om = b.abs().sqrt() * c.abs().sqrt();
            // Eigenvector of [[a, b], [c, a]] for a + i om: (b, i om).
            let (x, y) = (c64::new(b, 0.0), c64::new(0.0, om));
            let nv = (x.norm_sqr() + y.norm_sqr()).sqrt();
            let (x, y) = (x / nv, y / nv);
            apply_unitary_2(t.as_mut(), z.as_mut(), k, x, y);
            t[(k + 1, k)] = c64::new(0.0, 0.0);
            k += 2;
        } else {
            k += 1;
        }
    }
    ComplexSchur { t, z }
}

/// With $G = \begin{pmatrix}x&-\bar y\\\\y&\bar x\end{pmatrix}$ ($|x|^2+|y|^2=1$) acting on indices
/// $k,k+1$: $T\leftarrow G^{*}TG$, $Z\leftarrow ZG$.
fn apply_unitary_2(mut t: MatMut<'_, c64>, mut z: MatMut<'_, c64>, k: usize, x: c64, y: c64) {
    let n = t.nrows();
    let (xc, yc) = (x.conj(), y.conj());
    // Rows: G^* = [[x̄, ȳ], [-y, x]].
    for j in k..n {
        let (u, v) = (t[(k, j)], t[(k + 1, j)]);
        t[(k, j)] = xc * u + yc * v;
        t[(k + 1, j)] = -y * u + x * v;
    }
    // Columns: [c_k, c_{k+1}] G = [x c_k + y c_{k+1}, -ȳ c_k + x̄ c_{k+1}].
    for i in 0..(k + 2).min(n) {
        let (u, v) = (t[(i, k)], t[(i, k + 1)]);
        t[(i, k)] = x * u + y * v;
        t[(i, k + 1)] = -yc * u + xc * v;
    }
    for i in 0..z.nrows() {
        let (u, v) = (z[(i, k)], z[(i, k + 1)]);
        z[(i, k)] = x * u + y * v;
        z[(i, k + 1)] = -yc * u + xc * v;
    }
}

/// Reorders a complex Schur form so that the eigenvalues with `select(λ)` come first; returns their
/// number $k$. $A = ZTZ^{*}$ is preserved and the first $k$ columns of $Z$ span the invariant
/// subspace of the selected eigenvalues. The relative order within each group is preserved.
///
/// # Errors
/// None in practice (a swap of two $1\times1$ blocks is always accepted); the `Result` mirrors
/// [`reorder_real_schur`].
///
/// # Algorithm
/// Adjacent swaps by a unitary rotation whose first column is the eigenvector of the $2\times2$
/// block for the trailing eigenvalue (LAPACK `ztrexc`), $O(n)$ each.
pub fn reorder_complex_schur(s: &mut ComplexSchur, select: impl Fn(c64) -> bool) -> Result<usize> {
    let n = s.t.nrows();
    let mut ks = 0;
    for k in 0..n {
        if select(s.t[(k, k)]) {
            let mut cur = k;
            while cur > ks {
                swap_complex(s.t.as_mut(), s.z.as_mut(), cur - 1);
                cur -= 1;
            }
            ks += 1;
        }
    }
    Ok(ks)
}

/// Swaps the diagonal entries $k, k+1$ of an upper-triangular complex $T$.
fn swap_complex(mut t: MatMut<'_, c64>, z: MatMut<'_, c64>, k: usize) {
    let (t11, t12, t22) = (t[(k, k)], t[(k, k + 1)], t[(k + 1, k + 1)]);
    // Eigenvector for t22: (t12, t22 - t11).
    let (x, y) = (t12, t22 - t11);
    let nv = (x.norm_sqr() + y.norm_sqr()).sqrt();
    if nv == 0.0 {
        return;
    }
    apply_unitary_2(t.rb_mut(), z, k, x / nv, y / nv);
    t[(k + 1, k)] = c64::new(0.0, 0.0);
    t[(k, k)] = t22;
    t[(k + 1, k + 1)] = t11;
}

#[cfg(test)]
mod tests {
    use super::kernels::lanv2;
    use super::*;
    use dln_linalg::random;

    fn check_real(a: MatRef<'_, f64>, tol: f64) -> RealSchur {
        let n = a.nrows();
        let s = real_schur(a).unwrap();
        let rec = &s.z * &s.t * s.z.transpose();
        let an = a.norm_l2().max(1e-300);
        assert!(
            (&rec - a).norm_l2() / an < tol * (n as f64 + 1.0) * f64::EPSILON,
            "reconstruction"
        );
        let ztz = s.z.transpose() * &s.z;
        assert!(
            (&ztz - Mat::<f64>::identity(n, n)).norm_l2() < tol * (n as f64 + 1.0) * f64::EPSILON,
            "orthogonality"
        );
        // Structure.
        let mut k = 0;
        while k < n {
            for i in k + 2..n {
                assert!(s.t[(i, k)] == 0.0);
            }
            if block_size_at(s.t.as_ref(), k) == 2 {
                assert!(
                    s.t[(k, k)].to_bits() == s.t[(k + 1, k + 1)].to_bits(),
                    "standardized diagonal"
                );
                assert!(s.t[(k, k + 1)] * s.t[(k + 1, k)] < 0.0, "complex pair");
                if k + 2 < n {
                    assert!(s.t[(k + 2, k + 1)] == 0.0);
                }
                k += 2;
            } else {
                k += 1;
            }
        }
        s
    }

    #[test]
    fn lanv2_cases() {
        for &(a, b, c, d) in &[
            (1.0, 2.0, 3.0, 4.0),
            (1.0, -2.0, 3.0, 1.0),
            (0.0, 1.0, -1.0, 0.0),
            (1.0, 1e-20, 1.0, 1.0),
            (2.0, 0.0, 1.0, 3.0),
            (1.0, -5.0, 1.0, 2.0),
        ] {
            let (blk, cs, sn) = lanv2(a, b, c, d);
            // Check [a b; c d] = G blk G^T.
            let g = [[cs, -sn], [sn, cs]];
            let m = [[blk[0], blk[1]], [blk[2], blk[3]]];
            let orig = [[a, b], [c, d]];
            for i in 0..2 {
                for j in 0..2 {
                    let mut v = 0.0;
                    for k in 0..2 {
                        for l in 0..2 {
                            v += g[i][k] * m[k][l] * g[j][l];
                        }
                    }
                    assert!((v - orig[i][j]).abs() < 1e-14 * 10.0, "{a} {b} {c} {d}");
                }
            }
        }
    }

    #[test]
    fn random_real() {
        let mut rng = random::rng(3);
        for n in [1usize, 2, 3, 5, 10, 40, 100] {
            let a: Mat<f64> = random::gaussian(&mut rng, n, n);
            let s = check_real(a.as_ref(), 20.0);
            let ev = s.eigenvalues();
            assert_eq!(ev.len(), n);
        }
    }
}
