//! A block generator of standard normals: eight xoshiro256++ lanes in lock step and the ziggurat
//! method, vectorised where the CPU allows, bit-identical everywhere.
//!
//! **Uniform bits.** [`NormalStream`] runs $L = 8$ independent xoshiro256++ generators
//! (Blackman–Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47(4), 2021)
//! in lock step: one step yields one `u64` from each lane, in lane order. Lane $j$ is the
//! generator of the seed advanced by $j$ jumps of $2^{128}$ steps; a ninth stream (advanced by
//! $L$ jumps) feeds the rare slow paths. The seed's state is the one `rand_xoshiro` gives
//! `Xoshiro256PlusPlus::seed_from_u64` (four SplitMix64 outputs) and the jump is
//! Blackman–Vigna's jump polynomial, both checked bit for bit against `rand_xoshiro` in the
//! tests (the crate does not expose its state, so the lanes are stepped here). Stream $p$
//! ([`NormalStream::for_path`]) starts $p$ long jumps ($2^{192}$ steps) after stream $0$: no
//! two lanes of any streams overlap before $2^{128}$ draws.
//!
//! **Ziggurat** (G. Marsaglia, W. W. Tsang, "The Ziggurat Method for Generating Random
//! Variables", J. Stat. Softw. 5(8), 2000), with the independent bits of J. A. Doornik ("An
//! Improved Ziggurat Method to Generate Normal Random Samples", 2005). With
//! $f(x) = e^{-x^2/2}$, the area under $f$ on $[0,\infty)$ is covered by $512$ layers of equal
//! area $V$: the base layer $[0,x_1]\times[0,f(x_1)]$ plus the tail $x > x_1 = R$, and the
//! rectangles $[0,x_i]\times[f(x_i),f(x_{i+1})]$, $i = 1,\dots,511$, with $x_{512} = 0$:
//! $$Rf(R) + \int_R^\infty f = V,\qquad x_i\big(f(x_{i+1}) - f(x_i)\big) = V\quad(1\le i\le511).$$
//! $R$ is found by bisection so that the recursion $x_{i+1} = f^{-1}(V/x_i + f(x_i))$ started at
//! $x_1 = R$ closes the top layer exactly ($x_{511}(1 - f(x_{511})) = V$), the tail integral
//! from the continued fraction of Mills' ratio; the base layer's virtual width is
//! $x_0 = V/f(R)$. The table is computed once, lazily ([`std::sync::OnceLock`]), and a test
//! checks its defining equations (against $R$ and $V$ computed independently with `erfc`).
//!
//! A draw takes one `u64` $b$: the layer $i$ from bits 0–8, a uniform $u\in[-1,1)$ from bits
//! 12–63 ($u = $ the double with those 52 mantissa bits in $[2,4)$, minus 3; exact), so index
//! and uniform are independent (Doornik's correction of the original's correlation). **Fast
//! path** (99.2 % of draws: $\frac1{512}\sum_i x_{i+1}/x_i$): $|u| < x_{i+1}/x_i$, return
//! $ux_i$ — one multiply and one compare. (512 layers rather than Marsaglia–Tsang's 128: the
//! fast path's share goes from 97.2 % to 99.2 %, and a slow path costs tens of fast ones; the
//! fast path's table of pairs $(x_i, x_{i+1}/x_i)$, 8 KiB, stays in the L1 cache.)
//! **Slow paths**, in scalar code on the ninth stream: in the base layer the tail beyond $R$ by
//! Marsaglia's exponential method ($a = -\ln U_1/R$, $b = -\ln U_2$ until $2b > a^2$; return
//! $\pm(R + a)$); in layer $i\ge1$ the wedge test $f(x_i) + U(f(x_{i+1}) - f(x_i)) < f(ux_i)$;
//! a rejected point starts a fresh draw from the ninth stream.
//!
//! **Blocks and order.** The generator fills blocks of 8 steps (64 normals): the lanes'
//! fast path for the whole block, then the slow paths of the rejected positions in increasing
//! order. The sequence of normals is fixed by the seed alone, whatever the sizes of the
//! requests (a partly used block is kept for the next request). The block kernel exists twice:
//! plain scalar code, and explicit AVX2 vector operations (`pulp`'s safe `V3` token, chosen at
//! run time when the CPU has AVX2 and FMA): the eight lanes as two `u64x4` vectors, the
//! layer's two table entries loaded per lane. Both use only integer operations, an exact
//! subtraction and one IEEE multiply and compare per draw, so they produce **bit-identical**
//! streams (a test forces the plain kernel and compares). About 1.0 ns per normal against
//! 2.2–2.3 ns for `rand_distr`'s `StandardNormal` on xoshiro256++ (docs/performance.md).
//!
//! [`NormalSource`] is what the samplers of this crate take: a [`NormalStream`], or any
//! [`rand::Rng`] (one `rand_distr::StandardNormal` draw per coordinate).

