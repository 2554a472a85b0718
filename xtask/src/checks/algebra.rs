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
        Check::new(
            "claim07-tangent-formula",
            "(2.3)",
            "d/dτ|₀ e^{τa}·W = w_a, (w_a)_k = a_kW_k − W_ka_{k-1}",
            |cx| {
                claim07::<f64>(cx)?;
                claim07::<c64>(cx)
            },
        ),
        Check::new(
            "claim08-lemma2-moment-map",
            "Lemma 2, (2.5)",
            "d/dτ|₀ ½‖e^{τa}·W‖² = Σ Re Tr(G_k* a_k) = ½ Σ Tr(G_k(a_k + a_k*))",
            |cx| {
                claim08::<f64>(cx)?;
                claim08::<c64>(cx)
            },
        ),
        Check::new(
            "claim09-lemma3-gram-operator",
            "Lemma 3, (2.8)-(2.9)",
            "⟨w_b, w_a⟩ = Σ Re Tr(H_k(b)* a_k) = Σ Re Tr(b_k* H_k(a)), H_k as in (2.8)",
            |cx| {
                claim09::<f64>(cx)?;
                claim09::<c64>(cx)
            },
        ),
        Check::new(
            "claim10-h-positive-definite",
            "Lemma 3, §8.10",
            "H is symmetric for Re Tr and positive definite (X full rank); Σ Re Tr(a_k* H_k(a)) = ‖w_a‖²",
            |cx| {
                claim10::<f64>(cx)?;
                claim10::<c64>(cx)
            },
        ),
        Check::new(
            "claim11-lemma4-moment-pushforward",
            "Lemma 4, (2.12)",
            "dG_k(w_c) = H_k(c) + H_k(c)*",
            |cx| {
                claim11::<f64>(cx)?;
                claim11::<c64>(cx)
            },
        ),
        Check::new(
            "claim12-euler-identity",
            "Remark 9, (2.23), E4",
            "dG(W)[W] = 2G and dG(w_b) = +2G for H(b) = G (corrected E4)",
            |cx| {
                claim12::<f64>(cx)?;
                claim12::<c64>(cx)
            },
        ),
        Check::new(
            "claim13-normal-space",
            "§2.4 [derived]",
            "V ⊥ T_W F_X ⟺ W_kV_k* = V_{k+1}*W_{k+1}; then dG(V) = 0, incl. V = ∇(E∘φ) for any E",
            |cx| {
                claim13::<f64>(cx)?;
                claim13::<c64>(cx)
            },
        ),
        Check::new(
            "claim14-lemma5-gradient",
            "Lemma 5, (2.19), E8",
            "H(b) = G ⟹ W − w_b ⊥ T_W F_X (w_b = projection of W); b is generally not Hermitian",
            |cx| {
                claim14::<f64>(cx)?;
                claim14::<c64>(cx)
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
