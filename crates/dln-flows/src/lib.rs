//! dln-flows
