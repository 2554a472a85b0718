//! (module `norms`: under construction)
