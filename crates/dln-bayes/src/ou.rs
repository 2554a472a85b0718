//! The OU process (4.2) and noisy training (4.4), with the OU part integrated exactly.
//!
//! **OU process.** $d\mathbf W = -\kappa\mathbf W\,dt + \sqrt{2/\beta}\,d\mathbf B$ has the exact transition
//! $$\mathbf W_{t+h} = e^{-\kappa h}\mathbf W_t + \sqrt{\frac{1-e^{-2\kappa h}}{\beta\kappa}}\,\boldsymbol\xi,$$
//! $\boldsymbol\xi$ standard Gaussian in the $D$ real coordinates, and the stationary law
//! $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ (erratum E6; claim 34), the [`GaussianPrior`].
//!
//! **Noisy training.** $d\mathbf W = -\big(\nabla_{\mathbf W}E(\varphi(\mathbf W))+\kappa\mathbf W\big)dt+\sqrt{2/\beta}\,d\mathbf B$
//! is integrated by Strang splitting: half an exact OU step, an explicit Euler step of the loss
//! gradient $\nabla_{\mathbf W}(E\circ\varphi)$ ([`dln_flows::training::network_gradient`]), half an exact
//! OU step; consecutive half steps are merged into one exact step, so a step costs one gradient and
//! one Gaussian draw per real coordinate. The scheme is weakly second order and **exact** for
//! $E = 0$ (any $h$).
//!
//! **Moment law** (a noisy Theorem 2). For every loss,
//! $$\mathbb E[G_k(t)] = e^{-2\kappa t}G_k(0) + c_F(d_{k-1}-d_{k+1})\frac{1-e^{-2\kappa t}}{\beta\kappa}I_{d_k}:$$
//! the loss term drops out by the conservation law $d\mathbf G(\nabla(E\circ\varphi)) = 0$, the drift
//! $-\kappa\mathbf W$ contracts $\mathbf G$ at rate $2\kappa$, and the Itô correction of $W_kW_k^*$ and
//! $W_{k+1}^*W_{k+1}$ is $\frac2\beta c_F(d_{k-1}I - d_{k+1}I)\,dt$ ([`expected_moments`]). The splitting
//! keeps the conservation law only to $O(h^2\|\nabla E\|^2)$ per step (the Euler step), which
//! is the discretisation allowance of the checks.
//!
//! **Random numbers.** The noise comes from a [`NormalSource`]: [`run_paths`](NoisyTraining::run_paths)
//! and `dln sample train` use the [`NormalStream`] (eight xoshiro256++ lanes and a vectorised
//! ziggurat, [`crate::normal`]); path $i$ of a run with seed $s$ draws from
//! [`NormalStream::for_path`]$(s, i)$ ([`path_streams`]), $i$ long jumps ($2^{192}$ steps) after
//! stream $0$, so the paths' streams never overlap and each path's draws are fixed by
//! $(s, i)$ alone: seeded runs are reproducible bit for bit whatever the number of rayon
//! threads. Earlier versions drew one `rand_distr::StandardNormal` at a time from
//! `rand_xoshiro::Xoshiro256PlusPlus` (path $i$ = the seed's generator jumped $i$ times), and
//! before that from ChaCha12 (`StdRng`); **seeded outputs of `dln sample train` and
//! `dln sample prior` from those versions differ from today's** — same laws, other streams.
//! Within a step the normals are taken layer by layer, column by column, real part before
//! imaginary part, drawn in chunks of at most [`NOISE_CHUNK`] into a stack buffer and fused
//! with the update
//! $\mathbf W \leftarrow a(\mathbf W - h\nabla_{\mathbf W}(E\circ\varphi)) + \mathrm{sd}\,\boldsymbol\xi$
//! (one pass per layer, no temporaries, no allocation).

use crate::error::{BayesError, Result, positive};
use crate::normal::{NormalSource, NormalStream};
use crate::prior::{GaussianPrior, c_f, real_dimension};
use dln_algebra::Network;
use dln_flows::loss::Loss;
use dln_flows::training::{GradientWorkspace, network_gradient_into};
use dln_flows::{FlowStats, Observer, Progress, Termination};
use dln_linalg::Scalar;
use faer::Mat;
use rayon::prelude::*;
use std::ops::ControlFlow;
use std::time::Duration;

