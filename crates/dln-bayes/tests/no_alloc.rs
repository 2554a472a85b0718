//! The hot loop of noisy training allocates nothing: one step of
//! [`NoisyTraining::euler_ou_step`] (the loss gradient into a preallocated
//! [`GradientWorkspace`], then the fused Euler-and-OU update drawing from the [`NormalStream`]
//! into a stack buffer) is the body of `run_paths`' loop, and it must not touch the heap —
//! neither the gradient side (the matrix products of `network_gradient_into`, the loss gradient)
//! nor the noise; nor must an exact OU step ([`OrnsteinUhlenbeck::step`]). Counted with a
//! counting global allocator (`allocation-counter`), in its own test binary.

use dln_algebra::Network;
use dln_bayes::{NoisyTraining, NormalStream, OrnsteinUhlenbeck};
use dln_flows::loss::Frobenius;
use dln_flows::training::GradientWorkspace;
use dln_linalg::{Scalar, c64, random};

fn allocations_per_step<T: Scalar>(widths: &[usize]) -> u64 {
    let mut rng = random::rng(9);
    let w0 = Network::new(
        widths
            .windows(2)
            .map(|p| {
                // Entries of variance 1/(4 d_{k-1}): operator norms about 1, a stable step.
                let g = random::gaussian::<T, _>(&mut rng, p[1], p[0]);
                random::scaled(g.as_ref(), 0.5 / (p[0] as f64).sqrt())
            })
            .collect(),
    )
    .unwrap();
    let n = widths.len() - 1;
    let y = random::gaussian::<T, _>(&mut rng, widths[n], widths[0]);
    let h = 1e-4;
    let nt = NoisyTraining::new(Frobenius::new(y), 1.0, 1.0, h).unwrap();
    let (a, sd) = nt.ou().transition(h);
    let mut w = w0.layers().to_vec();
    let mut ws = GradientWorkspace::new(widths);
    let mut noise = NormalStream::new(1);
    // One step first: any lazily created buffer (e.g. a thread-local one of the matrix
    // products) is made here, once per thread, not per step.
    nt.euler_ou_step(&mut w, h, a, sd, &mut ws, &mut noise);
    let steps = 20;
    let info = allocation_counter::measure(|| {
        for _ in 0..steps {
            nt.euler_ou_step(&mut w, h, a, sd, &mut ws, &mut noise);
        }
    });
    // Exact OU steps on the same stream (its first use above made the ziggurat table).
    let ou = OrnsteinUhlenbeck::new(1.0, 1.0).unwrap();
    let ou_info = allocation_counter::measure(|| {
        for _ in 0..steps {
            ou.step(&mut w, h, &mut noise);
        }
    });
    assert!(w.iter().all(|m| m.norm_l2().is_finite()));
    info.count_total + ou_info.count_total
}

#[test]
fn noisy_training_step_allocates_nothing() {
    // The counter is live: the step with a fresh workspace (`NoisyTraining::step`) allocates.
    let nt = NoisyTraining::new(
        Frobenius::new(random::gaussian::<f64, _>(&mut random::rng(1), 2, 2)),
        1.0,
        1.0,
        1e-3,
    )
    .unwrap();
    let mut w = vec![random::gaussian::<f64, _>(&mut random::rng(2), 2, 2); 2];
    let mut noise = NormalStream::new(3);
    let fresh = allocation_counter::measure(|| {
        nt.step(&mut w, 1e-3, &mut noise);
    });
    assert!(fresh.count_total > 0);
    for widths in [
        vec![3, 3],
        vec![4, 2, 3, 1],
        vec![16, 16, 16, 16, 16],
        vec![100, 100, 100],
    ] {
        assert_eq!(allocations_per_step::<f64>(&widths), 0, "real {widths:?}");
    }
    for widths in [vec![2, 3, 2], vec![16, 16, 16, 16]] {
        assert_eq!(
            allocations_per_step::<c64>(&widths),
            0,
            "complex {widths:?}"
        );
    }
}
