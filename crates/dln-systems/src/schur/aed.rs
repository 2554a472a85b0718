//! Small-bulge multishift QR with aggressive early deflation (AED) for the real Schur form of an
//! upper Hessenberg matrix: the large-matrix path of [`super::real_schur`].
//!
//! Written for this crate from the published descriptions (Braman–Byers–Mathias, *The multishift
//! QR algorithm*, Parts I and II, SIMAX 2002; Kressner, *Numerical Methods for General and
//! Structured Eigenvalue Problems*, ch. 1). One iteration on the active block
//! $H_{\ell:h,\ell:h}$ (all earlier blocks below it already deflated) is:
//!
//! 1. **Aggressive early deflation.** The trailing $w\times w$ window $H_{22}$ is brought to real
//!    Schur form $H_{22} = V T V^{\mathsf T}$ by the double-shift kernel
//!    ([`super::double_shift`]). The coupling column $h_{k,k-1}e_1$ becomes the *spike*
//!    $s = h_{k,k-1}V^{\mathsf T}e_1$. Diagonal blocks of $T$ are tested bottom-up: a block whose
//!    spike entries are below $\varepsilon$ times its eigenvalue scale is deflated (its spike set
//!    to zero, a perturbation of size $O(\varepsilon\|H\|)$); an undeflatable block is moved to the
//!    top of the window by block swaps ([`super::kernels`]) so that the next one can be tested.
//!    The undeflated part with its spike is returned to Hessenberg form by one Householder
//!    reflector and a Hessenberg reduction, and the window transformation is applied to the rest
//!    of $H$ and to $Z$ by matrix products.
//! 2. **Multishift sweep.** Unless AED already deflated enough, the eigenvalues of the undeflated
//!    window part serve as $n_s$ shifts. They are paired into $n_s/2$ double shifts, each driving
//!    one $3\times3$ bulge; the bulges form a tightly packed chain (three rows apart, the lowest
//!    moved first) introduced at the top of the active block and chased to its bottom. The chain
//!    is moved in slabs: within a slab the reflectors are applied only inside a diagonal window
//!    and accumulated into a small orthogonal $U$; the off-window rows and columns of $H$ and the
//!    columns of $Z$ are then updated by three matrix products with $U$ (level 3, faer `matmul`),
//!    blockwise over the nonzero rows of $U$'s columns (it is banded: the chain enters the window
//!    at the top and leaves it at the bottom). Inside the window the chase works on a contiguous
//!    copy and applies the left updates of each chase step column by column for all bulges
//!    (`sweep`); the loops are compiled for AVX2 where available ([`pulp::Arch::dispatch`]).
//!
//! Negligible subdiagonal entries are detected with the Ahues–Tisseur criterion
//! ([`super::kernels::negligible_subdiagonal`]). Active blocks smaller than [`NMIN`] are finished
//! by the double-shift kernel; an active block that does not deflate within [`STALL_LIMIT`]
//! iterations is also handed to it (which reports failure if it cannot converge either).
//! Exceptional shifts are used after every sixth iteration without deflation.

use super::double_shift::francis_qr;
use super::kernels::{negligible_subdiagonal, swap_real};
use super::profile;
use super::{block_size_at, block_size_ending_at, hessenberg_with_q, real_schur_eigenvalues};
use dln_linalg::c64;
use faer::linalg::matmul::matmul;
use faer::reborrow::*;
use faer::{Accum, Mat, MatMut, MatRef};

/// Active blocks smaller than this are finished by the double-shift kernel.
pub(super) const NMIN: usize = 75;

/// Iterations without any deflation after which the active block is handed to the double-shift
/// kernel.
const STALL_LIMIT: usize = 60;

/// Deflations above this fraction (percent) of the window skip the sweep ("nibble").
const NIBBLE_PERCENT: usize = 14;

/// Number of shifts (even) per sweep for a matrix of order `nh` (LAPACK's table, as described in
/// Byers' LAWN 187 and the `dhseqr` documentation). As in LAPACK it is chosen once from the
/// order of the whole matrix and only capped by the active block: an active block left over
/// after deflations still gets the full set of shifts, so the number of sweeps stays small
/// (measured at $n = 1000$: 12 sweeps instead of 49 when the count followed the active block).
fn shift_count(nh: usize) -> usize {
    let ns = if nh < 150 {
        10
    } else if nh < 590 {
        (nh as f64 / (nh as f64).log2()).round() as usize
    } else if nh < 3000 {
        64
    } else {
        128
    };
    (ns.max(2) & !1).min(nh.saturating_sub(3) / 3 * 2).max(2)
}

/// Deflation window size for a matrix of order `n`: the shift count up to order 1000, then
/// $\tfrac32$ of it. (LAPACK switches at order 500; here a $\tfrac32$ window was measured slower
/// at orders 250, 500 and 1000 — its own Schur form costs more than the extra deflations save.)
fn window_size(n: usize) -> usize {
    let ns = shift_count(n);
    if n <= 1000 { ns } else { 3 * ns / 2 }.clamp(2, n)
}

