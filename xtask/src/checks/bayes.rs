//! Checks of dln-bayes: the volume density of the balanced orbit (claims 31 real, 32 complex), the
//! stationary density of the OU process with erratum E6 (claim 34), the prior's closed-form
//! moments and the noisy moment law. Statistical checks use fixed seeds and tolerances of 5
//! standard errors of the estimator (plus, for noisy training, the discretisation allowance the
//! library reports); nothing is hand-tuned.

use super::*;
use dln_algebra::{BalancedOrbit, Network};
use dln_bayes::entropy::{entropy, log_group_volume, log_orbit_density_sq};
use dln_bayes::ou::expected_moments;
use dln_bayes::{DensityConvention, GaussianPrior, NoisyTraining, OrnsteinUhlenbeck};
use dln_bayes::map::{EffectiveRegulariser, MapOptions, map_estimate};
use dln_bayes::small_noise::{LaplaceExpansion, OrbitSampler};
use dln_flows::loss::{Frobenius, LeastSquares, Loss};
use dln_flows::training::network_gradient;
use dln_linalg::random::gaussian;
use dln_linalg::{Scalar, c64};
use faer::Mat;
use rand::Rng;

pub(super) fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "claim31-entropy-density-real",
            "MY-dln Thm 4, §8.31",
            "real X, distinct σ: the orbit map O_d^{N−1} → 𝒪_X pulls the Frobenius metric back to det ∏_{i<j}(σ_i²−σ_j²)/(σ_i^{2/N}−σ_j^{2/N}) relative to Tr(aᵀb); S = (N−1)log vol(O_d) + ½log det",
            orbit_density::<f64>,
        )
        .api(&[
            "dln_bayes::entropy::log_orbit_density_sq",
            "dln_bayes::entropy::entropy",
            "dln_bayes::entropy::log_group_volume",
        ]),
        Check::new(
            "claim32-entropy-density-complex",
            "§8.32 [derived]",
            "complex X, distinct σ: det = ∏_{i<j}K_ij² ∏_i Nλ_i^{2(N−1)}, K_ij = (σ_i²−σ_j²)/(λ_i²−λ_j²), λ = σ^{1/N}, relative to Re Tr(a*b) on 𝔲(d)^{N−1}",
            orbit_density::<c64>,
        )
        .api(&[
            "dln_bayes::entropy::log_orbit_density_sq",
            "dln_bayes::entropy::entropy",
            "dln_bayes::entropy::log_group_volume",
        ]),
        Check::new(
            "claim34-ou-stationary-density",
            "(4.2)–(4.3), erratum E6",
            "dW = −κW dt + √(2/β)dB has invariant density ∝ exp(−βκ‖W‖²/2) (printed: exp(−βκ‖W‖²), which fails)",
            |cx| {
                ou_zero_current::<f64>(cx, DensityConvention::Corrected)?;
                ou_zero_current::<c64>(cx, DensityConvention::Corrected)?;
                ou_stationary::<f64>(cx, DensityConvention::Corrected)?;
                ou_stationary::<c64>(cx, DensityConvention::Corrected)
            },
        )
        .api(&[
            "dln_bayes::GaussianPrior::log_density",
            "dln_bayes::GaussianPrior::sample",
            "dln_bayes::OrnsteinUhlenbeck::step",
            "dln_bayes::prior::DensityConvention",
        ]),
        Check::new(
            "bayes-prior-moments",
            "§6, (4.3) [derived]",
            "prior samples: E‖W‖² = D/(βκ), E[G_k] = c_F(d_{k−1}−d_{k+1})/(βκ)·I, E‖X‖_F² = (c_F/(βκ))^N ∏_k d_k, D = c_FΣd_kd_{k−1}",
            |cx| {
                prior_moments::<f64>(cx)?;
                prior_moments::<c64>(cx)
            },
        )
        .api(&[
            "dln_bayes::GaussianPrior::sample",
            "dln_bayes::GaussianPrior::mean_l2_norm_sq",
            "dln_bayes::GaussianPrior::mean_moments",
            "dln_bayes::GaussianPrior::mean_x_frob_sq",
        ]),
        Check::new(
            "bayes-noisy-moment-law",
            "(4.4) [derived]",
            "noisy training, any loss: E[G_k(t)] = e^{−2κt}G_k(0) + c_F(d_{k−1}−d_{k+1})(1−e^{−2κt})/(βκ)·I (square and rectangular)",
            |cx| {
                moment_law_formula::<f64>(cx)?;
                moment_law_formula::<c64>(cx)?;
                noisy_moment_law::<f64>(cx, true)?;
                noisy_moment_law::<c64>(cx, true)
            },
        )
        .api(&[
            "dln_bayes::NoisyTraining::run_paths",
            "dln_bayes::ou::expected_moments",
        ]),
        Check::new(
            "bayes-map-identity",
            "§4.1–4.3, Theorem 1 [derived]",
            "min over 𝓕_X of (κ/2)‖W‖² = R(X) = (κ/2)NΣσ_i^{2/N}; the MAP estimate of X (prox-gradient on E + R) lifts to balanced weights stationary for E∘φ + (κ/2)‖W‖²",
            |cx| {
                map_identity::<f64>(cx)?;
                map_identity::<c64>(cx)
            },
        )
        .api(&[
            "dln_bayes::map::map_estimate",
            "dln_bayes::map::EffectiveRegulariser::value",
            "dln_bayes::map::EffectiveRegulariser::gradient",
            "dln_bayes::map::EffectiveRegulariser::prox",
            "dln_flows::training::network_gradient",
        ]),
        Check::new(
            "bayes-small-noise-orbit",
            "§6 small-noise limit [derived]",
            "exact samples of the uniform law on 𝒪_X are balanced, in 𝓕_X, with ‖W‖² = NΣσ^{2/N} (any widths, rank r); Laplace codimension k = dim 𝓕_X − dim 𝒪_X = (N−1)d(d+1)/2 (ℝ), (N−1)d² (ℂ) against numerical ranks",
            |cx| {
                small_noise_orbit::<f64>(cx)?;
                small_noise_orbit::<c64>(cx)
            },
        )
        .api(&[
            "dln_bayes::small_noise::OrbitSampler::sample",
            "dln_bayes::small_noise::LaplaceExpansion::new",
        ]),
    ]
}

