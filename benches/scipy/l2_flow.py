"""Side-by-side reference for `dln flow l2`: the route a Python user would take.

The L² balancing flow W' = -w_b, H(b) = G (Lindsey & Menon, Theorem 2), integrated with scipy's
`solve_ivp` (RK45, rtol 1e-8) on the stacked weights, with H(b) = G solved at every evaluation by
scipy's conjugate gradients on a LinearOperator (no preconditioner). The same weights are run
through the `dln` program in the same session, interleaved, and the wall-clock ratio and the
accuracy of the decay law |G(t)| = |G(0)| e^{-2t} are printed for both.

Usage:  python3 benches/scipy/l2_flow.py PATH/TO/dln [--d 16] [--n 4] [--t-end 10] [--reps 2]
            [--rtol 1e-8] [--dln-rtol 1e-11,1e-8]
(each `--dln-rtol` value is one `dln flow --rtol` setting, run and reported beside scipy; the
decay-law error is reported at t_end / 2 and t_end for every run)
(build the program first: cargo build --release -p dln-cli). Needs numpy and scipy.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse.linalg import LinearOperator, cg


def moments(ws):
    return [ws[k] @ ws[k].T - ws[k + 1].T @ ws[k + 1] for k in range(len(ws) - 1)]


def moment_norm(ws):
    return np.sqrt(sum(np.sum(g * g) for g in moments(ws)))


def h_apply(ws, c):
    n = len(ws)
    out = []
    for k in range(1, n):  # junction k, c[k-1]
        wk, wk1 = ws[k - 1], ws[k]
        h = c[k - 1] @ (wk @ wk.T) + (wk1.T @ wk1) @ c[k - 1]
        if k >= 2:
            h -= wk @ c[k - 2] @ wk.T
        if k + 1 < n:
            h -= wk1.T @ c[k] @ wk1
        out.append(h)
    return out


def velocity(ws, rtol):
    """-w_b with H(b) = G, b by scipy CG."""
    d = [w.shape[0] for w in ws[:-1]]
    sizes = [x * x for x in d]
    offs = np.cumsum([0] + sizes)

    def unpack(v):
        return [v[offs[i]:offs[i + 1]].reshape(d[i], d[i]) for i in range(len(d))]

    def mv(v):
        return np.concatenate([h.ravel() for h in h_apply(ws, unpack(v))])

    op = LinearOperator((offs[-1], offs[-1]), matvec=mv, dtype=float)
    g = np.concatenate([x.ravel() for x in moments(ws)])
    bvec, info = cg(op, g, rtol=rtol, maxiter=10000)
    if info != 0:
        raise RuntimeError(f"CG did not converge (info {info})")
    b = unpack(bvec)
    n = len(ws)
    v = []
    for k in range(1, n + 1):
        wk = ws[k - 1]
        wb = np.zeros_like(wk)
        if k < n:
            wb += b[k - 1] @ wk
        if k >= 2:
            wb -= wk @ b[k - 2]
        v.append(-wb)
    return v


def scipy_flow(ws0, t_end, rtol):
    """The weights at t_end / 2 and t_end, and the number of right-hand-side evaluations."""
    shapes = [w.shape for w in ws0]
    offs = np.cumsum([0] + [a * b for a, b in shapes])

    def unpack(y):
        return [y[offs[i]:offs[i + 1]].reshape(shapes[i]) for i in range(len(shapes))]

    def rhs(_t, y):
        return np.concatenate([v.ravel() for v in velocity(unpack(y), 1e-12)])

    y0 = np.concatenate([w.ravel() for w in ws0])
    sol = solve_ivp(rhs, (0.0, t_end), y0, method="RK45", rtol=rtol, atol=1e-12 * np.abs(y0).max(),
                    t_eval=[t_end / 2, t_end])
    return unpack(sol.y[:, 0]), unpack(sol.y[:, -1]), sol.nfev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dln")
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--t-end", type=float, default=10.0)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rtol", type=float, default=1e-8, help="scipy's rtol (RK45)")
    ap.add_argument("--dln-rtol", default="1e-11,1e-8",
                    help="comma-separated `dln flow --rtol` values, each run and reported")
    a = ap.parse_args()
    dln_rtols = [float(x) for x in a.dln_rtol.split(",")]
    rng = np.random.default_rng(a.seed)
    ws = [rng.standard_normal((a.d, a.d)) / np.sqrt(a.d) for _ in range(a.n)]
    g0 = moment_norm(ws)
    t_half = a.t_end / 2
    # Decay-law error |‖G(t)‖ / (‖G(0)‖ e^{-2t}) - 1| at t_end / 2 and t_end.
    law = lambda g, t: abs(g / (g0 * np.exp(-2 * t)) - 1)
    with tempfile.TemporaryDirectory() as tmp:
        wpath = os.path.join(tmp, "W.npz")
        np.savez(wpath, **{f"W{k + 1}": w for k, w in enumerate(ws)})
        t_dln = {r: [] for r in dln_rtols}
        rep = {}
        t_py = []
        for _ in range(a.reps):
            for r in dln_rtols:
                start = time.perf_counter()
                out = subprocess.run(
                    [a.dln, "flow", "l2", wpath, "--t-end", str(a.t_end), "--out",
                     os.path.join(tmp, "Wt.npz"), "--samples", "3", "--rtol", str(r), "--json"],
                    check=True, capture_output=True, text=True)
                t_dln[r].append(time.perf_counter() - start)
                rep[r] = json.loads(out.stdout)
            start = time.perf_counter()
            wh, wt, nfev = scipy_flow(ws, a.t_end, a.rtol)
            t_py.append(time.perf_counter() - start)
        print(f"d = {a.d}, N = {a.n}, t = {a.t_end}, load {os.getloadavg()[0]:.1f}; "
              f"decay-law error |‖G(t)‖/(‖G(0)‖e^-2t) - 1| at t = {t_half:g} and {a.t_end:g}")
        x0 = np.linalg.multi_dot(ws[::-1])
        drift_py = np.linalg.norm(np.linalg.multi_dot(wt[::-1]) - x0) / np.linalg.norm(x0)
        print(f"scipy RK45 rtol {a.rtol:g}: {min(t_py):.3f} s (min of {a.reps}), {nfev} evaluations, "
              f"decay-law error {law(moment_norm(wh), t_half):.1e} / {law(moment_norm(wt), a.t_end):.1e}, "
              f"X drift {drift_py:.1e}")
        for r in dln_rtols:
            g = [float(x) for x in rep[r]["moment_norm"]]
            print(f"dln --rtol {r:g}: {min(t_dln[r]):.3f} s (min of {a.reps}), {rep[r]['steps']} steps, "
                  f"{rep[r]['rhs_evaluations']} evaluations, {rep[r]['linear_iterations']} linear iterations "
                  f"({rep[r]['h_solves']} H solves), "
                  f"decay-law error {law(g[1], t_half):.1e} / {law(g[2], a.t_end):.1e}, "
                  f"X drift {rep[r]['product_rel_change']:.1e}; ratio scipy/dln = {min(t_py) / min(t_dln[r]):.1f}")


if __name__ == "__main__":
    main()