/// About how much work [`NoisyTraining::run_paths`] does between two calls of its observer.
pub const OBSERVER_INTERVAL: Duration = Duration::from_millis(50);

/// The OU process $d\mathbf W = -\kappa\mathbf W\,dt + \sqrt{2/\beta}\,d\mathbf B$.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrnsteinUhlenbeck {
    beta: f64,
    kappa: f64,
}

impl OrnsteinUhlenbeck {
    /// The process with inverse temperature $\beta$ and rate $\kappa$.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] unless both are finite and positive.
    pub fn new(beta: f64, kappa: f64) -> Result<Self> {
        Ok(Self {
            beta: positive("beta", beta)?,
            kappa: positive("kappa", kappa)?,
        })
    }

    /// $\beta$.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// $\kappa$.
    pub fn kappa(&self) -> f64 {
        self.kappa
    }

    /// The coefficients $(e^{-\kappa h}, \sqrt{(1-e^{-2\kappa h})/(\beta\kappa)})$ of the exact transition
    /// over time $h\ge0$ (computed with `expm1`, accurate for small $h$).
    pub fn transition(&self, h: f64) -> (f64, f64) {
        let a = (-self.kappa * h).exp();
        let var = -(-2.0 * self.kappa * h).exp_m1() / (self.beta * self.kappa);
        (a, var.max(0.0).sqrt())
    }

    /// Advances $\mathbf W$ (layers, input first) by the exact transition over time $h$, in place.
    pub fn step<T: Scalar, S: NormalSource + ?Sized>(
        &self,
        w: &mut [Mat<T>],
        h: f64,
        noise: &mut S,
    ) {
        let (a, sd) = self.transition(h);
        noisy_update(w, None, 0.0, a, sd, noise);
    }

    /// The stationary law: the [`GaussianPrior`] with the same $\beta,\kappa$ (density
    /// $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$).
    ///
    /// # Errors
    /// Invalid widths (see [`GaussianPrior::new`]).
    pub fn stationary(&self, widths: &[usize]) -> Result<GaussianPrior> {
        GaussianPrior::new(self.beta, self.kappa, widths)
    }
}

/// Standard normals drawn at once into the stack buffer of the update (a multiple of $c_F$;
/// 8 KiB).
pub const NOISE_CHUNK: usize = 1024;

/// Runs `f(j, i0, piece, z)` over layer `m` column by column, in pieces `piece` = rows
/// `i0..i0+piece.len()` of column `j`, with `z` the next $c_F\cdot$`piece.len()` standard normals
/// of `noise` (real part before imaginary part per entry): the order of the draws is part of the
/// seeded output. The normals are drawn into a stack buffer of [`NOISE_CHUNK`], as many whole
/// columns at a time as fit (a column longer than the buffer in pieces), so a small layer costs
/// one request to `noise`, not one per column.
#[inline]
pub(crate) fn with_noise<T: Scalar, S: NormalSource + ?Sized>(
    m: &mut Mat<T>,
    noise: &mut S,
    mut f: impl FnMut(usize, usize, &mut [T], &[f64]),
) {
    let c = c_f::<T>();
    let (rows, cols) = (m.nrows(), m.ncols());
    let mut buf = [0.0_f64; NOISE_CHUNK];
    let per_col = c * rows;
    if per_col == 0 {
        return;
    }
    if per_col <= NOISE_CHUNK {
        let group = NOISE_CHUNK / per_col;
        let mut j0 = 0;
        while j0 < cols {
            let n = group.min(cols - j0);
            let z = &mut buf[..per_col * n];
            noise.fill_normals(z);
            for (dj, zc) in z.chunks_exact(per_col).enumerate() {
                f(j0 + dj, 0, m.col_as_slice_mut(j0 + dj), zc);
            }
            j0 += n;
        }
        return;
    }
    for j in 0..cols {
        let col = m.col_as_slice_mut(j);
        let mut i0 = 0;
        while i0 < rows {
            let n = (rows - i0).min(NOISE_CHUNK / c);
            let z = &mut buf[..c * n];
            noise.fill_normals(z);
            f(j, i0, &mut col[i0..i0 + n], z);
            i0 += n;
        }
    }
}

