//! The Sylvester equation $AX + XB = C$, by the Bartels–Stewart method.
//!
//! With Schur forms $A = U T_A U^{*}$ and $B = V T_B V^{*}$ the equation becomes
//! $T_A Y + Y T_B = U^{*} C V$, $X = U Y V^{*}$, a (quasi-)triangular system solved by block
//! back substitution. It is uniquely solvable iff $\lambda_i(A) + \mu_j(B) \ne 0$ for all
//! eigenvalues $\lambda_i$ of $A$ and $\mu_j$ of $B$, i.e. iff the spectra of $A$ and $-B$ are
//! disjoint.
//!
//! # Algorithm
//! Real data use real Schur forms: the quasi-triangular equation is solved by the recursive blocked
//! algorithm of Jonsson and Kågström, whose updates are matrix products (faer `matmul`), with
//! $1\times1$/$2\times2$ block solves at the leaves. Complex data use complex Schur forms and
//! column-wise triangular solves. Cost: two Schur decompositions ($\approx 25(n^3+m^3)$ flops) plus
//! $O(nm(n+m))$.
//!
//! # References
//! - R. H. Bartels, G. W. Stewart, *Solution of the matrix equation AX + XB = C*, Comm. ACM 15
//!   (1972) 820–826.
//! - I. Jonsson, B. Kågström, *Recursive blocked algorithms for solving triangular systems — Part I:
//!   one-sided and coupled Sylvester-type matrix equations*, ACM TOMS 28 (2002) 392–415.

use crate::schur::{complex_schur, real_schur, small_solve};
use crate::{Result, SystemsError};
use dln_linalg::{Scalar, c64, check_finite};
use faer::linalg::matmul::matmul;
use faer::reborrow::*;
use faer::{Accum, Mat, MatMut, MatRef, Par};

/// Leaf size of the recursive blocked triangular solvers.
const LEAF: usize = 48;

fn par() -> Par {
    faer::get_global_parallelism()
}

/// Marker error of the triangular solvers: a block system was singular to working precision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SingularBlock;

/// Split point near `n/2` that does not cut a $2\times2$ block of the quasi-triangular `t`.
pub(crate) fn split_point(t: MatRef<'_, f64>) -> usize {
    let n = t.nrows();
    let mut h = n / 2;
    if h > 0 && h < n && t[(h, h - 1)] != 0.0 {
        h += 1;
    }
    h
}

/// $C \mathrel{+}= \alpha\\,L R$ (or $C = \alpha L R$ with `replace`).
#[inline]
pub(crate) fn gemm(
    c: MatMut<'_, f64>,
    l: MatRef<'_, f64>,
    r: MatRef<'_, f64>,
    alpha: f64,
    replace: bool,
) {
    if c.nrows() == 0 || c.ncols() == 0 {
        return;
    }
    matmul(
        c,
        if replace { Accum::Replace } else { Accum::Add },
        l,
        r,
        alpha,
        par(),
    );
}