/// $c_F$, written here.
fn cf<T: Scalar>() -> f64 {
    if T::IS_COMPLEX { 2.0 } else { 1.0 }
}

/// $D = c_F\sum_kd_kd_{k-1}$, written here.
fn real_dim<T: Scalar>(widths: &[usize]) -> f64 {
    cf::<T>() * widths.windows(2).map(|p| (p[0] * p[1]) as f64).sum::<f64>()
}

/// Sample mean and its standard error (unbiased variance).
fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// $\sum|w|^2$ over the layers.
fn sum_sq<T: Scalar>(w: &[Mat<T>]) -> f64 {
    w.iter().map(|m| m.norm_l2().powi(2)).sum()
}

/// Square and rectangular widths of the prior checks.
fn prior_shapes(cx: &Ctx) -> Vec<Vec<usize>> {
    let mut v: Vec<Vec<usize>> = cx
        .square_shapes()
        .into_iter()
        .map(|(n, d)| square(n, d))
        .collect();
    v.extend(cx.general_widths());
    v
}

/// $\log\Gamma(m/2)$ for an integer $m\ge1$, by $\Gamma(x+1) = x\Gamma(x)$ from $\Gamma(1) = 1$,
/// $\Gamma(\tfrac12) = \sqrt\pi$.
fn ln_gamma_half_int(m: usize) -> f64 {
    let mut x = m as f64 / 2.0;
    let mut acc = 0.0;
    while x > 1.0 {
        x -= 1.0;
        acc += x.ln();
    }
    if m % 2 == 1 {
        acc + 0.5 * std::f64::consts::PI.ln()
    } else {
        acc
    }
}

/// $\log\operatorname{vol}(K)$ computed here, independently of the library: over $\mathbb C$
/// Macdonald's $\operatorname{vol}(U_d) = (2\pi)^{d(d+1)/2}/\prod_{k=1}^{d-1}k!$; over $\mathbb R$
/// $\operatorname{vol}(O_d) = 2^{d(d-1)/4}\prod_{m=1}^{d}|S^{m-1}|$, $|S^{m-1}| = 2\pi^{m/2}/\Gamma(m/2)$
/// (both for the metric $\operatorname{Re}\operatorname{Tr}(a^*b)$).
fn log_group_volume_here(d: usize, complex: bool) -> f64 {
    use std::f64::consts::{LN_2, PI};
    if complex {
        let fact: f64 = (1..d)
            .map(|k| (1..=k).map(|j| (j as f64).ln()).sum::<f64>())
            .sum();
        (d * (d + 1)) as f64 / 2.0 * (2.0 * PI).ln() - fact
    } else {
        (d * (d - 1)) as f64 / 4.0 * LN_2
            + (1..=d)
                .map(|m| LN_2 + m as f64 / 2.0 * PI.ln() - ln_gamma_half_int(m))
                .sum::<f64>()
    }
}

