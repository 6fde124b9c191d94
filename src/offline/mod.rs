//! Offline operator tools: `vaylix storage verify|migrate`, `vaylix pitr inspect|restore`.
//! They reuse the storage engine's readers; no format is parsed twice. (Being written.)

/// Runs an offline subcommand; `args` starts with the tool name (`storage`, `pitr`).
/// Returns the process exit code.
pub fn run(args: &[String]) -> anyhow::Result<i32> {
    anyhow::bail!("'{}' is not implemented yet", args.first().map(String::as_str).unwrap_or(""))
}