/// Multishift QR with AED on the column-major $n\times n$ upper Hessenberg `h`, accumulating the
/// transformations into `z` (not formed when `z` is empty: eigenvalues only; `h`'s entries below the subdiagonal must be zero). On success `h`
/// is quasi-upper triangular with standardized $2\times2$ blocks.
pub(super) fn multishift_qr(h: &mut [f64], z: &mut [f64], n: usize) -> bool {
    if n < NMIN {
        return francis_qr(h, z, n);
    }
    let ulp = f64::EPSILON;
    let smlnum = f64::MIN_POSITIVE * (n as f64 / ulp);
    let ix = |i: usize, j: usize| i + j * n;
    let mut hi = n - 1;
    let mut stall = 0usize;
    let mut work = SweepWork::default();
    loop {
        // Active block [lo, hi]: the lowest negligible subdiagonal entry above hi splits it.
        let mut lo = hi;
        while lo > 0 {
            if h[ix(lo, lo - 1)] == 0.0 || negligible_subdiagonal(h, n, lo, 0, hi, ulp, smlnum) {
                h[ix(lo, lo - 1)] = 0.0;
                break;
            }
            lo -= 1;
        }
        let nh = hi - lo + 1;
        if nh < NMIN || stall >= STALL_LIMIT {
            if !small_block_qr(h, z, n, lo, hi, &mut work.prod) {
                return false;
            }
            stall = 0;
            if lo == 0 {
                return true;
            }
            hi = lo - 1;
            continue;
        }
        let nw = window_size(n).min(nh);
        let (nd, undeflated) = aed(h, z, n, lo, hi, nw, ulp, smlnum, &mut work.prod);
        if nd > 0 {
            stall = 0;
            if nd == nh {
                if lo == 0 {
                    return true;
                }
                hi = lo - 1;
                continue;
            }
            hi -= nd;
            if nd * 100 > NIBBLE_PERCENT * nw || hi - lo + 1 < NMIN {
                continue;
            }
        } else {
            stall += 1;
        }
        let nh = hi - lo + 1;
        let ns = shift_count(n).min((nh.saturating_sub(3) / 3 * 2).max(2));
        let bulges = if (stall > 0 && stall % 6 == 0) || undeflated.len() < 2 {
            exceptional_shifts(h, n, lo, hi, ns)
        } else {
            // The shifts nearest the bottom of the window: the last ns undeflated eigenvalues.
            let start = undeflated.len().saturating_sub(ns);
            // Do not split a conjugate pair.
            let start = if start > 0 && undeflated[start].im < 0.0 {
                start + 1
            } else {
                start
            };
            pair_shifts(&undeflated[start..], ns / 2)
        };
        if bulges.is_empty() {
            stall = STALL_LIMIT;
            continue;
        }
        sweep(h, z, n, lo, hi, &bulges, &mut work);
    }
}

/// Exceptional shifts: complex pairs $h_{ii} + \tfrac34\sigma \pm i\sqrt{0.4375}\,\sigma$ with
/// $\sigma = |h_{i,i-1}| + |h_{i-1,i-2}|$ along the bottom of the active block, to break cycles.
fn exceptional_shifts(h: &[f64], n: usize, lo: usize, hi: usize, ns: usize) -> Vec<[f64; 4]> {
    let ix = |i: usize, j: usize| i + j * n;
    let mut out = Vec::with_capacity(ns / 2);
    let mut i = hi;
    while out.len() < ns / 2 && i >= lo + 2 {
        let sigma = h[ix(i, i - 1)].abs() + h[ix(i - 1, i - 2)].abs();
        let re = h[ix(i, i)] + 0.75 * sigma;
        let im = 0.4375f64.sqrt() * sigma.max(f64::MIN_POSITIVE);
        out.push([re, im, re, -im]);
        i -= 2;
    }
    out
}

/// Pairs shifts into double shifts $(\sigma_1, \sigma_2)$ stored as
/// $[\operatorname{Re}\sigma_1, \operatorname{Im}\sigma_1, \operatorname{Re}\sigma_2,
/// \operatorname{Im}\sigma_2]$: conjugate pairs stay together, real shifts are paired in order
/// (an odd one left over is dropped). At most `max` pairs.
fn pair_shifts(shifts: &[c64], max: usize) -> Vec<[f64; 4]> {
    let mut out = Vec::with_capacity(max);
    let mut pending: Option<f64> = None;
    let mut i = 0;
    while i < shifts.len() && out.len() < max {
        let s = shifts[i];
        if s.im != 0.0 && i + 1 < shifts.len() {
            out.push([s.re, s.im, shifts[i + 1].re, shifts[i + 1].im]);
            i += 2;
        } else {
            if let Some(r) = pending.take() {
                out.push([r, 0.0, s.re, 0.0]);
            } else {
                pending = Some(s.re);
            }
            i += 1;
        }
    }
    out
}

/// Finishes the active block `lo..=hi` (decoupled: $h_{lo,lo-1}=0$) with the double-shift kernel
/// and applies its orthogonal factor to the rest of `h` and to `z`.
fn small_block_qr(
    h: &mut [f64],
    z: &mut [f64],
    n: usize,
    lo: usize,
    hi: usize,
    scratch: &mut Vec<f64>,
) -> bool {
    let m = hi - lo + 1;
    if m == 1 {
        return true;
    }
    let t0 = profile::start();
    let mut t = copy_window(h, n, lo, m);
    let mut v = identity(m);
    if !francis_qr(&mut t, &mut v, m) {
        return false;
    }
    store_window(h, n, lo, m, &t);
    profile::stop(t0, |p, d| {
        p.small_qr += d;
        p.small_blocks += 1;
        p.small_rows += m;
    });
    let t0 = profile::start();
    apply_window(h, z, n, lo, m, &v, &dense_blocks(m), scratch);
    profile::stop(t0, |p, d| p.small_apply += d);
    true
}

fn identity(m: usize) -> Vec<f64> {
    let mut v = vec![0.0; m * m];
    for i in 0..m {
        v[i + i * m] = 1.0;
    }
    v
}

/// Copies the Hessenberg part of the diagonal block `top..top+m` into a column-major buffer.
fn copy_window(h: &[f64], n: usize, top: usize, m: usize) -> Vec<f64> {
    let mut t = vec![0.0; m * m];
    for j in 0..m {
        let rows = (j + 2).min(m);
        t[j * m..j * m + rows].copy_from_slice(&h[(top + j) * n + top..(top + j) * n + top + rows]);
    }
    t
}

