//! The Francis double-shift QR iteration on a small upper Hessenberg matrix: the kernel of
//! [`super::real_schur`] below the multishift crossover, and the solver of the deflation windows
//! of [`super::aed`].
//!
//! Written for this crate from the published algorithm (Golub–Van Loan §7.5; the LAPACK `dlahqr`
//! strategy as described in the literature): Ahues–Tisseur deflation criterion, the
//! two-consecutive-small-subdiagonals test, exceptional shifts every 10 iterations, at most
//! $30\max(n,10)$ iterations per eigenvalue.

use super::kernels::{lanv2, negligible_subdiagonal};

/// Double-shift Francis QR iteration (LAPACK `dlahqr` strategy: Ahues–Tisseur deflation,
/// exceptional shifts) on a column-major upper Hessenberg `h` ($n\times n$), accumulating the
/// transformations into `z` (skipped when `z` is empty: eigenvalues only). On success `h` is quasi-upper triangular with standardized
/// $2\times2$ blocks.
///
/// Run through [`pulp::Arch::dispatch`]: the loops are compiled for the widest vector
/// instruction set of the machine (AVX2 on x86-64-v3), with the same arithmetic.
pub(super) fn francis_qr(h: &mut [f64], z: &mut [f64], n: usize) -> bool {
    pulp::Arch::new().dispatch(FrancisQr { h, z, n })
}

/// [`francis_qr`]'s arguments, for [`pulp::Arch::dispatch`].
struct FrancisQr<'a> {
    h: &'a mut [f64],
    z: &'a mut [f64],
    n: usize,
}

impl pulp::WithSimd for FrancisQr<'_> {
    type Output = bool;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> bool {
        francis_qr_kernel(self.h, self.z, self.n)
    }
}