/// $\mathrm{sd}\cdot$ the scalar of real coordinates `z[c i..c i + c]`.
#[inline(always)]
fn scaled<T: Scalar>(z: &[f64], i: usize, sd: f64) -> T {
    if T::IS_COMPLEX {
        T::from_parts(sd * z[2 * i], sd * z[2 * i + 1])
    } else {
        T::from_f64(sd * z[i])
    }
}

/// $\sum_k\|G_k\|_F^2$ by plain accumulation in eight partial sums (vectorised; no scaling
/// against overflow, unlike [`dln_algebra::tuple_norm_sq`]: it feeds a diagnostic, and a gradient
/// whose square overflows has already diverged).
fn gradient_norm_sq<T: Scalar>(g: &[Mat<T>]) -> f64 {
    let mut acc = [0.0_f64; 8];
    let mut tail = 0.0;
    for gk in g {
        for j in 0..gk.ncols() {
            let col = gk.col_as_slice(j);
            let mut chunks = col.chunks_exact(8);
            for ch in &mut chunks {
                for (a, x) in acc.iter_mut().zip(ch) {
                    *a += x.modulus_sq();
                }
            }
            tail += chunks
                .remainder()
                .iter()
                .map(|x| x.modulus_sq())
                .sum::<f64>();
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// The fused update $W \leftarrow a(W - hG) + \mathrm{sd}\,\xi$ (or, with `g = None`, the OU
/// update $W \leftarrow aW + \mathrm{sd}\,\xi$), one pass per layer, the normals from `noise` in
/// the order of [`with_noise`].
fn noisy_update<T: Scalar, S: NormalSource + ?Sized>(
    w: &mut [Mat<T>],
    g: Option<&[Mat<T>]>,
    h: f64,
    a: f64,
    sd: f64,
    noise: &mut S,
) {
    for (k, m) in w.iter_mut().enumerate() {
        match g {
            Some(g) => {
                let gk = &g[k];
                with_noise(m, noise, |j, i0, piece, z| {
                    let gc = &gk.col_as_slice(j)[i0..i0 + piece.len()];
                    if T::IS_COMPLEX {
                        for (i, (x, &gx)) in piece.iter_mut().zip(gc).enumerate() {
                            *x = (*x - gx.scale(h)).scale(a) + scaled::<T>(z, i, sd);
                        }
                    } else {
                        for ((x, &gx), &zi) in piece.iter_mut().zip(gc).zip(z) {
                            *x = (*x - gx.scale(h)).scale(a) + T::from_f64(sd * zi);
                        }
                    }
                })
            }
            None => with_noise(m, noise, |_, _, piece, z| {
                if T::IS_COMPLEX {
                    for (i, x) in piece.iter_mut().enumerate() {
                        *x = x.scale(a) + scaled::<T>(z, i, sd);
                    }
                } else {
                    for (x, &zi) in piece.iter_mut().zip(z) {
                        *x = x.scale(a) + T::from_f64(sd * zi);
                    }
                }
            }),
        }
    }
}

/// Normals drawn ahead, read back in order (the look-ahead's chunk as a [`NormalSource`]).
struct Drawn<'a>(&'a [f64]);

impl NormalSource for Drawn<'_> {
    fn fill_normals(&mut self, buf: &mut [f64]) {
        let (head, rest) = self.0.split_at(buf.len());
        buf.copy_from_slice(head);
        self.0 = rest;
    }
}

/// The streams of paths $0,\dots,P-1$ ($P$ = `paths`) of [`NoisyTraining::run_paths`]: path
/// $i$'s is [`NormalStream::for_path`]`(seed, i)`, $i$ long jumps ($2^{192}$ steps) after
/// stream $0$, so no two paths' lanes overlap and path $i$'s stream depends on `(seed, i)` alone.
pub fn path_streams(seed: u64, paths: usize) -> Vec<NormalStream> {
    (0..paths)
        .map(|i| NormalStream::for_path(seed, i))
        .collect()
}

/// The moment law $\mathbb E[G_k(t)] = e^{-2\kappa t}G_k(0) + c_F(d_{k-1}-d_{k+1})\frac{1-e^{-2\kappa t}}{\beta\kappa}I$
/// for noisy training from the deterministic start `w0` (any loss, including none).
pub fn expected_moments<T: Scalar>(w0: &Network<T>, beta: f64, kappa: f64, t: f64) -> Vec<Mat<T>> {
    let widths = w0.widths();
    let decay = (-2.0 * kappa * t).exp();
    let ito = -(-2.0 * kappa * t).exp_m1() / (beta * kappa) * c_f::<T>() as f64;
    w0.moments()
        .into_iter()
        .enumerate()
        .map(|(idx, g)| {
            let k = idx + 1;
            let shift = ito * (widths[k - 1] as f64 - widths[k + 1] as f64);
            Mat::from_fn(g.nrows(), g.ncols(), |i, j| {
                let v = g[(i, j)].scale(decay);
                if i == j { v + T::from_f64(shift) } else { v }
            })
        })
        .collect()
}

/// Noisy training (4.4) for a loss $E$ of `dln-flows`.
#[derive(Debug, Clone)]
pub struct NoisyTraining<L> {
    loss: L,
    ou: OrnsteinUhlenbeck,
    dt: f64,
    look_ahead: LookAhead,
}

/// When a path of [`NoisyTraining::run_paths`] draws its next step's noise on a spare thread while
/// it computes the gradient ([`rayon::join`]). The paths are the same bit for bit in every mode;
/// only the time differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookAhead {
    /// The mode measured fastest on this project's reference machine: at present **no
    /// look-ahead**. With the vectorised [`NormalStream`] (about 1 ns per normal) handing a
    /// step's normals to another core cost more than drawing them, at every size measured
    /// ($d = 16\dots128$, $N = 2\dots4$, up to $D = 65\,536$; docs/performance.md); with the
    /// earlier 3 ns generator it had paid from $D \approx 20\,000$.
    #[default]
    Auto,
    /// Whenever there are more rayon threads than paths.
    Always,
    /// Never: every draw on the path's own thread.
    Never,
}

