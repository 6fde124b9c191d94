//! Logical backups: v2 JSON dumps, sidecar manifests, v1 compatibility, the backup-dir sandbox.
//! (Being written.)
