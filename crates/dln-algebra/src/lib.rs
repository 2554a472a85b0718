//! dln-algebra