/// The result of [`NoisyTraining::run_paths`].
#[derive(Debug, Clone)]
pub struct NoisyRun<T: Scalar> {
    /// Recording times, from $0$ to $t_{\mathrm{end}}$.
    pub t: Vec<f64>,
    /// Path averages $\overline{G_k}(t)$ at each recording time (entry `k-1` for junction $k$).
    pub mean_moments: Vec<Vec<Mat<T>>>,
    /// The path-averaged moment norm $\overline{\|\mathbf G\|}(t)$ at each recording time.
    pub mean_moment_norm: Vec<f64>,
    /// The path-averaged loss $\overline{E(X)}(t)$ at each recording time.
    pub mean_loss: Vec<f64>,
    /// The weights of every path at the last recorded time.
    pub finals: Vec<Network<T>>,
    /// The path average of $\sum_{\text{steps}}h^2\|\nabla_{\mathbf W}(E\circ\varphi)\|^2$: a bound on how far
    /// the Euler steps move $\mathbb E\[G_k\]$ off the moment law (each moves $G_k$ by exactly
    /// $h^2(g_kg_k^*-g_{k+1}^*g_{k+1})$, the first-order term vanishing by the conservation law, and the
    /// exact OU steps contract deviations).
    pub discretisation_allowance: f64,
    /// Steps per path.
    pub steps: usize,
    /// The step size actually used ($t_{\mathrm{end}}$ divided by the number of steps).
    pub h: f64,
    /// Why the run ended.
    pub termination: Termination,
}

/// One path's state, generator and gradient buffers.
struct Path<T: Scalar> {
    w: Vec<Mat<T>>,
    rng: NormalStream,
    defect: f64,
    ws: GradientWorkspace<T>,
    /// The noise drawn one step ahead on another thread (`LookAhead::Always` and more threads
    /// than paths).
    ahead: Option<Lookahead>,
}

/// Standard normals of a path's stream drawn one step ahead: while step $s$ computes its
/// gradient, another thread draws the $D$ normals of step $s+1$ ([`rayon::join`]). The noise
/// does not depend on the state, and the chunks are drawn from the path's generator in stream
/// order and used in that order, exactly as drawing them inside the update would: the paths
/// are the same bit for bit with or without the look-ahead, on any number of threads.
struct Lookahead {
    /// The chunk of the current step.
    cur: Vec<f64>,
    /// The next chunk, valid when `ready`.
    next: Vec<f64>,
    ready: bool,
}

