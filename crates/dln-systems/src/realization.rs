//! (module `realization`: under construction)