/// An orthonormal basis of $\mathfrak k = \mathfrak o(d)$ or $\mathfrak u(d)$ for
/// $\operatorname{Re}\operatorname{Tr}(a^*b)$: $(E_{ij}-E_{ji})/\sqrt2$, and over $\mathbb C$ also
/// $i(E_{ij}+E_{ji})/\sqrt2$ and $iE_{ii}$.
fn lie_basis<T: Scalar>(d: usize) -> Vec<Mat<T>> {
    let r = std::f64::consts::FRAC_1_SQRT_2;
    let mut out = Vec::new();
    for i in 0..d {
        for j in i + 1..d {
            let mut a = Mat::<T>::zeros(d, d);
            a[(i, j)] = T::from_f64(r);
            a[(j, i)] = T::from_f64(-r);
            out.push(a);
            if T::IS_COMPLEX {
                let mut b = Mat::<T>::zeros(d, d);
                b[(i, j)] = T::from_parts(0.0, r);
                b[(j, i)] = T::from_parts(0.0, r);
                out.push(b);
            }
        }
        if T::IS_COMPLEX {
            let mut c = Mat::<T>::zeros(d, d);
            c[(i, i)] = T::from_parts(0.0, 1.0);
            out.push(c);
        }
    }
    out
}

/// Claims 31/32: at a random point $\mathbf Q\cdot\mathbf C$ of the balanced orbit, the Gram
/// determinant of the orbit map's tangent vectors $\mathbf w_{\mathbf a}$ ($\mathbf a$ running over
/// an orthonormal basis of $\mathfrak k^{N-1}$; Gram by `infinitesimal_action`, log-det by a
/// symmetric eigensolver) against the library's closed form; and the entropy against
/// $(N-1)\log\operatorname{vol}(K) + \frac12\log\det$ with $\operatorname{vol}(K)$ computed here.
fn orbit_density<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for (n, d) in cx.square_shapes() {
        if !T::IS_COMPLEX && d == 1 {
            // o(1) = 0: the orbit is a point and the determinant is the empty product.
            continue;
        }
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let x: Mat<T> = gaussian(cx.rng(), d, d);
            let orbit = BalancedOrbit::new(x.as_ref(), &widths)?;
            let sigma = orbit.sigma();
            let q = random_frames::<T, _>(cx.rng(), &widths, d);
            let w = orbit.point(&q);
            let basis = lie_basis::<T>(d);
            let mut tangents = Vec::with_capacity((n - 1) * basis.len());
            for slot in 0..n - 1 {
                for e in &basis {
                    let mut a: Vec<Mat<T>> = (0..n - 1).map(|_| Mat::zeros(d, d)).collect();
                    a[slot] = e.clone();
                    tangents.push(w.infinitesimal_action(&a));
                }
            }
            let m = tangents.len();
            let gram = Mat::<f64>::from_fn(m, m, |i, j| tinner(&tangents[i], &tangents[j]));
            let ev = sym_eigenvalues(&gram)?;
            let (lmin, lmax) = (ev[0], ev[m - 1]);
            if lmin.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                return Err(CheckError::msg(format!(
                    "orbit Gram matrix not positive definite (λ_min = {lmin:e}) at σ = {sigma:?}"
                )));
            }
            let logdet: f64 = ev.iter().map(|l| l.ln()).sum();
            let lib = log_orbit_density_sq(&sigma, n, T::IS_COMPLEX)?;
            // Eigenvalue perturbation: |δλ_i| ≤ c·len·ε·λ_max with len the inner products' length.
            let len = (cf::<T>() as usize) * n * d * d + m;
            let tol_det = ev.iter().map(|l| tol(10.0, len, lmax / l)).sum::<f64>()
                + tol(10.0, m + d * d, 1.0) * (1.0 + lib.abs());
            cx.record(
                label::<T>(&widths, "log det of the orbit metric"),
                (logdet - lib).abs(),
                tol_det,
            );
            let s = entropy(x.as_ref(), n)?;
            let want =
                (n as f64 - 1.0) * log_group_volume_here(d, T::IS_COMPLEX) + 0.5 * logdet;
            cx.record(
                label::<T>(&widths, "entropy S = (N-1)log vol K + log det/2"),
                (s.entropy - want).abs() / (1.0 + want.abs()),
                tol_det + tol(10.0, d * d, 1.0),
            );
            let vk = log_group_volume(d, T::IS_COMPLEX);
            cx.record(
                label::<T>(&widths, "log vol(K)"),
                (vk - log_group_volume_here(d, T::IS_COMPLEX)).abs() / (1.0 + vk.abs()),
                tol(10.0, d * d, 1.0),
            );
        }
    }
    Ok(())
}

