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
use rand::Rng;

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
        )
        .api(&[
            "dln_algebra::Network::act",
            "dln_algebra::Network::product",
        ]),
        Check::new(
            "claim02-norm-invariance",
            "(1.7)",
            "‖U·W‖₂ = ‖W‖₂ for U ∈ ∏U(d_k) (∏O(d_k) over ℝ)",
            |cx| {
                claim02::<f64>(cx)?;
                claim02::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::act_unitary",
            "dln_algebra::Network::l2_norm_sq",
        ]),
        Check::new(
            "claim03-moment-k-equivariance",
            "§8.3 [derived]",
            "G_k(U·W) = U_k G_k(W) U_k*",
            |cx| {
                claim03::<f64>(cx)?;
                claim03::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::moments",
            "dln_algebra::Network::act_unitary",
        ]),
        Check::new(
            "claim03-moment-not-g-equivariant",
            "§8.3 [derived]",
            "G_k(A·W) ≠ A_k G_k A_k* for generic A ∈ ∏GL(d_k) (relative gap > 1e-3)",
            |cx| {
                claim03_not::<f64>(cx)?;
                claim03_not::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::moments",
            "dln_algebra::Network::act",
        ]),
        Check::new(
            "claim04-centre",
            "§1.2",
            "C = (Q_NΛ, Λ, …, Λ, ΛQ_0*), Λ = Σ^{1/N}: φ(C) = X, G(C) = 0",
            |cx| {
                claim04::<f64>(cx)?;
                claim04::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::BalancedOrbit::of",
            "dln_algebra::BalancedOrbit::centre",
        ]),
        Check::new(
            "claim05-lemma1-orbit",
            "Lemma 1, E1",
            "W = A·C with A_{N-1} = W_N⁻¹Q_NΛ, A_{k-1} = W_k⁻¹A_kC_k (corrected E1)",
            |cx| {
                lemma1::<f64>(cx, Lemma1Formula::Corrected)?;
                lemma1::<c64>(cx, Lemma1Formula::Corrected)
            },
        )
        .api(&[
            "dln_algebra::BalancedOrbit::centre",
            "dln_algebra::Network::act",
        ]),
        Check::new(
            "claim06-balanced-orbit",
            "§1.2, Lemma 1 proof",
            "Q·C ∈ F_X is balanced, ‖W_k‖_F² = Σσ_i^{2/N}, σ(W_k) = σ(X)^{1/N}",
            |cx| {
                claim06::<f64>(cx)?;
                claim06::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::BalancedOrbit::point",
            "dln_algebra::Network::moment_norm",
        ]),
        Check::new(
            "claim07-tangent-formula",
            "(2.3)",
            "d/dτ|₀ e^{τa}·W = w_a, (w_a)_k = a_kW_k − W_ka_{k-1}",
            |cx| {
                claim07::<f64>(cx)?;
                claim07::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::infinitesimal_action",
        ]),
        Check::new(
            "claim08-lemma2-moment-map",
            "Lemma 2, (2.5)",
            "d/dτ|₀ ½‖e^{τa}·W‖² = Σ Re Tr(G_k* a_k) = ½ Σ Tr(G_k(a_k + a_k*))",
            |cx| {
                claim08::<f64>(cx)?;
                claim08::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::moments",
            "dln_algebra::Network::l2_norm_sq",
        ]),
        Check::new(
            "claim09-lemma3-gram-operator",
            "Lemma 3, (2.8)-(2.9)",
            "⟨w_b, w_a⟩ = Σ Re Tr(H_k(b)* a_k) = Σ Re Tr(b_k* H_k(a)), H_k as in (2.8)",
            |cx| {
                claim09::<f64>(cx)?;
                claim09::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::FiberOperator::apply",
            "dln_algebra::Network::infinitesimal_action",
        ]),
        Check::new(
            "claim10-h-positive-definite",
            "Lemma 3, §8.10",
            "H is symmetric for Re Tr and positive definite (X full rank); Σ Re Tr(a_k* H_k(a)) = ‖w_a‖²",
            |cx| {
                claim10::<f64>(cx)?;
                claim10::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::FiberOperator::apply",
        ]),
        Check::new(
            "claim11-lemma4-moment-pushforward",
            "Lemma 4, (2.12)",
            "dG_k(w_c) = H_k(c) + H_k(c)*",
            |cx| {
                claim11::<f64>(cx)?;
                claim11::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::FiberOperator::apply",
            "dln_algebra::Network::moments",
        ]),
        Check::new(
            "claim12-euler-identity",
            "Remark 9, (2.23), E4",
            "dG(W)[W] = 2G and dG(w_b) = +2G for H(b) = G (corrected E4)",
            |cx| {
                claim12::<f64>(cx)?;
                claim12::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::FiberOperator::l2_gradient_generator",
            "dln_algebra::Network::moments",
        ]),
        Check::new(
            "claim13-normal-space",
            "§2.4 [derived]",
            "V ⊥ T_W F_X ⟺ W_kV_k* = V_{k+1}*W_{k+1}; then dG(V) = 0, incl. V = ∇(E∘φ) for any E",
            |cx| {
                claim13::<f64>(cx)?;
                claim13::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::FiberOperator::project_tangent",
            "dln_algebra::Network::infinitesimal_action_adjoint",
        ]),
        Check::new(
            "claim14-lemma5-gradient",
            "Lemma 5, (2.19), E8",
            "H(b) = G ⟹ W − w_b ⊥ T_W F_X (w_b = projection of W); b is generally not Hermitian",
            |cx| {
                claim14::<f64>(cx)?;
                claim14::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::FiberOperator::l2_gradient_generator",
            "dln_algebra::FiberOperator::solve",
        ]),
        Check::new(
            "claim17-thm1-minimum",
            "Theorem 1, (1.5)",
            "X full rank, W ∈ F_X: ‖W‖² ≥ NΣσ_i^{2/N}, strict if G ≠ 0, equality on O_X and at balance(W); near O_X the gap is 2ε²‖w_a‖²",
            |cx| {
                claim17::<f64>(cx)?;
                claim17::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::BalancedOrbit::l2_lower_bound",
            "dln_algebra::balance",
            "dln_algebra::moment::l2_lower_bound",
        ]),
        Check::new(
            "claim18-thm1-any-widths-rank",
            "Theorem 1 (generalised; ours)",
            "any widths/rank: ‖W‖² ≥ NΣ_{σ_i>0}σ_i^{2/N}; Q·C (Q_k ∈ F^{d_k×r}) balanced, in F_X, equality; near Q·C the gap is 2ε²‖w_a‖²",
            |cx| {
                claim18::<f64>(cx)?;
                claim18::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::BalancedOrbit::point",
            "dln_algebra::BalancedOrbit::rank",
            "dln_algebra::moment::numerical_rank",
        ]),
        Check::new(
            "claim19-thm20-schatten",
            "Theorem 20, (3.9)",
            "Σ_k‖W_k‖_{S_p} ≥ N(Σσ_i^{p/N})^{1/p}, equality on O_X (p = 1.5, 2, 3; p = 1 value only)",
            |cx| {
                claim19::<f64>(cx)?;
                claim19::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::schatten_sum",
            "dln_algebra::BalancedOrbit::schatten_lower_bound",
        ]),
        Check::new(
            "claim30-dimensions",
            "§8.30 [derived]",
            "balanced full-rank W: dim ker dG = d² + (N−1)d(d−1)/2 (ℝ), (N+1)d² (ℂ); dim F_X = (N−1)d² (free)",
            |cx| {
                claim30::<f64>(cx)?;
                claim30::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::infinitesimal_action",
            "dln_algebra::BalancedOrbit::point",
        ]),
        Check::new(
            "claim33-jacobi-block",
            "§8.33 [derived]",
            "orbit Gram block = 2·tridiag(−λ_iλ_j, λ_i²+λ_j², −λ_iλ_j); eigenvalues 2(λ_i²+λ_j²−2λ_iλ_j cos(kπ/N)); det/2^{N−1} = (λ_i^{2N}−λ_j^{2N})/(λ_i²−λ_j²)",
            |cx| {
                claim33::<f64>(cx)?;
                claim33::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::BalancedOrbit::centre",
            "dln_algebra::Network::infinitesimal_action",
        ]),
        Check::new(
            "claim35-linear-systems-moment",
            "§5, §8.35 [derived]",
            "d/dτ|₀ ½(‖e^{τa}Ae^{−τa}‖²+‖e^{τa}B‖²+‖Ce^{−τa}‖²) = Re Tr((AA*−A*A+BB*−C*C)a); A=0, B=W_1, C=W_2: μ_LS = G_1",
            |cx| {
                claim35::<f64>(cx)?;
                claim35::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::moment",
            "dln_systems::realization::moment_map",
        ]),
        Check::new(
            "claim36-remark16-null-cone",
            "Remark 16",
            "d=1, N=2: orbit of (0, w_1) not closed: ‖A·W‖² = A²w_1² → 0 not attained, G ≠ 0 on the orbit",
            |cx| {
                claim36::<f64>(cx)?;
                claim36::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::Network::act",
            "dln_algebra::Network::moment",
            "dln_algebra::kempf_ness::orbit_is_closed",
        ]),
        Check::new(
            "kn-balance-certificate",
            "§3.3, Theorems 13-14",
            "balance(W) (svd, orbit): gap to NΣσ^{2/N} ≤ tol, ‖μ‖ ≤ tol, X preserved; square/rectangular/rank-deficient",
            |cx| {
                kn_certificate::<f64>(cx)?;
                kn_certificate::<c64>(cx)
            },
        )
        .api(&[
            "dln_algebra::balance",
            "dln_algebra::BalanceInfo::gap",
            "dln_algebra::kempf_ness::polar_frames",
        ]),
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
    #[cfg_attr(not(test), allow(dead_code))]
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

