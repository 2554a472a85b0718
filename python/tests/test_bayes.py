"""Tests of the Bayesian part of the Python package `dln` (crate dln-bayes) against numpy closed
forms: prior moments, the noisy moment law, the entropy of the balanced orbit (claims 31, 32)
against a numerical determinant of the orbit map's metric, and equality with the `dln` program
(`DLN_BIN`, skipped when unset).

Statistical tests use fixed seeds and a tolerance of 5 standard errors of the estimator.
"""

from __future__ import annotations

import _thread
import json
import math
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import dln

EPS = np.finfo(float).eps
DTYPES = [np.float64, np.complex128]
WIDTHS = [[3, 3, 3], [4, 6, 5, 3], [2, 5, 3]]


def c_f(complex_):
    return 2 if complex_ else 1


def dimension(widths, complex_):
    return c_f(complex_) * sum(widths[k] * widths[k - 1] for k in range(1, len(widths)))


def moments_stacked(ws):
    """G_k = W_k W_k^* - W_{k+1}^* W_{k+1} for every sample of stacked layers (S x d_k x d_{k-1})."""
    out = []
    for k in range(len(ws) - 1):
        a, b = ws[k], ws[k + 1]
        out.append(a @ a.conj().transpose(0, 2, 1) - b.conj().transpose(0, 2, 1) @ b)
    return out


def random_net(widths, dtype=np.float64, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    ws = []
    for k in range(1, len(widths)):
        w = rng.standard_normal((widths[k], widths[k - 1]))
        if dtype == np.complex128:
            w = w + 1j * rng.standard_normal((widths[k], widths[k - 1]))
        ws.append(scale * w / np.sqrt(widths[k - 1]))
    return ws


# --------------------------------------------------------------------------------------------
# prior


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("widths", WIDTHS)
def test_prior_moments_within_five_standard_errors(complex_, widths):
    beta, kappa, s = 2.0, 0.75, 4000
    ws, info = dln.sample_prior(widths, beta, kappa, s, complex=complex_, seed=3)
    dtype = np.complex128 if complex_ else np.float64
    assert [w.shape for w in ws] == [(s, widths[k], widths[k - 1]) for k in range(1, len(widths))]
    assert all(w.dtype == dtype for w in ws) and all(w.flags.c_contiguous for w in ws)
    d = dimension(widths, complex_)
    var = 1.0 / (beta * kappa)
    assert info["dimension"] == d
    assert info["dtype"] == np.dtype(dtype).name and info["widths"] == widths and info["samples"] == s
    # E|W|^2 = D/(beta kappa), Var = 2 D/(beta kappa)^2
    l2 = sum(np.sum(np.abs(w) ** 2, axis=(1, 2)) for w in ws)
    assert abs(info["mean_l2_norm_sq"] - l2.mean()) <= 1e-12 * l2.mean()
    assert abs(info["expected_l2_norm_sq"] - d * var) <= 1e-14 * d * var
    se = math.sqrt(2 * d / s) * var
    assert abs(info["standard_error"] - se) <= 1e-14 * se
    assert abs(l2.mean() - d * var) <= 5 * se
    # every real coordinate N(0, var): the per-coordinate sample variance within 5 SE (4th moment 3 var^2)
    coords = np.concatenate([np.concatenate([w.real.ravel(), w.imag.ravel()] if complex_ else [w.ravel()]) for w in ws])
    assert abs(coords.mean()) <= 5 * math.sqrt(var / coords.size)
    assert abs(np.mean(coords**2) - var) <= 5 * math.sqrt(2 * var**2 / coords.size)
    # E[G_k] = c_F (d_{k-1} - d_{k+1}) var I: the sample mean of tr(G_k)/d_k within 5 SE
    for k, g in enumerate(moments_stacked(ws), start=1):
        m_k = c_f(complex_) * (widths[k - 1] - widths[k + 1]) * var
        assert abs(info["expected_moments"][k - 1] - m_k) <= 1e-14 * (abs(m_k) + var)
        tr = np.trace(g, axis1=1, axis2=2).real / widths[k]
        assert abs(tr.mean() - m_k) <= 5 * tr.std(ddof=1) / math.sqrt(s)
        # off-diagonal entries have mean zero
        off = g - np.einsum("sii->si", g)[:, :, None] * np.eye(widths[k])
        assert np.all(np.abs(off.mean(axis=0)) <= 5 * off.std(axis=0, ddof=1) / math.sqrt(s) + 1e-300)


def test_prior_is_seeded():
    a, _ = dln.sample_prior([3, 4, 2], 1.0, 1.0, 5, seed=11)
    b, _ = dln.sample_prior([3, 4, 2], 1.0, 1.0, 5, seed=11)
    c, _ = dln.sample_prior([3, 4, 2], 1.0, 1.0, 5, seed=12)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0])
    # the first samples do not depend on how many are drawn
    d, _ = dln.sample_prior([3, 4, 2], 1.0, 1.0, 3, seed=11)
    for x, y in zip(a, d):
        np.testing.assert_array_equal(x[:3], y)


# --------------------------------------------------------------------------------------------
# noisy training


def lsq_data(d0, dn, n, dtype, seed):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((d0, n))
    y = rng.standard_normal((dn, n))
    if dtype == np.complex128:
        u = u + 1j * rng.standard_normal((d0, n))
        y = y + 1j * rng.standard_normal((dn, n))
    return u, y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("widths", [[3, 3, 3], [2, 4, 3]])
