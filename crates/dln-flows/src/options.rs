//! Tolerances and step-size control shared by the adaptive integrators.
//!
//! A step of size $h$ with local error estimate $e$ is accepted when
//! $$\\|e\\|_{\mathrm{wrms}} = \Big(\frac1n\sum_i\Big(\frac{|e_i|}{\mathrm{atol}+\mathrm{rtol}\\,\max(|y_i|,|\tilde y_i|)}\Big)^2\Big)^{1/2}\le1,$$
//! the sum running over all $n$ entries of all layers ($y$ the state before, $\tilde y$ after the
//! step; a complex entry counts once, with its modulus). The next step size is
//! $$h_{\mathrm{new}} = h\cdot\min\\big(f_{\max},\ \max(f_{\min},\ s\\,\\|e\\|^{-1/5})\\big)$$
//! with safety factor $s$ and the growth limits $f_{\min}, f_{\max}$ of [`ControllerParams`].

use crate::{FlowError, Result};

/// Safety factor and growth limits of the step-size controller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControllerParams {
    /// Safety factor $s$. Default `0.9`.
    pub safety: f64,
    /// Smallest shrink factor $f_{\min}$. Default `0.2`.
    pub fac_min: f64,
    /// Largest growth factor $f_{\max}$. Default `10.0`.
    pub fac_max: f64,
}

impl Default for ControllerParams {
    fn default() -> Self {
        Self {
            safety: 0.9,
            fac_min: 0.2,
            fac_max: 10.0,
        }
    }
}

/// Validated options of an adaptive integration (build them with [`FlowBuilder`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowOptions {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Initial step; `None` picks $h_0 = 0.01\\,\\|y\\|/\\|f(y)\\|$ in the weighted norm.
    pub h0: Option<f64>,
    /// Largest step.
    pub h_max: f64,
    /// Smallest step before [`FlowError::StepSizeTooSmall`], relative to $|t|$ (at $t = 0$: a step
    /// that no longer advances $t$), so that fast time scales (data of size $2^{500}$) are followed.
    pub h_min: f64,
    /// Step budget per call to `solve`/`solve_dense`.
    pub max_steps: usize,
    /// Controller constants.
    pub controller: ControllerParams,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowBuilder::new().build().expect("defaults are valid")
    }
}

/// Builder of [`FlowOptions`].
///
/// Defaults: `rtol = 1e-8`, `atol = 1e-10`, `h0 = None` (automatic), `h_max = ∞`,
/// `h_min = 1e-14`, `max_steps = 1_000_000`, [`ControllerParams::default`].
///
/// # Examples
/// ```
/// let opts = dln_flows::FlowBuilder::new().rtol(1e-10).atol(1e-12).build().unwrap();
/// assert!(opts.rtol < 1e-9);
/// assert!(dln_flows::FlowBuilder::new().rtol(-1.0).build().is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FlowBuilder {
    opts: FlowOptions,
}

impl Default for FlowBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowBuilder {
    /// The defaults listed above.
    pub fn new() -> Self {
        Self {
            opts: FlowOptions {
                rtol: 1e-8,
                atol: 1e-10,
                h0: None,
                h_max: f64::INFINITY,
                h_min: 1e-14,
                max_steps: 1_000_000,
                controller: ControllerParams::default(),
            },
        }
    }
    /// Relative tolerance.
    pub fn rtol(mut self, rtol: f64) -> Self {
        self.opts.rtol = rtol;
        self
    }
    /// Absolute tolerance.
    pub fn atol(mut self, atol: f64) -> Self {
        self.opts.atol = atol;
        self
    }
    /// Initial step size.
    pub fn h0(mut self, h0: f64) -> Self {
        self.opts.h0 = Some(h0);
        self
    }
    /// Largest step size.
    pub fn h_max(mut self, h_max: f64) -> Self {
        self.opts.h_max = h_max;
        self
    }
    /// Smallest step size (relative to $\max(1,|t|)$).
    pub fn h_min(mut self, h_min: f64) -> Self {
        self.opts.h_min = h_min;
        self
    }
    /// Step budget.
    pub fn max_steps(mut self, n: usize) -> Self {
        self.opts.max_steps = n;
        self
    }
    /// Controller constants.
    pub fn controller(mut self, c: ControllerParams) -> Self {
        self.opts.controller = c;
        self
    }

    /// Validates and returns the options.
    ///
    /// # Errors
    /// [`FlowError::InvalidOption`] for a non-positive or non-finite tolerance, an invalid step
    /// size, or controller constants outside $0<s\le1$, $0<f_{\min}<1<f_{\max}$.
    pub fn build(self) -> Result<FlowOptions> {
        let o = self.opts;
        let bad = |name, value, reason| {
            Err(FlowError::InvalidOption {
                name,
                value,
                reason,
            })
        };
        if !(o.rtol > 0.0 && o.rtol.is_finite()) {
            return bad("rtol", o.rtol, "must be positive and finite");
        }
        if !(o.atol > 0.0 && o.atol.is_finite()) {
            return bad("atol", o.atol, "must be positive and finite");
        }
        if let Some(h0) = o.h0 {
            if !(h0 > 0.0 && h0.is_finite()) {
                return bad("h0", h0, "must be positive and finite");
            }
        }
        if o.h_max.is_nan() || o.h_max <= 0.0 {
            return bad("h_max", o.h_max, "must be positive");
        }
        if !(o.h_min > 0.0 && o.h_min < o.h_max) {
            return bad("h_min", o.h_min, "must be positive and below h_max");
        }
        if o.max_steps == 0 {
            return bad("max_steps", 0.0, "must be at least 1");
        }
        let c = o.controller;
        if !(c.safety > 0.0 && c.safety <= 1.0) {
            return bad("safety", c.safety, "must lie in (0, 1]");
        }
        if !(c.fac_min > 0.0 && c.fac_min < 1.0) {
            return bad("fac_min", c.fac_min, "must lie in (0, 1)");
        }
        if c.fac_max.is_nan() || c.fac_max <= 1.0 {
            return bad("fac_max", c.fac_max, "must exceed 1");
        }
        Ok(o)
    }
}
