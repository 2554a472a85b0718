//! Minimal realizations: removing the uncontrollable and the unobservable parts of $(A,B,C,D)$
//! by orthogonal staircase reductions (SLICOT `TB01PD`'s task).
//!
//! # The math
//! A realization $(A,B,C,D)$ of order $n$ is *minimal* when it is controllable and observable; every
//! realization of $G(s) = C(sI-A)^{-1}B+D$ has order at least that of a minimal one, and any two
//! minimal realizations are similar (Kalman). The reduction needs no stability: it is algebraic,
//! the same in continuous and discrete time, and it keeps $D$.
//!
//! **Controllability staircase** (Van Dooren 1981, Varga 1981). Orthogonal $Z$ is built block by
//! block. Step 1: a rank-revealing SVD of $B$ gives its numerical rank $\rho_1$ and an orthogonal
//! $Q_1$ (a product of $\rho_1$ Householder reflectors whose first $\rho_1$ columns span the dominant
//! left singular vectors) with $Q_1^{\mathsf T}B = \begin{bmatrix}B_1\\ 0\end{bmatrix}$, $B_1$ of full
//! row rank $\rho_1$. Step $k\ge2$: the block $A_{k,k-1}$ of $Z^{\mathsf T}AZ$ below the diagonal
//! block of step $k-1$ (rows after $\rho_1+\dots+\rho_{k-1}$, the $\rho_{k-1}$ columns of block
//! $k-1$) is compressed the same way to $\begin{bmatrix}A_{k,k-1}\\ 0\end{bmatrix}$ of row rank
//! $\rho_k\le\rho_{k-1}$, the transformation applied to the remaining rows and columns of $A$, to
//! the columns of $C$ and accumulated in $Z$. The staircase stops when $\rho_k = 0$ or no rows are
//! left; then
//! $$Z^{\mathsf T}AZ = \begin{bmatrix}A_c & *\\ 0 & A_{\bar c}\end{bmatrix},\quad
//! Z^{\mathsf T}B = \begin{bmatrix}B_c\\ 0\end{bmatrix},\quad CZ = \begin{bmatrix}C_c & *\end{bmatrix},$$
//! with $A_c$ of order $n_c = \sum_k\rho_k$ in block upper Hessenberg form whose subdiagonal blocks
//! have full row rank: $(A_c,B_c)$ is controllable, $n_c$ is the rank of the controllability
//! matrix, and $(A_c,B_c,C_c,D)$ has the transfer function of $(A,B,C,D)$ (the block
//! $A_{\bar c}$ is never reached from the input). The $\rho_k$ are the block sizes of the
//! staircase; the number of steps is the controllability index.
//!
//! **Observability** is controllability of the dual $(A^{\mathsf T}, C^{\mathsf T})$: the staircase
//! on $(A_c^{\mathsf T}, C_c^{\mathsf T})$ removes the unobservable part of $(A_c,B_c,C_c)$, and
//! what is left, of order $n_r$, is controllable and observable, i.e. minimal. Altogether
//! $$A_r = V^{\mathsf T}AV,\quad B_r = V^{\mathsf T}B,\quad C_r = CV,\qquad V = Z_c\,[I_{n_c}\ 0]^{\mathsf T}\, Z_o\,[I_{n_r}\ 0]^{\mathsf T},$$
//! with $V$ ($n\times n_r$) orthonormal: a projection onto the controllable subspace followed by a
//! restriction to the observable quotient. Orthogonal transformations only, so the reduction is
//! backward stable: the result is an exact minimal realization of a system within
//! $O(n\varepsilon)\|(A,B,C)\|$ plus the discarded blocks, each below `tol`.
//!
//! **Rank decisions.** A singular value $\sigma$ of a compressed block counts when $\sigma >
//! \mathrm{tol}$ (absolute); one `tol` serves both stages. The default is
//! $$\mathrm{tol} = \sqrt\varepsilon\,\max(\|A\|_F,\|B\|_F,\|C\|_F)\ \ (\approx1.5\cdot10^{-8}\max\|\cdot\|_F).$$
//! Why not the rounding level $n\varepsilon\max\|\cdot\|_F$: the transformations are backward
//! stable, but a block that is zero in exact arithmetic comes out of the staircase at the size of
//! the data's rounding errors *amplified by the conditioning of the staircase* (each step divides by
//! the kept singular values of the previous one). Measured on 2000 systems whose uncontrollable and
//! unobservable parts are hidden by a random orthogonal similarity (n = 1…10, test
//! `dropped_singular_values_sit_far_below_the_default_tolerance` in `tests/minreal.rs`), the
//! largest singular value that must be dropped is, in units of $\varepsilon\max\|\cdot\|_F$,
//! 1.6 (median), 22 (90 %), 250 (99 %) and 5500 (max): $n\varepsilon\max\|\cdot\|_F$ would count a
//! rounding-level block as nonzero in more than one case in ten, while the smallest genuine
//! singular value kept was $4.5\cdot10^{-5}\max\|\cdot\|_F$. $\sqrt\varepsilon$ (also MATLAB's
//! default for `minreal`) sits three orders of magnitude from both. A larger `tol` removes nearly uncontrollable or
//! unobservable modes too (a crude reduction; use balanced truncation for that), a smaller one keeps
//! rounding-level couplings. [`MinimalRealization`] reports the smallest singular value kept and the
//! largest dropped, i.e. how clear the decisions were.
//!
//! Cost: $O(n^3)$ (each reflector is applied to $O(n)$ rows and columns of $A$).
//!
//! Not done here: `TB01PD`'s optional balancing (`EQUIL = 'S'`) before the staircase; the model is
//! used as given. Systems are real (`f64`), as [`StateSpace`] is.
//!
//! # References
//! - P. Van Dooren, *The generalized eigenstructure problem in linear system theory*, IEEE TAC 26
//!   (1981) 111–129.
//! - A. Varga, *Minimal realization procedures based on balancing and related techniques*, in
//!   *Numerical Methods for Linear Control Systems Design and Analysis* (1981); the SLICOT
//!   routines `TB01PD`/`TB01UD` follow it.
//! - C. C. Paige, *Properties of numerical algorithms related to computing controllability*,
//!   IEEE TAC 26 (1981) 130–138 (why orthogonal staircases, not the Kalman matrix).

