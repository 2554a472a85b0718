//! Small kernels shared by the QR iterations and the reordering: the standardization of a
//! $2\times2$ block (`dlanv2`-style), plane rotations, the small Sylvester solve by complete
//! pivoting, the swap of adjacent $1\times1$/$2\times2$ diagonal blocks (Bai–Demmel), and the
//! Ahues–Tisseur test for a negligible subdiagonal entry.

use crate::{Result, SystemsError};
use faer::MatMut;
use faer::reborrow::*;

/// LAPACK `dlanv2`-style standardization of the $2\times2$ block $(a, b; c, d)$: returns the new
/// block $(a', b', c', d')$ and a rotation $(c_s, s_n)$ with
/// $\begin{pmatrix}a&b\\\\c&d\end{pmatrix} = G\begin{pmatrix}a'&b'\\\\c'&d'\end{pmatrix}G^{\mathsf T}$,
/// $G = \begin{pmatrix}c_s&-s_n\\\\s_n&c_s\end{pmatrix}$; either $c'=0$ (real eigenvalues) or
/// $a'=d'$ and $b'c'<0$.
pub(super) fn lanv2(a: f64, b: f64, c: f64, d: f64) -> ([f64; 4], f64, f64) {
    let eps = f64::EPSILON;
    let sign = |x: f64, y: f64| if y >= 0.0 { x.abs() } else { -x.abs() };
    let (mut a, mut b, mut c, mut d) = (a, b, c, d);
    let (mut cs, mut sn);
    if c == 0.0 {
        cs = 1.0;
        sn = 0.0;
    } else if b == 0.0 {
        cs = 0.0;
        sn = 1.0;
        std::mem::swap(&mut a, &mut d);
        b = -c;
        c = 0.0;
    } else if a - d == 0.0 && b.signum() != c.signum() {
        cs = 1.0;
        sn = 0.0;
    } else {
        let temp = a - d;
        let p = 0.5 * temp;
        let bcmax = b.abs().max(c.abs());
        let bcmis = b.abs().min(c.abs()) * b.signum() * c.signum();
        let scale = p.abs().max(bcmax);
        let z = (p / scale) * p + (bcmax / scale) * bcmis;
        if z >= 4.0 * eps {
            // Real eigenvalues.
            let z = p + sign(scale.sqrt() * z.sqrt(), p);
            a = d + z;
            d -= (bcmax / z) * bcmis;
            let tau = c.hypot(z);
            cs = z / tau;
            sn = c / tau;
            b -= c;
            c = 0.0;
        } else {
            // Complex or nearly equal real eigenvalues: make the diagonal equal.
            let sigma = b + c;
            let tau = sigma.hypot(temp);
            cs = (0.5 * (1.0 + sigma.abs() / tau)).sqrt();
            sn = -(p / (tau * cs)) * sign(1.0, sigma);
            let aa = a * cs + b * sn;
            let bb = -a * sn + b * cs;
            let cc = c * cs + d * sn;
            let dd = -c * sn + d * cs;
            a = aa * cs + cc * sn;
            b = bb * cs + dd * sn;
            c = -aa * sn + cc * cs;
            d = -bb * sn + dd * cs;
            let temp = 0.5 * (a + d);
            a = temp;
            d = temp;
            if c != 0.0 {
                if b != 0.0 {
                    if b.signum() == c.signum() {
                        // Real eigenvalues after all: triangularize.
                        let sab = b.abs().sqrt();
                        let sac = c.abs().sqrt();
                        let p = sign(sab * sac, c);
                        let tau = 1.0 / (b + c).abs().sqrt();
                        a = temp + p;
                        d = temp - p;
                        b -= c;
                        c = 0.0;
                        let cs1 = sab * tau;
                        let sn1 = sac * tau;
                        let t2 = cs * cs1 - sn * sn1;
                        sn = cs * sn1 + sn * cs1;
                        cs = t2;
                    }
                } else {
                    b = -c;
                    c = 0.0;
                    let t2 = cs;
                    cs = -sn;
                    sn = t2;
                }
            }
        }
    }
    ([a, b, c, d], cs, sn)
}

