//! The in-memory keyspace (placeholder, being written).
pub mod effect;
pub use effect::{DbIndex, Effect, Record, Value};