def test_noisy_training_moment_law(dtype, widths):
    # E[G_k(T)] = e^{-2 kappa T} G_k(0) + c_F (d_{k-1} - d_{k+1}) (1 - e^{-2 kappa T})/(beta kappa) I,
    # for every loss; tolerance: the splitting's discretisation allowance + 5 standard errors.
    beta, kappa, t_end, dt, paths = 4.0, 0.5, 1.0, 0.01, 400
    u, y = lsq_data(widths[0], widths[-1], 6, dtype, seed=5)
    w0 = random_net(widths, dtype, seed=6)
    ws, info = dln.sample_train(u, y, w0, beta, kappa, t_end, dt, paths, seed=7)
    assert [w.shape for w in ws] == [(paths, widths[k], widths[k - 1]) for k in range(1, len(widths))]
    assert all(w.dtype == np.dtype(dtype) for w in ws)
    assert info["steps"] == 100 and abs(info["h"] - 0.01) <= 1e-15
    assert len(info["t"]) == 11 and abs(info["t"][-1] - t_end) <= 1e-12
    g0 = moments_stacked([w[None] for w in w0])
    decay = math.exp(-2 * kappa * t_end)
    worst = 0.0
    for k, g in enumerate(moments_stacked(ws), start=1):
        law = decay * g0[k - 1][0] + c_f(dtype == np.complex128) * (widths[k - 1] - widths[k + 1]) * (
            1 - decay
        ) / (beta * kappa) * np.eye(widths[k])
        dev = np.abs(g.mean(axis=0) - law)
        se = g.std(axis=0, ddof=1) / math.sqrt(paths)
        assert np.all(dev <= info["discretisation_allowance"] + 5 * se), (k, dev, se)
        worst = max(worst, np.linalg.norm(g.mean(axis=0) - law))
    assert abs(info["moment_law_deviation"] - worst) <= 1e-10 * (1 + worst)
    # the loss decreases on average from a random start
    assert info["mean_loss"][-1] < info["mean_loss"][0]


def test_noisy_training_is_seeded_and_mixed_dtypes_promote():
    u, y = lsq_data(3, 2, 5, np.float64, seed=8)
    w0 = random_net([3, 4, 2], seed=9)
    a, _ = dln.sample_train(u, y, w0, 2.0, 1.0, 0.2, 0.05, 3, seed=1)
    b, _ = dln.sample_train(np.asfortranarray(u), y[:, ::1], [np.asfortranarray(w) for w in w0], 2.0, 1.0, 0.2, 0.05, 3, seed=1)
    for x, z in zip(a, b):
        np.testing.assert_array_equal(x, z)
    c, info = dln.sample_train(u, y, [w0[0].astype(np.complex128), w0[1]], 2.0, 1.0, 0.2, 0.05, 3, seed=1)
    assert info["dtype"] == "complex128" and all(w.dtype == np.complex128 for w in c)


def test_ctrl_c_interrupts_noisy_training():
    # A run of 10^9 steps, recorded at every step: SIGINT from another thread must stop it.
    u, y = lsq_data(2, 2, 3, np.float64, seed=1)
    w0 = random_net([2, 2, 2], seed=2)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            dln.sample_train(u, y, w0, 1.0, 1.0, 1e6, 1e-3, 1, records=10**9)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 30.0


def test_ctrl_c_interrupts_noisy_training_between_records():
    # Two recordings only (t = 0 and t_end = 10^6, 10^9 steps): Ctrl-C must still stop the run
    # within a fraction of a second (the observer runs between batches of ~0.05 s of steps).
    u, y = lsq_data(2, 2, 3, np.float64, seed=1)
    w0 = random_net([2, 2, 2], seed=2)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            dln.sample_train(u, y, w0, 1.0, 1.0, 1e6, 1e-3, 1, records=2)
    finally:
        timer.cancel()
    # 0.3 s + a few batches; generous for a loaded machine (without batching: hours)
    assert time.monotonic() - start < 10.0


def test_noisy_training_releases_the_gil():
    u, y = lsq_data(8, 8, 20, np.float64, seed=1)
    w0 = random_net([8, 8, 8, 8], seed=2)
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    t = threading.Thread(target=tick)
    start = time.monotonic()
    t.start()
    try:
        # 200 000 steps of 4 paths: about a second in a release build (20 000 took 0.1 s once the
        # noise got faster, and the test skipped)
        dln.sample_train(u, y, w0, 1.0, 1.0, 200.0, 1e-3, 4)
    finally:
        done.set()
        t.join()
    took = time.monotonic() - start
    if took < 0.2:
        pytest.skip(f"the call took only {took:.3f} s: too short to tell")
    # the other thread kept running during the call
    assert len(ticks) >= 0.25 * took / 0.005 * 0.2


# --------------------------------------------------------------------------------------------
# posterior on a fiber


def fiber_quadrature(beta_kappa, x_abs, measure):
    """E|W|^2 of the posterior on the real fiber w2 w1 = x (d = 1, N = 2) by quadrature in t = |w1|:
    |W|^2 = q = t^2 + x^2/t^2, g = exp(-beta kappa q / 2); the density in t is g sqrt(1 + x^2/t^4)
    (Hausdorff: arc length of the hyperbola) or g / t (conditional: the prior density at
    (w1, x/w1) times |dw2/dx| = 1/t). Trapezoid rule in log t."""
    u = np.linspace(-12.0, 12.0, 40001)
    t = np.exp(u)
    q = t**2 + x_abs**2 / t**2
    g = np.exp(-0.5 * beta_kappa * q)
    dens = g * np.sqrt(1 + x_abs**2 / t**4) if measure == "hausdorff" else g / t
    w = dens * t  # dt = t du
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    return trapezoid(w * q, u) / trapezoid(w, u)