/// Applies the rotation $G$ (acting on indices $k, k+1$) as $T\leftarrow G^{\mathsf T}TG$,
/// $Z\leftarrow ZG$, $G=\begin{pmatrix}c&-s\\\\s&c\end{pmatrix}$.
pub(super) fn apply_rot(
    mut t: MatMut<'_, f64>,
    mut z: MatMut<'_, f64>,
    k: usize,
    cs: f64,
    sn: f64,
    col_start: usize,
    row_end: usize,
) {
    let n = t.nrows();
    // Rows k, k+1: [r_k; r_{k+1}] <- G^T [r_k; r_{k+1}].
    for j in col_start..n {
        let (x, y) = (t[(k, j)], t[(k + 1, j)]);
        t[(k, j)] = cs * x + sn * y;
        t[(k + 1, j)] = -sn * x + cs * y;
    }
    // Columns k, k+1: [c_k c_{k+1}] <- [c_k c_{k+1}] G.
    for i in 0..row_end {
        let (x, y) = (t[(i, k)], t[(i, k + 1)]);
        t[(i, k)] = cs * x + sn * y;
        t[(i, k + 1)] = -sn * x + cs * y;
    }
    for i in 0..z.nrows() {
        let (x, y) = (z[(i, k)], z[(i, k + 1)]);
        z[(i, k)] = cs * x + sn * y;
        z[(i, k + 1)] = -sn * x + cs * y;
    }
}

/// Standardizes the $2\times2$ diagonal block at `k` (splitting it if its eigenvalues are real).
pub(super) fn standardize_2x2(mut t: MatMut<'_, f64>, z: MatMut<'_, f64>, k: usize) {
    let (blk, cs, sn) = lanv2(t[(k, k)], t[(k, k + 1)], t[(k + 1, k)], t[(k + 1, k + 1)]);
    if sn.abs() > 0.0 || (cs - 1.0).abs() > 0.0 {
        apply_rot(t.rb_mut(), z, k, cs, sn, k + 2, k);
    }
    t[(k, k)] = blk[0];
    t[(k, k + 1)] = blk[1];
    t[(k + 1, k)] = blk[2];
    t[(k + 1, k + 1)] = blk[3];
}

/// Solves the small system $M x = r$ ($\dim\le 8$) by Gaussian elimination with complete pivoting;
/// tiny pivots are replaced by `smin` (LAPACK `dlasy2` style). Returns the scale $\gamma\le1$ used
/// to avoid overflow, with the solution of $Mx=\gamma r$ in `r`, and whether a pivot was perturbed.
pub(crate) fn small_solve(m: &mut [f64], dim: usize, r: &mut [f64], smin: f64) -> (f64, bool) {
    let mut perm_col: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
    let mut perturbed = false;
    let idx = |i: usize, j: usize| i * dim + j;
    for k in 0..dim {
        // Complete pivoting.
        let (mut pi, mut pj, mut best) = (k, k, -1.0);
        for i in k..dim {
            for j in k..dim {
                let v = m[idx(i, j)].abs();
                if v > best {
                    best = v;
                    pi = i;
                    pj = j;
                }
            }
        }
        if pi != k {
            for j in 0..dim {
                m.swap(idx(pi, j), idx(k, j));
            }
            r.swap(pi, k);
        }
        if pj != k {
            for i in 0..dim {
                m.swap(idx(i, pj), idx(i, k));
            }
            perm_col.swap(pj, k);
        }
        if m[idx(k, k)].abs() < smin {
            m[idx(k, k)] = smin;
            perturbed = true;
        }
        let piv = m[idx(k, k)];
        for i in k + 1..dim {
            let f = m[idx(i, k)] / piv;
            if f != 0.0 {
                for j in k..dim {
                    m[idx(i, j)] -= f * m[idx(k, j)];
                }
                r[i] -= f * r[k];
            }
        }
    }
    // Scale to avoid overflow in the back substitution.
    let rmax = r[..dim].iter().fold(0.0f64, |acc, v| acc.max(v.abs()));
    let mut scale = 1.0;
    let big = 1.0 / f64::MIN_POSITIVE;
    let dmin = (0..dim).fold(f64::INFINITY, |acc, k| acc.min(m[idx(k, k)].abs()));
    if rmax > 0.0 && dmin < 1.0 && rmax * (1.0 / dmin) > big * 1e-10 {
        scale = (big * 1e-10 * dmin / rmax).min(1.0);
        for v in r[..dim].iter_mut() {
            *v *= scale;
        }
    }
    for k in (0..dim).rev() {
        let mut s = r[k];
        for j in k + 1..dim {
            s -= m[idx(k, j)] * r[j];
        }
        r[k] = s / m[idx(k, k)];
    }
    // Undo the column permutation.
    let mut x = [0.0f64; 8];
    for k in 0..dim {
        x[perm_col[k]] = r[k];
    }
    r[..dim].copy_from_slice(&x[..dim]);
    (scale, perturbed)
}

