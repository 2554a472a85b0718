//! Checks of dln-algebra: the group action, moments, centre and balanced orbit, the fiber operator
//! $\mathbf H$, Theorems 1 and 20 (and their extension to any widths and rank), dimensions, the
//! Jacobi blocks, the linear-systems moment map, Remark 16 and the Kempf–Ness certificate of
//! `balance` (theory.md §8, claims 1–14, 17–19, 30, 33, 35, 36).
//!
//! Every check runs over real and complex instances (`f64`, `c64`).

use super::*;
use dln_algebra::kempf_ness::{BalanceMethod, BalanceOptions, balance};
use dln_algebra::{BalancedOrbit, CgOptions, FiberOperator, Network};
use dln_linalg::{Scalar, c64, rel_diff};
use faer::Mat;
use faer::linalg::solvers::Solve;

pub(super) fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "claim01-product-invariance",
            "§1.2, (1.6)",
            "φ(A·W) = φ(W) for A ∈ ∏GL(d_k)",
            |cx| {
                claim01::<f64>(cx)?;
                claim01::<c64>(cx)
            },
        ),
        Check::new(
            "claim02-norm-invariance",
            "(1.7)",
            "‖U·W‖₂ = ‖W‖₂ for U ∈ ∏U(d_k) (∏O(d_k) over ℝ)",
            |cx| {
                claim02::<f64>(cx)?;
                claim02::<c64>(cx)
            },
        ),
        Check::new(
            "claim03-moment-k-equivariance",
            "§8.3 [derived]",
            "G_k(U·W) = U_k G_k(W) U_k*",
            |cx| {
                claim03::<f64>(cx)?;
                claim03::<c64>(cx)
            },
        ),
        Check::new(
            "claim03-moment-not-g-equivariant",
            "§8.3 [derived]",
            "G_k(A·W) ≠ A_k G_k A_k* for generic A ∈ ∏GL(d_k) (relative gap > 1e-3)",
            |cx| {
                claim03_not::<f64>(cx)?;
                claim03_not::<c64>(cx)
            },
        ),
        Check::new(
            "claim04-centre",
            "§1.2",
            "C = (Q_NΛ, Λ, …, Λ, ΛQ_0*), Λ = Σ^{1/N}: φ(C) = X, G(C) = 0",
            |cx| {
                claim04::<f64>(cx)?;
                claim04::<c64>(cx)
            },
        ),
        Check::new(
            "claim05-lemma1-orbit",
            "Lemma 1, E1",
            "W = A·C with A_{N-1} = W_N⁻¹Q_NΛ, A_{k-1} = W_k⁻¹A_kC_k (corrected E1)",
            |cx| {
                lemma1::<f64>(cx, Lemma1Formula::Corrected)?;
                lemma1::<c64>(cx, Lemma1Formula::Corrected)
            },
        ),
        Check::new(
            "claim06-balanced-orbit",
            "§1.2, Lemma 1 proof",
            "Q·C ∈ F_X is balanced, ‖W_k‖_F² = Σσ_i^{2/N}, σ(W_k) = σ(X)^{1/N}",
            |cx| {
                claim06::<f64>(cx)?;
                claim06::<c64>(cx)
            },
        ),
    ]
}

/// Condition number of the group elements drawn by the checks.
const GROUP_COND: f64 = 10.0;

/// Square and rectangular width profiles.
fn all_widths(cx: &Ctx) -> Vec<Vec<usize>> {
    let mut v: Vec<Vec<usize>> = cx.square_shapes().into_iter().map(|(n, d)| square(n, d)).collect();
    v.extend(cx.general_widths().into_iter().filter(|w| w.len() > 2));
    v
}

fn claim01<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let a: Vec<Mat<T>> = random_group(cx.rng(), &widths, GROUP_COND);
            let aw = w.act(&a)?;
            let res = rel_diff(aw.product().as_ref(), w.product().as_ref());
            // Rounding in each layer is amplified by the product conditioning and by cond(A_k).
            let c = product_conditioning(&aw).max(product_conditioning(&w)) * GROUP_COND;
            let n = widths.len() * widths.iter().max().copied().unwrap_or(1);
            cx.record(label::<T>(&widths, ""), res, tol(16.0, n, c));
        }
    }
    Ok(())
}

fn claim02<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let u: Vec<Mat<T>> = random_unitary(cx.rng(), &widths);
            let uw = w.act_unitary(&u);
            let res = (uw.l2_norm_sq() - w.l2_norm_sq()).abs() / w.l2_norm_sq();
            let n = widths.len() * widths.iter().max().copied().unwrap_or(1);
            cx.record(label::<T>(&widths, ""), res, tol(16.0, n, 1.0));
        }
    }
    Ok(())
}

fn claim03<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let u: Vec<Mat<T>> = random_unitary(cx.rng(), &widths);
            let g_uw = w.act_unitary(&u).moments();
            let ugu: Vec<Mat<T>> = w.moments().iter().zip(&u).map(|(g, uk)| uk * g * uk.adjoint()).collect();
            let res = tdist(&g_uw, &ugu) / w.l2_norm_sq();
            let n = widths.len() * widths.iter().max().copied().unwrap_or(1);
            cx.record(label::<T>(&widths, ""), res, tol(16.0, n, 1.0));
        }
    }
    Ok(())
}