/// Claim 34, the density as a function: (4.2) has zero probability current
/// $\kappa\mathbf W\rho + \beta^{-1}\nabla\rho = 0$ under its stationary density, i.e.
/// $\nabla\log\rho = -\beta\kappa\mathbf W$. The derivative of the library's `log_density` along a
/// direction is a central difference, exact for a quadratic up to rounding.
pub(crate) fn ou_zero_current<T: Scalar>(cx: &mut Ctx, conv: DensityConvention) -> CheckResult {
    for widths in prior_shapes(cx) {
        for _ in 0..cx.reps() {
            let beta = cx.rng().random_range(0.5..4.0);
            let kappa = cx.rng().random_range(0.2..2.0);
            let prior = GaussianPrior::new(beta, kappa, &widths)?.with_convention(conv);
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let r = random_like(cx.rng(), &w);
            let wn = tnorm(w.layers());
            // A direction with a definite component along W (so ⟨W, V⟩ is not small).
            let v = tadd(w.layers(), &tscale(&r, 0.5 * wn / tnorm(&r)));
            let vn = tnorm(&v);
            let h = wn / vn;
            let lp = |s: f64| prior.log_density(&shifted(&w, &v, s));
            let dlog = (lp(h) - lp(-h)) / (2.0 * h);
            let want = -beta * kappa * tinner(w.layers(), &v);
            let scale = beta * kappa * wn * vn;
            let magnitude = lp(h).abs().max(lp(-h).abs()) + prior.precision() * (wn + h * vn).powi(2);
            let n = real_dim::<T>(&widths) as usize;
            cx.record(
                label::<T>(&widths, &format!("grad log rho = -beta kappa W, beta={beta:.2} kappa={kappa:.2}")),
                (dlog - want).abs() / scale,
                tol(10.0, n, 1.0) * magnitude / (h * scale),
            );
        }
    }
    Ok(())
}

/// Claim 34, the samples: for exact samples of the prior, (i) the generator
/// $\mathcal L = -\kappa\mathbf W\cdot\nabla + \beta^{-1}\Delta$ of (4.2) has mean zero on
/// $f = \|\mathbf W\|^2$ ($\mathcal Lf = -2\kappa r^2 + 2D/\beta$) and $f = \|\mathbf W\|^4$
/// ($\mathcal Lf = -4\kappa r^4 + (4D+8)r^2/\beta$); (ii) the exact OU transition over $t = 1/\kappa$
/// keeps $\mathbb E\|\mathbf W\|^2$ at the density's $D/p$; (iii) the normalisation:
/// $\mathbb E_\rho[q/\rho] = 1$ for the Gaussian $q$ of variance $0.9/p$ written here. Tolerance
/// 5 standard errors.
pub(crate) fn ou_stationary<T: Scalar>(cx: &mut Ctx, conv: DensityConvention) -> CheckResult {
    const M: usize = 1000;
    for widths in prior_shapes(cx) {
        for _ in 0..cx.reps() {
            let beta = cx.rng().random_range(0.5..4.0);
            let kappa = cx.rng().random_range(0.2..2.0);
            let prior = GaussianPrior::new(beta, kappa, &widths)?.with_convention(conv);
            let dim = real_dim::<T>(&widths);
            // The variance per coordinate the density claims (1/(βκ) corrected, 1/(2βκ) printed).
            let s = prior.variance();
            let c = 0.9;
            let mut r2 = Vec::with_capacity(M);
            let mut ratio = Vec::with_capacity(M);
            let mut paths = Vec::with_capacity(M);
            for _ in 0..M {
                let w: Network<T> = prior.sample(cx.rng());
                let r = w.l2_norm_sq();
                let log_q = -r / (2.0 * c * s)
                    - 0.5 * dim * (2.0 * std::f64::consts::PI * c * s).ln();
                ratio.push((log_q - prior.log_density(&w)).exp());
                r2.push(r);
                paths.push(w.layers().to_vec());
            }
            let lf1: Vec<f64> = r2.iter().map(|r| -2.0 * kappa * r + 2.0 * dim / beta).collect();
            let lf2: Vec<f64> = r2
                .iter()
                .map(|r| -4.0 * kappa * r * r + (4.0 * dim + 8.0) * r / beta)
                .collect();
            let note = format!("beta={beta:.2} kappa={kappa:.2}");
            let (m1, se1) = mean_se(&lf1);
            let sc1 = 2.0 * dim / beta;
            cx.record(
                label::<T>(&widths, &format!("E[L|W|^2] = 0, {note}")),
                m1.abs() / sc1,
                5.0 * se1 / sc1,
            );
            let (m2, se2) = mean_se(&lf2);
            let sc2 = (4.0 * dim + 8.0) * dim * s / beta;
            cx.record(
                label::<T>(&widths, &format!("E[L|W|^4] = 0, {note}")),
                m2.abs() / sc2,
                5.0 * se2 / sc2,
            );
            let ou = OrnsteinUhlenbeck::new(beta, kappa)?;
            let rt: Vec<f64> = paths
                .iter_mut()
                .map(|w| {
                    ou.step(w, 1.0 / kappa, cx.rng());
                    sum_sq(w)
                })
                .collect();
            let (mt, set) = mean_se(&rt);
            let sc = dim * s;
            cx.record(
                label::<T>(&widths, &format!("OU(1/kappa) keeps E|W|^2 = D/p, {note}")),
                (mt - sc).abs() / sc,
                5.0 * set / sc,
            );
            let (mq, seq) = mean_se(&ratio);
            cx.record(
                label::<T>(&widths, &format!("normalisation E[q/rho] = 1, {note}")),
                (mq - 1.0).abs(),
                5.0 * seq,
            );
        }
    }
    Ok(())
}