use crate::model::StateSpace;
use crate::{Result, SystemsError};
use dln_linalg::thin_svd;
use faer::reborrow::*;
use faer::{Mat, MatMut, MatRef};

/// The controllability staircase form of $(A,B)$, with a third matrix $C$ carried along:
/// $(Z^{\mathsf T}AZ,\ Z^{\mathsf T}B,\ CZ)$ with $Z$ orthogonal (see the [module doc](self)).
#[derive(Debug, Clone)]
pub struct Staircase {
    /// $Z^{\mathsf T}AZ$: block upper triangular, its leading $n_c\times n_c$ block $A_c$ block
    /// upper Hessenberg with full-row-rank subdiagonal blocks; entries below `tol` that the rank
    /// decisions discarded are exactly zero.
    pub a: Mat<f64>,
    /// $Z^{\mathsf T}B$: rows after the first $\rho_1$ exactly zero.
    pub b: Mat<f64>,
    /// $CZ$.
    pub c: Mat<f64>,
    /// The orthogonal $Z$ ($n\times n$).
    pub z: Mat<f64>,
    /// Block sizes $\rho_1\ge\rho_2\ge\dots>0$ (the ranks of the compressed blocks).
    pub blocks: Vec<usize>,
    /// $n_c = \sum_k\rho_k$, the dimension of the controllable subspace.
    pub order: usize,
    /// Smallest singular value counted as nonzero over all rank decisions ($+\infty$ if none).
    pub smallest_kept: f64,
    /// Largest singular value counted as zero over all rank decisions ($0$ if none).
    pub largest_dropped: f64,
}

/// Options of [`minimal_realization`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MinrealOptions {
    /// Absolute rank tolerance; `None` for the default
    /// $\sqrt\varepsilon\max(\|A\|_F,\|B\|_F,\|C\|_F)$ ([`default_tolerance`]).
    pub tol: Option<f64>,
}