/// Writes the column-major `m×m` buffer `t` into the diagonal block `top..top+m` of `h`.
fn store_window(h: &mut [f64], n: usize, top: usize, m: usize, t: &[f64]) {
    for j in 0..m {
        h[(top + j) * n + top..(top + j) * n + top + m].copy_from_slice(&t[j * m..(j + 1) * m]);
    }
}

/// A column block of a window transformation $U$ for [`apply_window`]: columns `c0..c1`, nonzero
/// only on the rows `r0..r1`.
#[derive(Clone, Copy, Debug)]
struct UBlock {
    c0: usize,
    c1: usize,
    r0: usize,
    r1: usize,
}

/// The whole of a dense $m\times m$ $U$ as one block.
fn dense_blocks(m: usize) -> [UBlock; 1] {
    [UBlock {
        c0: 0,
        c1: m,
        r0: 0,
        r1: m,
    }]
}

/// Column blocks of $U$ in the off-window products of a sweep slab (each block multiplies only
/// the rows where its columns of $U$ are nonzero).
const APPLY_BLOCKS: usize = 8;

/// The column blocks of the $U$ of a sweep slab ($m\times m$), exploiting its sparsity: $U$ is
/// the product of the slab's reflectors, and its column $c$ is nonzero only on the rows
/// `urows[c]` (the bulge chain enters the window at the top and leaves it at the bottom, so $U$
/// is banded: zero in a triangle at the bottom left and one at the top right). The columns are
/// split into [`APPLY_BLOCKS`] (at most $m$) blocks $J$ with row ranges $R_J$ (the union of
/// their `urows`); the blocks fill the first entries of the returned array, their number is
/// returned with it.
fn banded_blocks(m: usize, urows: &[(usize, usize)]) -> ([UBlock; APPLY_BLOCKS], usize) {
    let nblk = APPLY_BLOCKS.min(m);
    let mut blocks = [UBlock {
        c0: 0,
        c1: 0,
        r0: 0,
        r1: 0,
    }; APPLY_BLOCKS];
    for (b, blk) in blocks.iter_mut().enumerate().take(nblk) {
        let (c0, c1) = (b * m / nblk, (b + 1) * m / nblk);
        let (r0, r1) = urows[c0..c1]
            .iter()
            .fold((m, 0), |(a, e), &(x, y)| (a.min(x), e.max(y)));
        *blk = UBlock { c0, c1, r0, r1 };
    }
    (blocks, nblk)
}

/// Applies the orthogonal `u` ($m\times m$, acting on indices `top..top+m`) outside the diagonal
/// block: $H_{0:top,\,w} \leftarrow H_{0:top,\,w}U$, $H_{w,\,top+m:n} \leftarrow U^{\mathsf T}
/// H_{w,\,top+m:n}$, $Z_{:,w}\leftarrow Z_{:,w}U$ (matrix products into the reused `scratch`).
///
/// `blocks` partition the columns of $U$ into blocks $J$ (in order, covering `0..m`), each with
/// the row range $R_J$ outside which its columns of $U$ are zero: $XU$ is formed blockwise as
/// $X_{:,R_J}U_{R_J,J}$ and $U^{\mathsf T}Y$ as $U_{R_J,J}^{\mathsf T}Y_{R_J,:}$. A dense $U$ is
/// the single block [`dense_blocks`]; the banded $U$ of a sweep slab uses [`banded_blocks`].
#[allow(clippy::too_many_arguments)]
fn apply_window(
    h: &mut [f64],
    z: &mut [f64],
    n: usize,
    top: usize,
    m: usize,
    u: &[f64],
    blocks: &[UBlock],
    scratch: &mut Vec<f64>,
) {
    let um = MatRef::from_column_major_slice(u, m, m);
    let bot = top + m;
    profile::count(|p| {
        let zrows = if z.is_empty() { 0 } else { n };
        let nnz: usize = blocks.iter().map(|b| (b.c1 - b.c0) * (b.r1 - b.r0)).sum();
        p.apply_flops += 2.0 * nnz as f64 * (top + (n - bot) + zrows) as f64;
    });
    let par = super::par();
    let mut product = |blk: MatMut<'_, f64>, left: bool| {
        let (r, c) = (blk.nrows(), blk.ncols());
        if scratch.len() < r * c {
            scratch.resize(r * c, 0.0);
        }
        let mut dst = MatMut::from_column_major_slice_mut(&mut scratch[..r * c], r, c);
        for &UBlock { c0, c1, r0, r1 } in blocks {
            let ub = um.submatrix(r0, c0, r1 - r0, c1 - c0);
            if left {
                matmul(
                    dst.rb_mut().subrows_mut(c0, c1 - c0),
                    Accum::Replace,
                    ub.transpose(),
                    blk.rb().subrows(r0, r1 - r0),
                    1.0,
                    par,
                );
            } else {
                matmul(
                    dst.rb_mut().subcols_mut(c0, c1 - c0),
                    Accum::Replace,
                    blk.rb().subcols(r0, r1 - r0),
                    ub,
                    1.0,
                    par,
                );
            }
        }
        let mut blk = blk;
        blk.copy_from(dst.rb());
    };
    {
        let mut hm = MatMut::from_column_major_slice_mut(h, n, n);
        if top > 0 {
            product(hm.rb_mut().submatrix_mut(0, top, top, m), false);
        }
        if bot < n {
            product(hm.rb_mut().submatrix_mut(top, bot, m, n - bot), true);
        }
    }
    if z.is_empty() {
        return;
    }
    let mut zm = MatMut::from_column_major_slice_mut(z, n, n);
    product(zm.rb_mut().submatrix_mut(0, top, n, m), false);
}