/// The prior's closed forms (library) against the formulas written here, and both against the
/// sample means of exact samples (5 standard errors; for $G_k$ the entry with the largest
/// deviation in standard errors is recorded).
fn prior_moments<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    const M: usize = 1000;
    for widths in prior_shapes(cx) {
        let n = widths.len() - 1;
        for _ in 0..cx.reps() {
            let beta = cx.rng().random_range(0.5..4.0);
            let kappa = cx.rng().random_range(0.2..2.0);
            let prior = GaussianPrior::new(beta, kappa, &widths)?;
            let s = 1.0 / (beta * kappa);
            let dim = real_dim::<T>(&widths);
            let note = format!("beta={beta:.2} kappa={kappa:.2}");
            let m: Vec<f64> = (1..n)
                .map(|k| cf::<T>() * (widths[k - 1] as f64 - widths[k + 1] as f64) * s)
                .collect();
            let ex2 = (cf::<T>() * s).powi(n as i32)
                * widths.iter().map(|&d| d as f64).product::<f64>();
            // Closed forms of the library against the ones written here.
            let lib_m = prior.mean_moments::<T>();
            let dm = lib_m
                .iter()
                .zip(&m)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            let closed = (prior.mean_l2_norm_sq::<T>() - dim * s).abs() / (dim * s)
                + dm / s
                + (prior.mean_x_frob_sq::<T>() - ex2).abs() / ex2;
            cx.record(
                label::<T>(&widths, &format!("closed forms, {note}")),
                closed,
                tol(10.0, n + 1, 1.0),
            );
            // Samples.
            let mut r2 = Vec::with_capacity(M);
            let mut x2 = Vec::with_capacity(M);
            let mut g_sum: Vec<Mat<T>> = (1..n).map(|k| Mat::zeros(widths[k], widths[k])).collect();
            let mut g_sq: Vec<Mat<f64>> = (1..n).map(|k| Mat::zeros(widths[k], widths[k])).collect();
            // The generator of `dln sample prior` (a NormalStream), seeded from the check's stream.
            let mut noise = dln_bayes::NormalStream::new(cx.rng().random::<u64>());
            for _ in 0..M {
                let w: Network<T> = prior.sample(&mut noise);
                r2.push(w.l2_norm_sq());
                x2.push(w.product().norm_l2().powi(2));
                for (k, g) in w.moments().iter().enumerate() {
                    g_sum[k] += g;
                    for j in 0..g.ncols() {
                        for i in 0..g.nrows() {
                            g_sq[k][(i, j)] += g[(i, j)].modulus_sq();
                        }
                    }
                }
            }
            let (mr, ser) = mean_se(&r2);
            cx.record(
                label::<T>(&widths, &format!("E|W|^2 = D/(beta kappa), {note}")),
                (mr - dim * s).abs() / (dim * s),
                5.0 * ser / (dim * s),
            );
            let (mx, sex) = mean_se(&x2);
            cx.record(
                label::<T>(&widths, &format!("E|X|^2 = (c_F s)^N prod d_k, {note}")),
                (mx - ex2).abs() / ex2,
                5.0 * sex / ex2,
            );
            let mf = M as f64;
            for k in 0..n - 1 {
                let dk = widths[k + 1];
                // (deviation, standard error) of the worst entry in standard errors.
                let mut worst = (0.0, 1.0);
                for j in 0..dk {
                    for i in 0..dk {
                        let mean = g_sum[k][(i, j)].scale(1.0 / mf);
                        let var = (g_sq[k][(i, j)] / mf - mean.modulus_sq()) * mf / (mf - 1.0);
                        let se = (var.max(0.0) / mf).sqrt();
                        let target = if i == j { m[k] } else { 0.0 };
                        let dev = (mean - T::from_f64(target)).modulus();
                        if dev / se > worst.0 / worst.1 {
                            worst = (dev, se);
                        }
                    }
                }
                cx.record(
                    label::<T>(&widths, &format!("E[G_{}] = c_F(d_k-1 - d_k+1) s I, {note}", k + 1)),
                    worst.0 / s,
                    5.0 * worst.1 / s,
                );
            }
        }
    }
    Ok(())
}

/// $\mathbb E[G_k(t)]$ of the moment law, written here; without the Itô term when `ito` is false.
fn moment_law_here<T: Scalar>(
    w0: &Network<T>,
    beta: f64,
    kappa: f64,
    t: f64,
    ito: bool,
) -> Vec<Mat<T>> {
    let widths = w0.widths();
    let decay = (-2.0 * kappa * t).exp();
    w0.moments()
        .iter()
        .enumerate()
        .map(|(idx, g)| {
            let k = idx + 1;
            let shift = if ito {
                cf::<T>() * (widths[k - 1] as f64 - widths[k + 1] as f64) * (1.0 - decay)
                    / (beta * kappa)
            } else {
                0.0
            };
            Mat::from_fn(g.nrows(), g.ncols(), |i, j| {
                let v = g[(i, j)].scale(decay);
                if i == j { v + T::from_f64(shift) } else { v }
            })
        })
        .collect()
}