/// A minimal realization and how it was obtained.
#[derive(Debug, Clone)]
pub struct MinimalRealization {
    /// $(A_r,B_r,C_r,D)$, controllable and observable, same sampling as the input.
    pub system: StateSpace,
    /// $n_r$, the order of [`system`](Self::system) (the McMillan degree, to the tolerance).
    pub order: usize,
    /// $n_c$: dimension of the controllable subspace of the input, the rank of
    /// $[B, AB, \dots, A^{n-1}B]$.
    pub controllable_order: usize,
    /// $n_o$: rank of the observability matrix of the input $[C; CA; \dots; CA^{n-1}]$
    /// (from a separate staircase on $(A^{\mathsf T},C^{\mathsf T})$); $n_r\le\min(n_c,n_o)$.
    pub observable_order: usize,
    /// The tolerance used.
    pub tol: f64,
    /// $Z_c$ ($n\times n$): the controllability staircase of the input,
    /// $Z_c^{\mathsf T}AZ_c = \begin{bmatrix}A_c&*\\0&*\end{bmatrix}$.
    pub zc: Mat<f64>,
    /// $Z_o$ ($n_c\times n_c$): the staircase of the dual of $(A_c,B_c,C_c)$,
    /// $Z_o^{\mathsf T}A_cZ_o = \begin{bmatrix}A_r&0\\ *&*\end{bmatrix}$,
    /// $C_cZ_o = [C_r\ 0]$.
    pub zo: Mat<f64>,
    /// Smallest singular value counted as nonzero in the two stages that produced
    /// [`system`](Self::system) ($+\infty$ if none).
    pub smallest_kept: f64,
    /// Largest singular value counted as zero in those stages ($0$ if none): the decisions were
    /// clear when it is far below [`smallest_kept`](Self::smallest_kept).
    pub largest_dropped: f64,
}

impl MinimalRealization {
    /// The orthonormal $V$ ($n\times n_r$) with $A_r = V^{\mathsf T}AV$, $B_r = V^{\mathsf T}B$,
    /// $C_r = CV$ (up to the discarded blocks below `tol`).
    pub fn basis(&self) -> Mat<f64> {
        let nc = self.zo.nrows();
        self.zc.subcols(0, nc) * self.zo.subcols(0, self.order)
    }
}

/// The default rank tolerance $\sqrt\varepsilon\max(\|A\|_F,\|B\|_F,\|C\|_F)$ (why: the
/// [module doc](self)).
pub fn default_tolerance(sys: &StateSpace) -> f64 {
    let norm = sys
        .a()
        .norm_l2()
        .max(sys.b().norm_l2())
        .max(sys.c().norm_l2());
    f64::EPSILON.sqrt() * norm
}

/// A minimal realization of `sys`: the controllability staircase removes the uncontrollable part,
/// the staircase of the dual then the unobservable part (see the [module doc](self)). Any $A$
/// (unstable included), continuous or discrete time; the transfer function is preserved.
///
/// # Errors
/// [`SystemsError::InvalidArgument`] for a negative or non-finite `tol`; SVD failures.
///
/// # Example
/// A state that the input cannot reach is removed:
/// ```
/// use dln_systems::minreal::{minimal_realization, MinrealOptions};
/// use dln_systems::model::StateSpace;
/// use faer::mat;
/// # fn main() -> dln_systems::Result<()> {
/// let a = mat![[-1.0, 0.0], [0.0, 2.0]];
/// let b = mat![[1.0], [0.0]];
/// let c = mat![[1.0, 1.0]];
/// let sys = StateSpace::continuous(a, b, c, mat![[0.5]])?;
/// let min = minimal_realization(&sys, MinrealOptions::default())?;
/// assert_eq!((min.order, min.controllable_order, min.observable_order), (1, 1, 2));
/// assert!((min.system.a()[(0, 0)] + 1.0).abs() < 1e-15);
/// # Ok(()) }
/// ```
pub fn minimal_realization(sys: &StateSpace, opts: MinrealOptions) -> Result<MinimalRealization> {
    let tol = match opts.tol {
        Some(t) if !(t.is_finite() && t >= 0.0) => {
            return Err(SystemsError::InvalidArgument(format!(
                "rank tolerance must be finite and non-negative, got {t}"
            )));
        }
        Some(t) => t,
        None => default_tolerance(sys),
    };
    let ctrb = controllability_staircase(sys.a(), sys.b(), sys.c(), tol)?;
    let nc = ctrb.order;
    // Dual of the controllable part: (A_c^T, C_c^T), carrying B_c^T.
    let ac_t = ctrb.a.submatrix(0, 0, nc, nc).transpose().to_owned();
    let cc_t = ctrb.c.subcols(0, nc).transpose().to_owned();
    let bc_t = ctrb.b.subrows(0, nc).transpose().to_owned();
    let obsv = controllability_staircase(ac_t.as_ref(), cc_t.as_ref(), bc_t.as_ref(), tol)?;
    let nr = obsv.order;
    let ar = obsv.a.submatrix(0, 0, nr, nr).transpose().to_owned();
    let br = obsv.c.subcols(0, nr).transpose().to_owned();
    let cr = obsv.b.subrows(0, nr).transpose().to_owned();
    let system = StateSpace::new(ar, br, cr, sys.d().to_owned(), sys.sampling())?;
    // n_o of the input, by its own staircase (orders only matter here).
    let no = controllability_staircase(
        sys.a().transpose(),
        sys.c().transpose(),
        Mat::<f64>::zeros(0, sys.order()).as_ref(),
        tol,
    )?
    .order;
    Ok(MinimalRealization {
        system,
        order: nr,
        controllable_order: nc,
        observable_order: no,
        tol,
        zc: ctrb.z,
        zo: obsv.z,
        smallest_kept: ctrb.smallest_kept.min(obsv.smallest_kept),
        largest_dropped: ctrb.largest_dropped.max(obsv.largest_dropped),
    })
}