/// Step of the Richardson-extrapolated central differences (for unit-norm directions).
const FD_STEP: f64 = 2e-3;

fn max_width(widths: &[usize]) -> usize {
    widths.iter().copied().max().unwrap_or(1)
}

fn claim07<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let a: Vec<Mat<T>> = random_algebra(cx.rng(), &widths);
            let fd = fd_tuple(|tau| Ok(act_exp(&w, &a, tau)?.into_layers()), FD_STEP)?;
            let wa = w.infinitesimal_action(&a);
            // ‖a‖ = 1, so the m-th τ-derivative of e^{τa_k}W_ke^{-τa_{k-1}} is at most 2^m‖W_k‖.
            let res = tdist(&fd, &wa) / tnorm(w.layers());
            let n = widths.len() * max_width(&widths);
            cx.record(label::<T>(&widths, ""), res, fd_tol(FD_STEP, 2.0, n));
        }
    }
    Ok(())
}

/// $\operatorname{Tr}(A)$.
fn trace<T: Scalar>(a: &Mat<T>) -> T {
    (0..a.nrows()).fold(T::from_f64(0.0), |s, i| s + a[(i, i)])
}

fn claim08<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let a: Vec<Mat<T>> = random_algebra(cx.rng(), &widths);
            let fd = fd_scalar(|tau| Ok(0.5 * act_exp(&w, &a, tau)?.l2_norm_sq()), FD_STEP)?;
            let g = w.moments();
            let pairing = tinner(&g, &a);
            let half_trace =
                g.iter().zip(&a).fold(T::from_f64(0.0), |s, (gk, ak)| s + trace(&(gk * (ak + ak.adjoint())))).scale(0.5);
            let scale = w.l2_norm_sq();
            let n = widths.len() * max_width(&widths);
            cx.record(label::<T>(&widths, "FD = Σ ReTr(G*a)"), (fd - pairing).abs() / scale, fd_tol(FD_STEP, 4.0, n));
            cx.record(label::<T>(&widths, "Σ ReTr(G*a) = ½ΣTr(G(a+a*))"), (pairing - half_trace.re()).abs() / scale, tol(16.0, n, 1.0));
            cx.record(label::<T>(&widths, "Im ½ΣTr(G(a+a*)) = 0"), half_trace.im().abs() / scale, tol(16.0, n, 1.0));
        }
    }
    Ok(())
}

