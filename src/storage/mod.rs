//! Durable encrypted storage (being written).
pub mod crypto;
pub mod error;
pub mod fs;
pub mod keyring;
pub mod wal;

/// The storage format version every file carries.
pub const FORMAT_VERSION: u32 = 3;
pub mod manifest;
pub mod snapshot;