fn claim03_not<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let a: Vec<Mat<T>> = random_group(cx.rng(), &widths, GROUP_COND);
            let g_aw = w.act(&a)?.moments();
            let aga: Vec<Mat<T>> = w.moments().iter().zip(&a).map(|(g, ak)| ak * g * ak.adjoint()).collect();
            let gap = tdist(&g_aw, &aga) / tnorm(&g_aw).max(tnorm(&aga));
            cx.record_ge(label::<T>(&widths, "relative gap"), gap, 1e-3, 0.0);
        }
    }
    Ok(())
}

fn claim04<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for (n, d) in cx.square_shapes() {
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let x = w.product();
            let sigma = svals(x.as_ref())?;
            let c = BalancedOrbit::of(&w)?.centre();
            let t = tol(16.0, n * d, 1.0);
            cx.record(label::<T>(&widths, "φ(C) = X"), rel_diff(c.product().as_ref(), x.as_ref()), t);
            cx.record(label::<T>(&widths, "G(C) = 0"), c.moment_norm() / c.l2_norm_sq(), t);
            // The middle layers are Λ = diag(σ_i^{1/N}); the outer ones satisfy C_N*C_N = C_1C_1* = Λ².
            let lam = Mat::<T>::from_fn(d, d, |i, j| T::from_f64(if i == j { sigma[i].powf(1.0 / n as f64) } else { 0.0 }));
            let lam2 = &lam * &lam;
            for k in 2..n {
                cx.record(label::<T>(&widths, &format!("C_{k} = Λ")), rel_diff(c.w(k), lam.as_ref()), t);
            }
            let top = c.w(n).adjoint() * c.w(n);
            let bottom = c.w(1) * c.w(1).adjoint();
            cx.record(label::<T>(&widths, "C_N*C_N = Λ²"), rel_diff(top.as_ref(), lam2.as_ref()), t);
            cx.record(label::<T>(&widths, "C_1C_1* = Λ²"), rel_diff(bottom.as_ref(), lam2.as_ref()), t);
        }
    }
    Ok(())
}

/// Which formula for $A_{N-1}$ the Lemma 1 check uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lemma1Formula {
    /// $A_{N-1} = W_N^{-1}Q_N\Lambda$ (theory.md E1, correct).
    Corrected,
    /// The paper's printed $A_{N-1} = Q_N\Lambda W_N^{-1}$ (wrong; used to test that the check fails).
    Printed,
}

/// Lemma 1: solves for $\mathbf A$ layer by layer from the top and checks $\mathbf A\cdot\mathbf C = \mathbf W$.
/// Layers $N,\dots,2$ hold by the choice of $\mathbf A$ (if the formula is right); the bottom layer
/// $A_1C_1 = W_1$ is the content of the lemma (same fiber).
pub(crate) fn lemma1<T: Scalar>(cx: &mut Ctx, formula: Lemma1Formula) -> CheckResult {
    for (n, d) in cx.square_shapes() {
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let w: Network<T> = conditioned_network(cx.rng(), n, d, 4.0);
            let c = BalancedOrbit::of(&w)?.centre();
            let mut a: Vec<Mat<T>> = vec![Mat::zeros(d, d); n - 1];
            let wn = w.w(n).partial_piv_lu();
            a[n - 2] = match formula {
                Lemma1Formula::Corrected => wn.solve(c.w(n).to_owned()),
                // Q_NΛW_N⁻¹ = (W_N⁻* (Q_NΛ)*)*.
                Lemma1Formula::Printed => {
                    w.w(n).adjoint().partial_piv_lu().solve(c.w(n).adjoint().to_owned()).adjoint().to_owned()
                }
            };
            for k in (2..n).rev() {
                let rhs = &a[k - 1] * c.w(k);
                a[k - 2] = w.w(k).partial_piv_lu().solve(rhs);
            }
            let ac = c.act(&a)?;
            let res = tdist(ac.layers(), w.layers()) / tnorm(w.layers());
            let mut kappa = 1.0;
            for k in 1..=n {
                kappa *= cond(w.w(k))?;
            }
            for ak in &a {
                kappa *= cond(ak.as_ref())?.sqrt();
            }
            cx.record(label::<T>(&widths, ""), res, tol(16.0, n * d, kappa));
        }
    }
    Ok(())
}

fn claim06<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for (n, d) in cx.square_shapes() {
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let x = w.product();
            let sigma = svals(x.as_ref())?;
            let frames: Vec<Mat<T>> = random_frames(cx.rng(), &widths, d);
            let p = BalancedOrbit::of(&w)?.point(&frames);
            let t = tol(16.0, n * d, 1.0);
            cx.record(label::<T>(&widths, "φ(Q·C) = X"), rel_diff(p.product().as_ref(), x.as_ref()), t);
            cx.record(label::<T>(&widths, "G(Q·C) = 0"), p.moment_norm() / p.l2_norm_sq(), t);
            let per_layer: f64 = sigma.iter().map(|s| s.powf(2.0 / n as f64)).sum();
            for k in 1..=n {
                let fk = p.w(k).norm_l2().powi(2);
                cx.record(label::<T>(&widths, &format!("‖W_{k}‖² = Σσ^(2/N)")), (fk - per_layer).abs() / per_layer, t);
                let sk = svals(p.w(k))?;
                let top = sigma[0].powf(1.0 / n as f64);
                let dev = sk.iter().zip(&sigma).map(|(a, b)| (a - b.powf(1.0 / n as f64)).abs()).fold(0.0, f64::max);
                cx.record(label::<T>(&widths, &format!("σ(W_{k}) = σ^(1/N)")), dev / top, t);
            }
        }
    }
    Ok(())
}