use rand::{RngCore, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::sync::OnceLock;

/// Lanes stepped together.
pub const LANES: usize = 8;
/// Layers of the ziggurat.
const LAYERS: usize = 512;
/// Steps of the lanes per block.
const STEPS: usize = 8;
/// Normals per block.
const BLOCK: usize = LANES * STEPS;

/// Blackman–Vigna's jump polynomial of xoshiro256: $2^{128}$ steps.
const JUMP: [u64; 4] = [
    0x180e_c6d3_3cfd_0aba,
    0xd5a6_1266_f0c9_392c,
    0xa958_2618_e03f_c9aa,
    0x39ab_dc45_29b1_661c,
];
/// The long jump: $2^{192}$ steps.
const LONG_JUMP: [u64; 4] = [
    0x76e1_5d3e_fefd_cbbf,
    0xc500_4e44_1c52_2fb3,
    0x7771_0069_854e_e241,
    0x3910_9bb0_2acb_e635,
];

/// A source of i.i.d. standard normal $\mathcal N(0,1)$ numbers.
pub trait NormalSource {
    /// Fills `buf` with the next `buf.len()` standard normals of the source, in order.
    fn fill_normals(&mut self, buf: &mut [f64]);
}

/// Any random-number generator, by `rand_distr`'s ziggurat `StandardNormal`, one draw per entry.
impl<R: RngCore + ?Sized> NormalSource for R {
    fn fill_normals(&mut self, buf: &mut [f64]) {
        for z in buf {
            *z = StandardNormal.sample(self);
        }
    }
}

/// The ziggurat table (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct ZigguratTable {
    /// $x_0 = V/f(R), x_1 = R, \dots, x_{511}, x_{512} = 0$.
    x: [f64; LAYERS + 1],
    /// $(x_i, x_{i+1}/x_i)$: the width and the fast-path bound of layer $i$, side by side so
    /// that the fast path loads both with one 16-byte load.
    fast: [[f64; 2]; LAYERS],
    /// $f(x_i)$ ($f(x_0)$ unused).
    f: [f64; LAYERS + 1],
    /// $R$.
    r: f64,
    /// $V$.
    v: f64,
    /// Whether the tail beyond $R$ is sampled (always, except in a deliberately wrong test table).
    tail: bool,
}

/// $f(x) = e^{-x^2/2}$.
fn gauss(x: f64) -> f64 {
    (-0.5 * x * x).exp()
}

/// $\int_x^\infty e^{-t^2/2}dt = f(x)\,M(x)$ for $x \ge 2$, Mills' ratio $M$ by its continued
/// fraction $M(x) = 1/(x + 1/(x + 2/(x + 3/(x+\dots))))$, evaluated backwards from depth 400
/// (far more than converged to double precision for $x\ge2$).
fn gauss_tail(x: f64) -> f64 {
    let mut t = x;
    for k in (1..=400).rev() {
        t = x + k as f64 / t;
    }
    gauss(x) / t
}

