"""``python -m dln.bench``: dln beside the Python route a user would otherwise take.

Times the tasks of ``docs/performance.md`` through ``dln`` and through numpy/scipy (and slycot
when it is installed), one job at a time in this one process, interleaved, several repetitions,
and prints the minimum times and their ratios. numpy's BLAS and dln's rayon pool both use all
cores; on a loaded machine pin them (``OPENBLAS_NUM_THREADS=1 RAYON_NUM_THREADS=1``) for a fair
single-thread comparison. It also measures the overhead of a call: the time
of a tiny call (microseconds), and, on large inputs, the whole Python call against the library
call timed inside the extension (the same work without argument conversion and result building).

Options: ``--reps K`` (default 3), ``--quick`` (smaller sizes), ``--only NAME`` (substring of a
task name). On a shared machine compare ratios, not absolute times; ``os.getloadavg()`` is
printed with the results.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import numpy as np

import dln
from dln import _dln


def _min_time(f: Callable[[], object], reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def _interleaved(fs: list[Callable[[], object]], reps: int) -> list[float]:
    """Min time of each callable, run alternately (one at a time) `reps` times."""
    best = [float("inf")] * len(fs)
    for _ in range(reps):
        for i, f in enumerate(fs):
            t0 = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def _net(d: int, n_layers: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(n_layers)]


def _stable(n: int, m: int = 2, p: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)) / np.sqrt(n)
    a -= (np.abs(np.linalg.eigvals(a).real).max() + 0.5) * np.eye(n)
    return a, rng.standard_normal((n, m)), rng.standard_normal((p, n))


# ---- the numpy/scipy routes -----------------------------------------------------------------


def numpy_balance_svd(ws: list[np.ndarray]) -> list[np.ndarray]:
    """The balanced centre of the fiber of a square network from one SVD of X."""
    x = ws[0]
    for w in ws[1:]:
        x = w @ x
    u, s, vh = np.linalg.svd(x)
    n = len(ws)
    r = s ** (1.0 / n)
    out = [r[:, None] * vh] + [np.diag(r) for _ in range(n - 2)] + [u * r[None, :]]
    return out


def numpy_gradient_descent(ws, u, y, lr: float, steps: int):
    """`steps` steps of gradient descent on |XU - Y|^2/(2n), all layers at once (3N-1 products)."""
    ws = [w.copy() for w in ws]
    n = u.shape[1]
    for _ in range(steps):
        pre = [ws[0]]
        for w in ws[1:]:
            pre.append(w @ pre[-1])
        e = (pre[-1] @ u - y) @ u.T / n  # E'(X), d_N x d_0
        grads = [None] * len(ws)
        back = e
        for k in range(len(ws) - 1, -1, -1):
            grads[k] = back @ pre[k - 1].T if k > 0 else back
            back = ws[k].T @ back
        ws = [w - lr * g for w, g in zip(ws, grads)]
    return ws


def scipy_hsv(a, b, c):
    from scipy.linalg import solve_continuous_lyapunov

    p = solve_continuous_lyapunov(a, -b @ b.T)
    q = solve_continuous_lyapunov(a.T, -c.T @ c)
    return np.sqrt(np.abs(np.sort(np.linalg.eigvals(p @ q).real)[::-1]))


def scipy_gram(a, b):
    from scipy.linalg import solve_continuous_lyapunov

    return solve_continuous_lyapunov(a, -b @ b.T)


# ---- the report -----------------------------------------------------------------------------


def _row(name: str, ours: float, theirs: dict[str, float]) -> None:
    cols = "  ".join(f"{k} {v * 1e3:10.2f} ms  (ratio {v / ours:6.2f})" for k, v in theirs.items())
    print(f"{name:<48} dln {ours * 1e3:10.2f} ms   {cols}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m dln.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--only", default="", help="run only the tasks whose name contains this")
    args = ap.parse_args(argv)
    reps = max(1, args.reps)
    q = args.quick
    print(f"dln {dln.__version__}, numpy {np.__version__}, load average {os.getloadavg()}")
    print("ratio = other route / dln (above 1: dln is faster)\n")

    def want(name: str) -> bool:
        return args.only in name

    # 1. Kempf-Ness balancing, closed form (docs/performance.md: d = 256, N = 8).
    d, n = (64, 4) if q else (256, 8)
    name = f"balance(svd) d={d} N={n}"
    if want(name):
        ws = _net(d, n)
        ours, np_t = _interleaved([lambda: dln.balance(ws, method="svd"), lambda: numpy_balance_svd(ws)], reps)
        _row(name, ours, {"numpy svd route": np_t})

    # 2. Training: gradient descent (docs/performance.md: one gradient at d = 512, N = 8, n = 4096).
    d, n, ns, steps = (64, 4, 512, 5) if q else (512, 8, 4096, 5)
    name = f"train GD {steps} steps d={d} N={n} n={ns}"
    if want(name):
        rng = np.random.default_rng(1)
        u, y = rng.standard_normal((d, ns)), rng.standard_normal((d, ns))
        w0, _ = dln.train(u, y, [d] * (n + 1), steps=1, lr=1e-12, samples=2)  # dln's initial weights
        ours, np_t = _interleaved(
            [
                lambda: dln.train(u, y, [d] * (n + 1), steps=steps, lr=1e-3, samples=2),
                lambda: numpy_gradient_descent(w0, u, y, 1e-3, steps),
            ],
            reps,
        )
        _row(name, ours, {"numpy": np_t})

    # 3. Hankel singular values and a Gramian (docs/performance.md: n = 1000; scipy is slow).
    nn = 100 if q else 400
    a, b, c = _stable(nn)
    name = f"hsv random stable n={nn}"
    if want(name):
        routes = [lambda: dln.hsv(a, b, c), lambda: scipy_hsv(a, b, c)]
        labels = ["scipy lyapunov+eig"]
        try:
            from slycot import ab13ad  # noqa: F401
            from slycot import ab09ad

            routes.append(lambda: ab09ad("C", "B", "N", nn, 2, 2, a, b, c, np.zeros((2, 2)), nr=1))
            labels.append("slycot AB09AD (HSV+BT)")
        except ImportError:
            pass
        ts = _interleaved(routes, reps)
        _row(name, ts[0], dict(zip(labels, ts[1:])))
    name = f"gram controllability n={nn}"
    if want(name):
        ours, sp = _interleaved([lambda: dln.gram(a, b, c), lambda: scipy_gram(a, b)], reps)
        _row(name, ours, {"scipy solve_continuous_lyapunov": sp})

    # 4. Call overhead.
    print("\ncall overhead")
    if want("overhead"):
        tiny = [np.eye(2), np.eye(2)]
        k = 2000
        t = _min_time(lambda: [dln.moments(tiny) for _ in range(k)], reps) / k
        t_raw = _min_time(lambda: [_dln.moments(tiny, 1e-10) for _ in range(k)], reps) / k
        print(f"  dln.moments, N=2, 2x2 (whole call)           {t * 1e6:8.2f} us  (compiled function alone {t_raw * 1e6:.2f} us)")
        a2, b2, c2 = _stable(2, 1, 1)
        t = _min_time(lambda: [dln.hsv(a2, b2, c2) for _ in range(k)], reps) / k
        print(f"  dln.hsv, n=2                                 {t * 1e6:8.2f} us")
        d, n = (64, 4) if q else (256, 8)
        ws = _net(d, n)
        whole, inner, copies = [], [], []
        for _ in range(max(reps, 20)):
            t0 = time.perf_counter()
            dln.balance(ws, method="svd")
            whole.append(time.perf_counter() - t0)
            inner.append(_dln._time_balance(ws, "svd"))
            t0 = time.perf_counter()
            _dln._copy_layers(ws)
            copies.append(time.perf_counter() - t0)
        w, i, c = min(whole), min(inner), min(copies)
        print(
            f"  dln.balance(svd) d={d} N={n}: whole call {w * 1e3:.2f} ms, library call {i * 1e3:.2f} ms,"
            f" overhead {100 * (w - i) / i:+.1f}%; of which unavoidable: copying the layers in and out"
            f" {c * 1e3:.2f} ms ({100 * c / i:.1f}%)"
        )
        nn = 100 if q else 400
        a, b, c = _stable(nn)
        whole, inner = [], []
        for _ in range(max(reps, 10)):
            t0 = time.perf_counter()
            dln.hsv(a, b, c)
            whole.append(time.perf_counter() - t0)
            inner.append(_dln._time_hsv(a, b, c))
        w, i = min(whole), min(inner)
        print(
            f"  dln.hsv n={nn}: whole call {w * 1e3:.2f} ms, library call {i * 1e3:.2f} ms,"
            f" overhead {100 * (w - i) / i:+.1f}%"
        )
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