/// Solves one small block equation $A_{ii} X + X B_{jj}^{\mathsf T} = R$ (continuous) or
/// $A_{ii} X B_{jj}^{\mathsf T} - X = R$ (discrete) by its Kronecker form; `r` is $p\times q$ with
/// $p,q\le2$, overwritten by $X$.
fn block_solve(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    mut r: MatMut<'_, f64>,
    discrete: bool,
    smin: f64,
) -> Result<(), SingularBlock> {
    let (p, q) = (a.nrows(), b.nrows());
    if p == 1 && q == 1 {
        let d = if discrete {
            a[(0, 0)] * b[(0, 0)] - 1.0
        } else {
            a[(0, 0)] + b[(0, 0)]
        };
        let d = if d.abs() < smin {
            return Err(SingularBlock);
        } else {
            d
        };
        r[(0, 0)] /= d;
        return Ok(());
    }
    let dim = p * q;
    let mut m = [0.0f64; 16];
    let mut rhs = [0.0f64; 8];
    // vec column-major: index i + j p.  (I_q ⊗ A + B ⊗ I_p) or (B ⊗ A - I).
    for j in 0..q {
        for i in 0..p {
            let row = i + j * p;
            rhs[row] = r[(i, j)];
            for l in 0..q {
                for k in 0..p {
                    let col = k + l * p;
                    let v = if discrete {
                        b[(j, l)] * a[(i, k)] - if row == col { 1.0 } else { 0.0 }
                    } else {
                        (if j == l { a[(i, k)] } else { 0.0 })
                            + (if i == k { b[(j, l)] } else { 0.0 })
                    };
                    m[row * dim + col] = v;
                }
            }
        }
    }
    let (scale, perturbed) = small_solve(&mut m[..dim * dim], dim, &mut rhs, smin);
    if perturbed || scale < 1.0 {
        return Err(SingularBlock);
    }
    for j in 0..q {
        for i in 0..p {
            r[(i, j)] = rhs[i + j * p];
        }
    }
    Ok(())
}

/// Leaf solver for $AX + XB^{\mathsf T} = C$ (continuous) or $AXB^{\mathsf T} - X = C$ (discrete),
/// $A$ ($p\times p$) and $B$ ($q\times q$) quasi-upper triangular; `c` is overwritten by $X$.
fn sylv_leaf(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    mut c: MatMut<'_, f64>,
    discrete: bool,
    smin: f64,
) -> Result<(), SingularBlock> {
    let (p, q) = (a.nrows(), b.nrows());
    // Column blocks of X from last to first.
    let mut jend = q;
    while jend > 0 {
        let bj = if jend >= 2 && b[(jend - 1, jend - 2)] != 0.0 {
            2
        } else {
            1
        };
        let j0 = jend - bj;
        let bjj = b.submatrix(j0, j0, bj, bj);
        // Row blocks from last to first.
        let mut iend = p;
        while iend > 0 {
            let bi = if iend >= 2 && a[(iend - 1, iend - 2)] != 0.0 {
                2
            } else {
                1
            };
            let i0 = iend - bi;
            block_solve(
                a.submatrix(i0, i0, bi, bi),
                bjj,
                c.rb_mut().submatrix_mut(i0, j0, bi, bj),
                discrete,
                smin,
            )?;
            // Update the rows above in this column block.
            if i0 > 0 {
                // G = X_ij (CT) or X_ij B_jj^T (DT); C[0..i0, J] -= A[0..i0, I] G.
                let mut g = [[0.0f64; 2]; 2];
                for jj in 0..bj {
                    for ii in 0..bi {
                        g[ii][jj] = if discrete {
                            (0..bj).map(|l| c[(i0 + ii, j0 + l)] * bjj[(jj, l)]).sum()
                        } else {
                            c[(i0 + ii, j0 + jj)]
                        };
                    }
                }
                for jj in 0..bj {
                    for ii in 0..bi {
                        let gv = g[ii][jj];
                        if gv != 0.0 {
                            for r in 0..i0 {
                                c[(r, j0 + jj)] -= a[(r, i0 + ii)] * gv;
                            }
                        }
                    }
                }
            }
            iend = i0;
        }
        // Update the earlier column blocks: C[:, K] -= W B[K, J]^T for K < J, with W = X_J (CT)
        // or W = A X_J (DT).
        if j0 > 0 {
            let xj = c.rb().submatrix(0, j0, p, bj).to_owned();
            let w = if discrete {
                let mut w = Mat::<f64>::zeros(p, bj);
                for jj in 0..bj {
                    for l in 0..p {
                        let x = xj[(l, jj)];
                        if x != 0.0 {
                            for r in 0..(l + 2).min(p) {
                                w[(r, jj)] += a[(r, l)] * x;
                            }
                        }
                    }
                }
                w
            } else {
                xj
            };
            let bt = b.submatrix(0, j0, j0, bj).transpose();
            gemm(
                c.rb_mut().submatrix_mut(0, 0, p, j0),
                w.as_ref(),
                bt,
                -1.0,
                false,
            );
        }
        jend = j0;
    }
    Ok(())
}

