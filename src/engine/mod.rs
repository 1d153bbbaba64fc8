//! The assembly engine.
