//! Durable encrypted storage (being written).