/// $H_k(\mathbf c)$ written out from (2.8), independently of `FiberOperator`.
fn h_formula<T: Scalar>(w: &Network<T>, c: &[Mat<T>]) -> Vec<Mat<T>> {
    let n = w.depth();
    (1..n)
        .map(|k| {
            let (wk, wk1) = (w.w(k), w.w(k + 1));
            let mut h = &c[k - 1] * wk * wk.adjoint() + wk1.adjoint() * wk1 * &c[k - 1];
            if k >= 2 {
                h -= wk * &c[k - 2] * wk.adjoint();
            }
            if k + 1 < n {
                h -= wk1.adjoint() * &c[k] * wk1;
            }
            h
        })
        .collect()
}

fn claim09<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let a: Vec<Mat<T>> = random_algebra(cx.rng(), &widths);
            let b: Vec<Mat<T>> = random_algebra(cx.rng(), &widths);
            let op = FiberOperator::new(&w);
            let (ha, hb) = (op.apply(&a), op.apply(&b));
            let lhs = tinner(&w.infinitesimal_action(&b), &w.infinitesimal_action(&a));
            // Every term is bounded by ‖W‖²‖a‖‖b‖ = ‖W‖².
            let scale = w.l2_norm_sq();
            let t = tol(16.0, widths.len() * max_width(&widths), 1.0);
            cx.record(label::<T>(&widths, "⟨w_b,w_a⟩ = Σ ReTr(H(b)*a)"), (lhs - tinner(&hb, &a)).abs() / scale, t);
            cx.record(label::<T>(&widths, "⟨w_b,w_a⟩ = Σ ReTr(b*H(a))"), (lhs - tinner(&b, &ha)).abs() / scale, t);
            cx.record(label::<T>(&widths, "H = (2.8)"), tdist(&ha, &h_formula(&w, &a)) / scale, t);
        }
    }
    Ok(())
}

fn claim10<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for (n, d) in cx.square_shapes() {
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let w: Network<T> = conditioned_network(cx.rng(), n, d, 4.0);
            let op = FiberOperator::new(&w);
            let basis = real_basis::<T>(&junction_shapes(&widths));
            let m = real_matrix(&basis, |c| op.apply(c));
            let dim = basis.len();
            let mnorm = m.norm_l2();
            let asym = (&m - m.transpose()).norm_l2() / mnorm;
            let t = tol(16.0, n * d, 1.0);
            cx.record(label::<T>(&widths, "symmetric"), asym, t);
            let ev = sym_eigenvalues(&m)?;
            let (lo, hi) = (ev[0], ev[dim - 1]);
            cx.record_ge(label::<T>(&widths, "λ_min/λ_max > 0"), lo / hi, 100.0 * dim as f64 * EPS, 0.0);
            let a: Vec<Mat<T>> = random_algebra(cx.rng(), &widths);
            let wa = w.infinitesimal_action(&a);
            let q = tinner(&a, &op.apply(&a));
            cx.record(label::<T>(&widths, "ReTr(a*H(a)) = ‖w_a‖²"), (q - tnorm(&wa).powi(2)).abs() / w.l2_norm_sq(), t);
        }
    }
    Ok(())
}

fn claim11<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let c: Vec<Mat<T>> = random_algebra(cx.rng(), &widths);
            let wc = w.infinitesimal_action(&c);
            let dg = quadratic_derivative(&w, &wc, |x| x.moments());
            let hc = FiberOperator::new(&w).apply(&c);
            let want = tadd(&hc, &tadjoint(&hc));
            let scale = (tnorm(w.layers()) + tnorm(&wc)).powi(2);
            let t = tol(16.0, widths.len() * max_width(&widths), 1.0);
            cx.record(label::<T>(&widths, ""), tdist(&dg, &want) / scale, t);
        }
    }
    Ok(())
}

/// Tolerance (absolute) of a quantity computed from the projection $\mathbf w_{\mathbf b}$,
/// $\mathbf H(\mathbf b) = T^*\mathbf V$: the solver's residual on the right-hand side, rounding in
/// $T^*\mathbf V$ and in $T^*\mathbf w_{\mathbf b}$ (with the drift of the recursive CG residual).
fn projection_tol<T: Scalar>(w: &Network<T>, v_norm: f64, rhs_norm: f64, b: &[Mat<T>], cg_residual: f64, iterations: usize) -> f64 {
    let n = w.depth() * w.widths().into_iter().max().unwrap_or(1);
    let wn = tnorm(w.layers());
    cg_residual * rhs_norm + tol(16.0, n, wn * v_norm + (4.0 + iterations as f64) * wn * wn * tnorm(b))
}

fn claim12<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let g = w.moments();
            let n = widths.len() * max_width(&widths);
            let euler = quadratic_derivative(&w, w.layers(), |x| x.moments());
            let two_g = tscale(&g, 2.0);
            cx.record(label::<T>(&widths, "dG(W)[W] = 2G"), tdist(&euler, &two_g) / w.l2_norm_sq(), tol(16.0, n, 4.0));
            let mut op = FiberOperator::new(&w);
            let sol = op.l2_gradient_generator(CgOptions::default())?;
            let wb = w.infinitesimal_action(&sol.b);
            let dg = quadratic_derivative(&w, &wb, |x| x.moments());
            let scale = (tnorm(w.layers()) + tnorm(&wb)).powi(2);
            let t_abs = 2.0 * projection_tol(&w, tnorm(w.layers()), tnorm(&g), &sol.b, sol.residual, sol.iterations)
                + tol(16.0, n, scale);
            cx.record(label::<T>(&widths, "dG(w_b) = +2G"), tdist(&dg, &two_g) / scale, t_abs / scale);
        }
    }
    Ok(())
}

