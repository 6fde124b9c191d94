//! Durable encrypted storage (being written).
pub mod crypto;
pub mod error;
pub mod fs;