/// The library's closed form `expected_moments` against the law written here, at several times.
fn moment_law_formula<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in prior_shapes(cx).into_iter().filter(|w| w.len() > 2) {
        for _ in 0..cx.reps() {
            let beta = cx.rng().random_range(0.5..8.0);
            let kappa = cx.rng().random_range(0.2..2.0);
            let w0: Network<T> = gaussian_network(cx.rng(), &widths);
            let s = 1.0 / (beta * kappa);
            let scale = tnorm(&w0.moments()) + s;
            for t in [0.0, 0.3, 2.0] {
                let lib = expected_moments(&w0, beta, kappa, t);
                let here = moment_law_here(&w0, beta, kappa, t, true);
                cx.record(
                    label::<T>(&widths, &format!("closed form at t={t}")),
                    tdist(&lib, &here) / scale,
                    tol(10.0, widths.len(), 1.0),
                );
            }
        }
    }
    Ok(())
}

/// The moment law against noisy training (Frobenius loss, 400 independent paths, the library's
/// Strang scheme): for every junction, the path mean of $G_k(t)$ and of $\operatorname{Tr}G_k(t)$
/// against the law written here, within the library's discretisation allowance plus 5 standard
/// errors (RMS over the entries for the matrix). With `ito = false` the law lacks its Itô term and
/// must fail on rectangular widths.
pub(crate) fn noisy_moment_law<T: Scalar>(cx: &mut Ctx, ito: bool) -> CheckResult {
    const PATHS: usize = 400;
    const STEPS: f64 = 40.0;
    let mut shapes = vec![square(2, 3), square(3, 2), vec![1, 3, 4], vec![4, 2, 5], vec![3, 5, 2, 4]];
    if cx.thorough() {
        shapes.extend([square(4, 3), vec![2, 3, 4, 3, 2], vec![6, 3, 7, 5]]);
    }
    for widths in shapes {
        let n = widths.len() - 1;
        for _ in 0..cx.reps() {
            let beta = cx.rng().random_range(2.0..8.0);
            let kappa = cx.rng().random_range(0.5..1.5);
            let layers: Vec<Mat<T>> = (1..=n)
                .map(|k| {
                    faer::Scale(T::from_f64(1.0 / (widths[k - 1] as f64).sqrt()))
                        * gaussian::<T, _>(cx.rng(), widths[k], widths[k - 1])
                })
                .collect();
            let w0 = Network::new(layers)?;
            let y: Mat<T> = gaussian(cx.rng(), widths[n], widths[0]);
            let t_end = 1.0 / kappa;
            let training = NoisyTraining::new(Frobenius::new(y), beta, kappa, t_end / STEPS)?;
            let seed: u64 = cx.rng().random();
            let run = training.run_paths(&w0, t_end, PATHS, 1, seed, &mut ())?;
            let t = run.steps as f64 * run.h;
            let law = moment_law_here(&w0, beta, kappa, t, ito);
            let s = 1.0 / (beta * kappa);
            let allowance = run.discretisation_allowance;
            let per_path: Vec<Vec<Mat<T>>> = run.finals.iter().map(Network::moments).collect();
            let p = PATHS as f64;
            let note = format!("beta={beta:.2} kappa={kappa:.2} t={t:.2}");
            for (k, want) in law.iter().enumerate() {
                let dk = want.nrows();
                let mut mean = Mat::<T>::zeros(dk, dk);
                for g in &per_path {
                    mean += &g[k];
                }
                mean = faer::Scale(T::from_f64(1.0 / p)) * &mean;
                // Σ_ij Var(G_ij): the mean square of ‖Ḡ − E G‖_F is this over P.
                let mut var_sum = 0.0;
                for j in 0..dk {
                    for i in 0..dk {
                        let v: f64 = per_path
                            .iter()
                            .map(|g| (g[k][(i, j)] - mean[(i, j)]).modulus_sq())
                            .sum::<f64>()
                            / (p - 1.0);
                        var_sum += v;
                    }
                }
                let se_f = (var_sum / p).sqrt();
                cx.record(
                    label::<T>(&widths, &format!("E[G_{}] (Frobenius), {note}", k + 1)),
                    (&mean - want).norm_l2() / s,
                    (allowance + 5.0 * se_f) / s,
                );
                let traces: Vec<f64> = per_path
                    .iter()
                    .map(|g| (0..dk).map(|i| g[k][(i, i)].re()).sum())
                    .collect();
                let (mt, set) = mean_se(&traces);
                let want_tr: f64 = (0..dk).map(|i| want[(i, i)].re()).sum();
                cx.record(
                    label::<T>(&widths, &format!("E[Tr G_{}], {note}", k + 1)),
                    (mt - want_tr).abs() / s,
                    (allowance + 5.0 * set) / s,
                );
            }
        }
    }
    Ok(())
}