/// The normality condition $W_kV_k^* - V_{k+1}^*W_{k+1}$, $k = 1..N-1$, written out.
fn normal_condition<T: Scalar>(w: &Network<T>, v: &[Mat<T>]) -> Vec<Mat<T>> {
    (1..w.depth()).map(|k| w.w(k) * v[k - 1].adjoint() - v[k].adjoint() * w.w(k + 1)).collect()
}

/// Euclidean gradient of $E\circ\varphi$ with $E'(X) = P$: $\nabla_k = (W_N\cdots W_{k+1})^*P(W_{k-1}\cdots W_1)^*$.
fn lifted_gradient<T: Scalar>(w: &Network<T>, p: &Mat<T>) -> Vec<Mat<T>> {
    let n = w.depth();
    (1..=n)
        .map(|k| {
            let mut upper = Mat::<T>::identity(w.width(k), w.width(k));
            for j in k + 1..=n {
                upper = w.w(j) * &upper;
            }
            let lower = w.partial_product(k - 1);
            upper.adjoint() * p * lower.adjoint()
        })
        .collect()
}

fn claim13<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let n = widths.len() * max_width(&widths);
            let v = random_like(cx.rng(), &w);
            let vrefs: Vec<_> = v.iter().map(|m| m.as_ref()).collect();
            let mut op = FiberOperator::new(&w);
            let (tan, sol) = op.project_tangent(&vrefs, CgOptions::default())?;
            let vn = tsub(&v, &tan);
            let rhs_norm = tnorm(&w.infinitesimal_action_adjoint(&vrefs));
            let t_abs = projection_tol(&w, tnorm(&v), rhs_norm, &sol.b, sol.residual, sol.iterations);
            let wv = tnorm(w.layers()) * tnorm(&v);
            // (⟹) the normal projection satisfies the condition, is orthogonal to the fiber, and dG vanishes.
            cx.record(label::<T>(&widths, "P⊥V: W_kV_k* = V_{k+1}*W_{k+1}"), tnorm(&normal_condition(&w, &vn)) / wv, t_abs / wv);
            let a: Vec<Mat<T>> = random_algebra(cx.rng(), &widths);
            let wa = w.infinitesimal_action(&a);
            let cosine = tinner(&vn, &wa).abs() / (tnorm(&v) * tnorm(&wa));
            cx.record(label::<T>(&widths, "P⊥V ⊥ w_a"), cosine, t_abs / (tnorm(&v) * tnorm(&wa)) + tol(16.0, n, 1.0));
            let scale = (tnorm(w.layers()) + tnorm(&vn)).powi(2);
            let dg = quadratic_derivative(&w, &vn, |x| x.moments());
            cx.record(label::<T>(&widths, "dG(P⊥V) = 0"), tnorm(&dg) / scale, (2.0 * t_abs + tol(16.0, n, scale)) / scale);
            // (⟸) the lifted gradient of any E satisfies the condition, hence is normal and conserves G.
            let p: Mat<T> = dln_linalg::random::gaussian(cx.rng(), widths[widths.len() - 1], widths[0]);
            let grad = lifted_gradient(&w, &p);
            let gw = tnorm(w.layers()) * tnorm(&grad);
            let c = product_conditioning(&w);
            cx.record(label::<T>(&widths, "∇(E∘φ): condition"), tnorm(&normal_condition(&w, &grad)) / gw, tol(16.0, n, c));
            let cos = tinner(&grad, &wa).abs() / (tnorm(&grad) * tnorm(&wa));
            cx.record(label::<T>(&widths, "∇(E∘φ) ⊥ w_a"), cos, tol(16.0, n, c * tnorm(w.layers()) / tnorm(&wa)));
            let scale = (tnorm(w.layers()) + tnorm(&grad)).powi(2);
            let dg = quadratic_derivative(&w, &grad, |x| x.moments());
            cx.record(label::<T>(&widths, "dG(∇(E∘φ)) = 0"), tnorm(&dg) / scale, tol(16.0, n, c));
        }
    }
    Ok(())
}

fn claim14<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for widths in all_widths(cx) {
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let n = widths.len() * max_width(&widths);
            let g = w.moments();
            let mut op = FiberOperator::new(&w);
            let sol = op.l2_gradient_generator(CgOptions::default())?;
            let wb = w.infinitesimal_action(&sol.b);
            let perp = tsub(w.layers(), &wb);
            let wn = tnorm(w.layers());
            let t_abs = projection_tol(&w, wn, tnorm(&g), &sol.b, sol.residual, sol.iterations);
            for _ in 0..2 {
                let a: Vec<Mat<T>> = random_algebra(cx.rng(), &widths);
                let wa = w.infinitesimal_action(&a);
                let cosine = tinner(&perp, &wa).abs() / (wn * tnorm(&wa));
                cx.record(label::<T>(&widths, "W − w_b ⊥ w_a"), cosine, t_abs / (wn * tnorm(&wa)) + tol(16.0, n, 1.0));
            }
            if widths[1..widths.len() - 1].iter().all(|&d| d >= 2) {
                let nonherm = tdist(&sol.b, &tadjoint(&sol.b)) / tnorm(&sol.b);
                cx.record_ge(label::<T>(&widths, "b ≠ b*"), nonherm, 1e-6, 0.0);
            }
        }
    }
    Ok(())
}

/// The relative contribution of the singular values at the rounding level to the bound: the bound
/// is only determined up to it.
fn bound_ambiguity(sigma: &[f64], depth: usize, r: usize, bound: f64) -> f64 {
    depth as f64 * sigma[r..].iter().map(|x| x.powf(2.0 / depth as f64)).sum::<f64>() / bound.max(f64::MIN_POSITIVE)
}

