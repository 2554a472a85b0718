//! The fiber posterior of scalar networks ($d = 1$) at depth $N = 2$ and $3$ by quadrature: the
//! exact reference the samplers are checked against (tests, `cargo xtask verify`), and a
//! diagnostic for users who want to see a chain against a known answer.
//!
//! With $a = \beta\kappa$ and $g = e^{-aq/2}$, $q = \|\mathbf W\|^2$:
//! - $N = 2$, $w_2w_1 = x$, in $u = \log|w_1|$, $t = |w_1|$, $q = t^2+|x|^2/t^2$: the density in
//!   $t$ is $g\sqrt{1+x^2/t^4}$ (real Hausdorff), $g\,(t+|x|^2/t^3)$ (complex Hausdorff: area of the
//!   holomorphic graph $w_2 = x/w_1$) and $g/t$ (conditional, both fields); trapezoid rule on
//!   $u\in[-12,12]$, 40 001 nodes (a smooth, doubly exponentially decaying integrand).
//! - $N = 3$, $w_3w_2w_1 = x$, in $t_i = \log|w_i|$, $i = 2,3$, chart $w_1 = x/(w_2w_3)$,
//!   $r_i = e^{t_i}$, $q = r_2^2+r_3^2+|x|^2/(r_2r_3)^2$, $|\nabla w_1|^2 = |x|^2/(r_2^4r_3^2) +
//!   |x|^2/(r_2^2r_3^4)$: conditional $g$ in both fields; Hausdorff $g\sqrt{1+|\nabla
//!   w_1|^2}\,r_2r_3$ over $\mathbb R$ (area of a graph) and $g\,(1+|\nabla w_1|^2)\,r_2^2r_3^2$
//!   over $\mathbb C$ (volume of a holomorphic graph); 2-D trapezoid rule on $[-10,5]^2$,
//!   $1501^2$ nodes. Phases (signs) are integrated out.

use super::BaseMeasure;

/// $\mathbb E\|\mathbf W\|^2$ under the fiber posterior $\propto e^{-a\|\mathbf W\|^2/2}$
/// ($a = \beta\kappa$) against `measure` on the fiber $w_N\cdots w_1 = x$ of scalar layers, real or
/// `complex`, for depth $N = 2$ or $3$ (module docs).
///
/// # Panics
/// If `depth` is not 2 or 3, or `a` or `x_abs` is not positive.
pub fn scalar_fiber_mean_l2_norm_sq(
    depth: usize,
    a: f64,
    x_abs: f64,
    complex: bool,
    measure: BaseMeasure,
) -> f64 {
    assert!(a > 0.0 && x_abs > 0.0, "need a > 0 and |x| > 0");
    match depth {
        2 => depth2(a, x_abs, complex, measure),
        3 => depth3(a, x_abs, complex, measure),
        _ => panic!("scalar_fiber_mean_l2_norm_sq: depth {depth} (2 or 3 only)"),
    }
}

/// Trapezoid weight of node `i` of `n`.
fn weight(i: usize, n: usize) -> f64 {
    if i == 0 || i == n - 1 { 0.5 } else { 1.0 }
}

fn depth2(a: f64, x_abs: f64, complex: bool, measure: BaseMeasure) -> f64 {
    let (lo, hi, n) = (-12.0_f64, 12.0_f64, 40_001);
    let h = (hi - lo) / (n - 1) as f64;
    let x2 = x_abs * x_abs;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..n {
        let t = (lo + h * i as f64).exp();
        let q = t * t + x2 / (t * t);
        let g = (-0.5 * a * q).exp();
        let dens_t = match (measure, complex) {
            (BaseMeasure::Conditional, _) => g / t,
            (BaseMeasure::Hausdorff, false) => g * (1.0 + x2 / t.powi(4)).sqrt(),
            (BaseMeasure::Hausdorff, true) => g * (t + x2 / t.powi(3)),
        };
        // dt = t du
        let w = weight(i, n) * dens_t * t;
        num += w * q;
        den += w;
    }
    num / den
}

fn depth3(a: f64, x_abs: f64, complex: bool, measure: BaseMeasure) -> f64 {
    let (lo, hi, n) = (-10.0_f64, 5.0_f64, 1501);
    let h = (hi - lo) / (n - 1) as f64;
    let x2 = x_abs * x_abs;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..n {
        let r2 = (lo + h * i as f64).exp();
        for j in 0..n {
            let r3 = (lo + h * j as f64).exp();
            let p2 = (r2 * r3).powi(2);
            let q = r2 * r2 + r3 * r3 + x2 / p2;
            let g = (-0.5 * a * q).exp();
            if g == 0.0 {
                continue;
            }
            let grad2 = x2 / (p2 * r2 * r2) + x2 / (p2 * r3 * r3);
            let dens = match (measure, complex) {
                (BaseMeasure::Conditional, _) => g,
                (BaseMeasure::Hausdorff, false) => g * (1.0 + grad2).sqrt() * r2 * r3,
                (BaseMeasure::Hausdorff, true) => g * (1.0 + grad2) * p2,
            };
            let w = weight(i, n) * weight(j, n) * dens;
            num += w * q;
            den += w;
        }
    }
    num / den
}