/// The controllability staircase of $(A,B)$ with rank tolerance `tol` (absolute), carrying $C$
/// along as $CZ$ (pass a $0\times n$ matrix when there is none). For the observability staircase
/// call it on $(A^{\mathsf T}, C^{\mathsf T}, B^{\mathsf T})$.
///
/// # Errors
/// [`SystemsError::InvalidArgument`] for a negative or non-finite `tol`; SVD failures (also for
/// non-finite entries).
///
/// # Panics
/// If $A$ is not square or $B$, $C$ do not match its size.
#[track_caller]
pub fn controllability_staircase(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    c: MatRef<'_, f64>,
    tol: f64,
) -> Result<Staircase> {
    let n = a.nrows();
    assert!(
        a.ncols() == n && b.nrows() == n && c.ncols() == n,
        "controllability_staircase: A must be n x n, B n x m, C p x n"
    );
    if !(tol.is_finite() && tol >= 0.0) {
        return Err(SystemsError::InvalidArgument(format!(
            "rank tolerance must be finite and non-negative, got {tol}"
        )));
    }
    let mut a = a.to_owned();
    let mut b = b.to_owned();
    let mut c = c.to_owned();
    let mut z = Mat::<f64>::identity(n, n);
    let mut blocks = Vec::new();
    let mut smallest_kept = f64::INFINITY;
    let mut largest_dropped = 0.0f64;
    let mut v = vec![0.0; n];
    let mut work = vec![0.0; n.max(c.nrows())];
    // Rows `row0..n` are still to be compressed; `prev` = columns (start, width) of the block
    // whose image in those rows is compressed next (`None`: the first step compresses B).
    let mut row0 = 0;
    let mut prev: Option<(usize, usize)> = None;
    while row0 < n {
        let r = n - row0;
        let block = match prev {
            None => b.subrows(row0, r).to_owned(),
            Some((c0, w)) => a.submatrix(row0, c0, r, w).to_owned(),
        };
        if block.ncols() == 0 {
            break;
        }
        let svd = thin_svd(block.as_ref())?;
        let rho = svd.s.iter().take_while(|&&s| s > tol).count();
        if rho > 0 {
            smallest_kept = smallest_kept.min(svd.s[rho - 1]);
        }
        if let Some(&s) = svd.s.get(rho) {
            largest_dropped = largest_dropped.max(s);
        }
        // Householder QR of the rho dominant left singular vectors U_1 (r x rho): Q = H_1...H_rho
        // has range(U_1) as its first rho columns, so Q^T block = [R; E] with ||E|| <= sigma_{rho+1}.
        let mut u1 = svd.u.subcols(0, rho).to_owned();
        // Columns of A left of `first_col` are zero in rows row0.. (staircase), skip them.
        let first_col = prev.map_or(0, |(c0, _)| c0);
        for j in 0..rho {
            let len = r - j;
            let lo = row0 + j;
            let tau = reflector(u1.col(j).subrows(j, len), &mut v[..len]);
            let v = &v[..len];
            apply_left(
                u1.as_mut().submatrix_mut(j, j + 1, len, rho - j - 1),
                v,
                tau,
            );
            apply_left(
                a.as_mut().submatrix_mut(lo, first_col, len, n - first_col),
                v,
                tau,
            );
            apply_right(a.as_mut().subcols_mut(lo, len), v, tau, &mut work);
            apply_right(c.as_mut().subcols_mut(lo, len), v, tau, &mut work);
            apply_right(z.as_mut().subcols_mut(lo, len), v, tau, &mut work);
            if prev.is_none() {
                let m = b.ncols();
                apply_left(b.as_mut().submatrix_mut(lo, 0, len, m), v, tau);
            }
        }
        // The part of the compressed block below its rank is negligible (<= tol): make it zero.
        match prev {
            None => b.as_mut().subrows_mut(row0 + rho, r - rho).fill(0.0),
            Some((c0, w)) => a
                .as_mut()
                .submatrix_mut(row0 + rho, c0, r - rho, w)
                .fill(0.0),
        }
        if rho == 0 {
            break;
        }
        blocks.push(rho);
        prev = Some((row0, rho));
        row0 += rho;
    }
    Ok(Staircase {
        a,
        b,
        c,
        z,
        blocks,
        order: row0,
        smallest_kept,
        largest_dropped,
    })
}