/// Condition number of the bound $\sum_i\sigma_i^e$ with respect to the singular values of the
/// computed $X = W_N\cdots W_1$: rounding perturbs each $\sigma_i$ by about $n\varepsilon\prod_k\|W_k\|$,
/// i.e. by $n\varepsilon\,c\,\sigma_1$ with $c$ the product conditioning, so the bound moves by the
/// relative amount $n\varepsilon\,c\cdot e\,\sigma_1\sum_i\sigma_i^{e-1}/\sum_i\sigma_i^e$ (this returns the factor after $n\varepsilon$).
fn bound_conditioning<T: Scalar>(w: &Network<T>, sigma: &[f64], r: usize, e: f64) -> f64 {
    let num: f64 = sigma[..r].iter().map(|s| s.powf(e - 1.0)).sum();
    let den: f64 = sigma[..r].iter().map(|s| s.powf(e)).sum();
    1.0 + product_conditioning(w) * e * sigma[0] * num / den
}

fn claim17<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for (n, d) in cx.square_shapes() {
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let sigma = svals(w.product().as_ref())?;
            let bound = l2_bound(&sigma, n, d);
            let t = tol(16.0, n * d, 1.0);
            // Random points of the fiber: W and A·W.
            for i in 0..3 {
                let p = if i == 0 { w.clone() } else { w.act(&random_group(cx.rng(), &widths, GROUP_COND))? };
                let ratio = p.l2_norm_sq() / bound;
                cx.record_ge(label::<T>(&widths, "‖W‖²/bound ≥ 1"), ratio, 1.0, t);
                if p.moment_norm() > 1e-3 * p.l2_norm_sq() {
                    cx.record_ge(label::<T>(&widths, "G ≠ 0 ⟹ strict"), ratio - 1.0, 100.0 * t, 0.0);
                }
            }
            // Equality on the balanced orbit and at the balancing output.
            let frames: Vec<Mat<T>> = random_frames(cx.rng(), &widths, d);
            let q = BalancedOrbit::of(&w)?.point(&frames);
            let te = tol(16.0, n * d, bound_conditioning(&w, &sigma, d, 2.0 / n as f64));
            cx.record(label::<T>(&widths, "Q·C: equality"), (q.l2_norm_sq() / bound - 1.0).abs(), te);
            let opts = BalanceOptions::default();
            let b = balance(&w, opts)?;
            cx.record(label::<T>(&widths, "balance: equality"), (b.network.l2_norm_sq() / bound - 1.0).abs(), te + opts.tol);
            near_minimum(cx, &q, &widths, "")?;
        }
    }
    Ok(())
}