/// Aggressive early deflation on the trailing `nw×nw` window of the active block `lo..=hi`.
/// Returns the number of deflated eigenvalues (they now sit, converged, at the bottom of the
/// active block) and the undeflated window eigenvalues (candidate shifts, diagonal order).
#[allow(clippy::too_many_arguments)]
fn aed(
    h: &mut [f64],
    z: &mut [f64],
    n: usize,
    lo: usize,
    hi: usize,
    nw: usize,
    ulp: f64,
    smlnum: f64,
    scratch: &mut Vec<f64>,
) -> (usize, Vec<c64>) {
    let kwtop = hi + 1 - nw;
    let spike0 = if kwtop > lo {
        h[kwtop + (kwtop - 1) * n]
    } else {
        0.0
    };
    let t0 = profile::start();
    let mut t = copy_window(h, n, kwtop, nw);
    let mut v = identity(nw);
    let ok = francis_qr(&mut t, &mut v, nw);
    profile::stop(t0, |p, d| {
        p.aed_window_schur += d;
        p.aed_calls += 1;
        p.aed_window_sum += nw;
    });
    if !ok {
        return (0, Vec::new());
    }
    let t0 = profile::start();
    // Deflation test, bottom-up; undeflatable blocks are moved to the top (index ilst).
    let mut ns = nw;
    let mut ilst = 0;
    {
        let mut tm = MatMut::from_column_major_slice_mut(&mut t, nw, nw);
        let mut vm = MatMut::from_column_major_slice_mut(&mut v, nw, nw);
        while ilst < ns {
            let bs = if ns >= ilst + 2 && tm[(ns - 1, ns - 2)] != 0.0 {
                2
            } else {
                1
            };
            let k = ns - bs;
            let (spike, mut scale) = if bs == 1 {
                ((spike0 * vm[(0, k)]).abs(), tm[(k, k)].abs())
            } else {
                (
                    (spike0 * vm[(0, k)])
                        .abs()
                        .max((spike0 * vm[(0, k + 1)]).abs()),
                    tm[(k, k)].abs() + tm[(k, k + 1)].abs().sqrt() * tm[(k + 1, k)].abs().sqrt(),
                )
            };
            if scale == 0.0 {
                scale = spike0.abs();
            }
            if spike <= smlnum.max(ulp * scale) {
                ns = k;
                continue;
            }
            // Undeflatable: move it up to ilst.
            let mut cur = k;
            let mut cur_sz = bs;
            let mut stuck = false;
            while cur > ilst {
                let psz = block_size_ending_at(tm.rb(), cur - 1);
                if swap_real(tm.rb_mut(), vm.rb_mut(), cur - psz, psz, cur_sz).is_err() {
                    stuck = true;
                    break;
                }
                cur -= psz;
                cur_sz = block_size_at(tm.rb(), cur);
            }
            if stuck {
                // The remaining blocks stay undeflated.
                break;
            }
            ilst += block_size_at(tm.rb(), ilst);
        }
    }
    let nd = nw - ns;
    let undeflated =
        real_schur_eigenvalues(MatRef::from_column_major_slice(&t, nw, nw).submatrix(0, 0, ns, ns));
    profile::stop(t0, |p, d| {
        p.aed_reorder += d;
        p.aed_deflated += nd;
        p.aed_empty += usize::from(nd == 0);
    });
    if nd == 0 {
        // Nothing deflated: leave H as it was; the window eigenvalues are the shifts.
        return (0, undeflated);
    }
    // Return the undeflated part with its spike to Hessenberg form.
    let t0 = profile::start();
    let mut beta = 0.0;
    if ns > 0 {
        let mut w: Vec<f64> = (0..ns).map(|i| spike0 * v[i * nw]).collect();
        // Householder reflector P = I - tau u u^T, u = (1, w[1..]/(alpha - beta)), P w = beta e1.
        let alpha = w[0];
        let xnorm = w[1..].iter().fold(0.0f64, |a, &x| a.hypot(x));
        if xnorm == 0.0 {
            beta = alpha;
        } else {
            beta = -alpha.hypot(xnorm).copysign(alpha);
            let tau = (beta - alpha) / beta;
            let sc = 1.0 / (alpha - beta);
            w[0] = 1.0;
            for x in w[1..].iter_mut() {
                *x *= sc;
            }
            // T[0..ns, :] <- P T[0..ns, :]
            for j in 0..nw {
                let col = &mut t[j * nw..j * nw + ns];
                let dot: f64 = col.iter().zip(&w).map(|(a, b)| a * b).sum();
                for (c, u) in col.iter_mut().zip(&w) {
                    *c -= tau * dot * u;
                }
            }
            // T[:, 0..ns] <- T[:, 0..ns] P (rows 0..ns: the rows below are zero there);
            // V[:, 0..ns] <- V[:, 0..ns] P.
            for (buf, rows) in [(&mut t, ns), (&mut v, nw)] {
                let mut acc = vec![0.0; rows];
                for (j, uj) in w.iter().enumerate() {
                    let col = &buf[j * nw..j * nw + rows];
                    for (a, c) in acc.iter_mut().zip(col) {
                        *a += c * uj;
                    }
                }
                for (j, uj) in w.iter().enumerate() {
                    let col = &mut buf[j * nw..j * nw + rows];
                    for (c, a) in col.iter_mut().zip(&acc) {
                        *c -= tau * a * uj;
                    }
                }
            }
        }
        if ns > 2 {
            // T11 = Q H11 Q^T (Q e1 = e1, so the spike stays beta e1).
            let t11 = Mat::from_fn(ns, ns, |i, j| t[i + j * nw]);
            // Sequential: the window is small, a parallel reduction only adds overhead.
            let (h11, q) = hessenberg_with_q(t11.as_ref(), faer::Par::Seq);
            for j in 0..ns {
                for i in 0..ns {
                    t[i + j * nw] = h11[(i, j)];
                }
            }
            let mut tm = MatMut::from_column_major_slice_mut(&mut t, nw, nw);
            if ns < nw {
                let mut blk = tm.rb_mut().submatrix_mut(0, ns, ns, nw - ns);
                let prod: Mat<f64> = q.transpose() * blk.rb();
                blk.copy_from(&prod);
            }
            let mut vm = MatMut::from_column_major_slice_mut(&mut v, nw, nw);
            let mut blk = vm.rb_mut().submatrix_mut(0, 0, nw, ns);
            let prod: Mat<f64> = blk.rb() * &q;
            blk.copy_from(&prod);
        }
    }
    store_window(h, n, kwtop, nw, &t);
    if kwtop > lo {
        h[kwtop + (kwtop - 1) * n] = beta;
        for i in kwtop + 1..=hi {
            h[i + (kwtop - 1) * n] = 0.0;
        }
    }
    profile::stop(t0, |p, d| p.aed_rehess += d);
    let t0 = profile::start();
    apply_window(h, z, n, kwtop, nw, &v, &dense_blocks(nw), scratch);
    profile::stop(t0, |p, d| p.aed_apply += d);
    (nd, undeflated)
}

