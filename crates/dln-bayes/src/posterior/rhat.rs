//! The between-chain convergence diagnostic of pooled chains: the classic **split-$\hat R$**
//! (potential scale reduction factor) of Gelman & Rubin (1992) with the chain splitting of
//! Gelman et al., *Bayesian Data Analysis*, 3rd ed. (2013), §11.4 — not the rank-normalised
//! variant of Vehtari et al. (2021).
//!
//! Each of the $C$ chains (cut to the length $n$ of the shortest) is split into its first and
//! last $L = \lfloor n/2\rfloor$ draws, giving $m = 2C$ sequences $\theta_{ij}$, $i\le L$, with means
//! $\bar\theta_j$ and unbiased variances $s_j^2$. With the within-sequence variance
//! $W = \frac1m\sum_js_j^2$ and the between-sequence variance
//! $B = \frac{L}{m-1}\sum_j(\bar\theta_j-\bar\theta)^2$,
//! $$\hat R = \sqrt{\frac{\frac{L-1}{L}W + \frac1LB}{W}}.$$
//! $\hat R\to1$ as the chains mix; values above about $1.01$–$1.1$ mean the chains (or the two
//! halves of a chain, which catches a drift within one chain) have not forgotten their starts.

/// The classic split-$\hat R$ of the scalar traces `chains` (see the module documentation).
///
/// `None` when it is not defined: fewer than 4 draws in the shortest chain (halves of fewer
/// than 2 draws), no chain, a non-finite draw, or no within-sequence variance ($W = 0$).
pub fn split_rhat(chains: &[&[f64]]) -> Option<f64> {
    let n = chains.iter().map(|c| c.len()).min()?;
    let l = n / 2;
    if l < 2 || chains.iter().any(|c| c[..n].iter().any(|x| !x.is_finite())) {
        return None;
    }
    let halves = chains
        .iter()
        .flat_map(|c| [&c[..l], &c[n - l..n]])
        .collect::<Vec<_>>();
    let m = halves.len() as f64;
    let lf = l as f64;
    let means: Vec<f64> = halves.iter().map(|h| h.iter().sum::<f64>() / lf).collect();
    let w = halves
        .iter()
        .zip(&means)
        .map(|(h, mu)| h.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (lf - 1.0))
        .sum::<f64>()
        / m;
    let grand = means.iter().sum::<f64>() / m;
    let b = lf / (m - 1.0) * means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>();
    if w.is_nan() || w <= 0.0 {
        return None;
    }
    let var_plus = (lf - 1.0) / lf * w + b / lf;
    Some((var_plus / w).sqrt())
}

#[cfg(test)]
mod tests {
    use super::split_rhat;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    fn normals(seed: u64, n: usize, shift: f64, trend: f64) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let z: f64 = StandardNormal.sample(&mut rng);
                z + shift + trend * i as f64 / n as f64
            })
            .collect()
    }

    #[test]
    fn independent_draws_give_one() {
        let c: Vec<Vec<f64>> = (0..4).map(|s| normals(s, 4000, 0.0, 0.0)).collect();
        let refs: Vec<&[f64]> = c.iter().map(Vec::as_slice).collect();
        let r = split_rhat(&refs).unwrap();
        // R^2 - 1 is about (m - 1)/(m L) * F with F ~ F(m-1, m(L-1)): well below 0.01 here.
        assert!((r - 1.0).abs() < 0.01, "R = {r}");
    }

    #[test]
    fn shifted_chains_and_drifting_halves_are_flagged() {
        let a = normals(1, 1000, 0.0, 0.0);
        let b = normals(2, 1000, 3.0, 0.0);
        assert!(split_rhat(&[&a, &b]).unwrap() > 1.1);
        // One chain that drifts by 4 standard deviations: its halves disagree.
        let c = normals(3, 1000, 0.0, 4.0);
        assert!(split_rhat(&[&a, &c]).unwrap() > 1.1);
        assert!(split_rhat(&[&c]).unwrap() > 1.1);
    }

    #[test]
    fn undefined_cases_are_none() {
        assert_eq!(split_rhat(&[]), None);
        assert_eq!(split_rhat(&[&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]]), None);
        assert_eq!(split_rhat(&[&[1.0; 6], &[1.0; 6]]), None);
        assert_eq!(
            split_rhat(&[&[1.0, 2.0, f64::NAN, 4.0], &[1.0, 2.0, 3.0, 4.0]]),
            None
        );
        // Unequal lengths are cut to the shortest.
        let a = normals(4, 101, 0.0, 0.0);
        let b = normals(5, 100, 0.0, 0.0);
        assert_eq!(split_rhat(&[&a, &b]), split_rhat(&[&a[..100], &b]));
    }
}