/// Theorem 1 near its minimum: points $\mathbf W = e^{\varepsilon\mathbf a}\cdot\mathbf B$ of the orbit of a
/// balanced $\mathbf B$, $\mathbf a$ Hermitian with $\|\mathbf a\| = 1$. The first variation of $\|\cdot\|^2$,
/// $2\operatorname{Re}\langle\mathbf G(\mathbf B),\mathbf a\rangle$, vanishes and the second is $4\|\mathbf w_{\mathbf a}\|^2$, so
/// $\tfrac12(\|\mathbf W_{\varepsilon}\|^2 + \|\mathbf W_{-\varepsilon}\|^2) - \|\mathbf B\|^2 = 2\varepsilon^2\|\mathbf w_{\mathbf a}\|^2 + O(\varepsilon^4)$
/// (the odd orders cancel). Records the inequality $\|\mathbf W\|^2\ge\|\mathbf B\|^2$ at $\varepsilon = 10^{-6}$,
/// where the true gap ($\sim10^{-12}$) is two orders above the tolerance, and the second-order
/// law at $\varepsilon = 10^{-3}$ against the infinitesimal action computed independently.
fn near_minimum<T: Scalar>(cx: &mut Ctx, b: &Network<T>, widths: &[usize], note: &str) -> CheckResult {
    let a: Vec<Mat<T>> = random_algebra::<T, _>(cx.rng(), widths)
        .iter()
        .map(|m| faer::Scale(T::from_f64(0.5)) * (m + m.adjoint()))
        .collect();
    let a = tscale(&a, 1.0 / tnorm(&a).max(f64::MIN_POSITIVE));
    let hess = 2.0 * tnorm(&b.infinitesimal_action(&a)).powi(2);
    let b2 = b.l2_norm_sq();
    let nd = widths.len() * max_width(widths);
    let t = tol(16.0, nd, 1.0);
    let orbit_point = |eps: f64| -> Result<Network<T>, CheckError> {
        let g: Vec<Mat<T>> = a
            .iter()
            .map(|ak| dln_linalg::expm((faer::Scale(T::from_f64(eps)) * ak).as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(b.act(&g)?)
    };
    for eps in [1e-6, -1e-6] {
        let w = orbit_point(eps)?;
        cx.record_ge(label::<T>(widths, &format!("{note}near minimum ε={eps:e}: ‖W‖²/‖B‖² ≥ 1")), w.l2_norm_sq() / b2, 1.0, t);
    }
    let eps = 1e-3;
    let (wp, wm) = (orbit_point(eps)?, orbit_point(-eps)?);
    let gap = 0.5 * (wp.l2_norm_sq() + wm.l2_norm_sq()) - b2;
    let pred = hess * eps * eps;
    // Truncation O(ε²) relative; rounding of the difference of two norms, relative to the prediction.
    let te = 1e-4 + 10.0 * t * b2 / pred.max(f64::MIN_POSITIVE);
    cx.record(label::<T>(widths, &format!("{note}near minimum: gap = 2ε²‖w_a‖²")), (gap - pred).abs() / pred.max(f64::MIN_POSITIVE), te);
    Ok(())
}

/// Width profiles and a rank-deficient square network of each depth: `(widths, rank_drop)`.
fn general_instances<T: Scalar>(cx: &mut Ctx) -> Vec<Network<T>> {
    let mut nets = Vec::new();
    for widths in cx.general_widths() {
        for _ in 0..cx.reps() {
            nets.push(gaussian_network(cx.rng(), &widths));
        }
    }
    for (n, d) in cx.square_shapes().into_iter().filter(|&(_, d)| d >= 2) {
        for _ in 0..cx.reps() {
            let widths = square(n, d);
            let mut layers = gaussian_network::<T, _>(cx.rng(), &widths).into_layers();
            let k = cx.rng().random_range(0..n);
            layers[k] = dln_linalg::random::low_rank(cx.rng(), d, d, d / 2);
            nets.push(Network::new(layers).expect("valid widths"));
        }
    }
    nets
}

fn claim18<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for w in general_instances::<T>(cx) {
        let widths = w.widths();
        let n = w.depth();
        let x = w.product();
        let sigma = svals(x.as_ref())?;
        let r = rank_of(&sigma, x.nrows(), x.ncols());
        let bound = l2_bound(&sigma, n, r);
        let amb = bound_ambiguity(&sigma, n, r, bound);
        let nd = widths.len() * max_width(&widths);
        let t = tol(16.0, nd, 1.0);
        let note = format!("rank {r}");
        for i in 0..3 {
            let p = if i == 0 { w.clone() } else { w.act(&random_group(cx.rng(), &widths, GROUP_COND))? };
            cx.record_ge(label::<T>(&widths, &format!("{note}: ‖W‖²/bound ≥ 1")), p.l2_norm_sq() / bound, 1.0, t);
        }
        let orbit = BalancedOrbit::of(&w)?;
        let frames: Vec<Mat<T>> = random_frames(cx.rng(), &widths, orbit.rank());
        let q = orbit.point(&frames);
        let te = tol(16.0, nd, bound_conditioning(&w, &sigma, r, 2.0 / n as f64));
        cx.record(label::<T>(&widths, &format!("{note}: Q·C equality")), (q.l2_norm_sq() / bound - 1.0).abs(), te + amb);
        cx.record(label::<T>(&widths, &format!("{note}: G(Q·C) = 0")), q.moment_norm() / q.l2_norm_sq(), t);
        let xr = rel_diff(q.product().as_ref(), x.as_ref());
        cx.record(label::<T>(&widths, &format!("{note}: φ(Q·C) = X")), xr, t + sigma.get(r).copied().unwrap_or(0.0) / sigma[0]);
        near_minimum(cx, &q, &widths, &format!("{note}: "))?;
    }
    Ok(())
}

fn claim19<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for (n, d) in cx.square_shapes() {
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let w: Network<T> = gaussian_network(cx.rng(), &widths);
            let sigma = svals(w.product().as_ref())?;
            let t = tol(16.0, n * d, 1.0);
            let frames: Vec<Mat<T>> = random_frames(cx.rng(), &widths, d);
            let q = BalancedOrbit::of(&w)?.point(&frames);
            let others: Vec<Network<T>> = (0..3)
                .map(|_| w.act(&random_group(cx.rng(), &widths, GROUP_COND)))
                .collect::<Result<_, _>>()?;
            // p = 2 is Σ_k‖W_k‖_F.
            let frob: f64 = w.layers().iter().map(|m| m.norm_l2()).sum();
            cx.record(label::<T>(&widths, "S_2 sum = Σ‖W_k‖_F"), (w.schatten_sum(2.0)? - frob).abs() / frob, t);
            for p in [1.0, 1.5, 2.0, 3.0] {
                let bound = n as f64 * sigma.iter().map(|s| s.powf(p / n as f64)).sum::<f64>().powf(1.0 / p);
                let te = tol(16.0, n * d, bound_conditioning(&w, &sigma, d, p / n as f64) / p);
                cx.record(label::<T>(&widths, &format!("p={p}: Q·C equality")), (q.schatten_sum(p)? / bound - 1.0).abs(), te);
                for o in std::iter::once(&w).chain(&others) {
                    let v = o.schatten_sum(p)? / bound;
                    cx.record_ge(label::<T>(&widths, &format!("p={p}: ≥ bound")), v, 1.0, t);
                    if p > 1.0 && o.moment_norm() > 1e-3 * o.l2_norm_sq() {
                        cx.record_ge(label::<T>(&widths, &format!("p={p}: G ≠ 0 ⟹ strict")), v - 1.0, 100.0 * t, 0.0);
                    }
                }
            }
        }
    }
    Ok(())
}

fn claim30<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    for (n, d) in cx.square_shapes() {
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let x: Mat<T> = dln_linalg::random::gl_with_condition(cx.rng(), d, 3.0);
            let orbit = BalancedOrbit::new(x.as_ref(), &widths)?;
            let frames: Vec<Mat<T>> = random_frames(cx.rng(), &widths, d);
            let w = orbit.point(&frames);
            // dG as a real matrix: the central difference is exact for the quadratic G.
            let basis = real_basis::<T>(&layer_shapes(&widths));
            let m = real_matrix(&basis, |v| quadratic_derivative(&w, v, |z| z.moments()));
            let s = svals(m.as_ref())?;
            let (n_f, d_f) = (n as f64, d as f64);
            let predicted = if T::IS_COMPLEX { (n_f + 1.0) * d_f * d_f } else { d_f * d_f + (n_f - 1.0) * d_f * (d_f - 1.0) / 2.0 };
            let rank = s.iter().filter(|&&x| x > 1e-8 * s[0]).count();
            let kernel = basis.len() - rank;
            cx.record(label::<T>(&widths, "dim ker dG"), (kernel as f64 - predicted).abs(), 0.0);
            // The count is robust: a wide gap separates the zero and non-zero singular values.
            let r = basis.len() - predicted as usize;
            if r >= 1 && r <= s.len() {
                cx.record_ge(label::<T>(&widths, "σ_r/σ_1 (non-zero)"), s[r - 1] / s[0], 1e-4, 0.0);
            }
            if r < s.len() {
                cx.record(label::<T>(&widths, "σ_{r+1}/σ_1 (zero)"), s[r] / s[0], tol(16.0, basis.len(), 1.0));
            }
            // The action is free: a ↦ w_a is injective, so dim F_X = dim 𝔤 = (N−1)d² (real dims, ×2 over ℂ).
            let gbasis = real_basis::<T>(&junction_shapes(&widths));
            let tm = real_matrix(&gbasis, |a| w.infinitesimal_action(a));
            let st = svals(tm.as_ref())?;
            cx.record_ge(label::<T>(&widths, "a ↦ w_a injective"), st[st.len() - 1] / st[0], 1e-4, 0.0);
        }
    }
    Ok(())
}