/// Recursive blocked solver of the quasi-triangular Sylvester equation $AX + XB^{\mathsf T} = C$
/// (continuous) or the Stein equation $AXB^{\mathsf T} - X = C$ (discrete); `c` is overwritten by
/// $X$. Both $A$ and $B$ are quasi-upper triangular.
pub(crate) fn sylv_tri(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    mut c: MatMut<'_, f64>,
    discrete: bool,
    smin: f64,
) -> Result<(), SingularBlock> {
    let (p, q) = (a.nrows(), b.nrows());
    if p == 0 || q == 0 {
        return Ok(());
    }
    if p <= LEAF && q <= LEAF {
        return sylv_leaf(a, b, c, discrete, smin);
    }
    if p >= q {
        let h = split_point(a);
        let (a11, a12, a22) = (
            a.submatrix(0, 0, h, h),
            a.submatrix(0, h, h, p - h),
            a.submatrix(h, h, p - h, p - h),
        );
        let (mut c1, mut c2) = c.rb_mut().split_at_row_mut(h);
        sylv_tri(a22, b, c2.rb_mut(), discrete, smin)?;
        if discrete {
            // C1 -= A12 X2 B^T.
            let mut t = Mat::<f64>::zeros(h, q);
            gemm(t.as_mut(), a12, c2.rb(), 1.0, true);
            gemm(c1.rb_mut(), t.as_ref(), b.transpose(), -1.0, false);
        } else {
            gemm(c1.rb_mut(), a12, c2.rb(), -1.0, false);
        }
        sylv_tri(a11, b, c1, discrete, smin)
    } else {
        let h = split_point(b);
        let (b11, b12, b22) = (
            b.submatrix(0, 0, h, h),
            b.submatrix(0, h, h, q - h),
            b.submatrix(h, h, q - h, q - h),
        );
        let (mut c1, mut c2) = c.rb_mut().split_at_col_mut(h);
        sylv_tri(a, b22, c2.rb_mut(), discrete, smin)?;
        if discrete {
            // C1 -= A X2 B12^T.
            let mut t = Mat::<f64>::zeros(p, q - h);
            gemm(t.as_mut(), a, c2.rb(), 1.0, true);
            gemm(c1.rb_mut(), t.as_ref(), b12.transpose(), -1.0, false);
        } else {
            gemm(c1.rb_mut(), c2.rb(), b12.transpose(), -1.0, false);
        }
        sylv_tri(a, b11, c1, discrete, smin)
    }
}

