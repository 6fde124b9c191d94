//! Durable encrypted storage (the engine lands from the storage branch; this is the seam).

/// Placeholder until the storage engine is merged.
pub struct Storage;

impl Storage {
    pub fn is_poisoned(&self) -> bool {
        false
    }
}
