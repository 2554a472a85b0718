"""One gradient-descent step of a deep linear network on the matrix-completion loss, in plain numpy.

The reference a Python user would write (float64): E(X) = 1/2 |P_Omega(X - M)|_F^2 with
X = W_N ... W_1, the prefix products forward, E'(X) = mask * (X - M), then back-propagation
grad_k = S_k P_{k-1}^T, S_{k-1} = W_k^T S_k, and W_k -= lr * grad_k: the same 3(N-1) matrix
products per step as `dln_flows::training::gradient_descent`.

Called by `cargo bench -p dln-benches --bench training_step -- numpy` (side by side with the Rust
step in one run); it can also be run alone:

    python3 benches/numpy/completion_step.py --d 100 --depth 2 --density 0.3 --steps 500 --reps 5

Prints one JSON line: the minimum over `reps` of the mean time per step (seconds), and the number
of BLAS threads numpy was told to use (OPENBLAS_NUM_THREADS, "default" when unset).
"""

import argparse
import json
import os
import time

import numpy as np


def problem(d, rank, density, seed):
    """A rank-`rank` d x d target with |M|_F^2 = rank, and a mask observing round(density d^2) entries."""
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, d))
    m *= np.sqrt(rank) / np.linalg.norm(m)
    observed = rng.choice(d * d, int(round(density * d * d)), replace=False)
    mask = np.zeros(d * d)
    mask[observed] = 1.0
    return m, mask.reshape(d, d)


def step(w, target, mask, lr):
    """One gradient-descent step in place; returns E(X) before the step."""
    n = len(w)
    prefix = [w[0]]
    for k in range(1, n):
        prefix.append(w[k] @ prefix[-1])
    r = mask * (prefix[-1] - target)
    e = 0.5 * np.sum(r * r)
    s = r
    grads = [None] * n
    for k in range(n - 1, -1, -1):
        grads[k] = s @ prefix[k - 1].T if k > 0 else s
        if k > 0:
            s = w[k].T @ s
    for k in range(n):
        w[k] -= lr * grads[k]
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--rank", type=int, default=5)
    ap.add_argument("--density", type=float, default=0.3)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--init-std", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    target, mask = problem(a.d, a.rank, a.density, a.seed)
    rng = np.random.default_rng(a.seed + 1)
    w = [a.init_std * rng.standard_normal((a.d, a.d)) for _ in range(a.depth)]
    best = float("inf")
    e = float("nan")
    for _ in range(a.reps):
        start = time.perf_counter()
        for _ in range(a.steps):
            e = step(w, target, mask, a.lr)
        best = min(best, (time.perf_counter() - start) / a.steps)
    if not np.isfinite(e):
        raise SystemExit("completion_step.py: the loss diverged; use a smaller --lr")
    print(
        json.dumps(
            {
                "d": a.d,
                "depth": a.depth,
                "density": a.density,
                "steps": a.steps,
                "reps": a.reps,
                "per_step_min_s": best,
                "loss": e,
                "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