/// Householder reflector $H = I-\tau vv^{\mathsf T}$, $v_0 = 1$, with $Hx = \beta e_1$,
/// $\beta = -\operatorname{sign}(x_0)\|x\|_2$; writes $v$ and returns $\tau$ ($0$ when $x$ is
/// already a multiple of $e_1$). Used on columns of orthonormal matrices, so no scaling is needed.
fn reflector(x: faer::ColRef<'_, f64>, v: &mut [f64]) -> f64 {
    let l = x.nrows();
    for (i, vi) in v[..l].iter_mut().enumerate() {
        *vi = x[i];
    }
    let sig = v[1..l].iter().fold(0.0f64, |s, &t| s.hypot(t));
    let alpha = v[0];
    v[0] = 1.0;
    if sig == 0.0 {
        return 0.0;
    }
    let beta = if alpha >= 0.0 {
        -alpha.hypot(sig)
    } else {
        alpha.hypot(sig)
    };
    let scal = 1.0 / (alpha - beta);
    for vi in v[1..l].iter_mut() {
        *vi *= scal;
    }
    (beta - alpha) / beta
}

/// $S \leftarrow (I-\tau vv^{\mathsf T})S$.
fn apply_left(mut s: MatMut<'_, f64>, v: &[f64], tau: f64) {
    if tau == 0.0 {
        return;
    }
    for j in 0..s.ncols() {
        let mut col = s.rb_mut().col_mut(j);
        let mut d = 0.0;
        for (i, &vi) in v.iter().enumerate() {
            d += vi * col[i];
        }
        let f = tau * d;
        if f != 0.0 {
            for (i, &vi) in v.iter().enumerate() {
                col[i] -= f * vi;
            }
        }
    }
}

/// $S \leftarrow S(I-\tau vv^{\mathsf T})$.
fn apply_right(mut s: MatMut<'_, f64>, v: &[f64], tau: f64, work: &mut [f64]) {
    if tau == 0.0 {
        return;
    }
    let p = s.nrows();
    let w = &mut work[..p];
    w.fill(0.0);
    for (j, &vj) in v.iter().enumerate() {
        if vj != 0.0 {
            let col = s.rb().col(j);
            for (i, wi) in w.iter_mut().enumerate() {
                *wi += col[i] * vj;
            }
        }
    }
    for (j, &vj) in v.iter().enumerate() {
        let f = tau * vj;
        if f != 0.0 {
            let mut col = s.rb_mut().col_mut(j);
            for (i, &wi) in w.iter().enumerate() {
                col[i] -= wi * f;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::mat;

    #[test]
    fn reflector_maps_to_e1() {
        let x = faer::col![3.0, 4.0, 0.0, 12.0];
        let mut v = vec![0.0; 4];
        let tau = reflector(x.as_ref(), &mut v);
        let mut m = Mat::from_fn(4, 1, |i, _| x[i]);
        apply_left(m.as_mut(), &v, tau);
        assert!((m[(0, 0)].abs() - 13.0).abs() < 1e-14);
        for i in 1..4 {
            assert!(m[(i, 0)].abs() < 1e-14);
        }
    }

    #[test]
    fn zero_b_is_uncontrollable() {
        let a = mat![[1.0, 2.0], [3.0, 4.0]];
        let b = Mat::<f64>::zeros(2, 1);
        let c = mat![[1.0, 0.0]];
        let s = controllability_staircase(a.as_ref(), b.as_ref(), c.as_ref(), 0.0).unwrap();
        assert_eq!(s.order, 0);
        assert!(s.blocks.is_empty());
    }

    #[test]
    fn negative_tolerance_is_refused() {
        let a = mat![[1.0]];
        let b = mat![[1.0]];
        let c = mat![[1.0]];
        let e = controllability_staircase(a.as_ref(), b.as_ref(), c.as_ref(), -1.0);
        assert!(matches!(e, Err(SystemsError::InvalidArgument(_))));
    }
}