impl ZigguratTable {
    /// The layers from $x_1 = R$; `None` when the recursion reaches the mode before layer 511.
    /// Returns the table and the residual $x_{511}(1-f(x_{511})) - V$ of the top layer.
    fn layers(r: f64) -> Option<(Self, f64)> {
        let v = r * gauss(r) + gauss_tail(r);
        let mut x = [0.0; LAYERS + 1];
        x[0] = v / gauss(r);
        x[1] = r;
        for i in 1..LAYERS - 1 {
            let y = v / x[i] + gauss(x[i]);
            if y >= 1.0 {
                return None;
            }
            x[i + 1] = (-2.0 * y.ln()).sqrt();
        }
        let top = x[LAYERS - 1] * (1.0 - gauss(x[LAYERS - 1])) - v;
        let mut fast = [[0.0; 2]; LAYERS];
        let mut f = [0.0; LAYERS + 1];
        for i in 0..LAYERS {
            fast[i] = [x[i], x[i + 1] / x[i]];
        }
        for i in 0..=LAYERS {
            f[i] = gauss(x[i]);
        }
        Some((
            Self {
                x,
                fast,
                f,
                r,
                v,
                tail: true,
            },
            top,
        ))
    }

    /// Solves for $R$ by bisection on $[3, 4]$: too small an $R$ (too large a $V$) reaches the
    /// mode early or leaves the top layer too small.
    fn compute() -> Self {
        let (mut lo, mut hi) = (3.0_f64, 4.0_f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            match Self::layers(mid) {
                Some((_, top)) if top > 0.0 => hi = mid,
                _ => lo = mid,
            }
        }
        // `hi` always has a complete recursion (the top layer too large by the least amount).
        Self::layers(hi)
            .expect("the bisection keeps a complete recursion")
            .0
    }

    /// The table, computed on first use.
    pub fn get() -> &'static Self {
        static TABLE: OnceLock<ZigguratTable> = OnceLock::new();
        TABLE.get_or_init(Self::compute)
    }

    /// $R = x_1$, where the tail starts.
    pub fn r(&self) -> f64 {
        self.r
    }

    /// $V$, the area of each layer.
    pub fn v(&self) -> f64 {
        self.v
    }

    /// $x_i$, $i = 0,\dots,512$.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// The residuals of the defining equations, relative to $V$: entry 0 the base layer
    /// $x_1f(x_1) + \int_{x_1}^\infty f - V$, entries $i = 1,\dots,511$ the layers
    /// $x_i(f(x_{i+1}) - f(x_i)) - V$.
    pub fn residuals(&self) -> Vec<f64> {
        let mut out = vec![(self.x[1] * self.f[1] + gauss_tail(self.x[1]) - self.v) / self.v];
        for i in 1..LAYERS {
            out.push((self.x[i] * (self.f[i + 1] - self.f[i]) - self.v) / self.v);
        }
        out
    }
}

/// One xoshiro256++ step of a scalar state.
#[inline(always)]
fn xoshiro_next(s: &mut [u64; 4]) -> u64 {
    let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    result
}

/// Advances `s` by the jump polynomial `poly` (Blackman–Vigna).
fn jump(s: &mut [u64; 4], poly: &[u64; 4]) {
    let mut acc = [0u64; 4];
    for &word in poly {
        for b in 0..64 {
            if word & (1u64 << b) != 0 {
                for k in 0..4 {
                    acc[k] ^= s[k];
                }
            }
            xoshiro_next(s);
        }
    }
    *s = acc;
}

/// The xoshiro256++ state `rand_xoshiro` seeds from `seed`: four SplitMix64 outputs.
fn seed_state(seed: u64) -> [u64; 4] {
    let mut sm = rand_xoshiro::SplitMix64::seed_from_u64(seed);
    [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()]
}

/// Layer index (bits 0–8) and uniform $u\in[-1,1)$ (bits 12–63) of one draw.
#[inline(always)]
fn split(bits: u64) -> (usize, f64) {
    let u = f64::from_bits((bits >> 12) | 0x4000_0000_0000_0000) - 3.0;
    ((bits & (LAYERS as u64 - 1)) as usize, u)
}