fn claim33<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    let depths: Vec<usize> = if cx.thorough() { vec![2, 3, 4, 5, 7, 10] } else { vec![2, 3, 5, 8] };
    let d = 3;
    for n in depths {
        for _ in 0..cx.reps() {
            let sig: Vec<f64> = (0..d).map(|_| cx.rng().random_range(0.3..3.0)).collect();
            let x = Mat::<T>::from_fn(d, d, |i, j| T::from_f64(if i == j { sig[i] } else { 0.0 }));
            let widths = square(n, d);
            let centre = BalancedOrbit::new(x.as_ref(), &widths)?.centre();
            let mut sorted = sig.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let lam: Vec<f64> = sorted.iter().map(|s| s.powf(1.0 / n as f64)).collect();
            for i in 0..d {
                for j in i + 1..d {
                    let (li, lj) = (lam[i], lam[j]);
                    let m = n - 1;
                    let jac = Mat::<f64>::from_fn(m, m, |p, q| {
                        if p == q {
                            2.0 * (li * li + lj * lj)
                        } else if p.abs_diff(q) == 1 {
                            -2.0 * li * lj
                        } else {
                            0.0
                        }
                    });
                    let scale = jac.norm_l2();
                    let t = tol(16.0, n * d, 1.0);
                    // The Gram block of the orbit map at the centre, in the directions E_ij − E_ji
                    // (and i(E_ij + E_ji) over ℂ) at each junction.
                    let mut dirs = vec![(1.0, -1.0, 0.0)];
                    if T::IS_COMPLEX {
                        dirs.push((0.0, 0.0, 1.0));
                    }
                    for &(up, down, imag) in &dirs {
                        let generator = |k: usize| -> Vec<Mat<T>> {
                            (1..n)
                                .map(|l| {
                                    let mut a = Mat::<T>::zeros(d, d);
                                    if l == k {
                                        a[(i, j)] = T::from_parts(up, imag);
                                        a[(j, i)] = T::from_parts(down, imag);
                                    }
                                    a
                                })
                                .collect()
                        };
                        let tangents: Vec<Vec<Mat<T>>> = (1..n).map(|k| centre.infinitesimal_action(&generator(k))).collect();
                        let gram = Mat::<f64>::from_fn(m, m, |p, q| tinner(&tangents[p], &tangents[q]));
                        let what = if imag > 0.0 { "i(E_ij+E_ji)" } else { "E_ij−E_ji" };
                        cx.record(label::<T>(&widths, &format!("({i},{j}) Gram[{what}] = J")), (&gram - &jac).norm_l2() / scale, t);
                    }
                    let ev = sym_eigenvalues(&jac)?;
                    let mut want: Vec<f64> = (1..n)
                        .map(|k| 2.0 * (li * li + lj * lj - 2.0 * li * lj * (k as f64 * std::f64::consts::PI / n as f64).cos()))
                        .collect();
                    want.sort_by(f64::total_cmp);
                    let dev = ev.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                    cx.record(label::<T>(&widths, &format!("({i},{j}) eigenvalues")), dev / ev[m - 1], t);
                    // det by the three-term recurrence of the tridiagonal matrix.
                    let (a, b) = (2.0 * (li * li + lj * lj), 2.0 * li * lj);
                    let (mut f0, mut f1) = (1.0, a);
                    for _ in 1..m {
                        (f0, f1) = (f1, a * f1 - b * b * f0);
                    }
                    let det = f1 / 2f64.powi(m as i32);
                    let want_det = (li.powi(2 * n as i32) - lj.powi(2 * n as i32)) / (li * li - lj * lj);
                    cx.record(label::<T>(&widths, &format!("({i},{j}) det")), (det / want_det - 1.0).abs(), tol(16.0, n * n, 1.0));
                }
            }
        }
    }
    Ok(())
}