/// Recursive blocked solver of the quasi-triangular Lyapunov equation $TY + YT^{\mathsf T} = C$
/// (continuous) or $TYT^{\mathsf T} - Y = C$ (discrete) for symmetric $C$; `c` is overwritten by
/// the symmetric solution $Y$.
pub(crate) fn lyap_tri(
    t: MatRef<'_, f64>,
    mut c: MatMut<'_, f64>,
    discrete: bool,
    smin: f64,
) -> Result<(), SingularBlock> {
    let n = t.nrows();
    if n == 0 {
        return Ok(());
    }
    if n <= LEAF {
        sylv_leaf(t, t, c.rb_mut(), discrete, smin)?;
        symmetrize(c);
        return Ok(());
    }
    let h = split_point(t);
    let m = n - h;
    let (t11, t12, t22) = (
        t.submatrix(0, 0, h, h),
        t.submatrix(0, h, h, m),
        t.submatrix(h, h, m, m),
    );
    let (mut c11, mut c12, mut c21, mut c22) = c.rb_mut().split_at_mut(h, h);
    // (2,2) block.
    lyap_tri(t22, c22.rb_mut(), discrete, smin)?;
    let y22 = c22.rb();
    if discrete {
        // W = T12 Y22; C12 -= W T22^T; solve T11 Y12 T22^T - Y12 = C12.
        let mut w = Mat::<f64>::zeros(h, m);
        gemm(w.as_mut(), t12, y22, 1.0, true);
        gemm(c12.rb_mut(), w.as_ref(), t22.transpose(), -1.0, false);
        sylv_tri(t11, t22, c12.rb_mut(), true, smin)?;
        // G = T11 Y12 + W/2;  C11 -= G T12^T + T12 G^T.
        let mut g = w;
        for j in 0..m {
            for i in 0..h {
                g[(i, j)] *= 0.5;
            }
        }
        gemm(g.as_mut(), t11, c12.rb(), 1.0, false);
        gemm(c11.rb_mut(), g.as_ref(), t12.transpose(), -1.0, false);
        gemm(c11.rb_mut(), t12, g.as_ref().transpose(), -1.0, false);
    } else {
        // C12 -= T12 Y22; solve T11 Y12 + Y12 T22^T = C12; C11 -= T12 Y12^T + Y12 T12^T.
        gemm(c12.rb_mut(), t12, y22, -1.0, false);
        sylv_tri(t11, t22, c12.rb_mut(), false, smin)?;
        gemm(c11.rb_mut(), t12, c12.rb().transpose(), -1.0, false);
        gemm(c11.rb_mut(), c12.rb(), t12.transpose(), -1.0, false);
    }
    lyap_tri(t11, c11, discrete, smin)?;
    c21.copy_from(c12.rb().transpose());
    Ok(())
}

/// $C \leftarrow (C + C^{\mathsf T})/2$.
pub(crate) fn symmetrize(mut c: MatMut<'_, f64>) {
    let n = c.nrows();
    for j in 0..n {
        for i in j + 1..n {
            let v = 0.5 * (c[(i, j)] + c[(j, i)]);
            c[(i, j)] = v;
            c[(j, i)] = v;
        }
    }
}

/// $J M J$ with $J$ the reversal permutation (reverses rows and columns).
pub(crate) fn flip(m: MatRef<'_, f64>) -> Mat<f64> {
    let (r, c) = (m.nrows(), m.ncols());
    Mat::from_fn(r, c, |i, j| m[(r - 1 - i, c - 1 - j)])
}

