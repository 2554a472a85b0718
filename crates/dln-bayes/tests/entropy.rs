//! Entropy of the balanced orbit: claims 31/32 against the Gram determinant of the orbit map's
//! tangent vectors (computed with dln-algebra's infinitesimal action), group volumes against
//! independent closed forms, the gradient against finite differences, cancellation-free kernels.

use dln_algebra::{BalancedOrbit, Network};
use dln_bayes::entropy::{
    entropy, entropy_from_sigma, entropy_gradient, log_group_volume, log_kernel,
    log_orbit_density_sq,
};
use dln_bayes::{BayesError, FreeEnergy};
use dln_flows::loss::{Frobenius, Loss};
use dln_linalg::{Scalar, c64, random};
use faer::Mat;
use std::f64::consts::PI;

/// $\log\det$ of the Gram matrix of the orbit map at the centre, relative to
/// $\operatorname{Re}\operatorname{Tr}(a^*b)$ on $\mathfrak k^{N-1}$.
fn numeric_log_density_sq<T: Scalar>(sigma: &[f64], depth: usize) -> f64 {
    let d = sigma.len();
    let x = Mat::<T>::from_fn(d, d, |i, j| {
        T::from_f64(if i == j { sigma[i] } else { 0.0 })
    });
    let c: Network<T> = BalancedOrbit::new(x.as_ref(), &vec![d; depth + 1])
        .unwrap()
        .centre();
    // An orthonormal basis of k = o(d) or u(d) in Re Tr(a^* b).
    let s = std::f64::consts::FRAC_1_SQRT_2;
    let mut basis: Vec<Mat<T>> = Vec::new();
    for i in 0..d {
        for j in i + 1..d {
            basis.push(Mat::from_fn(d, d, |a, b| {
                match (a == i && b == j, a == j && b == i) {
                    (true, _) => T::from_f64(s),
                    (_, true) => T::from_f64(-s),
                    _ => T::from_f64(0.0),
                }
            }));
            if T::IS_COMPLEX {
                basis.push(Mat::from_fn(d, d, |a, b| {
                    if (a == i && b == j) || (a == j && b == i) {
                        T::from_parts(0.0, s)
                    } else {
                        T::from_f64(0.0)
                    }
                }));
            }
        }
        if T::IS_COMPLEX {
            basis.push(Mat::from_fn(d, d, |a, b| {
                if a == i && b == i {
                    T::from_parts(0.0, 1.0)
                } else {
                    T::from_f64(0.0)
                }
            }));
        }
    }
    let mut tangents = Vec::new();
    for k in 0..depth - 1 {
        for e in &basis {
            let a: Vec<Mat<T>> = (0..depth - 1)
                .map(|m| if m == k { e.clone() } else { Mat::zeros(d, d) })
                .collect();
            tangents.push(c.infinitesimal_action(&a));
        }
    }
    let n = tangents.len();
    let gram = Mat::<f64>::from_fn(n, n, |i, j| {
        dln_algebra::tuple_inner(&tangents[i], &tangents[j])
    });
    let ev = gram.self_adjoint_eigenvalues(faer::Side::Lower).unwrap();
    ev.iter().map(|l| l.ln()).sum()
}