/// The MAP identity, on least-squares losses with data from a random network plus noise, over
/// square and rectangular widths (bottlenecks bind the rank):
/// (i) $R(X)$ of the library equals $\frac\kappa2N\sum_i\sigma_i^{2/N}$ computed here and $\frac\kappa2\|\mathbf W\|^2$
/// at the balanced weights returned with the estimate;
/// (ii) the reported stationarity $\max(\|U_r^*M\|,\|MV_r\|)$, $M = E'(X)+\nabla R(X)$, is within what the
/// stopping rule implies, $2\,\mathrm{tol}\max(1,\|X\|)/t$ (plus rounding);
/// (iii) at the balanced weights, $\|\nabla_{\mathbf W}(E\circ\varphi + \frac\kappa2\|\mathbf W\|^2)\|$ (dln-flows'
/// network gradient) is at most $\sqrt N\lambda_{\max}^{N-1}$ times that stationarity, plus rounding.
fn map_identity<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    let opts = MapOptions::default();
    for widths in prior_shapes(cx) {
        let n = widths.len() - 1;
        let (d0, dn) = (widths[0], widths[n]);
        for _ in 0..cx.reps() {
            let kappa = cx.rng().random_range(0.05..0.5);
            let a = gaussian_network::<T, _>(cx.rng(), &widths).product();
            let samples = 3 * d0 + 2;
            let u: Mat<T> = gaussian(cx.rng(), d0, samples);
            let noise: Mat<T> = gaussian(cx.rng(), dn, samples);
            let y = &a * &u + faer::Scale(T::from_f64(0.1)) * &noise;
            let loss = LeastSquares::new(u, y)?;
            let est = map_estimate(&loss, &widths, kappa, a.as_ref(), &opts)?;
            if !est.converged {
                return Err(CheckError::msg(format!(
                    "MAP estimate did not converge for widths {widths:?} in {} iterations",
                    est.iterations
                )));
            }
            let sigma = svals(est.x.as_ref())?;
            // Singular values at rounding level (a rank-deficient X) count as zero: those at or
            // below max(m, n) ε σ_1, the numerical rank of dln-algebra's balanced orbit.
            let top = sigma.first().copied().unwrap_or(0.0);
            let rank = sigma.iter().filter(|&&x| x > d0.max(dn) as f64 * EPS * top).count();
            let here = 0.5 * kappa * l2_bound(&sigma, n, rank);
            let w = &est.network;
            let wn2 = w.l2_norm_sq();
            let scale_r = here.max(f64::MIN_POSITIVE);
            let reg = EffectiveRegulariser::for_widths(&widths, kappa)?;
            let lib = reg.value(est.x.as_ref())?;
            cx.record(
                label::<T>(&widths, &format!("R(X) = kappa/2 N sum sigma^(2/N), kappa={kappa:.2}")),
                ((lib - here).abs() + (est.regulariser - here).abs()) / scale_r,
                tol(10.0, d0.max(dn) * n, 1.0),
            );
            cx.record(
                label::<T>(&widths, &format!("R(X) = kappa/2 |W|^2 at the balanced MAP weights, kappa={kappa:.2}")),
                (0.5 * kappa * wn2 - here).abs() / scale_r,
                tol(10.0, d0.max(dn) * n, 1.0),
            );
            let e_grad = loss.gradient(est.x.as_ref());
            let r_grad = reg.gradient(est.x.as_ref())?;
            let mag = e_grad.norm_l2() + r_grad.norm_l2();
            let x_scale = est.x.norm_l2().max(1.0);
            cx.record(
                label::<T>(&widths, &format!("stationarity of X, kappa={kappa:.2}")),
                est.stationarity / mag.max(f64::MIN_POSITIVE),
                (2.0 * opts.tol * x_scale / est.step) / mag.max(f64::MIN_POSITIVE)
                    + tol(10.0, d0.max(dn) * samples, 1.0),
            );
            let (_, gw) = network_gradient(w.layers(), &loss, kappa);
            let gw_norm = tnorm(&gw);
            let lam_max = sigma.first().copied().unwrap_or(0.0).powf(1.0 / n as f64);
            let bound = (n as f64).sqrt() * lam_max.powi(n as i32 - 1) * est.stationarity;
            let scale_w = (kappa * wn2.sqrt()).max(e_grad.norm_l2());
            cx.record(
                label::<T>(&widths, &format!("grad_W (E o phi + kappa/2 |W|^2) = 0 at the MAP weights, kappa={kappa:.2}")),
                gw_norm / scale_w,
                bound / scale_w + tol(10.0, d0.max(dn) * samples * n, 1.0) * (1.0 + lam_max.powi(n as i32 - 1)),
            );
        }
    }
    Ok(())
}