/// One Householder reflector $P = I - \tau\,v v^{\mathsf T}$, $v = (1, v_2, v_3)^{\mathsf T}$, of a
/// bulge-chase step at row `k`, acting on the `nr` (2 or 3) indices `k..k+nr`; $t_2 = \tau v_2$,
/// $t_3 = \tau v_3$.
#[derive(Clone, Copy, Debug)]
struct Reflector {
    k: usize,
    nr: usize,
    tau: f64,
    t2: f64,
    t3: f64,
    v2: f64,
    v3: f64,
}

impl Reflector {
    /// $x \leftarrow P x$ on the `nr` entries of `x` (a column segment).
    #[inline(always)]
    fn apply(&self, x: &mut [f64]) {
        if self.nr == 3 {
            let sum = x[0] + self.v2 * x[1] + self.v3 * x[2];
            x[0] -= sum * self.tau;
            x[1] -= sum * self.t2;
            x[2] -= sum * self.t3;
        } else {
            let sum = x[0] + self.v2 * x[1];
            x[0] -= sum * self.tau;
            x[1] -= sum * self.t2;
        }
    }

    /// $A \leftarrow A P$ on columns `col..col+nr` (rows `r0..r1`) of the column-major buffer
    /// with leading dimension `ld`.
    #[inline(always)]
    fn apply_right(&self, buf: &mut [f64], ld: usize, col: usize, r0: usize, r1: usize) {
        let (left, right) = buf.split_at_mut((col + 1) * ld);
        let a0 = &mut left[col * ld + r0..col * ld + r1];
        let (tau, t2, t3, v2, v3) = (self.tau, self.t2, self.t3, self.v2, self.v3);
        if self.nr == 3 {
            let (mid, last) = right.split_at_mut(ld);
            let a1 = &mut mid[r0..r1];
            let a2 = &mut last[r0..r1];
            for ((x0, x1), x2) in a0.iter_mut().zip(a1.iter_mut()).zip(a2.iter_mut()) {
                let sum = *x0 + v2 * *x1 + v3 * *x2;
                *x0 -= sum * tau;
                *x1 -= sum * t2;
                *x2 -= sum * t3;
            }
        } else {
            let a1 = &mut right[r0..r1];
            for (x0, x1) in a0.iter_mut().zip(a1.iter_mut()) {
                let sum = *x0 + v2 * *x1;
                *x0 -= sum * tau;
                *x1 -= sum * t2;
            }
        }
    }
}

/// Workspace of the multishift sweeps and of the off-window products, allocated once per
/// [`multishift_qr`] call (no allocation inside a sweep).
#[derive(Default)]
pub(super) struct SweepWork {
    /// The slab window $H_{w,w}$ of the sweep, column-major with leading dimension $|w|$.
    hw: Vec<f64>,
    /// The accumulated orthogonal $U$ of the slab ($|w|\times|w|$).
    u: Vec<f64>,
    /// Nonzero row range `[first, end)` of each column of $U$.
    urows: Vec<(usize, usize)>,
    /// The reflectors of the current chase step, lowest bulge first.
    refl: Vec<Reflector>,
    /// Scratch for the off-window matrix products.
    prod: Vec<f64>,
}

/// One small-bulge multishift sweep over the active block `lo..=hi` with the double shifts
/// `bulges`, in slabs with level-3 off-window updates (module docs).
///
/// Each slab copies its diagonal window $H_{w,w}$ into a contiguous buffer (leading dimension
/// $|w|$ instead of $n$) and chases the chain there. Within one chase step the bulges sit three
/// rows apart, so the left update of the bulge at row $k$ on the columns $\ge k+3$ meets no
/// other operation of that step (the right updates of the lower bulges touch those columns only
/// in rows that come *before* it in the step, and the higher bulges work on rows and columns
/// $< k$): it is deferred to the end of the step and applied column by column for all bulges at
/// once (contiguous memory). The same floating-point operations happen on every entry in the
/// same order as in a bulge-by-bulge chase. The reflectors are accumulated into $U$ only on the
/// rows where the touched columns of $U$ are nonzero (tracked per column).
fn sweep(
    h: &mut [f64],
    z: &mut [f64],
    n: usize,
    lo: usize,
    hi: usize,
    bulges: &[[f64; 4]],
    work: &mut SweepWork,
) {
    let nh = hi - lo + 1;
    // The chain (three rows per bulge) must fit in the active block.
    let nb = bulges.len().min((nh - 1) / 3).max(1);
    let bulges = &bulges[..nb];
    // Bulge j (0 = lowest) performs its chase step at row k = lo + t - 1 - 3j at time t.
    let total = (hi - lo) + 3 * (nb - 1);
    let slab = (3 * nb).max(12);
    profile::count(|p| {
        p.sweeps += 1;
        p.sweep_bulges += nb;
        p.sweep_rows += nh;
    });
    let SweepWork {
        hw,
        u,
        urows,
        refl,
        prod,
    } = work;
    let mut t0 = 0;
    while t0 < total {
        let tp = profile::start();
        let t1 = (t0 + slab).min(total);
        let kmin = (lo + t0).saturating_sub(3 * (nb - 1)).max(lo);
        let kmax = (lo + t1 - 1).min(hi - 1);
        let wtop = if kmin > lo { kmin - 1 } else { lo };
        let wbot = (kmax + 3).min(hi);
        let w = wbot - wtop + 1;
        hw.clear();
        for j in wtop..=wbot {
            hw.extend_from_slice(&h[j * n + wtop..=j * n + wbot]);
        }
        u.clear();
        u.resize(w * w, 0.0);
        for i in 0..w {
            u[i + i * w] = 1.0;
        }
        urows.clear();
        urows.extend((0..w).map(|c| (c, c + 1)));
        pulp::Arch::new().dispatch(SlabChase {
            hw,
            w,
            o: wtop,
            u,
            urows,
            refl,
            lo,
            hi,
            steps: (t0 + 1, t1),
            bulges,
        });
        for (j, col) in (wtop..=wbot).zip(hw.chunks_exact(w)) {
            h[j * n + wtop..=j * n + wbot].copy_from_slice(col);
        }
        profile::stop(tp, |p, d| p.sweep_chase += d);
        let tp = profile::start();
        let (blocks, nblk) = banded_blocks(w, urows);
        apply_window(h, z, n, wtop, w, u, &blocks[..nblk], prod);
        profile::stop(tp, |p, d| p.sweep_apply += d);
        t0 = t1;
    }
}