impl Lookahead {
    fn new(dim: usize) -> Self {
        Self {
            cur: vec![0.0; dim],
            next: vec![0.0; dim],
            ready: false,
        }
    }

    /// Makes `cur` the next chunk of the stream.
    fn advance(&mut self, rng: &mut NormalStream) {
        if self.ready {
            std::mem::swap(&mut self.cur, &mut self.next);
            self.ready = false;
        } else {
            rng.fill_normals(&mut self.cur);
        }
    }
}

/// A seed mixed from `(seed, path)`, decorrelated from neighbouring indices (SplitMix64
/// finaliser): the seeds of the pooled fiber chains ([`crate::FiberPosterior::sample_chains`]).
/// (Noisy-training paths draw from [`path_streams`].)
pub fn path_seed(seed: u64, path: usize) -> u64 {
    let mut z = seed
        ^ (path as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<L> NoisyTraining<L> {
    /// Noisy training of `loss` with inverse temperature $\beta$, weight decay $\kappa$ and step
    /// size `dt` (the step actually used divides the horizon evenly and is at most `dt`).
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] unless $\beta,\kappa,\mathrm{dt}$ are finite and positive.
    pub fn new(loss: L, beta: f64, kappa: f64, dt: f64) -> Result<Self> {
        positive("dt", dt)?;
        Ok(Self {
            loss,
            ou: OrnsteinUhlenbeck::new(beta, kappa)?,
            dt,
            look_ahead: LookAhead::Auto,
        })
    }

    /// The same training with another [`LookAhead`] mode (default [`LookAhead::Auto`]).
    pub fn with_look_ahead(mut self, mode: LookAhead) -> Self {
        self.look_ahead = mode;
        self
    }

    /// The OU part.
    pub fn ou(&self) -> &OrnsteinUhlenbeck {
        &self.ou
    }

    /// One Strang step of size `h` in place: OU($h/2$), Euler on $E\circ\varphi$, OU($h/2$).
    /// Returns $E(X)$ before the gradient step.
    pub fn step<T: Scalar, S: NormalSource + ?Sized>(
        &self,
        w: &mut [Mat<T>],
        h: f64,
        noise: &mut S,
    ) -> f64
    where
        L: Loss<T>,
    {
        self.ou.step(w, 0.5 * h, noise);
        let mut widths = vec![w[0].ncols()];
        widths.extend(w.iter().map(|m| m.nrows()));
        let (a, sd) = self.ou.transition(0.5 * h);
        let (e, _) = self.euler_ou_step(w, h, a, sd, &mut GradientWorkspace::new(&widths), noise);
        e
    }

    /// One Euler step on $E\circ\varphi$ fused with an exact OU step of coefficients `(a, sd)`
    /// ([`OrnsteinUhlenbeck::transition`]):
    /// $\mathbf W \leftarrow a(\mathbf W - h\nabla_{\mathbf W}(E\circ\varphi)) + \mathrm{sd}\,\boldsymbol\xi$, the
    /// gradient in `ws`, one pass over each layer, no allocation. Returns $E(X)$ and
    /// $\|\nabla_{\mathbf W}(E\circ\varphi)\|^2$.
    pub fn euler_ou_step<T: Scalar, S: NormalSource + ?Sized>(
        &self,
        w: &mut [Mat<T>],
        h: f64,
        a: f64,
        sd: f64,
        ws: &mut GradientWorkspace<T>,
        noise: &mut S,
    ) -> (f64, f64)
    where
        L: Loss<T>,
    {
        let e = network_gradient_into(w, &self.loss, 0.0, ws);
        let g = ws.gradient();
        let gsq = gradient_norm_sq(g);
        noisy_update(w, Some(g), h, a, sd, noise);
        (e, gsq)
    }

    /// Runs `paths` independent paths from `w0` to `t_end` in parallel (rayon), path $i$ drawing its
    /// noise from the $i$-th of [`path_streams`]`(seed, paths)` (reproducible bit for bit whatever the
    /// number of threads). Path averages are
    /// recorded `records` times evenly (plus $t=0$). The observer sees the time and the weights of
    /// path 0 after each recording and, between recordings, after every batch of steps (batches
    /// sized to about [`OBSERVER_INTERVAL`] of work, so that a stop request is honoured promptly
    /// however few the recordings); it may stop the run. The batching does not change the
    /// samples: every path runs the same steps with the same random numbers whatever the batch
    /// sizes. A run stopped between two recordings has `termination` `Interrupted`, no record
    /// for that time, and `finals` the paths' current states (mid-splitting: their OU part is
    /// half a step ahead).
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] for `paths == 0` or a negative/non-finite `t_end`;
    /// [`dln_flows::FlowError::Diverged`] when a path's weights or loss become non-finite.
    ///
    /// # Panics
    /// If the loss's shape is not $(d_N, d_0)$.
    pub fn run_paths<T: Scalar, O>(
        &self,
        w0: &Network<T>,
        t_end: f64,
        paths: usize,
        records: usize,
        seed: u64,
        obs: &mut O,
    ) -> Result<NoisyRun<T>>
    where
        L: Loss<T> + Sync,
        O: for<'a> Observer<Progress<'a, T>>,
    {
        if paths == 0 {
            return Err(BayesError::InvalidParameter {
                name: "paths",
                value: 0.0,
                reason: "need at least one path",
            });
        }
        if !(t_end.is_finite() && t_end >= 0.0) {
            return Err(BayesError::InvalidParameter {
                name: "t_end",
                value: t_end,
                reason: "must be finite and non-negative",
            });
        }
        dln_flows::training::initial_loss_representable(w0, &self.loss)?;
        let steps = if t_end > 0.0 {
            ((t_end / self.dt) * (1.0 - 1e-12)).ceil().max(1.0) as usize
        } else {
            0
        };
        let h = if steps > 0 { t_end / steps as f64 } else { 0.0 };
        let records = records.clamp(1, steps.max(1));
        let (full, half) = (self.ou.transition(h), self.ou.transition(0.5 * h));
        // With more threads than paths and `LookAhead::Always`, each path draws its next step's
        // noise on a spare thread while it computes the gradient (same results, see `Lookahead`).
        let dim = real_dimension::<T>(&w0.widths());
        let lookahead =
            paths < rayon::current_num_threads() && self.look_ahead == LookAhead::Always;
        let mut states: Vec<Path<T>> = path_streams(seed, paths)
            .into_iter()
            .map(|rng| Path {
                w: w0.layers().to_vec(),
                rng,
                defect: 0.0,
                ws: GradientWorkspace::new(&w0.widths()),
                ahead: lookahead.then(|| Lookahead::new(dim)),
            })
            .collect();
        let mut run = NoisyRun {
            t: Vec::new(),
            mean_moments: Vec::new(),
            mean_moment_norm: Vec::new(),
            mean_loss: Vec::new(),
            finals: Vec::new(),
            discretisation_allowance: 0.0,
            steps,
            h,
            termination: Termination::StopTimeReached,
        };
        let mut stats = FlowStats::default();
        self.record(&states, 0.0, &mut run)?;
        fn progress<T: Scalar>(
            states: &[Path<T>],
            t: f64,
            h: f64,
            t_end: f64,
            stats: FlowStats,
        ) -> Progress<'_, T> {
            Progress {
                t,
                h,
                t_end,
                weights: &states[0].w,
                stats,
            }
        }
        if obs
            .on_start("noisy-training", &progress(&states, 0.0, h, t_end, stats))
            .is_break()
        {
            run.termination = Termination::Interrupted;
        }
        let mut done = 0usize;
        let mut r = 1usize;
        // Steps per batch between two calls of the observer, adapted to OBSERVER_INTERVAL of work.
        let mut batch = 1usize;
        'records: while run.termination == Termination::StopTimeReached && done < steps {
            let target = (steps * r).div_ceil(records);
            let n = target - done;
            // OU(h/2) [grad, OU(h)]^(n-1) grad OU(h/2): Strang steps with merged halves, run in
            // batches of steps s0..s1 (the same operations whatever the batches).
            let mut s0 = 0;
            while s0 < n {
                let s1 = (s0 + batch).min(n);
                let clock = std::time::Instant::now();
                states.par_iter_mut().for_each(|p| {
                    let Path {
                        w,
                        rng,
                        defect,
                        ws,
                        ahead,
                    } = p;
                    match ahead {
                        None => {
                            if s0 == 0 {
                                self.ou.step(w, 0.5 * h, rng);
                            }
                            for s in s0..s1 {
                                // Euler on E∘φ fused with the exact OU step that follows it.
                                let (a, sd) = if s + 1 == n { half } else { full };
                                let (_, gsq) = self.euler_ou_step(w, h, a, sd, ws, rng);
                                *defect += h * h * gsq;
                            }
                        }
                        Some(z) => {
                            if s0 == 0 {
                                z.advance(rng);
                                noisy_update(w, None, 0.0, half.0, half.1, &mut Drawn(&z.cur));
                            }
                            for s in s0..s1 {
                                let (a, sd) = if s + 1 == n { half } else { full };
                                z.advance(rng);
                                let Lookahead { cur, next, ready } = z;
                                let loss = &self.loss;
                                let wr: &[Mat<T>] = w;
                                rayon::join(
                                    || network_gradient_into(wr, loss, 0.0, ws),
                                    || rng.fill_normals(next),
                                );
                                *ready = true;
                                let g = ws.gradient();
                                *defect += h * h * gradient_norm_sq(g);
                                noisy_update(w, Some(g), h, a, sd, &mut Drawn(cur));
                            }
                        }
                    }
                });
                let took = clock.elapsed();
                if took < OBSERVER_INTERVAL / 4 {
                    batch = batch.saturating_mul(2);
                } else if took > OBSERVER_INTERVAL && batch > 1 {
                    batch /= 2;
                }
                stats.n_steps += s1 - s0;
                stats.n_evals += (s1 - s0) * paths;
                s0 = s1;
                if s1 < n {
                    let t = (done + s1) as f64 * h;
                    if obs
                        .on_step(&progress(&states, t, h, t_end, stats))
                        .is_break()
                    {
                        run.termination = Termination::Interrupted;
                        done += s1;
                        break 'records;
                    }
                }
            }
            done = target;
            r += 1;
            let t = done as f64 * h;
            self.record(&states, t, &mut run)?;
            if obs.on_step(&progress(&states, t, h, t_end, stats)) == ControlFlow::Break(()) {
                run.termination = Termination::Interrupted;
            }
        }
        let t_last = done as f64 * h;
        obs.on_finish(
            &progress(&states, t_last, h, t_end, stats),
            &run.termination,
        );
        run.discretisation_allowance =
            states.iter().map(|p| p.defect).sum::<f64>() / states.len() as f64;
        run.finals = states
            .into_iter()
            .map(|p| Network::new(p.w).map_err(BayesError::from))
            .collect::<Result<_>>()?;
        Ok(run)
    }

    fn record<T: Scalar>(&self, states: &[Path<T>], t: f64, run: &mut NoisyRun<T>) -> Result<()>
    where
        L: Loss<T> + Sync,
    {
        let per_path: Vec<(Vec<Mat<T>>, f64, f64)> = states
            .par_iter()
            .map(|p| {
                let net = Network::new(p.w.clone())?;
                let g = net.moments();
                let gn = net.moment_norm();
                let e = self.loss.value(net.product().as_ref());
                Ok((g, gn, e))
            })
            .collect::<Result<_, dln_algebra::AlgebraError>>()
            .map_err(|e| match e {
                dln_algebra::AlgebraError::NonFinite { .. } => {
                    BayesError::Flows(dln_flows::FlowError::Diverged {
                        t,
                        step: 0,
                        what: "weights are not finite",
                    })
                }
                other => other.into(),
            })?;
        let np = states.len() as f64;
        let mut mean: Vec<Mat<T>> = per_path[0]
            .0
            .iter()
            .map(|g| Mat::zeros(g.nrows(), g.ncols()))
            .collect();
        let (mut gn, mut e) = (0.0, 0.0);
        for (g, n, l) in &per_path {
            for (m, gk) in mean.iter_mut().zip(g) {
                *m += gk;
            }
            gn += n;
            e += l;
        }
        for m in &mut mean {
            *m = &*m * faer::Scale(T::from_f64(1.0 / np));
        }
        if !e.is_finite() {
            return Err(BayesError::Flows(dln_flows::FlowError::Diverged {
                t,
                step: 0,
                what: "loss is not finite",
            }));
        }
        run.t.push(t);
        run.mean_moments.push(mean);
        run.mean_moment_norm.push(gn / np);
        run.mean_loss.push(e / np);
        Ok(())
    }
}
