"""dln beside SLICOT (slycot) on random dense stable systems, in one run, interleaved.

Issue 9's timings: ``dln hsv`` (target <= 0.7x) and ``dln reduce --order R`` including its
certified H-infinity error (target <= 1.0x) against slycot ``ab09ad`` (balanced truncation,
square root, no scaling: it computes the Hankel singular values and the reduced model), and our
real Schur form against faer's ``eigen()`` on the same matrix (target <= 1.0x; timed inside the
release test ``dln-systems/tests/timing_stages.rs``, which also splits the HSV time by stage).

The system (issue 9): ``M = randn(n, n)/sqrt(n)``, ``A = M - (max Re lambda(M) + 1) I``,
``B = randn(n, 2)``, ``C = randn(2, n)``, drawn in that order from ``numpy.random.default_rng(seed)``,
written as ``A.npy``, ``B.npy``, ``C.npy`` into a directory that ``dln hsv``/``dln reduce`` read.

Each round runs every job once, one at a time (``dln hsv``, AB09AD, ``dln reduce``, the stage
test; ``--hinf off`` drops the certified error from ``dln reduce`` and the stage test); the report is the minimum over ``--reps`` rounds and the ratios of those minima, with
``os.getloadavg()`` before and after. Both sides are pinned to ``--threads`` threads
(``OPENBLAS_NUM_THREADS``, ``RAYON_NUM_THREADS``; default 1, the fair choice on a shared machine).

Needs numpy and slycot (a throw-away environment outside the repository:
``python3 -m venv V && V/bin/pip install --only-binary=:all: slycot numpy scipy``) and release
builds: ``cargo build --release -p dln-cli`` and (the script builds it)
``cargo test --release -p dln-systems --test timing_stages --no-run``. Usage, from the repository
root::

    V/bin/python benches/slycot/side_by_side.py --n 1000 --reps 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="state dimension (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="numpy default_rng seed (default 0)")
    p.add_argument("--order", type=int, default=20, help="reduced order (default 20)")
    p.add_argument("--reps", type=int, default=3, help="rounds; minimum taken (default 3)")
    p.add_argument("--threads", type=int, default=1, help="BLAS/rayon threads (default 1)")
    p.add_argument("--dln", default="target/release/dln", help="the dln binary")
    p.add_argument("--keep", help="write the system into this directory and keep it")
    p.add_argument("--no-stages", action="store_true", help="skip the stage test (Schur vs faer)")
    p.add_argument("--hinf", choices=("on", "off"), default="on",
                   help="certified H-infinity error in `dln reduce` and the stage test "
                        "(default on; minutes at n = 1000)")
    return p.parse_args()


ARGS = parse()
# Before numpy is imported: its BLAS reads these once.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
from slycot import ab09ad  # noqa: E402


def system(n: int, seed: int):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n)) / np.sqrt(n)
    a = m - (np.linalg.eigvals(m).real.max() + 1.0) * np.eye(n)
    b = rng.standard_normal((n, 2))
    c = rng.standard_normal((2, n))
    return a, b, c


def stage_binary() -> str:
    """Builds (if needed) the release test binary of `timing_stages` and returns its path."""
    out = subprocess.run(
        ["cargo", "test", "--release", "-p", "dln-systems", "--test", "timing_stages",
         "--no-run", "--message-format=json"],
        check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and \
                msg["target"]["name"] == "timing_stages":
            return msg["executable"]
    sys.exit("side_by_side: could not find the timing_stages test binary")


def run_timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"side_by_side: {' '.join(cmd)} failed: {r.stderr.strip()}")
    return dt, r.stdout


def main() -> None:
    a, b, c = system(ARGS.n, ARGS.seed)
    work = Path(ARGS.keep) if ARGS.keep else Path(tempfile.mkdtemp(prefix="dln_side_by_side_"))
    work.mkdir(parents=True, exist_ok=True)
    for name, x in (("A", a), ("B", b), ("C", c)):
        np.save(work / f"{name}.npy", x)
    out_dir = Path(tempfile.mkdtemp(prefix="dln_reduce_out_"))
    stages_exe = None if ARGS.no_stages else stage_binary()
    n, r = ARGS.n, ARGS.order
    best: dict[str, float] = {}
    stages: dict[str, float] = {}
    extra: dict[str, object] = {}

    def keep(key: str, t: float) -> None:
        best[key] = min(best.get(key, float("inf")), t)

    load0 = os.getloadavg()
    for _ in range(ARGS.reps):
        t, out = run_timed([ARGS.dln, "hsv", str(work), "--json"])
        keep("dln hsv", t)
        hsv_dln = np.array(json.loads(out)["hsv"])

        af, bf, cf = (np.asfortranarray(x) for x in (a, b, c))
        t0 = time.perf_counter()
        nr, _, _, _, hsv_ab = ab09ad("C", "B", "N", n, 2, 2, af, bf, cf, nr=r)
        keep("AB09AD", time.perf_counter() - t0)

        shutil.rmtree(out_dir, ignore_errors=True)
        t, out = run_timed([ARGS.dln, "reduce", str(work), "--order", str(r), "--out",
                            str(out_dir), "--json", "--hinf", ARGS.hinf])
        keep("dln reduce", t)
        red = json.loads(out)

        if stages_exe:
            env = dict(os.environ, DLN_TIMING_SYS=str(work), DLN_TIMING_REPS="1",
                       DLN_TIMING_ORDER=str(r), DLN_TIMING_HINF=ARGS.hinf)
            _, out = run_timed([stages_exe, "--ignored", "--nocapture", "--exact",
                                "stages_from_npy"], env)
            line = next(x for x in out.splitlines() if x.startswith("timing_stages "))
            st = json.loads(line[len("timing_stages "):])
            for k, v in st.items():
                if isinstance(v, float) and k != "hinf_error_value":
                    stages[k] = min(stages.get(k, float("inf")), v)
            if "hamiltonian_eigenproblems" in st:
                extra["hamiltonian_eigenproblems"] = st["hamiltonian_eigenproblems"]
    load1 = os.getloadavg()

    s1 = hsv_ab[0]
    big = hsv_ab >= 1e-8 * s1
    extra["hsv max |dln - AB09AD| / sigma1 (sigma >= 1e-8 sigma1)"] = float(
        np.max(np.abs(hsv_dln[: big.sum()] - hsv_ab[big])) / s1)
    extra["AB09AD order"] = int(nr)
    extra["dln reduce"] = {k: red.get(k) for k in ("order", "hinf_error", "hinf_frequency",
                                                   "error_bound")}

    print(f"n = {n}, m = p = 2, order {r}, seed {ARGS.seed}, threads {ARGS.threads}, "
          f"min of {ARGS.reps} interleaved rounds")
    print(f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    for k, v in best.items():
        print(f"  {k:<12} {v:8.3f} s")
    print(f"  ratio dln hsv / AB09AD    = {best['dln hsv'] / best['AB09AD']:.2f} (target <= 0.7)")
    print(f"  ratio dln reduce / AB09AD = {best['dln reduce'] / best['AB09AD']:.2f} "
          f"(target <= 1.0; --hinf {ARGS.hinf})")
    if stages:
        print("  stages (timing_stages, same rounds):")
        for k, v in stages.items():
            if k in ("n", "order", "reps"):
                continue
            ratio = f"  ({v / stages['schur']:.2f} x schur)" if k != "schur" else ""
            print(f"    {k:<22} {v:8.3f} s{ratio}")
        print(f"  ratio our real Schur / faer eigen() = {stages['schur'] / stages['faer_eigen']:.2f}"
              " (target <= 1.0)")
    for k, v in extra.items():
        print(f"  {k}: {v}")
    shutil.rmtree(out_dir, ignore_errors=True)
    if not ARGS.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