/// The in-window chase of one slab (chase steps `steps.0..=steps.1`) on the window copy `hw`
/// (rows and columns `o..o+w` of $H$), run through [`pulp::Arch::dispatch`] so that its loops are
/// compiled for the widest vector instruction set of the machine (AVX2 on x86-64-v3; the
/// arithmetic is the same, no fused multiply-adds are introduced).
struct SlabChase<'a> {
    hw: &'a mut [f64],
    w: usize,
    o: usize,
    u: &'a mut [f64],
    urows: &'a mut [(usize, usize)],
    refl: &'a mut Vec<Reflector>,
    lo: usize,
    hi: usize,
    steps: (usize, usize),
    bulges: &'a [[f64; 4]],
}

impl pulp::WithSimd for SlabChase<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let SlabChase {
            hw,
            w,
            o,
            u,
            urows,
            refl,
            lo,
            hi,
            steps,
            bulges,
        } = self;
        for t in steps.0..=steps.1 {
            refl.clear();
            for (j, b) in bulges.iter().enumerate() {
                let kk = (lo + t - 1) as isize - 3 * j as isize;
                if kk < lo as isize || kk > hi as isize - 1 {
                    continue;
                }
                if let Some(r) = chase_step(hw, w, o, u, urows, lo, hi, kk as usize, b) {
                    refl.push(r);
                }
            }
            deferred_left_updates(hw, w, o, refl);
        }
    }
}

/// One bulge-chase step at row `k` (introduction at `k = lo`) inside the slab window `hw`
/// (rows and columns `o..o+w` of $H$, leading dimension `w`): computes the reflector, applies it
/// from the left to the columns up to $k+2$, from the right to the window rows up to $k+3$, and
/// accumulates it into `u`. The left update of the columns $\ge k+3$ is left to
/// [`deferred_left_updates`]. Returns the reflector, or `None` if the step is trivial.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn chase_step(
    hw: &mut [f64],
    w: usize,
    o: usize,
    u: &mut [f64],
    urows: &mut [(usize, usize)],
    lo: usize,
    hi: usize,
    k: usize,
    b: &[f64; 4],
) -> Option<Reflector> {
    let ix = |i: usize, j: usize| (i - o) + (j - o) * w;
    let nr = 3.min(hi - k + 1);
    let mut v = [0.0f64; 3];
    if k == lo {
        // First column of (H - σ1 I)(H - σ2 I), scaled.
        let [sr1, si1, sr2, si2] = *b;
        let (h11, h21, h12, h22) = (
            hw[ix(k, k)],
            hw[ix(k + 1, k)],
            hw[ix(k, k + 1)],
            hw[ix(k + 1, k + 1)],
        );
        let s = (h11 - sr2).abs() + si2.abs() + h21.abs();
        if s == 0.0 {
            return None;
        }
        let h21s = h21 / s;
        v[0] = h21s * h12 + (h11 - sr1) * ((h11 - sr2) / s) - si1 * (si2 / s);
        v[1] = h21s * (h11 + h22 - sr1 - sr2);
        if nr == 3 {
            v[2] = h21s * hw[ix(k + 2, k + 1)];
        }
    } else {
        let s = ix(k, k - 1);
        v[..nr].copy_from_slice(&hw[s..s + nr]);
    }
    let alpha = v[0];
    let xnorm = if nr == 3 {
        v[1].hypot(v[2])
    } else {
        v[1].abs()
    };
    if xnorm == 0.0 {
        return None;
    }
    let beta = -alpha.hypot(xnorm).copysign(alpha);
    let tau = (beta - alpha) / beta;
    let sc = 1.0 / (alpha - beta);
    let v2 = v[1] * sc;
    let v3 = if nr == 3 { v[2] * sc } else { 0.0 };
    let r = Reflector {
        k,
        nr,
        tau,
        t2: tau * v2,
        t3: tau * v3,
        v2,
        v3,
    };
    let c0 = if k > lo {
        let s = ix(k, k - 1);
        hw[s] = beta;
        hw[s + 1] = 0.0;
        if nr == 3 {
            hw[s + 2] = 0.0;
        }
        k
    } else {
        lo
    };
    let wbot = o + w - 1;
    // Left update of the near columns c0..=k+2 (the others are deferred).
    for j in c0..=(k + 2).min(wbot) {
        let s = ix(k, j);
        r.apply(&mut hw[s..s + nr]);
    }
    let rmax = (k + 3).min(hi);
    let kl = k - o;
    r.apply_right(hw, w, kl, 0, rmax - o + 1);
    // U's columns kl..kl+nr become nonzero on the union of their row ranges.
    let (mut r0, mut r1) = urows[kl];
    for &(a, e) in &urows[kl + 1..kl + nr] {
        r0 = r0.min(a);
        r1 = r1.max(e);
    }
    urows[kl..kl + nr].fill((r0, r1));
    r.apply_right(u, w, kl, r0, r1);
    Some(r)
}