@pytest.mark.parametrize("measure", ["hausdorff", "conditional"])
def test_fiber_posterior_against_quadrature(measure):
    # d = 1, N = 2, w2 w1 = x: E|W|^2 of the chain within 5 batch-means standard errors of the
    # 1-D quadrature; every sample on the fiber; both branches visited (sign flips).
    x, beta, kappa = -0.7, 2.0, 0.5
    w0 = [np.array([[1.5]]), np.array([[x / 1.5]])]
    (w1, w2), info = dln.sample_fiber(w0, beta, kappa, 6000, measure=measure, seed=3)
    assert w1.shape == (6000, 1, 1) and w2.shape == (6000, 1, 1)
    want = fiber_quadrature(beta * kappa, abs(x), measure)
    assert abs(info["mean_l2_norm_sq"] - want) <= 5 * info["standard_error"], (info, want)
    assert np.max(np.abs(w2 * w1 - x)) <= 1e-10 * abs(x)
    assert info["max_constraint_residual"] <= 1e-10
    assert 0 < np.count_nonzero(w1 > 0) < 6000
    assert info["measure"] == measure and info["fiber_dimension"] == 1 and info["steps"] == 6000


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("widths", [[3, 3, 3], [2, 4, 3]])
def test_fiber_samples_stay_on_the_fiber(dtype, widths):
    ws = random_net(widths, dtype, seed=21)
    x = ws[1] @ ws[0]
    out, info = dln.sample_fiber(ws, 1.0, 1.0, 40, burn_in=50, thin=2, seed=5)
    assert [w.shape for w in out] == [(40, widths[k], widths[k - 1]) for k in range(1, len(widths))]
    assert all(w.dtype == np.dtype(dtype) for w in out)
    res = np.linalg.norm(out[1] @ out[0] - x, axis=(1, 2)) / np.linalg.norm(x)
    assert res.max() <= 1e-10 and abs(info["max_constraint_residual"] - res.max()) <= 1e-12
    # real dimension of the fiber: D - c_F d_N d_0
    c = c_f(dtype == np.complex128)
    assert info["fiber_dimension"] == dimension(widths, dtype == np.complex128) - c * widths[-1] * widths[0]
    assert info["dtype"] == np.dtype(dtype).name and info["widths"] == widths
    assert 0.0 < info["acceptance_rate"] <= 1.0


def test_fiber_posterior_concentrates_on_balanced_points():
    # as beta grows the mean moment norm |G| = |w1^2 - w2^2| falls (balanced points: G = 0)
    w0 = [np.array([[2.0]]), np.array([[0.5]])]
    g = []
    for beta in (1.0, 16.0, 256.0):
        (w1, w2), info = dln.sample_fiber(w0, beta, 1.0, 1000, thin=2, seed=1)
        g.append(info["mean_moment_norm"])
        assert abs(np.mean(np.abs(w1**2 - w2**2)) - info["mean_moment_norm"]) <= 1e-12 * (1 + g[-1])
    assert g[0] > 2 * g[1] > 4 * g[2], g


def test_fiber_posterior_is_seeded_and_layout_free():
    ws = random_net([3, 3, 3], seed=22)
    a, ia = dln.sample_fiber(ws, 2.0, 1.0, 20, burn_in=30, seed=8)
    b, ib = dln.sample_fiber([np.asfortranarray(ws[0]), np.repeat(ws[1], 2, axis=1)[:, ::2]], 2.0, 1.0, 20, burn_in=30, seed=8)
    for x, z in zip(a, b):
        np.testing.assert_array_equal(x, z)
    assert ia == ib
    c, _ = dln.sample_fiber(ws, 2.0, 1.0, 20, burn_in=30, seed=9)
    assert not np.array_equal(a[0], c[0])


def test_ctrl_c_interrupts_fiber_sampling():
    w0 = [np.array([[2.0]]), np.array([[0.5]])]
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # 10^7 steps (tens of seconds): the chain must stop long before
            dln.sample_fiber(w0, 1.0, 1.0, 200_000, thin=50)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 10.0


# --------------------------------------------------------------------------------------------
# entropy


def log_sphere(k):
    return math.log(2.0) + 0.5 * (k + 1) * math.log(math.pi) - math.lgamma(0.5 * (k + 1))


def log_group_volume(d, complex_):
    if complex_:
        return 0.5 * d * (d - 1) * math.log(2.0) + sum(log_sphere(2 * k - 1) for k in range(1, d + 1))
    return math.log(2.0) + 0.25 * d * (d - 1) * math.log(2.0) + sum(log_sphere(k) for k in range(1, d))