/// Swaps the adjacent diagonal blocks of sizes `p` (at `k`) and `q` (at `k+p`).
pub(super) fn swap_real(
    mut t: MatMut<'_, f64>,
    mut z: MatMut<'_, f64>,
    k: usize,
    p: usize,
    q: usize,
) -> Result<()> {
    let n = t.nrows();
    let s = p + q;
    let eps = f64::EPSILON;
    // Copy the s x s diagonal block.
    let mut d = [[0.0f64; 4]; 4];
    let mut dnorm = 0.0f64;
    for i in 0..s {
        for j in 0..s {
            d[i][j] = t[(k + i, k + j)];
            dnorm = dnorm.max(d[i][j].abs());
        }
    }
    if dnorm == 0.0 {
        return Ok(());
    }
    let smin = (eps * dnorm).max(f64::MIN_POSITIVE * 1e3);
    // Solve T11 X - X T22 = -T12 (p x q), column-major vec: (I_q (x) T11 - T22^T (x) I_p).
    let dim = p * q;
    let mut m = [0.0f64; 16];
    let mut rhs = [0.0f64; 8];
    for jq in 0..q {
        for ip in 0..p {
            let row = ip + jq * p;
            rhs[row] = -d[ip][p + jq];
            for lq in 0..q {
                for kp in 0..p {
                    let col = kp + lq * p;
                    let mut v = 0.0;
                    if lq == jq {
                        v += d[ip][kp];
                    }
                    if kp == ip {
                        v -= d[p + lq][p + jq];
                    }
                    m[row * dim + col] = v;
                }
            }
        }
    }
    let (gamma, _) = small_solve(&mut m[..dim * dim], dim, &mut rhs, smin);
    // Basis V = [X; gamma I] (s x q); Householder QR gives Q with V's span in its first q columns.
    let mut v = [[0.0f64; 4]; 4]; // column-major: v[col][row]
    for jq in 0..q {
        for ip in 0..p {
            v[jq][ip] = rhs[ip + jq * p];
        }
        v[jq][p + jq] = gamma;
    }
    let mut qm = [[0.0f64; 4]; 4]; // qm[row][col], starts as identity
    for i in 0..s {
        qm[i][i] = 1.0;
    }
    for j in 0..q {
        // Reflector annihilating v[j][j+1..s].
        let mut norm = 0.0f64;
        for i in j..s {
            norm = norm.hypot(v[j][i]);
        }
        if norm == 0.0 {
            continue;
        }
        let alpha = if v[j][j] > 0.0 { -norm } else { norm };
        let mut h = [0.0f64; 4];
        h[j] = v[j][j] - alpha;
        h[j + 1..s].copy_from_slice(&v[j][j + 1..s]);
        let hn2: f64 = (j..s).map(|i| h[i] * h[i]).sum();
        if hn2 == 0.0 {
            continue;
        }
        let tau = 2.0 / hn2;
        // Apply to remaining columns of v.
        for c in j..q {
            let dot: f64 = (j..s).map(|i| h[i] * v[c][i]).sum();
            for i in j..s {
                v[c][i] -= tau * dot * h[i];
            }
        }
        // Accumulate Q <- Q H.
        for r in 0..s {
            let dot: f64 = (j..s).map(|i| qm[r][i] * h[i]).sum();
            for i in j..s {
                qm[r][i] -= tau * dot * h[i];
            }
        }
    }
    // Provisional swap on the copy: D <- Q^T D Q; test the (2,1) block.
    let mut tmp = [[0.0f64; 4]; 4];
    for i in 0..s {
        for j in 0..s {
            tmp[i][j] = (0..s).map(|l| qm[l][i] * d[l][j]).sum();
        }
    }
    let mut nd = [[0.0f64; 4]; 4];
    for i in 0..s {
        for j in 0..s {
            nd[i][j] = (0..s).map(|l| tmp[i][l] * qm[l][j]).sum();
        }
    }
    let thresh = (10.0 * eps * dnorm).max(f64::MIN_POSITIVE * 1e3);
    for i in q..s {
        for j in 0..q {
            if nd[i][j].abs() > thresh {
                return Err(SystemsError::NoConvergence {
                    what: "Schur block swap (eigenvalues too close)",
                    iterations: 1,
                });
            }
        }
    }
    // Accepted: apply to the full matrices. Rows k..k+s (columns k..n).
    let mut buf = [0.0f64; 4];
    for j in k..n {
        for i in 0..s {
            buf[i] = (0..s).map(|l| qm[l][i] * t[(k + l, j)]).sum();
        }
        for i in 0..s {
            t[(k + i, j)] = buf[i];
        }
    }
    // Columns k..k+s (rows 0..k+s).
    for i in 0..k + s {
        for j in 0..s {
            buf[j] = (0..s).map(|l| t[(i, k + l)] * qm[l][j]).sum();
        }
        for j in 0..s {
            t[(i, k + j)] = buf[j];
        }
    }
    for i in 0..z.nrows() {
        for j in 0..s {
            buf[j] = (0..s).map(|l| z[(i, k + l)] * qm[l][j]).sum();
        }
        for j in 0..s {
            z[(i, k + j)] = buf[j];
        }
    }
    for i in q..s {
        for j in 0..q {
            t[(k + i, k + j)] = 0.0;
        }
    }
    // Restore the structure of the swapped blocks.
    if q == 2 {
        standardize_2x2(t.rb_mut(), z.rb_mut(), k);
    }
    if p == 2 {
        standardize_2x2(t.rb_mut(), z.rb_mut(), k + q);
    }
    Ok(())
}

