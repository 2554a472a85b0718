//! (module `lyapunov`: under construction)