fn claim35<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    let mut dims = vec![(3, 2, 4), (4, 4, 4), (2, 3, 1), (1, 2, 2)];
    if cx.thorough() {
        dims.extend([(6, 3, 5), (8, 8, 8)]);
    }
    for (nx, m, p) in dims {
        for _ in 0..cx.reps() {
            let gauss = |cx: &mut Ctx, r: usize, c: usize| -> Mat<T> { dln_linalg::random::gaussian(cx.rng(), r, c) };
            let a = gauss(cx, nx, nx);
            let b = gauss(cx, nx, m);
            let c = gauss(cx, p, nx);
            let al = random_algebra::<T, _>(cx.rng(), &[0, nx, 0]).remove(0);
            let ls_norm = |a: &Mat<T>, b: &Mat<T>, c: &Mat<T>, tau: f64| -> Result<f64, CheckError> {
                let e = dln_linalg::expm((faer::Scale(T::from_f64(tau)) * &al).as_ref())?;
                let ei = dln_linalg::expm((faer::Scale(T::from_f64(-tau)) * &al).as_ref())?;
                let f = (&e * a * &ei).norm_l2().powi(2) + (&e * b).norm_l2().powi(2) + (c * &ei).norm_l2().powi(2);
                Ok(0.5 * f)
            };
            let mu = |a: &Mat<T>, b: &Mat<T>, c: &Mat<T>| -> Mat<T> {
                a * a.adjoint() - a.adjoint() * a + b * b.adjoint() - c.adjoint() * c
            };
            let note = format!("n={nx} m={m} p={p}");
            let lbl = |s: &str| format!("{} {note} {s}", field::<T>());
            let scale = 2.0 * ls_norm(&a, &b, &c, 0.0)?;
            let fd = fd_scalar(|tau| ls_norm(&a, &b, &c, tau), FD_STEP)?;
            let pairing = dln_linalg::re_inner(mu(&a, &b, &c).as_ref(), al.as_ref());
            cx.record(lbl("first variation = Re Tr(μ_LS a)"), (fd - pairing).abs() / scale, fd_tol(FD_STEP, 4.0, 3 * nx.max(m).max(p)));
            // N = 2 DLN: A = 0, B = W_1, C = W_2.
            let zero = Mat::<T>::zeros(nx, nx);
            let w = Network::new(vec![b.clone(), c.clone()])?;
            let t = tol(16.0, 2 * nx.max(m).max(p), 1.0);
            cx.record(lbl("μ_LS(0, W_1, W_2) = G_1"), rel_diff(mu(&zero, &b, &c).as_ref(), w.moment(1).as_ref()) * tnorm(&w.moments()) / w.l2_norm_sq(), t);
            let tau = 0.3;
            let via_act = 0.5 * act_exp(&w, std::slice::from_ref(&al), tau)?.l2_norm_sq();
            cx.record(lbl("½‖e^{τa}·W‖² = LS norm at A = 0"), (via_act - ls_norm(&zero, &b, &c, tau)?).abs() / via_act, t);
        }
    }
    Ok(())
}

fn claim36<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    let widths = [1, 1, 1];
    for _ in 0..cx.reps() {
        let w1: T = dln_linalg::random::gaussian_scalar(cx.rng());
        let one = |v: T| Mat::<T>::from_fn(1, 1, |_, _| v);
        let w = Network::new(vec![one(w1), one(T::from_f64(0.0))])?;
        let t = tol(16.0, 2, 1.0);
        let n0 = w.l2_norm_sq();
        for e in 0..=6 {
            let s = 10f64.powi(-e);
            let aw = w.act(&[one(T::from_f64(s))])?;
            let norm = aw.l2_norm_sq();
            cx.record(label::<T>(&widths, &format!("A=1e-{e}: ‖A·W‖² = A²|w_1|²")), (norm / (s * s * n0) - 1.0).abs(), t);
            // G = A²|w_1|² never vanishes on the orbit: no critical point of ψ, so (Kempf–Ness) the orbit is not closed.
            cx.record(label::<T>(&widths, &format!("A=1e-{e}: G/‖A·W‖² = 1")), (aw.moment(1)[(0, 0)].re() / norm - 1.0).abs(), t);
        }
        // The infimum 0 = NΣσ^{2/N} (X = 0) is the limit in the orbit closure: balance reports a non-closed orbit.
        let b = balance(&w, BalanceOptions::default())?;
        cx.record(label::<T>(&widths, "balance: orbit_closed = false"), if b.info.orbit_closed { 1.0 } else { 0.0 }, 0.0);
        cx.record(label::<T>(&widths, "balance: limit norm 0"), b.network.l2_norm_sq() / n0, t);
        // Contrast: x = w_2w_1 ≠ 0, the orbit is the whole fiber and is closed.
        let w2: T = dln_linalg::random::gaussian_scalar(cx.rng());
        let v = Network::new(vec![one(w1), one(w2)])?;
        let b = balance(&v, BalanceOptions::default())?;
        cx.record(label::<T>(&widths, "x ≠ 0: orbit_closed = true"), if b.info.orbit_closed { 0.0 } else { 1.0 }, 0.0);
    }
    Ok(())
}

fn kn_certificate<T: Scalar>(cx: &mut Ctx) -> CheckResult {
    let mut nets: Vec<(Network<T>, bool)> = Vec::new();
    for (n, d) in cx.square_shapes() {
        for _ in 0..cx.reps() {
            nets.push((gaussian_network(cx.rng(), &square(n, d)), true));
        }
    }
    nets.extend(general_instances::<T>(cx).into_iter().map(|w| (w, false)));
    for (w, square_full) in nets {
        let widths = w.widths();
        let n = w.depth();
        let x = w.product();
        let sigma = svals(x.as_ref())?;
        let r = rank_of(&sigma, x.nrows(), x.ncols());
        let bound = l2_bound(&sigma, n, r);
        let amb = bound_ambiguity(&sigma, n, r, bound);
        let nd = widths.len() * max_width(&widths);
        for method in [BalanceMethod::Svd, BalanceMethod::Orbit] {
            let opts = BalanceOptions { method, ..BalanceOptions::default() };
            let b = balance(&w, opts)?;
            let out = &b.network;
            let note = format!("rank {r} {}", method.name());
            let t = tol(16.0, nd, 1.0);
            let te = tol(16.0, nd, bound_conditioning(&w, &sigma, r, 2.0 / n as f64));
            cx.record(label::<T>(&widths, &format!("{note}: gap")), (out.l2_norm_sq() / bound - 1.0).abs(), te + amb + opts.tol);
            cx.record(label::<T>(&widths, &format!("{note}: ‖μ‖/‖W‖²")), out.moment_norm() / out.l2_norm_sq(), t + opts.tol);
            let xr = rel_diff(out.product().as_ref(), x.as_ref());
            let xt = tol(16.0, nd, product_conditioning(&w) * (1.0 + b.info.iterations as f64))
                + sigma.get(r).copied().unwrap_or(0.0) / sigma[0];
            cx.record(label::<T>(&widths, &format!("{note}: X preserved")), xr, xt);
            if square_full {
                cx.record(label::<T>(&widths, &format!("{note}: orbit closed")), if b.info.orbit_closed { 0.0 } else { 1.0 }, 0.0);
            }
        }
    }
    Ok(())
}
