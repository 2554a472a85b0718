//! Where the time of one real Schur form goes: stage times and work counters of
//! [`super::real_schur`], collected only on request ([`real_schur_profiled`]) for the timing
//! tests and benches. When profiling is off, each probe costs one thread-local read.

use super::RealSchur;
use crate::Result;
use faer::MatRef;
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// Stage times and work counters of one [`super::real_schur`] call.
///
/// The QR phase is split into aggressive early deflation (`aed_*`), the multishift sweeps
/// (`sweep_*`) and the double-shift QR on small active blocks (`small_*`); each of them into its
/// in-window work and the off-window update of $H$ and $Z$ by matrix products (`*_apply`).
#[derive(Debug, Default, Clone)]
pub struct SchurProfile {
    /// Order $n$.
    pub n: usize,
    /// Hessenberg reduction $A = Q_0HQ_0^{\mathsf T}$ (faer, blocked), without forming $Q_0$.
    pub hessenberg: Duration,
    /// Forming $Q_0$ from the Householder factors.
    pub form_q: Duration,
    /// Number of AED calls.
    pub aed_calls: usize,
    /// Sum of the AED window sizes.
    pub aed_window_sum: usize,
    /// Eigenvalues deflated by AED (sum over calls).
    pub aed_deflated: usize,
    /// AED calls that deflated nothing.
    pub aed_empty: usize,
    /// Real Schur form of the AED windows.
    pub aed_window_schur: Duration,
    /// Deflation tests and block swaps inside the windows.
    pub aed_reorder: Duration,
    /// Reflector and Hessenberg reduction of the undeflated window part.
    pub aed_rehess: Duration,
    /// Off-window updates of AED (rows/columns of $H$ and $Z$).
    pub aed_apply: Duration,
    /// Number of multishift sweeps.
    pub sweeps: usize,
    /// Sum over sweeps of the number of bulges (double shifts).
    pub sweep_bulges: usize,
    /// Sum over sweeps of the active block order.
    pub sweep_rows: usize,
    /// In-window bulge chasing (reflectors applied inside the slab windows, accumulation of $U$).
    pub sweep_chase: Duration,
    /// Off-window updates of the sweeps by matrix products.
    pub sweep_apply: Duration,
    /// Active blocks finished by the double-shift kernel.
    pub small_blocks: usize,
    /// Sum of their orders.
    pub small_rows: usize,
    /// Double-shift QR on the small blocks.
    pub small_qr: Duration,
    /// Off-window updates after the small blocks.
    pub small_apply: Duration,
    /// Flops of all off-window matrix products ($2mnk$ each).
    pub apply_flops: f64,
    /// The whole call.
    pub total: Duration,
}

thread_local! {
    static PROFILE: RefCell<Option<SchurProfile>> = const { RefCell::new(None) };
}

/// A point in time of the profiling clock: the calling thread's CPU time where the OS reports it
/// (Linux `/proc/thread-self/schedstat`, nanoseconds on the CPU), else the wall clock.
///
/// CPU time is what the stages cost on a machine shared with other jobs (wall time there mostly
/// measures the scheduler); it misses work done on other threads, so profile with faer's
/// parallelism set to `Par::Seq` when the split matters.
#[derive(Clone, Copy)]
pub enum Clock {
    /// Thread CPU time since the thread started.
    Cpu(Duration),
    /// Wall clock.
    Wall(Instant),
}

impl Clock {
    /// Now.
    pub fn now() -> Self {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .map_or_else(
                || Clock::Wall(Instant::now()),
                |ns| Clock::Cpu(Duration::from_nanos(ns)),
            )
    }

    /// Time since `self` on the same clock.
    pub fn elapsed(&self) -> Duration {
        match (*self, Clock::now()) {
            (Clock::Cpu(a), Clock::Cpu(b)) => b.saturating_sub(a),
            (Clock::Wall(a), _) => a.elapsed(),
            (Clock::Cpu(_), Clock::Wall(_)) => Duration::ZERO,
        }
    }
}

/// The current time when profiling is on.
#[inline]
pub(super) fn start() -> Option<Clock> {
    PROFILE.with(|p| p.borrow().as_ref().map(|_| Clock::now()))
}

/// Adds the time since `t` (if profiling) through `f`.
#[inline]
pub(super) fn stop(t: Option<Clock>, f: impl FnOnce(&mut SchurProfile, Duration)) {
    if let Some(t) = t {
        let d = t.elapsed();
        PROFILE.with(|p| {
            if let Some(p) = p.borrow_mut().as_mut() {
                f(p, d);
            }
        });
    }
}

/// Updates the counters (if profiling).
#[inline]
pub(super) fn count(f: impl FnOnce(&mut SchurProfile)) {
    PROFILE.with(|p| {
        if let Some(p) = p.borrow_mut().as_mut() {
            f(p);
        }
    });
}

/// [`super::real_schur`] with its [`SchurProfile`] (same result, same code path; the probes
/// cost a few microseconds per AED call or sweep).
///
/// # Errors
/// As [`super::real_schur`].
///
/// # Panics
/// As [`super::real_schur`].
#[track_caller]
pub fn real_schur_profiled(a: MatRef<'_, f64>) -> Result<(RealSchur, SchurProfile)> {
    PROFILE.with(|p| {
        *p.borrow_mut() = Some(SchurProfile {
            n: a.nrows(),
            ..Default::default()
        })
    });
    let t = Clock::now();
    let out = super::real_schur(a);
    let total = t.elapsed();
    let mut prof = PROFILE.with(|p| p.borrow_mut().take()).unwrap_or_default();
    prof.total = total;
    out.map(|s| (s, prof))
}