/// The deferred left updates of one chase step: reflector `r` (at row $k$) on the window columns
/// $k+3, \dots$, column by column for all reflectors of the step (`refl`, lowest bulge first, so
/// rows ascend in reverse order).
#[inline(always)]
fn deferred_left_updates(hw: &mut [f64], w: usize, o: usize, refl: &[Reflector]) {
    let Some(top) = refl.last() else {
        return;
    };
    for c in (top.k + 3 - o)..w {
        let col = &mut hw[c * w..(c + 1) * w];
        for r in refl.iter().rev() {
            let kl = r.k - o;
            if kl + 3 > c {
                break;
            }
            r.apply(&mut col[kl..kl + r.nr]);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The sweep against the bulge-by-bulge chase it replaced (the 2026-12 code, kept here as
    //! the reference: reflectors applied one bulge at a time directly in $H$ with stride $n$,
    //! $U$ updated on all its rows).
    use super::*;
    use dln_linalg::random;

    /// One small-bulge multishift sweep over the active block `lo..=hi` with the double shifts
    /// `bulges`, in slabs with level-3 off-window updates (module docs).
    fn sweep_reference(
        h: &mut [f64],
        z: &mut [f64],
        n: usize,
        lo: usize,
        hi: usize,
        bulges: &[[f64; 4]],
    ) {
        let mut scratch = Vec::new();
        let nh = hi - lo + 1;
        // The chain (three rows per bulge) must fit in the active block.
        let nb = bulges.len().min((nh - 1) / 3).max(1);
        let bulges = &bulges[..nb];
        // Bulge j (0 = lowest) performs its chase step at row k = lo + t - 1 - 3j at time t.
        let total = (hi - lo) + 3 * (nb - 1);
        let slab = (3 * nb).max(12);
        let mut t0 = 0;
        let mut u = Vec::new();
        while t0 < total {
            let t1 = (t0 + slab).min(total);
            let kmin = (lo + t0).saturating_sub(3 * (nb - 1)).max(lo);
            let kmax = (lo + t1 - 1).min(hi - 1);
            let wtop = if kmin > lo { kmin - 1 } else { lo };
            let wbot = (kmax + 3).min(hi);
            let w = wbot - wtop + 1;
            u.clear();
            u.resize(w * w, 0.0);
            for i in 0..w {
                u[i + i * w] = 1.0;
            }
            for t in t0 + 1..=t1 {
                for (j, b) in bulges.iter().enumerate() {
                    let kk = (lo + t - 1) as isize - 3 * j as isize;
                    if kk < lo as isize || kk > hi as isize - 1 {
                        continue;
                    }
                    chase_step_reference(h, n, &mut u, wtop, wbot, lo, hi, kk as usize, b);
                }
            }

            apply_window(h, z, n, wtop, w, &u, &dense_blocks(w), &mut scratch);

            t0 = t1;
        }
    }

    /// One bulge-chase step at row `k` (introduction at `k = lo`), applied inside the window
    /// `wtop..=wbot` of `h` and accumulated into the window's `u`.
    #[allow(clippy::too_many_arguments)]
    fn chase_step_reference(
        h: &mut [f64],
        n: usize,
        u: &mut [f64],
        wtop: usize,
        wbot: usize,
        lo: usize,
        hi: usize,
        k: usize,
        b: &[f64; 4],
    ) {
        let ix = |i: usize, j: usize| i + j * n;
        let nr = 3.min(hi - k + 1);
        let mut v = [0.0f64; 3];
        if k == lo {
            // First column of (H - σ1 I)(H - σ2 I), scaled.
            let [sr1, si1, sr2, si2] = *b;
            let (h11, h21, h12, h22) = (
                h[ix(k, k)],
                h[ix(k + 1, k)],
                h[ix(k, k + 1)],
                h[ix(k + 1, k + 1)],
            );
            let s = (h11 - sr2).abs() + si2.abs() + h21.abs();
            if s == 0.0 {
                return;
            }
            let h21s = h21 / s;
            v[0] = h21s * h12 + (h11 - sr1) * ((h11 - sr2) / s) - si1 * (si2 / s);
            v[1] = h21s * (h11 + h22 - sr1 - sr2);
            if nr == 3 {
                v[2] = h21s * h[ix(k + 2, k + 1)];
            }
        } else {
            v[..nr].copy_from_slice(&h[ix(k, k - 1)..ix(k, k - 1) + nr]);
        }
        let alpha = v[0];
        let xnorm = if nr == 3 {
            v[1].hypot(v[2])
        } else {
            v[1].abs()
        };
        if xnorm == 0.0 {
            return;
        }
        let beta = -alpha.hypot(xnorm).copysign(alpha);
        let tau = (beta - alpha) / beta;
        let sc = 1.0 / (alpha - beta);
        let v2 = v[1] * sc;
        let v3 = if nr == 3 { v[2] * sc } else { 0.0 };
        let (t2, t3) = (tau * v2, tau * v3);
        let c0 = if k > lo {
            h[ix(k, k - 1)] = beta;
            h[ix(k + 1, k - 1)] = 0.0;
            if nr == 3 {
                h[ix(k + 2, k - 1)] = 0.0;
            }
            k
        } else {
            lo
        };
        let rmax = (k + 3).min(hi);
        let w = wbot - wtop + 1;
        let uc = k - wtop;
        if nr == 3 {
            for j in c0..=wbot {
                let c = &mut h[j * n + k..j * n + k + 3];
                let sum = c[0] + v2 * c[1] + v3 * c[2];
                c[0] -= sum * tau;
                c[1] -= sum * t2;
                c[2] -= sum * t3;
            }
            reflect_columns3(h, n, k, wtop, rmax + 1, tau, t2, t3, v2, v3);
            reflect_columns3(u, w, uc, 0, w, tau, t2, t3, v2, v3);
        } else {
            for j in c0..=wbot {
                let c = &mut h[j * n + k..j * n + k + 2];
                let sum = c[0] + v2 * c[1];
                c[0] -= sum * tau;
                c[1] -= sum * t2;
            }
            for (buf, ld, col, r0, r1) in [(&mut *h, n, k, wtop, rmax + 1), (&mut *u, w, uc, 0, w)]
            {
                let (left, right) = buf.split_at_mut((col + 1) * ld);
                let a0 = &mut left[col * ld + r0..col * ld + r1];
                let a1 = &mut right[r0..r1];
                for (x0, x1) in a0.iter_mut().zip(a1.iter_mut()) {
                    let sum = *x0 + v2 * *x1;
                    *x0 -= sum * tau;
                    *x1 -= sum * t2;
                }
            }
        }
    }

    /// Applies the reflector $I - \tau (1, v_2, v_3)^{\mathsf T}(1, v_2, v_3)$ from the right to
    /// columns `col..col+3` (rows `r0..r1`) of the column-major buffer with leading dimension `ld`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn reflect_columns3(
        buf: &mut [f64],
        ld: usize,
        col: usize,
        r0: usize,
        r1: usize,
        tau: f64,
        t2: f64,
        t3: f64,
        v2: f64,
        v3: f64,
    ) {
        let (left, right) = buf.split_at_mut((col + 1) * ld);
        let a0 = &mut left[col * ld + r0..col * ld + r1];
        let (mid, last) = right.split_at_mut(ld);
        let a1 = &mut mid[r0..r1];
        let a2 = &mut last[r0..r1];
        for ((x0, x1), x2) in a0.iter_mut().zip(a1.iter_mut()).zip(a2.iter_mut()) {
            let sum = *x0 + v2 * *x1 + v3 * *x2;
            *x0 -= sum * tau;
            *x1 -= sum * t2;
            *x2 -= sum * t3;
        }
    }

    /// Runs both sweeps on the same Hessenberg matrix (active block `lo..=hi`, $Z = I$) and
    /// returns the largest entrywise difference of $H$ and of $Z$ relative to $\max|h_{ij}|$.
    fn compare(h0: &[f64], n: usize, lo: usize, hi: usize, bulges: &[[f64; 4]]) -> (f64, f64) {
        let mut z0 = vec![0.0; n * n];
        for i in 0..n {
            z0[i + i * n] = 1.0;
        }
        let (mut h1, mut z1) = (h0.to_vec(), z0.clone());
        let (mut h2, mut z2) = (h0.to_vec(), z0);
        let mut work = SweepWork::default();
        sweep(&mut h1, &mut z1, n, lo, hi, bulges, &mut work);
        sweep_reference(&mut h2, &mut z2, n, lo, hi, bulges);
        let hmax = h0.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        let dh = h1
            .iter()
            .zip(&h2)
            .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        let dz = z1
            .iter()
            .zip(&z2)
            .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        // The sweep really moved the matrix (the comparison is not between two no-ops).
        let moved = h1
            .iter()
            .zip(h0)
            .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        assert!(moved > 1e-3 * hmax, "sweep left H unchanged");
        (dh / hmax, dz)
    }

    fn hessenberg(rng: &mut random::StdRng, n: usize, grade: f64) -> Vec<f64> {
        // Graded: h_ij = g_ij * grade^(i + j) (rows and columns scaled by powers of `grade`).
        let mut h = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..(j + 2).min(n) {
                let g: f64 = random::gaussian_scalar(rng);
                h[i + j * n] = g * grade.powi((i + j) as i32);
            }
        }
        h
    }

    fn shifts(rng: &mut random::StdRng, nb: usize, scale: f64) -> Vec<[f64; 4]> {
        (0..nb)
            .map(|k| {
                let (a, b): (f64, f64) =
                    (random::gaussian_scalar(rng), random::gaussian_scalar(rng));
                if k % 3 == 2 {
                    [a * scale, 0.0, b * scale, 0.0]
                } else {
                    [a * scale, b.abs() * scale, a * scale, -b.abs() * scale]
                }
            })
            .collect()
    }

    #[test]
    fn contiguous_window_sweep_equals_bulge_by_bulge_chase() {
        let mut rng = random::rng(11);
        for &(n, lo, hi, nb, grade) in &[
            (120usize, 0usize, 119usize, 10usize, 1.0f64),
            (160, 7, 150, 16, 1.0),
            (200, 0, 199, 32, 1.0),
            (150, 3, 140, 12, 0.97),
            (90, 0, 89, 5, 0.9),
        ] {
            let mut h = hessenberg(&mut rng, n, grade);
            if lo > 0 {
                h[lo + (lo - 1) * n] = 0.0;
            }
            if hi + 1 < n {
                h[hi + 1 + hi * n] = 0.0;
            }
            let b = shifts(&mut rng, nb, h[hi + hi * n].abs().max(1e-3));
            let (dh, dz) = compare(&h, n, lo, hi, &b);
            // The in-window chase does the same operations in the same order; the off-window
            // products differ in summation order (blocked over U's nonzero rows).
            let tol = 2.0 * n as f64 * f64::EPSILON;
            assert!(
                dh <= tol && dz <= tol,
                "n = {n}, lo = {lo}, hi = {hi}, {nb} bulges, grade {grade}: |dH|/max|H| = {dh:e}, |dZ| = {dz:e}"
            );
        }
    }
}