#[test]
fn claims_31_32_density_matches_gram_determinant() {
    let mut rng = random::rng(31);
    for &(n, d) in &[(2, 2), (3, 3), (5, 3), (4, 4)] {
        let mut sigma: Vec<f64> = (0..d)
            .map(|_| 0.3 + 2.7 * rand::Rng::random::<f64>(&mut rng))
            .collect();
        sigma.sort_by(|a, b| b.partial_cmp(a).unwrap());
        for complex in [false, true] {
            let got = log_orbit_density_sq(&sigma, n, complex).unwrap();
            let want = if complex {
                numeric_log_density_sq::<c64>(&sigma, n)
            } else {
                numeric_log_density_sq::<f64>(&sigma, n)
            };
            assert!(
                (got - want).abs() < 1e-10 * (1.0 + want.abs()),
                "N={n} d={d} complex={complex}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn group_volumes_match_independent_closed_forms() {
    // O(1) = {+-1}; U(1) circle of length 2 pi; O(2): two circles of radius sqrt 2.
    assert!((log_group_volume(1, false) - 2f64.ln()).abs() < 1e-14);
    assert!((log_group_volume(1, true) - (2.0 * PI).ln()).abs() < 1e-14);
    assert!((log_group_volume(2, false) - (4.0 * PI * 2f64.sqrt()).ln()).abs() < 1e-14);
    // SO(3) with the metric 1/2 Tr is the sphere of radius 2 mod +-1, volume 8 pi^2; Tr(a^T b)
    // scales lengths by sqrt 2 (3 dimensions), and O(3) has two components.
    let o3: f64 = 2.0 * 2f64.sqrt().powi(3) * 8.0 * PI * PI;
    assert!((log_group_volume(3, false) - o3.ln()).abs() < 1e-13);
    // U(2) = (U(1) x SU(2)) / Z_2. In Re Tr(a^* b): the centre circle e^{i t} I has length
    // 2 pi sqrt 2; SU(2) is the 3-sphere of radius sqrt 2, volume 2 pi^2 (sqrt 2)^3; the
    // centre direction is orthogonal to su(2), and the quotient by Z_2 halves the product.
    let u2: f64 = 2.0 * PI * 2f64.sqrt() * 2.0 * PI * PI * 2f64.sqrt().powi(3) / 2.0;
    assert!((log_group_volume(2, true) - u2.ln()).abs() < 1e-13);
}

#[test]
fn kernel_is_cancellation_free() {
    for n in [2usize, 3, 7, 40] {
        for &r in &[1.0, 1.0 - 1e-15, 1.0 - 1e-9, 0.9, 0.3, 1e-3] {
            let (si, sj): (f64, f64) = (1.7, 1.7 * r);
            // Direct positive sum in extended form.
            let (li, lj) = (si.powf(1.0 / n as f64), sj.powf(1.0 / n as f64));
            let direct: f64 = (1..=n)
                .map(|p| li.powi(2 * (n - p) as i32) * lj.powi(2 * (p - 1) as i32))
                .sum();
            let got = log_kernel(si, sj, n);
            assert!(
                (got - direct.ln()).abs() < 1e-13 * (1.0 + direct.ln().abs()),
                "N={n} r={r}"
            );
        }
    }
}

fn gradient_matches_fd<T: Scalar>(seed: u64) {
    let mut rng = random::rng(seed);
    for &(n, d) in &[(2usize, 3usize), (4, 3), (3, 2)] {
        let x: Mat<T> = random::gl_with_condition(&mut rng, d, 3.0);
        let g = entropy_gradient(x.as_ref(), n).unwrap();
        let z: Mat<T> = random::gaussian(&mut rng, d, d);
        let h = 1e-5;
        let f = |s: f64| {
            entropy((&x + faer::Scale(T::from_f64(s)) * &z).as_ref(), n)
                .unwrap()
                .entropy
        };
        let fd = (f(h) - f(-h)) / (2.0 * h);
        let an = dln_linalg::re_inner(g.as_ref(), z.as_ref());
        assert!(
            (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
            "N={n} d={d}: fd {fd} vs {an}"
        );
    }
}

#[test]
fn gradient_matches_finite_differences() {
    gradient_matches_fd::<f64>(1);
    gradient_matches_fd::<c64>(2);
}

#[test]
fn entropy_is_invariant_under_unitary_changes_of_basis() {
    let mut rng = random::rng(4);
    let x: Mat<c64> = random::gl_with_condition(&mut rng, 4, 5.0);
    let u: Mat<c64> = random::haar_unitary(&mut rng, 4);
    let v: Mat<c64> = random::haar_unitary(&mut rng, 4);
    let a = entropy(x.as_ref(), 3).unwrap().entropy;
    let b = entropy((&u * &x * &v).as_ref(), 3).unwrap().entropy;
    assert!((a - b).abs() < 1e-10 * a.abs().max(1.0));
}

#[test]
fn depth_one_orbit_is_a_point() {
    let e = entropy_from_sigma(&[3.0, 2.0, 1.0], 1, true).unwrap();
    assert!(e.entropy.abs() < 1e-14);
}

#[test]
fn repeated_and_zero_singular_values_are_errors() {
    assert!(matches!(
        entropy_from_sigma(&[2.0, 2.0, 1.0], 3, false),
        Err(BayesError::RepeatedSingularValues { i: 1, j: 2, .. })
    ));
    assert!(matches!(
        entropy_from_sigma(&[2.0, 1.0, 0.0], 3, false),
        Err(BayesError::RankDeficient { .. })
    ));
    let x = Mat::<f64>::zeros(2, 3);
    assert!(matches!(
        entropy(x.as_ref(), 2),
        Err(BayesError::Unsupported { .. })
    ));
}

#[test]
fn free_energy_gradient_matches_its_value() {
    let mut rng = random::rng(8);
    let y: Mat<f64> = random::gaussian(&mut rng, 3, 3);
    let f = FreeEnergy::new(Frobenius::new(y), 2.0, 3).unwrap();
    let x: Mat<f64> = random::gl_with_condition(&mut rng, 3, 4.0);
    let z: Mat<f64> = random::gaussian(&mut rng, 3, 3);
    let (_, g) = f.value_and_gradient(x.as_ref());
    let h = 1e-5;
    let fd = (f.value((&x + h * &z).as_ref()) - f.value((&x - h * &z).as_ref())) / (2.0 * h);
    let an = dln_linalg::re_inner(g.as_ref(), z.as_ref());
    assert!((fd - an).abs() < 1e-6 * (1.0 + an.abs()));
}