def orbit_density_sq(sig, n, complex_):
    """det of the Frobenius metric pulled back by the orbit map Q -> Q.C at the centre
    C = (L, ..., L), L = diag(sig^(1/N)), relative to Re Tr(a^* b) on k^{N-1}: the tangent vector of
    a = (a_1..a_{N-1}) is dW_k = a_k L - L a_{k-1} (a_0 = a_N = 0). Numerical, no closed form."""
    d = len(sig)
    dt = complex if complex_ else float
    lam = np.diag(sig ** (1.0 / n)).astype(dt)
    basis = []
    for k in range(1, n):
        for i in range(d):
            for j in range(i + 1, d):
                e = np.zeros((d, d), dtype=dt)
                e[i, j], e[j, i] = 1, -1
                basis.append((k, e))
                if complex_:
                    e = np.zeros((d, d), dtype=dt)
                    e[i, j], e[j, i] = 1j, 1j
                    basis.append((k, e))
            if complex_:
                e = np.zeros((d, d), dtype=dt)
                e[i, i] = 1j
                basis.append((k, e))

    def tangent(k, e):
        out = []
        for m in range(1, n + 1):
            t = np.zeros((d, d), dtype=dt)
            if m == k:
                t = t + e @ lam
            if m == k + 1:
                t = t - lam @ e
            out.append(t)
        return out

    tv = [tangent(k, e) for (k, e) in basis]
    gw = np.array([[sum(np.real(np.vdot(a, b)) for a, b in zip(u, v)) for v in tv] for u in tv])
    ga = np.array([[np.real(np.vdot(e1, e2)) if k1 == k2 else 0.0 for (k2, e2) in basis] for (k1, e1) in basis])
    return np.linalg.det(gw) / np.linalg.det(ga)


def entropy_closed_form(sig, n, complex_):
    lam = sig ** (1.0 / n)
    log_d = 0.0
    for i in range(len(sig)):
        for j in range(i + 1, len(sig)):
            log_d += c_f(complex_) * math.log((sig[i] ** 2 - sig[j] ** 2) / (lam[i] ** 2 - lam[j] ** 2))
        if complex_:
            log_d += math.log(n) + 2 * (n - 1) * math.log(lam[i])
    return (n - 1) * log_group_volume(len(sig), complex_) + 0.5 * log_d, log_d


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("n,d", [(2, 2), (3, 3), (4, 2), (2, 4)])
def test_entropy_against_numerical_orbit_metric(complex_, n, d):
    rng = np.random.default_rng(10 * n + d)
    sig = np.sort(rng.uniform(0.3, 3.0, d))[::-1]
    dtype = np.complex128 if complex_ else np.float64
    # a general X with these singular values: U diag(sig) V^*
    z = rng.standard_normal((2, d, d)) + (1j * rng.standard_normal((2, d, d)) if complex_ else 0)
    u, v = np.linalg.qr(z[0])[0], np.linalg.qr(z[1])[0]
    x = (u * sig) @ v.conj().T
    r = dln.entropy(x.astype(dtype), depth=n)
    s_ref, log_d = entropy_closed_form(sig, n, complex_)
    assert r["field"] == ("complex" if complex_ else "real") and r["depth"] == n and r["d"] == d
    assert abs(r["log_group_volume"] - log_group_volume(d, complex_)) <= 1e-13 * (1 + abs(r["log_group_volume"]))
    assert abs(r["log_density_sq"] - log_d) <= 1e-11 * (1 + abs(log_d))
    assert abs(r["entropy"] - s_ref) <= 1e-11 * (1 + abs(s_ref))
    assert abs(r["log_density_sq"] - math.log(orbit_density_sq(sig, n, complex_))) <= 1e-9 * (1 + abs(log_d))
    assert "vol(O_d)" in r["normalization"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_entropy_of_weights_is_entropy_of_product(dtype):
    ws = random_net([3, 3, 3, 3], dtype, seed=4)
    x = ws[2] @ ws[1] @ ws[0]
    a = dln.entropy(ws=ws)
    b = dln.entropy(x, depth=3)
    assert a["depth"] == 3
    assert abs(a["entropy"] - b["entropy"]) <= 1e-12 * (1 + abs(b["entropy"]))


def test_entropy_nearly_equal_singular_values_keep_their_digits():
    # K_ij -> N sigma^(2(N-1)/N) as sigma_j -> sigma_i: no cancellation in the library's form
    n = 3
    for gap in (1e-4, 1e-8, 1e-11):
        sig = np.array([1.0 + gap, 1.0])
        r = dln.entropy(np.diag(sig), depth=n)
        lam = sig ** (1.0 / n)
        # the geometric sum sum_p lam_i^{2(N-p)} lam_j^{2(p-1)}, exact without subtraction
        k = sum(lam[0] ** (2 * (n - p)) * lam[1] ** (2 * (p - 1)) for p in range(1, n + 1))
        assert abs(r["log_density_sq"] - math.log(k)) <= 1e-14


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: dln.sample_prior([3], 1.0, 1.0, 5), "widths"),
        (lambda: dln.sample_prior([3, 0, 2], 1.0, 1.0, 5), "widths"),
        (lambda: dln.sample_prior([3, 2], 0.0, 1.0, 5), "beta"),
        (lambda: dln.sample_prior([3, 2], 1.0, -1.0, 5), "kappa"),
        (lambda: dln.sample_prior([3, 2], float("nan"), 1.0, 5), "beta"),
        (lambda: dln.sample_prior([3, 2], 1.0, 1.0, 0), "samples"),
        (lambda: dln.sample_prior([3, 2], 1.0, 1.0, -1), "samples"),
        (lambda: dln.sample_train(np.ones((2, 3)), np.ones((2, 3)), [np.eye(2)], 0.0, 1.0, 1.0, 0.1, 2), "beta"),
        (lambda: dln.sample_train(np.ones((2, 3)), np.ones((2, 3)), [np.eye(2)], 1.0, 1.0, 1.0, 0.0, 2), "dt"),
        (lambda: dln.sample_train(np.ones((2, 3)), np.ones((2, 3)), [np.eye(2)], 1.0, 1.0, 1.0, 0.1, 0), "paths"),
        (lambda: dln.sample_train(np.ones((2, 3)), np.ones((2, 3)), [np.eye(2)], 1.0, 1.0, 1.0, 0.1, 2, records=1), "records"),
        (lambda: dln.sample_train(np.ones((3, 3)), np.ones((2, 3)), [np.eye(2)], 1.0, 1.0, 1.0, 0.1, 2), "inputs"),
        (lambda: dln.sample_train(np.ones((2, 3)), np.ones((3, 3)), [np.eye(2)], 1.0, 1.0, 1.0, 0.1, 2), "targets"),
        (lambda: dln.sample_train(np.ones((2, 3)), np.ones((2, 4)), [np.eye(2)], 1.0, 1.0, 1.0, 0.1, 2), "columns"),
        (lambda: dln.sample_train(np.ones((2, 3)), np.ones((2, 3)), [np.full((2, 2), np.nan)], 1.0, 1.0, 1.0, 0.1, 2), "init"),
        (lambda: dln.sample_train(np.ones((2, 3)), np.ones((2, 3)), [np.ones((2, 2)), np.ones((3, 3))], 1.0, 1.0, 1.0, 0.1, 2), "init"),
        (lambda: dln.sample_fiber([np.eye(2), np.eye(2)], 0.0, 1.0, 5), "beta"),
        (lambda: dln.sample_fiber([np.eye(2), np.eye(2)], 1.0, -1.0, 5), "kappa"),
        (lambda: dln.sample_fiber([np.eye(2), np.eye(2)], 1.0, 1.0, 0), "samples"),
        (lambda: dln.sample_fiber([np.eye(2), np.eye(2)], 1.0, 1.0, 5, thin=0), "thin"),
        (lambda: dln.sample_fiber([np.eye(2), np.eye(2)], 1.0, 1.0, 5, burn_in=-1), "burn_in"),
        (lambda: dln.sample_fiber([np.eye(2), np.eye(2)], 1.0, 1.0, 5, measure="lebesgue"), "measure"),
        (lambda: dln.sample_fiber([np.eye(2), np.eye(2)], 1.0, 1.0, 5, sampler="gibbs"), "sampler"),
        (lambda: dln.sample_fiber([np.eye(2), np.zeros((2, 2))], 1.0, 1.0, 5), "zero"),
        (lambda: dln.sample_fiber([np.eye(2), np.full((2, 2), np.nan)], 1.0, 1.0, 5), "W2|ws"),
        (lambda: dln.sample_fiber([np.ones((2, 2)), np.ones((3, 3))], 1.0, 1.0, 5), "W2|ws"),
        (lambda: dln.entropy(np.eye(3), depth=2), "coincide"),
        (lambda: dln.entropy(np.diag([2.0, 0.0]), depth=2), "rank deficient"),
        (lambda: dln.entropy(np.ones((2, 3)), depth=2), "square"),
        (lambda: dln.entropy(np.diag([2.0, 1.0])), "depth"),
        (lambda: dln.entropy(np.diag([2.0, 1.0]), depth=0), "depth"),
        (lambda: dln.entropy(np.array([[np.inf, 0.0], [0.0, 1.0]]), depth=2), "X"),
        (lambda: dln.entropy(ws=[np.diag([2.0, 1.0])], depth=1), "depth"),
        (lambda: dln.entropy(), "give either"),
        (lambda: dln.entropy(np.diag([2.0, 1.0]), depth=2, ws=[np.eye(2)]), "give either"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: dln.sample_prior([100, 100], 1.0, 1.0, 10**6),
        lambda: dln.sample_prior([2, 2], 1.0, 1.0, 10**15, complex=True),
        lambda: dln.sample_fiber([np.eye(2), np.eye(2)], 1.0, 1.0, 10**5, thin=10**4),
        lambda: dln.sample_train(np.ones((2, 3)), np.ones((2, 3)), [np.eye(2)], 1.0, 1.0, 1.0, 0.1, 10**9),
    ],
)
def test_absurd_sample_counts_raise_memory_error_before_allocating(monkeypatch, call):
    # 64 MiB limit: each call would need far more. Without the check, the allocation fails and
    # Rust aborts the interpreter.
    monkeypatch.setenv("DLN_MEMORY_LIMIT", "64M")
    with pytest.raises(MemoryError, match=r"needs about .* more than the limit of 64\.0 MiB"):
        call()
    # The same calls at a size that fits run (the check is not a blanket refusal).
    ws, _ = dln.sample_prior([100, 100], 1.0, 1.0, 10)
    assert ws[0].shape == (10, 100, 100)


