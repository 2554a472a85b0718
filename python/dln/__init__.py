"""Deep linear networks and balancedness, from numpy.

Python bindings of the ``dln`` Rust workspace (Lindsey & Menon, *Regularization implies
balancedness in the deep linear network*). The functions mirror the ``dln`` program: same names,
same defaults, and the keys of the returned ``info`` dicts are the JSON keys of the program's
``--json`` reports.

A network ``ws`` is a list of 2-D arrays ``[W1, ..., WN]`` (``W1`` the input layer, shape
``d1 x d0``), as in the program's ``.npz`` files. Arrays may be float64 or complex128 (other real
or complex dtypes and nested lists are converted with ``numpy.asarray``; if any layer is complex,
all are promoted to complex128), in any memory layout (C, Fortran, strided views).

Errors: bad data or arguments raise ``ValueError``, numerical failures ``RuntimeError``, with the
library's one-line message. Long computations run without the GIL; flows and training stop with
``KeyboardInterrupt`` on Ctrl-C.

Example::

    import numpy as np, dln
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((6, 4)), rng.standard_normal((5, 6)), rng.standard_normal((3, 5))]
    wb, info = dln.balance(ws)
    info["gap"], dln.moments(wb)["moment_norm"]      # ~1e-16, ~1e-14
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import _dln

__version__: str = _dln.__version__

__all__ = [
    "moments",
    "balance",
    "flow",
    "train",
    "hsv",
    "gram",
    "reduce",
    "bayesian_bt",
    "sample_prior",
    "sample_train",
    "sample_fiber",
    "entropy",
    "sample_orbit",
    "map_estimate",
]


def _matrix(x: Any, name: str, complex_ok: bool = True) -> np.ndarray:
    """One 2-D float64/complex128 array, without a copy when ``x`` already is one."""
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got {a.ndim} dimension(s) (shape {a.shape})")
    if a.dtype == np.float64 or a.dtype == np.complex128:
        return a
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    if a.dtype.kind == "c":
        if not complex_ok:
            return a  # the Rust side names the array and rejects complex data
        return a.astype(np.complex128)
    raise ValueError(f"{name}: dtype {a.dtype} is not supported (float64 or complex128)")


def _layers(ws: Sequence[Any]) -> list[np.ndarray]:
    if isinstance(ws, np.ndarray) and ws.ndim != 3:
        raise ValueError("ws: expected a list of 2-D arrays W1..WN")
    try:
        layers = [_matrix(w, f"W{k + 1}") for k, w in enumerate(ws)]
    except TypeError:
        raise ValueError("ws: expected a list of 2-D arrays W1..WN") from None
    if not layers:
        raise ValueError("ws: a network needs at least one layer")
    if any(w.dtype == np.complex128 for w in layers):
        layers = [w.astype(np.complex128, copy=False) for w in layers]
    return layers


def _float(x: Optional[float], name: str) -> Optional[float]:
    if x is None:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {x!r}") from None


def _count(x: Optional[int], name: str) -> Optional[int]:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {x!r}")
    return int(x)


def moments(ws: Sequence[Any], rtol: float = 1e-10) -> dict:
    """Moments, norms and balancedness of a network (``dln moments``).

    The moments are ``G_k = W_k W_k^* - W_{k+1}^* W_{k+1}``, k = 1..N-1.

    Returns a dict with the keys of ``dln moments --json``: ``dtype``, ``depth``, ``widths``
    (d0..dN), ``rank`` (numerical rank of X = WN...W1), ``moment_norm`` (sqrt(sum_k |G_k|_F^2)),
    ``moment_norms`` (|G_k|_F), ``l2_norm_sq`` (|W|^2 = sum_k |W_k|_F^2), ``lower_bound``
    (N sum_i sigma_i(X)^(2/N), the least |W|^2 over the fiber of X), ``gap``
    ((|W|^2 - bound)/bound, None when X = 0), ``balanced`` (moment_norm <= rtol |W|^2), ``rtol``.
    """
    return _dln.moments(_layers(ws), float(rtol))


def balance(
    ws: Sequence[Any],
    method: str = "auto",
    tol: float = 1e-13,
    max_iter: int = 60,
) -> tuple[list[np.ndarray], dict]:
    """Kempf-Ness balancing (``dln balance``): the least-norm point of the fiber of ``ws``.

    The result ``wb`` has the same end-to-end matrix X = WN...W1, vanishing moments, and
    ``|wb|^2 = N sum_i sigma_i(X)^(2/N)`` (the certificate).

    ``method``: ``"auto"`` (= ``"orbit"``), ``"svd"`` (closed form from one SVD of X: the centre of
    the fiber), ``"orbit"`` (the canonical minimizer p.W in closed form, a balanced point of the
    orbit closure when the orbit is not closed), ``"newton"`` (Newton iteration along the orbit;
    the slow iterative reference, not offered by the program). ``tol``: converged when
    ``|mu| <= tol |W|^2``; ``max_iter``: Newton iteration cap.

    Returns ``(wb, info)``; ``info`` has the keys of ``dln balance --json`` (without the file
    names): ``dtype``, ``depth``, ``widths``, ``method``, ``iterations``, ``cg_iterations``,
    ``orbit_closed``, ``moment_norm_before``, ``moment_norm_after``, ``l2_norm_sq_before``,
    ``l2_norm_sq_after``, ``lower_bound``, ``gap``, ``product_rel_change``.
    """
    return _dln.balance(_layers(ws), str(method), float(tol), _count(max_iter, "max_iter"))


def flow(
    ws: Sequence[Any],
    kind: str,
    t_end: float,
    samples: int = 11,
    rtol: float = 1e-11,
    atol: float = 1e-13,
    scheme: str = "auto",
    callback: Optional[Callable[[float, float], Any]] = None,
) -> tuple[list[np.ndarray], dict]:
    """A balancing flow on the fiber of ``ws`` up to time ``t_end`` (``dln flow``).

    ``kind="l2"``: the L2 regularizing flow, along which ``G(t) = G(0) e^{-2t}``;
    ``kind="kirwan-ness"``: the gradient flow of ``|G|^2 / 2``. Both keep X = WN...W1 fixed (to
    rounding with ``scheme="structured"``, Runge-Kutta-Munthe-Kaas on the group; ``"generic"`` is
    Dormand-Prince on W; ``"auto"``, the default as in the program, is structured except for the L2
    flow from a point whose orbit is not closed, where the flow can reach the orbit's boundary in
    finite time and only the generic scheme steps across). ``samples`` equally spaced times in
    [0, t_end] are reported.

    ``callback(t, moment_norm)`` is called after every accepted step (with the GIL held); returning
    ``False`` stops the run early (``info["stopped_by_callback"]`` is then True and the series ends
    at the last sample reached); an exception raised by it propagates. Ctrl-C raises
    ``KeyboardInterrupt``.

    Returns ``(w_t, info)``: the weights at the last time reached and the keys of
    ``dln flow --json``: ``flow``, ``dtype``, ``widths``, ``t_end``, ``steps``, ``rejected``,
    ``evals``, ``cg_iterations``, ``moment_norm_initial``, ``moment_norm_final``,
    ``product_rel_change``, ``lower_bound``, and the series ``t``, ``moment_norm``, ``l2_gap``
    (|W(t)|^2 - N sum_i sigma_i^(2/N)); plus ``stopped_by_callback``.
    """
    if callback is not None and not callable(callback):
        raise ValueError("callback: expected a callable callback(t, moment_norm) or None")
    return _dln.flow(
        _layers(ws),
        str(kind),
        _float(t_end, "t_end"),
        _count(samples, "samples"),
        float(rtol),
        float(atol),
        str(scheme),
        callback,
    )


def train(
    inputs: Any,
    targets: Any,
    widths: Sequence[int],
    kappa: float = 0.0,
    t_end: Optional[float] = None,
    steps: Optional[int] = None,
    lr: Optional[float] = None,
    init: str = "gaussian",
    seed: int = 0,
    samples: int = 11,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> tuple[list[np.ndarray], dict]:
    """Least-squares training of a deep linear network (``dln train``).

    Minimizes ``E(X) = |X U - Y|_F^2 / (2n) + kappa/2 |W|^2`` with ``U = inputs`` (d0 x n) and
    ``Y = targets`` (dN x n), one sample per column, over networks of the given ``widths``
    (d0, ..., dN): the gradient flow to time ``t_end`` (adaptive Dormand-Prince, tolerances
    ``rtol``/``atol``) or ``steps`` steps of gradient descent with step size ``lr`` (give either
    ``t_end`` or both ``steps`` and ``lr``). Initial weights: ``init="gaussian"`` (entries
    N(0, 1/d_{k-1}) from ``seed``, identical to the program's) or ``"balanced"`` (the same,
    balanced in their fiber). Along the flow ``G(t) = G(0) e^{-2 kappa t}``.

    Returns ``(ws, info)`` with the keys of ``dln train --json``: ``mode``, ``dtype``, ``widths``,
    ``samples``, ``kappa``, ``t_end``, ``steps``, ``lr``, ``init``, ``seed``, ``loss_initial``,
    ``loss_final``, ``moment_norm_initial``, ``moment_norm_final``, and the series ``t``,
    ``loss``, ``moment_norm``.
    """
    u = _matrix(inputs, "inputs")
    y = _matrix(targets, "targets")
    if u.dtype != y.dtype:
        u, y = u.astype(np.complex128), y.astype(np.complex128)
    try:
        widths = [_count(d, "widths") for d in widths]
    except TypeError:
        raise ValueError("widths: expected a sequence of positive integers d0..dN") from None
    return _dln.train(
        u,
        y,
        widths,
        float(kappa),
        _float(t_end, "t_end"),
        _count(steps, "steps"),
        _float(lr, "lr"),
        str(init),
        _count(seed, "seed"),
        _count(samples, "samples"),
        float(rtol),
        float(atol),
    )


def _system(A: Any, B: Any, C: Any, D: Any = None) -> tuple:
    return (
        _matrix(A, "A", complex_ok=False),
        _matrix(B, "B", complex_ok=False),
        _matrix(C, "C", complex_ok=False),
        None if D is None else _matrix(D, "D", complex_ok=False),
    )


def hsv(
    A: Any, B: Any, C: Any, D: Any = None, dt: Optional[float] = None, equil: bool = True
) -> np.ndarray:
    """Hankel singular values of a stable system (``dln hsv``).

    ``sigma_k = sqrt(lambda_k(P Q))``, non-increasing, from the Cholesky factors of the Gramians
    (Hammarling's method). Continuous time ``x' = A x + B u`` unless ``dt`` is given (discrete
    time ``x(k+1) = A x(k) + B u(k)`` with sampling time ``dt``). ``D`` defaults to zero and does
    not enter. An unstable ``A`` raises ``ValueError`` naming the eigenvalue (checked on the Schur
    form the Lyapunov solver computes anyway, as ``dln hsv``: no separate eigenvalue computation).
    ``equil`` (default on, as ``dln hsv --equil``): equilibrate the state coordinates first (exact
    diagonal scaling by powers of two); the values are invariant, only their accuracy changes.
    """
    a, b, c, d = _system(A, B, C, D)
    return _dln.hsv(a, b, c, d, _float(dt, "dt"), bool(equil))


def gram(
    A: Any,
    B: Any,
    C: Any,
    kind: str = "controllability",
    dt: Optional[float] = None,
    factor: bool = False,
) -> np.ndarray:
    """A Gramian of a stable system (``dln gram``).

    ``kind="controllability"``: P with ``A P + P A^T + B B^T = 0`` (discrete:
    ``A P A^T - P + B B^T = 0``); ``kind="observability"``: Q with ``A^T Q + Q A + C^T C = 0``
    (discrete: ``A^T Q A - Q + C^T C = 0``). With ``factor=True`` the lower-triangular Cholesky
    factor L, ``X = L L^T``, is returned instead (Hammarling's method). An unstable ``A`` raises
    ``ValueError`` naming the eigenvalue (checked on the solver's Schur form, as ``dln gram``).
    """
    a, b, c, _ = _system(A, B, C)
    return _dln.gram(a, b, c, str(kind), _float(dt, "dt"), bool(factor))


def reduce(
    A: Any,
    B: Any,
    C: Any,
    D: Any = None,
    order: Optional[int] = None,
    tol: Optional[float] = None,
    method: str = "sr",
    alpha: Optional[float] = None,
    dt: Optional[float] = None,
    equil: bool = True,
    hinf: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """Model reduction by balancing (``dln reduce``), with the a-priori bound and the measured error.

    ``sigma_{r+1} <= |G - G_r|_Hinf <= 2 sum_{k>r} sigma_k``. Give either ``order`` (r, lowered
    to the minimal order if larger) or ``tol`` (keep the states whose Hankel singular values exceed
    it; 0 = minimal realization). ``method``: ``"sr"`` square-root balanced truncation (SLICOT
    AB09AD JOB='B'), ``"bfsr"`` balancing-free square root (JOB='N'), ``"spa"`` singular
    perturbation approximation (AB09BD; matches the DC gain). ``alpha``: keep the poles outside
    Re(lambda) < alpha (continuous, alpha <= 0) or |lambda| < alpha (discrete) unchanged and
    reduce the rest; without it the system must be stable (an unstable ``A`` raises ``ValueError``
    naming the eigenvalue, checked on the Schur form the reduction computes anyway, as ``dln
    reduce``). ``equil`` (default on, as ``dln reduce --equil``): equilibrate the state
    coordinates first (SLICOT AB09AD EQUIL='S'; the transfer function is unchanged). ``hinf``
    (default on, as ``dln reduce --hinf``): certify ``|G - G_r|_Hinf``; for large n it costs far
    more than the reduction (see ``timing``).

    Returns ``(Ar, Br, Cr, Dr, info)``; ``info`` has the keys of ``dln reduce --json`` (without
    ``out``): ``method``, ``time``, ``n``, ``order``, ``stable_order``, ``unstable_order``,
    ``minimal_order``, ``hsv``, ``error_bound``, ``error_lower_bound``, ``hinf_error``,
    ``hinf_frequency``, ``hinf_route`` (``"full"`` or ``"balanced_tail"``: certified through a
    balanced truncation of order ``hinf_certificate_order`` and the tail bound
    ``hinf_tail_bound``, both present only then) and ``bound_check`` (the certified error against
    the a-priori bound: ``status``, ``ratio``, ``excess``, ``rounding``, ``sensitivity``,
    ``slow_mode_indicator``) — or, with ``hinf=False``, ``hinf_skipped`` instead of those — and
    ``timing``
    (``reduction_s``, and ``hinf_error_s`` when certified).
    """
    a, b, c, d = _system(A, B, C, D)
    return _dln.reduce(
        a,
        b,
        c,
        d,
        _count(order, "order"),
        _float(tol, "tol"),
        str(method),
        _float(alpha, "alpha"),
        _float(dt, "dt"),
        bool(equil),
        bool(hinf),
    )


def bayesian_bt(
    A: Any,
    B: Any,
    C: Any,
    noise: Any = None,
    order: Optional[int] = None,
    data: Any = None,
    dt: Optional[float] = None,
) -> dict:
    """Bayesian balanced truncation: inference of the initial state of a stable system.

    Prior ``x0 ~ N(0, P)`` with ``P`` the reachability Gramian of (A, B) (the stationary covariance
    of ``dx = A x dt + B dw``); outputs observed over an infinite horizon with Gaussian noise of
    covariance ``noise`` (p x p, default identity): continuous time ``dy = C x dt + noise^(1/2) dW``,
    discrete time (``dt`` given) ``y_k = C x_k + eps_k``. The Fisher information ``Q`` is the
    observability Gramian of ``(A, noise^(-1/2) C)``; the data enter through the sufficient
    statistic ``b = int exp(A^T t) C^T noise^(-1) dy`` (``b ~ N(Q x0, Q)`` given x0).

    Returns a dict: ``time``, ``n``, ``hsv`` (sigma_i; sigma_i^2 are the eigenvalues of the pencil
    (Q, P^-1)), ``prior_covariance`` (P), ``fisher_information`` (Q), ``posterior_covariance``
    ((P^-1 + Q)^-1, computed without inverting P), ``balanced_posterior_diagonal``
    (sigma/(1+sigma^2): the posterior in Hankel-balanced coordinates, where prior and Fisher
    information are both diag(sigma)), ``whitened_posterior_diagonal`` (1/(1+sigma^2): prior-whitened
    coordinates), ``pencil_eigenvectors`` (w_i with Q w_i = sigma_i^2 P^-1 w_i, w_i^T P^-1 w_j =
    delta_ij), ``optimal_forstner_sq`` (for r = 0..n: sum_{i>r} log^2(1+sigma_i^2), the squared
    Förstner distance of the optimal rank-r update of the prior). With ``data`` (``b``, n or n x k):
    ``posterior_mean``. With ``order`` r: ``order``, ``optimal_update`` (Spantini's
    P - sum_{i<=r} sigma_i^2/(1+sigma_i^2) w_i w_i^T), ``bt_posterior`` (the posterior of the
    balanced-truncation model of order r, from its own observability Gramian; equal to the
    optimal update in continuous time), ``bt_forstner_sq``, ``reduced_fisher``, ``reduced``
    ((Ar, Br, Cr) with the whitened output).
    """
    a, b, c, _ = _system(A, B, C)
    g = None if noise is None else _matrix(noise, "noise", complex_ok=False)
    x = None
    if data is not None:
        x = np.asarray(data)
        if x.ndim == 1:
            x = x[:, None]
        x = _matrix(x, "b", complex_ok=False)
    out = _dln.bayesian_bt(a, b, c, g, _count(order, "order"), x, _float(dt, "dt"))
    if data is not None and np.asarray(data).ndim == 1:
        out["posterior_mean"] = out["posterior_mean"][:, 0]
    return out


# ---------------------------------------------------------------------------------------------
# The Bayesian reading of regularization (crate dln-bayes)


def _widths(widths: Sequence[int]) -> list[int]:
    try:
        return [_count(d, "widths") for d in widths]
    except TypeError:
        raise ValueError("widths: expected a sequence of positive integers d0..dN") from None


def sample_prior(
    widths: Sequence[int],
    beta: float,
    kappa: float,
    samples: int,
    complex: bool = False,
    seed: int = 0,
) -> tuple[list[np.ndarray], dict]:
    """Exact samples of the Gaussian prior (``dln sample prior``).

    The prior of weight decay ``kappa/2 |W|^2`` at inverse temperature ``beta`` has density
    proportional to ``exp(-beta kappa |W|^2 / 2)`` (erratum E6 applied): every real coordinate
    (real and imaginary parts with ``complex=True``) is independent N(0, 1/(beta kappa)).
    ``widths`` = (d0, ..., dN). The same ``seed`` gives the same samples as the program (drawn
    from the normal generator of ``seed``: eight xoshiro256++ lanes and a vectorised ziggurat, the
    same on any CPU; versions that drew from one xoshiro256++ generator or from ChaCha12 gave
    other samples for the same seed).

    Returns ``(ws, info)``: ``ws = [W1, ..., WN]`` with ``Wk`` of shape ``samples x d_k x d_{k-1}``
    (the program's ``.npz`` arrays), and the keys of ``dln sample prior --json`` (without ``out``):
    ``dtype``, ``widths``, ``beta``, ``kappa``, ``samples``, ``seed``, ``dimension``
    (D = c_F sum_k d_k d_{k-1}, c_F = 1 real, 2 complex), ``mean_l2_norm_sq``,
    ``expected_l2_norm_sq`` (D/(beta kappa)), ``standard_error`` (sqrt(2D/S)/(beta kappa)),
    ``mean_moment_norm``, ``expected_moments`` (m_k with E[G_k] = m_k I,
    m_k = c_F (d_{k-1} - d_{k+1})/(beta kappa)). Ctrl-C raises ``KeyboardInterrupt``.
    Raises ``MemoryError`` before allocating anything when the result would not fit the memory
    limit (``DLN_MEMORY_LIMIT`` bytes, with an optional K/M/G suffix; by default half the machine's
    memory), as the program refuses it.
    """
    return _dln.sample_prior(
        _widths(widths),
        _float(beta, "beta"),
        _float(kappa, "kappa"),
        _count(samples, "samples"),
        bool(complex),
        _count(seed, "seed"),
    )


def sample_train(
    inputs: Any,
    targets: Any,
    init: Sequence[Any],
    beta: float,
    kappa: float,
    t_end: float,
    dt: float,
    paths: int,
    records: int = 11,
    seed: int = 0,
) -> tuple[list[np.ndarray], dict]:
    """Independent paths of noisy training (``dln sample train``).

    ``dW = -(grad_W E(phi(W)) + kappa W) dt + sqrt(2/beta) dB`` from ``init = [W1, ..., WN]``, with
    the least-squares loss ``E(X) = |X U - Y|_F^2 / (2n)``, ``U = inputs`` (d0 x n),
    ``Y = targets`` (dN x n). Strang splitting with the OU part exact; the step used divides
    ``t_end`` evenly and is at most ``dt``; ``paths`` independent paths in parallel, path i drawing
    its noise from stream i of the normal generator of ``seed`` (xoshiro256++ lanes advanced by
    i long jumps of 2^192: streams that never overlap), as in the program (same results,
    whatever the number of threads and the CPU; versions that drew from one xoshiro256++
    generator or from ChaCha12 gave other paths for the same seed). Ctrl-C is honoured at
    each of the ``records`` recording times.

    Returns ``(ws, info)``: the weights at ``t_end`` stacked over paths (``Wk`` of shape
    ``paths x d_k x d_{k-1}``), and the keys of ``dln sample train --json`` (without file names):
    ``dtype``, ``widths``, ``beta``, ``kappa``, ``t_end``, ``h``, ``steps``, ``paths``, ``seed``,
    the series ``t``, ``mean_moment_norm``, ``mean_loss``, and ``moment_law_deviation``
    (max_k |mean G_k(T) - E G_k(T)|_F against the moment law
    E G_k(T) = e^{-2 kappa T} G_k(0) + c_F (d_{k-1} - d_{k+1}) (1 - e^{-2 kappa T})/(beta kappa) I),
    ``discretisation_allowance``. ``MemoryError`` (before anything is allocated) when ``paths``
    stacked networks exceed the memory limit, as for ``sample_prior``.
    """
    u = _matrix(inputs, "inputs")
    y = _matrix(targets, "targets")
    w0 = _layers(init)
    if u.dtype != y.dtype or any(w.dtype != u.dtype for w in w0):
        u, y = u.astype(np.complex128), y.astype(np.complex128)
        w0 = [w.astype(np.complex128) for w in w0]
    return _dln.sample_train(
        u,
        y,
        w0,
        _float(beta, "beta"),
        _float(kappa, "kappa"),
        _float(t_end, "t_end"),
        _float(dt, "dt"),
        _count(paths, "paths"),
        _count(records, "records"),
        _count(seed, "seed"),
    )


def sample_fiber(
    ws: Sequence[Any],
    beta: float,
    kappa: float,
    samples: int,
    measure: str = "hausdorff",
    seed: int = 0,
    burn_in: Optional[int] = None,
    thin: Optional[int] = None,
    sampler: Optional[str] = None,
    chains: int = 1,
) -> tuple[list[np.ndarray], dict]:
    """Samples of the posterior on a fiber (``dln sample fiber``).

    The posterior proportional to ``exp(-beta kappa |W|^2 / 2)`` on the fiber
    ``{W' : W'_N...W'_1 = X}`` of ``X = WN...W1``, ``ws = [W1, ..., WN]`` the chain's start, against
    the base measure ``measure``: ``"hausdorff"`` (the fiber's Riemannian volume, the paper's (4.5))
    or ``"conditional"`` (divided by ``det(dphi dphi^*)^(1/2)``: the conditional law of the Gaussian
    prior given X). ``sampler=None`` picks the program's default: ``"hmc"`` for the Hausdorff
    measure; for the conditional one ``"block-gibbs"`` where it applies (square layers, invertible X),
    ``"rwm"`` otherwise. ``sampler="hmc"``: constrained Hamiltonian Monte Carlo
    (RATTLE with Newton projection back to the fiber and the reverse check); ``"rwm"``: constrained
    random-walk Metropolis (tangent Gaussian moves, Newton projection, reverse-projection check);
    ``"graph-hmc"``: Euclidean HMC in the graph chart ``W1 = (WN...W2)^-1 X`` (conditional measure,
    square layers and invertible X only; anything else raises ``ValueError``); ``"block-gibbs"``: blocked
    Gibbs over adjacent layer pairs, a Haar rotation and HMC along each junction's GL(d) orbit (same
    restrictions as graph-hmc; ``burn_in`` counts sweeps).
    All use junction sign flips between the branches of a real fiber; the step adapts during the
    ``burn_in`` steps (default 1000 for rwm, 300 for the others, as the program), then every ``thin``-th
    state (default 1) is kept. The same ``seed`` gives the same samples as the program.
    ``chains=C`` runs C independent chains in parallel (one per core pays), each with its own
    burn-in; the ``samples`` are split among them and concatenated chain by chain, and the
    diagnostics pooled (effective sample sizes add up); chain 1 is the single chain of ``seed``.
    With C >= 2 (and at least 4 samples per chain) ``info`` has ``rhat``, the classic split-R-hat
    of |W|^2 between the chains (Gelman et al., BDA3; about 1 when the chains agree, above 1.1
    when they have not mixed). Ctrl-C stops every chain.

    Returns ``(ws, info)``: ``Wk`` of shape ``samples x d_k x d_{k-1}`` (the program's ``.npz``
    arrays), and the keys of ``dln sample fiber --json`` (without file names): ``dtype``, ``widths``,
    ``beta``, ``kappa``, ``measure``, ``sampler``, ``leapfrog_steps`` (RATTLE or leapfrog steps per
    trajectory; 0 for rwm), ``samples``, ``chains``, ``burn_in``, ``thin``, ``seed``,
    ``fiber_dimension``, ``acceptance_rate``, ``ess`` (of |W|^2, batch means), ``steps``,
    ``mean_l2_norm_sq``, ``standard_error``, ``max_constraint_residual``
    (max |phi(W) - X|_F / |X|_F), ``mean_moment_norm``, ``step``, ``projection_failures``,
    ``reverse_failures``, ``flips`` (and ``rhat`` with several chains). X = 0, or weights where dphi is not onto, raise ``ValueError``.
    Ctrl-C raises ``KeyboardInterrupt``. ``MemoryError`` (before anything is allocated) when the
    samples, and the ``samples * thin`` values of |W|^2 kept for the effective sample size, exceed
    the memory limit, as for ``sample_prior``.
    """
    if not isinstance(measure, str):
        raise ValueError(f"measure: expected \"hausdorff\" or \"conditional\", got {measure!r}")
    if sampler is not None and not isinstance(sampler, str):
        raise ValueError(f"sampler: expected \"hmc\", \"rwm\", \"graph-hmc\" or \"block-gibbs\", got {sampler!r}")
    return _dln.sample_fiber(
        _layers(ws),
        _float(beta, "beta"),
        _float(kappa, "kappa"),
        _count(samples, "samples"),
        measure,
        sampler,
        _count(seed, "seed"),
        None if burn_in is None else _count(burn_in, "burn_in"),
        1 if thin is None else _count(thin, "thin"),
        _count(chains, "chains"),
    )


def sample_orbit(ws: Sequence[Any], samples: int, seed: int = 0) -> tuple[list[np.ndarray], dict]:
    """Exact samples of the small-noise limit of the fiber posterior (no program command).

    As beta -> infinity the posterior on the fiber of X = WN...W1 concentrates on the balanced
    orbit O_X with its uniform law, the push-forward of Haar measure on the hidden frames:
    ``Q . C`` with ``C`` the centre of the fiber and ``Q_k`` Haar-distributed ``d_k x r``
    orthonormal frames (r = rank X; any widths). Every sample is balanced and has
    ``|W|^2 = N sum_i sigma_i(X)^(2/N)``.

    Returns ``(ws, info)`` stacked like ``sample_fiber`` (``samples x d_k x d_{k-1}``), with
    ``dtype``, ``widths``, ``samples``, ``seed``, ``rank``, ``l2_norm_sq`` (the orbit's
    N sum sigma^(2/N)), ``mean_l2_norm_sq``, ``max_constraint_residual``
    (max |phi(W) - X|_F / |X|_F) and ``max_moment_norm``. ``MemoryError`` before allocating when
    the samples exceed the memory limit (as for ``sample_prior``); Ctrl-C raises
    ``KeyboardInterrupt``.
    """
    return _dln.sample_orbit(_layers(ws), _count(samples, "samples"), _count(seed, "seed"))


def map_estimate(
    inputs: Any,
    targets: Any,
    widths: Sequence[int],
    kappa: float,
    x0: Any = None,
    max_iter: int = 10_000,
    tol: float = 1e-12,
    step: float = 1.0,
) -> tuple[np.ndarray, list[np.ndarray], dict]:
    """MAP estimate of X = WN...W1 under least squares and weight decay (no program command).

    Minimises ``E(X) + R(X)`` with ``E(X) = |X U - Y|_F^2 / (2n)`` (``U = inputs``, d0 x n;
    ``Y = targets``, dN x n: the loss of ``train``) and the effective regulariser
    ``R(X) = min over the fiber of kappa/2 |W|^2 = kappa/2 N sum_i sigma_i(X)^(2/N)`` (infinite
    above the narrowest hidden width), by proximal gradient with backtracking from ``x0``
    (default: the minimum-norm least-squares solution ``Y U^+``). For N >= 3 the problem is
    non-convex: the result is a stationary point near ``x0``.

    Returns ``(X, ws, info)``: the estimate, the balanced weights at it (a MAP point of the
    weights: the minimiser of kappa/2 |W|^2 on its fiber), and ``dtype``, ``widths``, ``kappa``,
    ``objective`` (E + R), ``regulariser`` (R), ``stationarity`` (the first-order residual on the
    row and column spaces of X), ``iterations``, ``converged``, ``step``.
    """
    u = _matrix(inputs, "inputs")
    y = _matrix(targets, "targets")
    if x0 is None:
        if u.shape[1] != y.shape[1]:
            raise ValueError(
                f"targets: has {y.shape[1]} columns (samples) but inputs has {u.shape[1]} (need the same)"
            )
        if not (np.isfinite(u).all() and np.isfinite(y).all()):
            raise ValueError("inputs/targets: non-finite entries")
        x0 = np.linalg.lstsq(u.T, y.T, rcond=None)[0].T
    x0 = _matrix(x0, "x0")
    arrays = [u, y, x0]
    if any(a.dtype == np.complex128 for a in arrays):
        u, y, x0 = (a.astype(np.complex128, copy=False) for a in arrays)
    return _dln.map_estimate(
        u,
        y,
        _widths(widths),
        _float(kappa, "kappa"),
        x0,
        _count(max_iter, "max_iter"),
        _float(tol, "tol"),
        _float(step, "step"),
    )


def entropy(x: Any = None, depth: Optional[int] = None, ws: Optional[Sequence[Any]] = None) -> dict:
    """The entropy ``S(X) = log vol(O_X)`` of the balanced orbit (``dln entropy``).

    Give ``x`` (a square d x d matrix of full rank with distinct singular values) and ``depth``
    (N), or ``ws = [W1, ..., WN]`` (X = WN...W1, N = len(ws)). With ``lambda = sigma^(1/N)`` and
    ``K_ij = (sigma_i^2 - sigma_j^2)/(lambda_i^2 - lambda_j^2)``,
    ``S = (N-1) log vol(K) + log D / 2``, ``D = prod_{i<j} K_ij`` (real) or
    ``prod_{i<j} K_ij^2 prod_i N lambda_i^(2(N-1))`` (complex), vol(K) of K = O(d) or U(d) in the
    metric Re Tr(a^* b) (the ``normalization`` key says it in words).

    Returns the keys of ``dln entropy --json`` (without ``file``): ``entropy``, ``depth``,
    ``field`` (``"real"`` or ``"complex"``), ``d``, ``log_group_volume``, ``log_density_sq``
    (log D), ``normalization``. Repeated or vanishing singular values raise ``ValueError``.
    """
    if x is not None and ws is not None:
        raise ValueError("give either x and depth, or ws (not both)")
    if ws is not None:
        return _dln.entropy(None, None if depth is None else _count(depth, "depth"), _layers(ws))
    if x is None:
        raise ValueError("give either x and depth, or ws (not both)")
    return _dln.entropy(_matrix(x, "X"), None if depth is None else _count(depth, "depth"), None)
