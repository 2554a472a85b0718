//! dln-systems