def test_diverging_noisy_training_raises_runtime_error():
    # a huge learning step on a quartic loss landscape blows up: RuntimeError, no crash
    u, y = lsq_data(2, 2, 3, np.float64, seed=1)
    w0 = [10.0 * np.eye(2), 10.0 * np.eye(2)]
    with pytest.raises(RuntimeError, match="noisy training failed"):
        dln.sample_train(1e3 * u, y, w0, 1.0, 1.0, 10.0, 1.0, 2)


# --------------------------------------------------------------------------------------------
# same results as the program


def program():
    exe = os.environ.get("DLN_BIN")
    if not exe or not Path(exe).is_file():
        pytest.skip("set DLN_BIN to the dln program to compare with it (.ci/run does)")
    return exe


def run_program(*args):
    out = subprocess.run([program(), *map(str, args), "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("complex_", [False, True])
def test_sample_prior_equals_program(tmp_path, complex_):
    program()
    out = tmp_path / "prior.npz"
    flags = ["--complex"] if complex_ else []
    rep = run_program("sample", "prior", "--widths", "3,5,2", "--beta", "2", "--kappa", "0.5", "--samples", "7", "--seed", "9", *flags, "--out", out)
    ws, info = dln.sample_prior([3, 5, 2], 2.0, 0.5, 7, complex=complex_, seed=9)
    z = np.load(out)
    for k, w in enumerate(ws):
        np.testing.assert_array_equal(w, z[f"W{k + 1}"])
    for key, v in info.items():
        assert rep[key] == v, key


@pytest.mark.parametrize("dtype", DTYPES)
def test_sample_train_equals_program(tmp_path, dtype):
    program()
    u, y = lsq_data(3, 2, 6, dtype, seed=12)
    w0 = random_net([3, 4, 2], dtype, seed=13)
    data, init, out = tmp_path / "data.npz", tmp_path / "W0.npz", tmp_path / "out.npz"
    np.savez(data, inputs=u, targets=y)
    np.savez(init, W1=w0[0], W2=w0[1])
    rep = run_program(
        "sample", "train", data, "--init", init, "--beta", "3", "--kappa", "0.5", "--t-end", "0.5", "--dt", "0.02", "--paths", "5", "--seed", "4", "--out", out
    )
    # Fortran-ordered and strided inputs through Python
    ws, info = dln.sample_train(np.asfortranarray(u), y, [w0[0], np.asfortranarray(w0[1])], 3.0, 0.5, 0.5, 0.02, 5, seed=4)
    z = np.load(out)
    for k, w in enumerate(ws):
        np.testing.assert_array_equal(w, z[f"W{k + 1}"])
    for key, v in info.items():
        assert rep[key] == v, key


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("measure", ["hausdorff", "conditional"])
@pytest.mark.parametrize("sampler", [None, "hmc", "rwm"])
def test_sample_fiber_equals_program(tmp_path, dtype, measure, sampler):
    program()
    ws = random_net([2, 4, 3], dtype, seed=23)
    init, out = tmp_path / "W.npz", tmp_path / "out.npz"
    np.savez(init, W1=ws[0], W2=ws[1])
    rep = run_program(
        "sample", "fiber", init, "--beta", "2", "--kappa", "0.5", "--samples", "15", "--measure", measure,
        "--seed", "6", "--burn-in", "40", "--thin", "3", "--out", out,
        *([] if sampler is None else ["--sampler", sampler]),
    )
    # Fortran-ordered and strided inputs through Python
    mine, info = dln.sample_fiber(
        [np.asfortranarray(ws[0]), np.repeat(ws[1], 2, axis=0)[::2]], 2.0, 0.5, 15, measure=measure, seed=6, burn_in=40, thin=3,
        **({} if sampler is None else {"sampler": sampler}),
    )
    z = np.load(out)
    for k, w in enumerate(mine):
        np.testing.assert_array_equal(w, z[f"W{k + 1}"])
    assert set(info) == set(rep) - {"file", "out"}
    for key, v in info.items():
        assert rep[key] == v, key


@pytest.mark.parametrize("dtype", DTYPES)
def test_sample_fiber_chains_equals_program(tmp_path, dtype):
    program()
    ws = random_net([3, 3, 3], dtype, seed=31)
    init, out = tmp_path / "W.npz", tmp_path / "out.npz"
    np.savez(init, W1=ws[0], W2=ws[1])
    rep = run_program(
        "sample", "fiber", init, "--beta", "2", "--kappa", "0.5", "--samples", "15", "--measure", "conditional",
        "--seed", "6", "--burn-in", "40", "--chains", "2", "--out", out,
    )
    mine, info = dln.sample_fiber(ws, 2.0, 0.5, 15, measure="conditional", seed=6, burn_in=40, chains=2)
    z = np.load(out)
    for k, w in enumerate(mine):
        np.testing.assert_array_equal(w, z[f"W{k + 1}"])
    assert info["chains"] == 2 and mine[0].shape[0] == 15
    assert "rhat" in info and info["rhat"] > 0
    assert set(info) == set(rep) - {"file", "out"}
    for key, v in info.items():
        assert rep[key] == v, key
    # The first chain is the single chain of the same seed (8 of the 15 samples).
    one, _ = dln.sample_fiber(ws, 2.0, 0.5, 8, measure="conditional", seed=6, burn_in=40)
    for a, b in zip(one, mine):
        np.testing.assert_array_equal(a, b[:8])
    for bad in (0, 16):
        with pytest.raises(ValueError, match="chains"):
            dln.sample_fiber(ws, 2.0, 0.5, 15, measure="conditional", chains=bad)


@pytest.mark.parametrize("sampler", ["graph-hmc", "block-gibbs"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sample_fiber_graph_hmc_equals_program(tmp_path, dtype, sampler):
    program()
    ws = random_net([3, 3, 3], dtype, seed=29)
    init, out = tmp_path / "W.npz", tmp_path / "out.npz"
    np.savez(init, W1=ws[0], W2=ws[1])
    rep = run_program(
        "sample", "fiber", init, "--beta", "2", "--kappa", "0.5", "--samples", "15", "--measure", "conditional",
        "--seed", "6", "--burn-in", "40", "--thin", "3", "--sampler", sampler, "--out", out,
    )
    mine, info = dln.sample_fiber(ws, 2.0, 0.5, 15, measure="conditional", seed=6, burn_in=40, thin=3, sampler=sampler)
    z = np.load(out)
    for k, w in enumerate(mine):
        np.testing.assert_array_equal(w, z[f"W{k + 1}"])
    assert info["sampler"] == sampler
    assert set(info) == set(rep) - {"file", "out"}
    for key, v in info.items():
        assert rep[key] == v, key
    x = ws[1] @ ws[0]
    for s in range(15):
        assert np.linalg.norm(mine[1][s] @ mine[0][s] - x) <= 1e-12 * np.linalg.norm(x)
    # Rectangular layers and the Hausdorff measure are refused with one clear message.
    with pytest.raises(ValueError, match="square layers"):
        dln.sample_fiber(random_net([2, 3, 2], dtype, seed=1), 1.0, 1.0, 5, measure="conditional", sampler=sampler)
    with pytest.raises(ValueError, match="conditional measure only"):
        dln.sample_fiber(ws, 1.0, 1.0, 5, measure="hausdorff", sampler=sampler)


@pytest.mark.parametrize("dtype", DTYPES)
def test_entropy_equals_program(tmp_path, dtype):
    program()
    ws = random_net([3, 3, 3], dtype, seed=15)
    f = tmp_path / "W.npz"
    np.savez(f, W1=ws[0], W2=ws[1])
    rep = run_program("entropy", f)
    mine = dln.entropy(ws=ws)
    for key, v in mine.items():
        assert rep[key] == v, key
    x = tmp_path / "X.npy"
    np.save(x, ws[1] @ ws[0])
    rep = run_program("entropy", x, "--depth", "2")
    mine = dln.entropy(ws[1] @ ws[0], depth=2)
    for key, v in mine.items():
        assert rep[key] == v, key


# --------------------------------------------------------------------------------------------
# Bayesian balanced truncation


def random_stable(n, m, p, seed):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n, n))
    k = rng.standard_normal((n, n))
    a = -(g @ g.T) / n - 0.5 * np.eye(n) + 0.5 * (k - k.T)
    return a, rng.standard_normal((n, m)), rng.standard_normal((p, n))


def forstner_sq(a, b):
    import scipy.linalg

    lam = scipy.linalg.eigh(a, b, eigvals_only=True)
    return float(np.sum(np.log(lam) ** 2))


@pytest.mark.parametrize("n,m,p", [(4, 1, 1), (7, 2, 3), (10, 3, 2)])
def test_bayesian_bt_against_scipy(n, m, p):
    import scipy.linalg

    a, b, c = random_stable(n, m, p, seed=n)
    rng = np.random.default_rng(n + 1)
    g = rng.standard_normal((p, p))
    noise = g @ g.T + np.eye(p)
    P = scipy.linalg.solve_continuous_lyapunov(a, -b @ b.T)
    Q = scipy.linalg.solve_continuous_lyapunov(a.T, -c.T @ np.linalg.solve(noise, c))
    post = np.linalg.inv(np.linalg.inv(P) + Q)
    data = rng.standard_normal(n)
    r = n // 2
    out = dln.bayesian_bt(np.asfortranarray(a), b, c, noise=noise, order=r, data=data)
    cond = np.linalg.cond(P)
    tol = 1e3 * n * EPS * cond
    np.testing.assert_allclose(out["prior_covariance"], P, rtol=0, atol=tol * np.linalg.norm(P))
    np.testing.assert_allclose(out["fisher_information"], Q, rtol=0, atol=tol * np.linalg.norm(Q))
    np.testing.assert_allclose(out["posterior_covariance"], post, rtol=0, atol=tol * np.linalg.norm(post))
    np.testing.assert_allclose(out["posterior_mean"], post @ data, rtol=0, atol=tol * np.linalg.norm(post) * np.linalg.norm(data))
    # pencil (Q, P^-1): eigenvalues sigma^2
    lam = np.sort(scipy.linalg.eigh(Q, np.linalg.inv(P), eigvals_only=True))[::-1]
    s = out["hsv"]
    np.testing.assert_allclose(lam, s**2, rtol=0, atol=tol * s[0] ** 2)
    np.testing.assert_allclose(out["balanced_posterior_diagonal"], s / (1 + s**2), rtol=1e-14)
    # Förstner distance of the optimal update and of the BT posterior (continuous time: equal)
    want = np.sum(np.log1p(s[r:] ** 2) ** 2)
    assert abs(out["optimal_forstner_sq"][r] - want) <= 1e-13 * (1 + want)
    assert abs(forstner_sq(post, out["optimal_update"]) - want) <= tol * (1 + want)
    assert abs(forstner_sq(post, out["bt_posterior"]) - want) <= tol * (1 + want)
    assert abs(out["bt_forstner_sq"] - want) <= tol * (1 + want)
    # reduced model: balanced, its Fisher information is diag(sigma_1..sigma_r)
    np.testing.assert_allclose(out["reduced_fisher"], np.diag(s[:r]), rtol=0, atol=tol * s[0])
    assert [x.shape for x in out["reduced"]] == [(r, r), (r, m), (p, r)]


def test_bayesian_bt_discrete_time_and_errors():
    import scipy.linalg

    a, b, c = random_stable(5, 2, 2, seed=3)
    ad = np.eye(5) + 0.05 * a
    out = dln.bayesian_bt(ad, b, c, dt=0.05, order=2)
    P = scipy.linalg.solve_discrete_lyapunov(ad, b @ b.T)
    Q = scipy.linalg.solve_discrete_lyapunov(ad.T, c.T @ c)
    post = np.linalg.inv(np.linalg.inv(P) + Q)
    assert out["time"] == "discrete"
    np.testing.assert_allclose(out["posterior_covariance"], post, rtol=0, atol=1e-8 * np.linalg.norm(post))
    # discrete time: the BT posterior is a rank-r update but not the optimal one
    assert out["bt_forstner_sq"] >= out["optimal_forstner_sq"][2] * (1 - 1e-8)
    with pytest.raises(ValueError, match="A: "):
        dln.bayesian_bt(-a, b, c)
    with pytest.raises(ValueError, match="noise"):
        dln.bayesian_bt(a, b, c, noise=np.eye(3))
    with pytest.raises(ValueError, match="noise covariance: matrix is not positive definite"):
        dln.bayesian_bt(a, b, c, noise=np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="noise covariance: matrix has a non-finite"):
        dln.bayesian_bt(a, b, c, noise=np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="order"):
        dln.bayesian_bt(a, b, c, order=6)
    with pytest.raises(ValueError, match="b: "):
        dln.bayesian_bt(a, b, c, data=np.ones(4))


# --------------------------------------------------------------------------------------------
# small-noise limit and MAP estimate (no program command: checked against numpy formulas)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_sample_orbit_is_balanced_on_the_fiber_and_haar_centred(dtype):
    rng = np.random.default_rng(11)

    def g(*shape):
        a = rng.standard_normal(shape)
        return a + 1j * rng.standard_normal(shape) if dtype == np.complex128 else a

    ws = [g(4, 3), g(5, 4), g(2, 5)]  # rectangular, rank 2 (narrow end)
    x = ws[2] @ ws[1] @ ws[0]
    n = len(ws)
    bound = n * np.sum(np.linalg.svd(x, compute_uv=False) ** (2 / n))
    samples, info = dln.sample_orbit(ws, 400, seed=5)
    assert info["rank"] == 2 and info["dtype"] == np.dtype(dtype).name
    assert math.isclose(info["l2_norm_sq"], bound, rel_tol=1e-12)
    tol = 1e-12 * max(1.0, bound)
    for s in range(0, 400, 37):
        w = [a[s] for a in samples]
        assert np.linalg.norm(w[2] @ w[1] @ w[0] - x) <= 1e-13 * np.linalg.norm(x) * 10
        assert math.isclose(sum(np.linalg.norm(a) ** 2 for a in w), bound, rel_tol=1e-12)
        for k in range(n - 1):  # G_k = W_k W_k^* - W_{k+1}^* W_{k+1} = 0
            gk = w[k] @ w[k].conj().T - w[k + 1].conj().T @ w[k + 1]
            assert np.linalg.norm(gk) <= tol
    # Haar hidden frames: E[W1] = 0 (W1 = Q1 C1). Mean within 5 standard errors per entry.
    w1 = samples[0]
    mean, se = w1.mean(axis=0), w1.std(axis=0) / math.sqrt(w1.shape[0])
    assert np.all(np.abs(mean) <= 5 * se + 1e-12)
    # seeded
    again, _ = dln.sample_orbit(ws, 400, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(samples, again))


def test_map_estimate_matches_closed_forms_and_is_stationary_in_the_weights():
    rng = np.random.default_rng(12)
    d0, dn = 4, 3
    u = math.sqrt(d0) * np.eye(d0)  # E(X) = |X - Y'|^2 / 2 with Y' = Y / sqrt(n)
    y = rng.standard_normal((dn, d0))
    yp = y / math.sqrt(d0)
    kappa = 0.3
    # N = 1: ridge, X = Y' / (1 + kappa)
    x1, _, info1 = dln.map_estimate(u, y, [d0, dn], kappa)
    assert info1["converged"]
    np.testing.assert_allclose(x1, yp / (1 + kappa), atol=1e-10)
    # N = 2: nuclear norm, X = soft-thresholding of the singular values of Y' by kappa
    x2, w2, info2 = dln.map_estimate(u, y, [d0, 5, dn], kappa)
    uu, s, vh = np.linalg.svd(yp, full_matrices=False)
    np.testing.assert_allclose(x2, (uu * np.maximum(s - kappa, 0.0)) @ vh, atol=1e-10)
    # N = 3 (non-convex): the balanced weights at the estimate are a stationary point of
    # E(phi(W)) + kappa/2 |W|^2 (numpy gradient), and they multiply to X.
    x3, w3, info3 = dln.map_estimate(u, y, [d0, 5, 5, dn], kappa)
    assert info3["converged"]
    np.testing.assert_allclose(w3[2] @ w3[1] @ w3[0], x3, atol=1e-12)
    e = (x3 @ u - y) @ u.T / u.shape[1]  # E'(X)
    grads = [
        (w3[2] @ w3[1]).T @ e + kappa * w3[0],
        w3[2].T @ e @ w3[0].T + kappa * w3[1],
        e @ (w3[1] @ w3[0]).T + kappa * w3[2],
    ]
    assert max(np.linalg.norm(gk) for gk in grads) <= 1e-9
    for info in (info1, info2, info3):
        assert info["objective"] >= info["regulariser"] >= 0.0


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: dln.sample_orbit([np.eye(2), np.eye(2)], 0), "samples"),
        (lambda: dln.sample_orbit([np.eye(2), np.full((2, 2), np.nan)], 3), "W2|ws"),
        (lambda: dln.map_estimate(np.eye(2), np.eye(2), [2, 2], -1.0), "kappa"),
        (lambda: dln.map_estimate(np.eye(2), np.eye(2), [2], 1.0), "widths"),
        (lambda: dln.map_estimate(np.eye(2), np.eye(3), [2, 3], 1.0), "columns"),
        (lambda: dln.map_estimate(np.eye(2), np.eye(2), [2, 2], 1.0, x0=np.eye(3)), "x0|shape|d_N"),
    ],
)
def test_orbit_and_map_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
