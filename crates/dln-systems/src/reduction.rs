//! (module `reduction`: under construction)