/// Solves the Sylvester equation $AX + XB = C$ ($A$ $n\times n$, $B$ $m\times m$, $C$ $n\times m$).
///
/// # Errors
/// [`SystemsError::Linalg`] for non-finite input; [`SystemsError::SingularEquation`] if some
/// $\lambda_i(A)+\mu_j(B)$ is zero to working precision
/// ($|\lambda_i+\mu_j| \le 10(n+m)\\,\varepsilon\\,(\|A\|_F+\|B\|_F)$), i.e. the spectra of $A$ and
/// $-B$ (nearly) intersect; [`SystemsError::NoConvergence`] if a Schur decomposition fails.
///
/// # Panics
/// If $A$ or $B$ is not square, or $C$ is not $n\times m$.
///
/// # Algorithm
/// Bartels–Stewart (module docs): real quasi-triangular recursive blocked solver for `f64`,
/// complex triangular solver for `c64`; $O(n^3+m^3)$.
///
/// # Example
/// ```
/// use dln_systems::sylvester::sylvester;
/// use faer::mat;
/// let a = mat![[1.0, 2.0], [0.0, 3.0]];
/// let b = mat![[4.0, 0.0], [1.0, 5.0]];
/// let c = mat![[1.0, 0.0], [0.0, 1.0]];
/// let x = sylvester(a.as_ref(), b.as_ref(), c.as_ref()).unwrap();
/// let r = &a * &x + &x * &b - &c;
/// assert!(r.norm_l2() < 1e-14);
/// ```
#[track_caller]
pub fn sylvester<T: Scalar>(
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    c: MatRef<'_, T>,
) -> Result<Mat<T>> {
    assert_eq!(a.nrows(), a.ncols(), "sylvester: A must be square");
    assert_eq!(b.nrows(), b.ncols(), "sylvester: B must be square");
    assert_eq!(
        (c.nrows(), c.ncols()),
        (a.nrows(), b.nrows()),
        "sylvester: C must be n x m"
    );
    check_finite(a)?;
    check_finite(b)?;
    check_finite(c)?;
    let (n, m) = (a.nrows(), b.nrows());
    if n == 0 || m == 0 {
        return Ok(Mat::zeros(n, m));
    }
    if T::IS_COMPLEX {
        let ac = Mat::from_fn(n, n, |i, j| c64::new(a[(i, j)].re(), a[(i, j)].im()));
        let bc = Mat::from_fn(m, m, |i, j| c64::new(b[(i, j)].re(), b[(i, j)].im()));
        let cc = Mat::from_fn(n, m, |i, j| c64::new(c[(i, j)].re(), c[(i, j)].im()));
        let x = sylvester_complex(ac.as_ref(), bc.as_ref(), cc.as_ref())?;
        Ok(Mat::from_fn(n, m, |i, j| {
            T::from_parts(x[(i, j)].re, x[(i, j)].im)
        }))
    } else {
        let ar = Mat::from_fn(n, n, |i, j| a[(i, j)].re());
        let br = Mat::from_fn(m, m, |i, j| b[(i, j)].re());
        let cr = Mat::from_fn(n, m, |i, j| c[(i, j)].re());
        let x = sylvester_real(ar.as_ref(), br.as_ref(), cr.as_ref())?;
        Ok(Mat::from_fn(n, m, |i, j| T::from_f64(x[(i, j)])))
    }
}

fn singular_sylvester(l: c64, mu: c64) -> SystemsError {
    SystemsError::SingularEquation {
        equation: "Sylvester equation AX + XB = C",
        detail: format!(
            "eigenvalue {:+e}{:+e}i of A and eigenvalue {:+e}{:+e}i of B sum to (nearly) zero",
            l.re, l.im, mu.re, mu.im
        ),
    }
}

fn check_sylvester_spectra(la: &[c64], lb: &[c64], tol: f64) -> Result<()> {
    for &l in la {
        for &mu in lb {
            if (l + mu).norm() <= tol {
                return Err(singular_sylvester(l, mu));
            }
        }
    }
    Ok(())
}

fn sylvester_real(a: MatRef<'_, f64>, b: MatRef<'_, f64>, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
    let (n, m) = (a.nrows(), b.nrows());
    let sa = real_schur(a)?;
    let sb = real_schur(b)?;
    let scale = a.norm_l2() + b.norm_l2();
    let tol = 10.0 * (n + m) as f64 * f64::EPSILON * scale;
    let (la, lb) = (sa.eigenvalues(), sb.eigenvalues());
    check_sylvester_spectra(&la, &lb, tol)?;
    // C~ = U^T C V, then reverse its columns: W = Y J solves T_A W + W (J T_B^T J)^T = C~ J.
    let mut tmp = Mat::<f64>::zeros(n, m);
    gemm(tmp.as_mut(), sa.z.transpose(), c, 1.0, true);
    let mut ct = Mat::<f64>::zeros(n, m);
    gemm(ct.as_mut(), tmp.as_ref(), sb.z.as_ref(), 1.0, true);
    let mut w = Mat::from_fn(n, m, |i, j| ct[(i, m - 1 - j)]);
    let tb = flip(sb.t.transpose());
    let smin = (f64::EPSILON * scale).max(f64::MIN_POSITIVE * 1e3);
    sylv_tri(sa.t.as_ref(), tb.as_ref(), w.as_mut(), false, smin)
        .map_err(|_| singular_sylvester(la[0], lb[0]))?;
    let y = Mat::from_fn(n, m, |i, j| w[(i, m - 1 - j)]);
    gemm(tmp.as_mut(), sa.z.as_ref(), y.as_ref(), 1.0, true);
    let mut x = Mat::<f64>::zeros(n, m);
    gemm(x.as_mut(), tmp.as_ref(), sb.z.transpose(), 1.0, true);
    Ok(x)
}