/// A uniform in $(0, 1]$ from the top 53 bits.
#[inline]
fn open_unit(bits: u64) -> f64 {
    ((bits >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The fast path of one block: `out[k]` = $u x_i$ of draw `k` (lane `k % LANES` at step
/// `k / LANES`), `raw[k]` its bits; returns the mask of the draws that failed the fast-path test.
/// The plain code, one lane after the other; [`simd::block_kernel`] computes the same numbers
/// with explicit vector operations.
#[inline(always)]
fn block_kernel(
    lanes: &mut [[u64; LANES]; 4],
    t: &ZigguratTable,
    out: &mut [f64; BLOCK],
    raw: &mut [u64; BLOCK],
) -> u64 {
    let [mut s0, mut s1, mut s2, mut s3] = *lanes;
    let mut reject = 0u64;
    for step in 0..STEPS {
        for j in 0..LANES {
            let res = s0[j]
                .wrapping_add(s3[j])
                .rotate_left(23)
                .wrapping_add(s0[j]);
            let tt = s1[j] << 17;
            s2[j] ^= s0[j];
            s3[j] ^= s1[j];
            s1[j] ^= s2[j];
            s0[j] ^= s3[j];
            s2[j] ^= tt;
            s3[j] = s3[j].rotate_left(45);
            let (i, u) = split(res);
            let k = step * LANES + j;
            let [x, bound] = t.fast[i];
            out[k] = u * x;
            raw[k] = res;
            reject |= u64::from(u.abs() >= bound) << k;
        }
    }
    *lanes = [s0, s1, s2, s3];
    reject
}

/// The block kernel in AVX2 vector operations (x86-64 with AVX2 and FMA, detected at run time):
/// the [`LANES`] xoshiro256++ lanes as two `u64x4` vectors stepped together, the uniforms by the
/// same exponent trick, the layer's $x_i$ and bound $x_{i+1}/x_i$ loaded per lane, one vector
/// multiply and compare. Bit-identical to [`block_kernel`]: the same integer operations and the
/// same two IEEE operations (an exact subtraction, one multiply) per draw.
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::{BLOCK, LANES, STEPS, ZigguratTable};
    use core::arch::x86_64::__m128d;
    use pulp::x86::V3;
    use pulp::{cast, f64x4, u64x4};

    /// Lanes per vector.
    const W: usize = 4;
    /// Vectors per step.
    const G: usize = LANES / W;

    struct Kernel<'a> {
        simd: V3,
        lanes: &'a mut [[u64; LANES]; 4],
        t: &'a ZigguratTable,
        out: &'a mut [f64; BLOCK],
        raw: &'a mut [u64; BLOCK],
    }

    #[inline(always)]
    fn rotl<const L: i32, const R: i32>(s: V3, v: u64x4) -> u64x4 {
        s.or_u64x4(s.shl_const_u64x4::<L>(v), s.shr_const_u64x4::<R>(v))
    }

    impl pulp::NullaryFnOnce for Kernel<'_> {
        type Output = u64;

        #[inline(always)]
        fn call(self) -> u64 {
            let Self {
                simd: s,
                lanes,
                t,
                out,
                raw,
            } = self;
            let load = |w: &[u64; LANES], g: usize| -> u64x4 {
                cast::<[u64; W], u64x4>(w[g * W..g * W + W].try_into().expect("W lanes"))
            };
            let mut st: [[u64x4; G]; 4] = [[s.splat_u64x4(0); G]; 4];
            for (k, word) in lanes.iter().enumerate() {
                for g in 0..G {
                    st[k][g] = load(word, g);
                }
            }
            let exponent = s.splat_u64x4(0x4000_0000_0000_0000);
            let three = s.splat_f64x4(3.0);
            let mut reject = 0u64;
            for step in 0..STEPS {
                for g in 0..G {
                    let [s0, s1, s2, s3] = [st[0][g], st[1][g], st[2][g], st[3][g]];
                    let res =
                        s.wrapping_add_u64x4(rotl::<23, 41>(s, s.wrapping_add_u64x4(s0, s3)), s0);
                    let tt = s.shl_const_u64x4::<17>(s1);
                    let s2 = s.xor_u64x4(s2, s0);
                    let s3 = s.xor_u64x4(s3, s1);
                    let s1 = s.xor_u64x4(s1, s2);
                    let s0 = s.xor_u64x4(s0, s3);
                    let s2 = s.xor_u64x4(s2, tt);
                    let s3 = rotl::<45, 19>(s, s3);
                    [st[0][g], st[1][g], st[2][g], st[3][g]] = [s0, s1, s2, s3];

                    let bits: [u64; W] = cast(res);
                    let i = bits.map(|b| (b & (super::LAYERS as u64 - 1)) as usize);
                    // One 16-byte load (x_i, bound_i) per lane, then two shuffles:
                    // a = [x0 b0 x2 b2], c = [x1 b1 x3 b3] → x = [x0 x1 x2 x3], bound = [b0..b3].
                    let p = i.map(|i| cast::<[f64; 2], __m128d>(t.fast[i]));
                    let a = s.avx._mm256_set_m128d(p[2], p[0]);
                    let c = s.avx._mm256_set_m128d(p[3], p[1]);
                    let x: f64x4 = cast(s.avx._mm256_unpacklo_pd(a, c));
                    let bound: f64x4 = cast(s.avx._mm256_unpackhi_pd(a, c));
                    let u = s.sub_f64x4(
                        cast(s.or_u64x4(s.shr_const_u64x4::<12>(res), exponent)),
                        three,
                    );
                    let y = s.mul_f64x4(u, x);
                    let bad = s.cmp_ge_f64x4(s.abs_f64x4(u), bound);
                    let k = step * LANES + g * W;
                    out[k..k + W].copy_from_slice(&cast::<f64x4, [f64; W]>(y));
                    raw[k..k + W].copy_from_slice(&bits);
                    let m = s.avx._mm256_movemask_pd(cast(bad)) as u64;
                    reject |= m << k;
                }
            }
            for (k, word) in lanes.iter_mut().enumerate() {
                for g in 0..G {
                    word[g * W..g * W + W].copy_from_slice(&cast::<u64x4, [u64; W]>(st[k][g]));
                }
            }
            reject
        }
    }

    /// [`super::block_kernel`] with AVX2 instructions (`simd` proves they are available).
    pub(super) fn block_kernel(
        simd: V3,
        lanes: &mut [[u64; LANES]; 4],
        t: &ZigguratTable,
        out: &mut [f64; BLOCK],
        raw: &mut [u64; BLOCK],
    ) -> u64 {
        simd.vectorize(Kernel {
            simd,
            lanes,
            t,
            out,
            raw,
        })
    }
}

/// The slow path of a draw `bits` that failed the fast-path test: tail or wedge, then fresh
/// draws from `spare` until one is accepted.
fn slow_path(t: &ZigguratTable, bits: u64, spare: &mut [u64; 4]) -> f64 {
    let (mut i, mut u) = split(bits);
    loop {
        let x = u * t.x[i];
        if u.abs() < t.fast[i][1] {
            return x;
        }
        if i == 0 {
            if t.tail {
                // Marsaglia's exponential method for the tail beyond R.
                loop {
                    let a = -open_unit(xoshiro_next(spare)).ln() / t.r;
                    let b = -open_unit(xoshiro_next(spare)).ln();
                    if b + b > a * a {
                        return (t.r + a).copysign(u);
                    }
                }
            }
        } else {
            let y = t.f[i] + open_unit(xoshiro_next(spare)) * (t.f[i + 1] - t.f[i]);
            if y < gauss(x) {
                return x;
            }
        }
        (i, u) = split(xoshiro_next(spare));
    }
}

/// The vectorised ziggurat generator of i.i.d. $\mathcal N(0,1)$ (module documentation):
/// eight xoshiro256++ lanes, fast path in blocks of 64, the sequence fixed by the seed alone.
#[derive(Debug, Clone)]
pub struct NormalStream {
    /// `lanes[k][j]`: word `k` of lane `j`'s state.
    lanes: [[u64; LANES]; 4],
    /// The stream of the slow paths.
    spare: [u64; 4],
    /// The current block and how much of it is used.
    buf: [f64; BLOCK],
    pos: usize,
    table: &'static ZigguratTable,
    /// The AVX2 kernel's token, when the CPU has AVX2 and FMA and the stream is not
    /// [`Self::portable`] (otherwise the plain kernel).
    #[cfg(target_arch = "x86_64")]
    simd: Option<pulp::x86::V3>,
}

/// Equal streams produce the same normals from now on (whichever kernel they use).
impl PartialEq for NormalStream {
    fn eq(&self, other: &Self) -> bool {
        self.lanes == other.lanes
            && self.spare == other.spare
            && self.pos == other.pos
            && self.buf[self.pos..]
                .iter()
                .zip(&other.buf[other.pos..])
                .all(|(a, b)| a.to_bits() == b.to_bits())
            && self.table == other.table
    }
}

impl NormalStream {
    /// The stream of `seed` (stream 0 of [`Self::for_path`]).
    pub fn new(seed: u64) -> Self {
        Self::for_path(seed, 0)
    }

    /// Stream `path` of `seed`: the state of `seed` advanced by `path` long jumps ($2^{192}$
    /// steps); its lane $j$ that advanced by $j$ jumps ($2^{128}$ steps), the slow-path stream
    /// by $8$. Depends on `(seed, path)` alone.
    pub fn for_path(seed: u64, path: usize) -> Self {
        let mut s = seed_state(seed);
        for _ in 0..path {
            jump(&mut s, &LONG_JUMP);
        }
        let mut lanes = [[0u64; LANES]; 4];
        for j in 0..LANES {
            for k in 0..4 {
                lanes[k][j] = s[k];
            }
            jump(&mut s, &JUMP);
        }
        Self {
            lanes,
            spare: s,
            buf: [0.0; BLOCK],
            pos: BLOCK,
            table: ZigguratTable::get(),
            #[cfg(target_arch = "x86_64")]
            simd: pulp::x86::V3::try_new(),
        }
    }

    /// The same stream computed by the plain (non-dispatched) kernel: the same numbers, for the
    /// test that the vectorised kernel changes nothing.
    pub fn portable(mut self) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            self.simd = None;
        }
        self
    }

    /// The next standard normal.
    pub fn next_normal(&mut self) -> f64 {
        if self.pos == BLOCK {
            self.refill();
        }
        self.pos += 1;
        self.buf[self.pos - 1]
    }

    /// The next block into the stream's own buffer, none of it used yet.
    fn refill(&mut self) {
        let mut b = [0.0; BLOCK];
        self.next_block(&mut b);
        self.buf = b;
        self.pos = 0;
    }

    /// The next block of 64 normals.
    fn next_block(&mut self, out: &mut [f64; BLOCK]) {
        let mut raw = [0u64; BLOCK];
        #[cfg(target_arch = "x86_64")]
        let mut reject = match self.simd {
            Some(simd) => simd::block_kernel(simd, &mut self.lanes, self.table, out, &mut raw),
            None => block_kernel(&mut self.lanes, self.table, out, &mut raw),
        };
        #[cfg(not(target_arch = "x86_64"))]
        let mut reject = block_kernel(&mut self.lanes, self.table, out, &mut raw);
        while reject != 0 {
            let k = reject.trailing_zeros() as usize;
            out[k] = slow_path(self.table, raw[k], &mut self.spare);
            reject &= reject - 1;
        }
    }

    /// A stream with another table (deliberately wrong generators in the tests).
    #[cfg(test)]
    fn with_table(mut self, table: ZigguratTable) -> Self {
        self.table = Box::leak(Box::new(table));
        self
    }
}

impl NormalSource for NormalStream {
    fn fill_normals(&mut self, buf: &mut [f64]) {
        let n = (BLOCK - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        let mut chunks = buf[n..].chunks_exact_mut(BLOCK);
        for c in &mut chunks {
            self.next_block(c.try_into().expect("a block"));
        }
        let rem = chunks.into_remainder();
        if !rem.is_empty() {
            self.refill();
            rem.copy_from_slice(&self.buf[..rem.len()]);
            self.pos = rem.len();
        }
    }
}

#[cfg(test)]
mod tests;