/// Whether the subdiagonal entry $h_{k,k-1}$ of the column-major $n\times n$ Hessenberg `h`
/// (active block rows `lo..=hi`) is negligible.
///
/// Ahues–Tisseur criterion (LAPACK Working Note 122): first $|h_{k,k-1}|\le
/// \varepsilon(|h_{k-1,k-1}|+|h_{kk}|)$ (neighbouring subdiagonals stand in when that sum is
/// zero), then the sharper test
/// $|h_{k,k-1}|\,|h_{k-1,k}| \le \varepsilon\,|h_{kk}|\,|h_{k-1,k-1}-h_{kk}|$ written with
/// scaled max/min products so that it neither overflows nor underflows; entries below
/// `smlnum` are always negligible. Setting a negligible entry to zero perturbs the eigenvalues by
/// $O(\varepsilon)$ relative to their own size, which is what keeps graded matrices accurate.
#[inline]
pub(super) fn negligible_subdiagonal(
    h: &[f64],
    n: usize,
    k: usize,
    lo: usize,
    hi: usize,
    ulp: f64,
    smlnum: f64,
) -> bool {
    let ix = |i: usize, j: usize| i + j * n;
    let hkk1 = h[ix(k, k - 1)].abs();
    if hkk1 <= smlnum {
        return true;
    }
    let mut tst = h[ix(k - 1, k - 1)].abs() + h[ix(k, k)].abs();
    if tst == 0.0 {
        if k >= lo + 2 {
            tst += h[ix(k - 1, k - 2)].abs();
        }
        if k < hi {
            tst += h[ix(k + 1, k)].abs();
        }
    }
    if hkk1 > ulp * tst {
        return false;
    }
    let ab = hkk1.max(h[ix(k - 1, k)].abs());
    let ba = hkk1.min(h[ix(k - 1, k)].abs());
    let d = (h[ix(k - 1, k - 1)] - h[ix(k, k)]).abs();
    let aa = h[ix(k, k)].abs().max(d);
    let bb = h[ix(k, k)].abs().min(d);
    let s = aa + ab;
    ba * (ab / s) <= smlnum.max(ulp * (bb * (aa / s)))
}