/// The body of [`francis_qr`].
#[inline(always)]
fn francis_qr_kernel(h: &mut [f64], z: &mut [f64], n: usize) -> bool {
    if n <= 1 {
        return true;
    }
    let ulp = f64::EPSILON;
    let smlnum = f64::MIN_POSITIVE * (n as f64 / ulp);
    let itmax = 30 * n.max(10);
    let kexsh = 10;
    let mut kdefl = 0usize;
    let ix = |i: usize, j: usize| i + j * n;
    let mut i = n as isize - 1;
    while i >= 0 {
        let iu = i as usize;
        let mut l = 0usize;
        let mut converged = false;
        for _its in 0..=itmax {
            // Look for a single small subdiagonal element.
            let mut k = iu;
            while k > l {
                if negligible_subdiagonal(h, n, k, l, iu, ulp, smlnum) {
                    break;
                }
                k -= 1;
            }
            l = k;
            if l > 0 {
                h[ix(l, l - 1)] = 0.0;
            }
            if l + 1 >= iu {
                converged = true;
                break;
            }
            kdefl += 1;
            // Shifts.
            let (h11, h12, h21, h22);
            if kdefl % (2 * kexsh) == 0 {
                let s = h[ix(iu, iu - 1)].abs() + h[ix(iu - 1, iu - 2)].abs();
                h11 = 0.75 * s + h[ix(iu, iu)];
                h12 = -0.4375 * s;
                h21 = s;
                h22 = h11;
            } else if kdefl % kexsh == 0 {
                let s = h[ix(l + 1, l)].abs() + h[ix(l + 2, l + 1)].abs();
                h11 = 0.75 * s + h[ix(l, l)];
                h12 = -0.4375 * s;
                h21 = s;
                h22 = h11;
            } else {
                h11 = h[ix(iu - 1, iu - 1)];
                h21 = h[ix(iu, iu - 1)];
                h12 = h[ix(iu - 1, iu)];
                h22 = h[ix(iu, iu)];
            }
            let s = h11.abs() + h12.abs() + h21.abs() + h22.abs();
            let (rt1r, rt1i, rt2r, rt2i);
            if s == 0.0 {
                rt1r = 0.0;
                rt1i = 0.0;
                rt2r = 0.0;
                rt2i = 0.0;
            } else {
                let (h11, h12, h21, h22) = (h11 / s, h12 / s, h21 / s, h22 / s);
                let tr = (h11 + h22) / 2.0;
                let det = (h11 - tr) * (h22 - tr) - h12 * h21;
                let rtdisc = det.abs().sqrt();
                if det >= 0.0 {
                    rt1r = tr * s;
                    rt2r = rt1r;
                    rt1i = rtdisc * s;
                    rt2i = -rt1i;
                } else {
                    let a = tr + rtdisc;
                    let b = tr - rtdisc;
                    let r = if (a - h22).abs() <= (b - h22).abs() {
                        a * s
                    } else {
                        b * s
                    };
                    rt1r = r;
                    rt2r = r;
                    rt1i = 0.0;
                    rt2i = 0.0;
                }
            }
            // Look for two consecutive small subdiagonal elements.
            let mut m = iu - 2;
            let mut v = [0.0f64; 3];
            loop {
                let h21s0 = h[ix(m + 1, m)];
                let s = (h[ix(m, m)] - rt2r).abs() + rt2i.abs() + h21s0.abs();
                let h21s = h21s0 / s;
                v[0] = h21s * h[ix(m, m + 1)] + (h[ix(m, m)] - rt1r) * ((h[ix(m, m)] - rt2r) / s)
                    - rt1i * (rt2i / s);
                v[1] = h21s * (h[ix(m, m)] + h[ix(m + 1, m + 1)] - rt1r - rt2r);
                v[2] = h21s * h[ix(m + 2, m + 1)];
                let s = v[0].abs() + v[1].abs() + v[2].abs();
                v[0] /= s;
                v[1] /= s;
                v[2] /= s;
                if m == l {
                    break;
                }
                let h00 = h[ix(m, m - 1)].abs() * (v[1].abs() + v[2].abs());
                let h01 = v[0].abs()
                    * (h[ix(m - 1, m - 1)].abs() + h[ix(m, m)].abs() + h[ix(m + 1, m + 1)].abs());
                if h00 <= ulp * h01 {
                    break;
                }
                m -= 1;
            }
            // Double-shift QR step.
            for k in m..iu {
                let nr = 3.min(iu - k + 1);
                if k > m {
                    for r in 0..nr {
                        v[r] = h[ix(k + r, k - 1)];
                    }
                }
                // dlarfg on v[0..nr].
                let alpha = v[0];
                let xnorm = if nr == 3 {
                    v[1].hypot(v[2])
                } else {
                    v[1].abs()
                };
                let (tau, beta);
                if xnorm == 0.0 {
                    tau = 0.0;
                    beta = alpha;
                } else {
                    let bb = -(alpha.hypot(xnorm)).copysign(alpha);
                    tau = (bb - alpha) / bb;
                    let sc = 1.0 / (alpha - bb);
                    v[1] *= sc;
                    if nr == 3 {
                        v[2] *= sc;
                    }
                    beta = bb;
                }
                if k > m {
                    h[ix(k, k - 1)] = beta;
                    h[ix(k + 1, k - 1)] = 0.0;
                    if k + 2 < iu + 1 && nr == 3 {
                        h[ix(k + 2, k - 1)] = 0.0;
                    }
                } else if m > l {
                    h[ix(k, k - 1)] *= 1.0 - tau;
                }
                if tau == 0.0 {
                    continue;
                }
                let v2 = v[1];
                let t2 = tau * v2;
                if nr == 3 {
                    let v3 = v[2];
                    let t3 = tau * v3;
                    // Rows k..k+3, columns k..n.
                    for j in k..n {
                        let c = &mut h[j * n + k..j * n + k + 3];
                        let sum = c[0] + v2 * c[1] + v3 * c[2];
                        c[0] -= sum * tau;
                        c[1] -= sum * t2;
                        c[2] -= sum * t3;
                    }
                    // Columns k..k+3, rows 0..min(k+4, iu+1).
                    let rows = (k + 4).min(iu + 1);
                    let (left, right) = h.split_at_mut((k + 1) * n);
                    let c0 = &mut left[k * n..k * n + rows];
                    let (c1full, c2full) = right.split_at_mut(n);
                    let c1 = &mut c1full[..rows];
                    let c2 = &mut c2full[..rows];
                    for ((a0, a1), a2) in c0.iter_mut().zip(c1.iter_mut()).zip(c2.iter_mut()) {
                        let sum = *a0 + v2 * *a1 + v3 * *a2;
                        *a0 -= sum * tau;
                        *a1 -= sum * t2;
                        *a2 -= sum * t3;
                    }
                    if !z.is_empty() {
                        let (left, right) = z.split_at_mut((k + 1) * n);
                        let c0 = &mut left[k * n..k * n + n];
                        let (c1, c2full) = right.split_at_mut(n);
                        let c2 = &mut c2full[..n];
                        for ((a0, a1), a2) in c0.iter_mut().zip(c1.iter_mut()).zip(c2.iter_mut()) {
                            let sum = *a0 + v2 * *a1 + v3 * *a2;
                            *a0 -= sum * tau;
                            *a1 -= sum * t2;
                            *a2 -= sum * t3;
                        }
                    }
                } else {
                    for j in k..n {
                        let c = &mut h[j * n + k..j * n + k + 2];
                        let sum = c[0] + v2 * c[1];
                        c[0] -= sum * tau;
                        c[1] -= sum * t2;
                    }
                    let rows = iu + 1;
                    let (left, right) = h.split_at_mut((k + 1) * n);
                    let c0 = &mut left[k * n..k * n + rows];
                    let c1 = &mut right[..rows];
                    for (a0, a1) in c0.iter_mut().zip(c1.iter_mut()) {
                        let sum = *a0 + v2 * *a1;
                        *a0 -= sum * tau;
                        *a1 -= sum * t2;
                    }
                    if !z.is_empty() {
                        let (left, right) = z.split_at_mut((k + 1) * n);
                        let c0 = &mut left[k * n..k * n + n];
                        let c1 = &mut right[..n];
                        for (a0, a1) in c0.iter_mut().zip(c1.iter_mut()) {
                            let sum = *a0 + v2 * *a1;
                            *a0 -= sum * tau;
                            *a1 -= sum * t2;
                        }
                    }
                }
            }
        }
        if !converged {
            return false;
        }
        if l + 1 == iu {
            // 2x2 block: standardize.
            let k = l;
            let (blk, cs, sn) = lanv2(
                h[ix(k, k)],
                h[ix(k, k + 1)],
                h[ix(k + 1, k)],
                h[ix(k + 1, k + 1)],
            );
            if sn.abs() > 0.0 || (cs - 1.0).abs() > 0.0 {
                for j in k + 2..n {
                    let (x, y) = (h[ix(k, j)], h[ix(k + 1, j)]);
                    h[ix(k, j)] = cs * x + sn * y;
                    h[ix(k + 1, j)] = -sn * x + cs * y;
                }
                for r in 0..k {
                    let (x, y) = (h[ix(r, k)], h[ix(r, k + 1)]);
                    h[ix(r, k)] = cs * x + sn * y;
                    h[ix(r, k + 1)] = -sn * x + cs * y;
                }
                let zrows = if z.is_empty() { 0 } else { n };
                for r in 0..zrows {
                    let (x, y) = (z[ix(r, k)], z[ix(r, k + 1)]);
                    z[ix(r, k)] = cs * x + sn * y;
                    z[ix(r, k + 1)] = -sn * x + cs * y;
                }
            }
            h[ix(k, k)] = blk[0];
            h[ix(k, k + 1)] = blk[1];
            h[ix(k + 1, k)] = blk[2];
            h[ix(k + 1, k + 1)] = blk[3];
        }
        kdefl = 0;
        i = l as isize - 1;
    }
    true
}