fn sylvester_complex(
    a: MatRef<'_, c64>,
    b: MatRef<'_, c64>,
    c: MatRef<'_, c64>,
) -> Result<Mat<c64>> {
    let (n, m) = (a.nrows(), b.nrows());
    let sa = complex_schur(a)?;
    let sb = complex_schur(b)?;
    let scale = a.norm_l2() + b.norm_l2();
    let tol = 10.0 * (n + m) as f64 * f64::EPSILON * scale;
    let (la, lb) = (sa.eigenvalues(), sb.eigenvalues());
    check_sylvester_spectra(&la, &lb, tol)?;
    let mut y = sa.z.adjoint() * c * &sb.z;
    tri_sylvester_complex(sa.t.as_ref(), sb.t.as_ref(), y.as_mut());
    Ok(&sa.z * &y * sb.z.adjoint())
}

/// Solves $T_A Y + Y T_B = C$ in place, $T_A$, $T_B$ upper triangular (complex), column by column.
pub(crate) fn tri_sylvester_complex(
    ta: MatRef<'_, c64>,
    tb: MatRef<'_, c64>,
    mut y: MatMut<'_, c64>,
) {
    let (n, m) = (ta.nrows(), tb.nrows());
    for j in 0..m {
        // y_j <- c_j - sum_{k<j} y_k tb[k, j]  (already applied by the updates below)
        let mu = tb[(j, j)];
        for i in (0..n).rev() {
            let v = y[(i, j)] / (ta[(i, i)] + mu);
            y[(i, j)] = v;
            if v != c64::new(0.0, 0.0) {
                for r in 0..i {
                    let t = ta[(r, i)] * v;
                    y[(r, j)] -= t;
                }
            }
        }
        // Later columns: y_l -= y_j tb[j, l].
        for l in j + 1..m {
            let f = tb[(j, l)];
            if f != c64::new(0.0, 0.0) {
                for i in 0..n {
                    let t = y[(i, j)] * f;
                    y[(i, l)] -= t;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dln_linalg::random;

    #[test]
    fn real_quasi_triangular_solvers() {
        let mut rng = random::rng(11);
        for &(n, m) in &[(1usize, 1usize), (2, 3), (7, 5), (60, 70), (130, 90)] {
            let a: Mat<f64> = random::gaussian(&mut rng, n, n);
            let b: Mat<f64> = random::gaussian(&mut rng, m, m);
            let ta = real_schur(a.as_ref()).unwrap().t;
            let tb = real_schur(b.as_ref()).unwrap().t;
            let c: Mat<f64> = random::gaussian(&mut rng, n, m);
            for discrete in [false, true] {
                // Shift to keep the equations well posed.
                let ta2 = if discrete {
                    &ta * (0.5 / (n as f64).sqrt())
                } else {
                    &ta + Mat::<f64>::identity(n, n) * 8.0
                };
                let mut x = c.clone();
                sylv_tri(ta2.as_ref(), tb.as_ref(), x.as_mut(), discrete, 1e-300).unwrap();
                let r = if discrete {
                    &ta2 * &x * tb.transpose() - &x - &c
                } else {
                    &ta2 * &x + &x * tb.transpose() - &c
                };
                assert!(
                    r.norm_l2() / c.norm_l2() < 1e-12,
                    "n={n} m={m} disc={discrete}: {}",
                    r.norm_l2()
                );
            }
        }
    }
}