/// $d\varphi(\mathbf V) = \sum_kW_N\cdots W_{k+1}V_kW_{k-1}\cdots W_1$, written here.
fn product_differential_here<T: Scalar>(w: &Network<T>, v: &[Mat<T>]) -> Mat<T> {
    let layers = w.layers();
    let n = layers.len();
    let mut out = Mat::<T>::zeros(layers[n - 1].nrows(), layers[0].ncols());
    for k in 0..n {
        let mut m = v[k].clone();
        for l in layers.iter().take(k).rev() {
            m = &m * l;
        }
        for l in layers.iter().skip(k + 1) {
            m = l * &m;
        }
        out += &m;
    }
    out
}

/// The small-noise limit: exact orbit samples (square and rectangular widths, full rank and rank
/// $r$ through wider hidden layers) lie on $\mathcal O_X$; for square full-rank $X$ the Laplace
/// codimension $k$ of the library equals $\dim\ker d\varphi - \operatorname{rank}\{\mathbf w_{\mathbf a}:\mathbf a\in\mathfrak k^{N-1}\}$
/// computed here from numerical ranks at a sample.
fn small_noise_orbit<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    let mut shapes: Vec<Vec<usize>> = cx
        .square_shapes()
        .into_iter()
        .map(|(n, d)| square(n, d))
        .collect();
    shapes.extend(cx.general_widths());
    for widths in shapes {
        let n = widths.len() - 1;
        let (d0, dn) = (widths[0], widths[n]);
        let is_square = widths.iter().all(|&d| d == d0);
        for _ in 0..cx.reps() {
            let x = gaussian_network::<T, _>(cx.rng(), &widths).product();
            let sampler = OrbitSampler::new(x.as_ref(), &widths)?;
            let sigma = svals(x.as_ref())?;
            let r = rank_of(&sigma, dn, d0);
            let bound = l2_bound(&sigma, n, r);
            let w = sampler.sample(cx.rng());
            let c = product_conditioning(&w);
            let size = d0.max(dn) * widths.iter().copied().max().unwrap_or(1) * n;
            cx.record(
                label::<T>(&widths, "balanced: |G| / |W|^2"),
                w.moment_norm() / w.l2_norm_sq(),
                tol(10.0, size, 1.0),
            );
            cx.record(
                label::<T>(&widths, "in the fiber: |phi(W) - X| / |X|"),
                rel_diff_here(&w.product(), &x),
                tol(10.0, size, c.max(1.0)),
            );
            cx.record(
                label::<T>(&widths, "|W|^2 = N sum sigma^(2/N)"),
                (w.l2_norm_sq() - bound).abs() / bound,
                tol(10.0, size, 1.0),
            );
            if !is_square || d0 > 3 {
                continue;
            }
            let d = d0;
            // dim F_X = dim ker dphi, from the real matrix of dphi.
            let basis = real_basis::<T>(&layer_shapes(&widths));
            let dphi = real_matrix(&basis, |v| vec![product_differential_here(&w, v)]);
            let sv = svals(dphi.as_ref())?;
            let rank_dphi = rank_of(&sv, dphi.nrows(), dphi.ncols());
            let dim_fiber = basis.len() - rank_dphi;
            // dim O_X = rank of the orbit map's tangents w_a, a in k^{N-1}.
            let lie = lie_basis::<T>(d);
            let mut cols: Vec<Vec<f64>> = Vec::new();
            for slot in 0..n - 1 {
                for e in &lie {
                    let mut a: Vec<Mat<T>> = (0..n - 1).map(|_| Mat::zeros(d, d)).collect();
                    a[slot] = e.clone();
                    cols.push(real_coords(&w.infinitesimal_action(&a)));
                }
            }
            let dim_orbit = if cols.is_empty() {
                0
            } else {
                let t = Mat::<f64>::from_fn(cols[0].len(), cols.len(), |i, j| cols[j][i]);
                let st = svals(t.as_ref())?;
                rank_of(&st, t.nrows(), t.ncols())
            };
            let lap = LaplaceExpansion::new(x.as_ref(), n, 10.0, 0.5)?;
            let k_here = dim_fiber as f64 - dim_orbit as f64;
            cx.record(
                label::<T>(&widths, &format!("Laplace codimension k = {}", lap.codimension)),
                (lap.codimension as f64 - k_here).abs()
                    + (lap.leading - bound).abs() / bound
                    + (lap.correction - lap.codimension as f64 / 5.0).abs(),
                tol(10.0, size, 1.0),
            );
        }
    }
    Ok(())
}

/// $\|A-B\|_F/\|B\|_F$.
fn rel_diff_here<T: Scalar>(a: &Mat<T>, b: &Mat<T>) -> f64 {
    (a - b).norm_l2() / b.norm_l2().max(f64::MIN_POSITIVE)
}
