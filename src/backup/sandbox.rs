//! The backup-dir sandbox: where `BACKUP TO` / `RESTORE FROM` paths may point, and how files
//! there are opened and written.
//!
//! Rules: a path is relative to `backup-dir`, or absolute and inside it; `..` components are
//! refused outright; every existing component below `backup-dir` must be a real directory (a
//! symbolic link anywhere below the root is refused, so the final file cannot be redirected);
//! files are opened with `O_NOFOLLOW`, created with `O_CREAT|O_EXCL|O_NOFOLLOW` (mode 0600: a
//! dump holds plaintext data) under a short temp name (`.tmp-<16 hex>`, so any name that fits
//! the file system's name limit can be written) and published by `link(2)`, which never replaces
//! an existing name. A path written to ([`resolve_for_write`]) may name directories that do not
//! exist yet: they are created one component at a time below the root, mode 0700, each checked
//! again after creation, so the rules above hold for them too. Reads never create anything.
//! The root itself may be a symlink: the operator configured it.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::BackupError;

fn refuse(msg: String) -> BackupError {
    BackupError::Sandbox(msg)
}

/// Mode of every directory the sandbox creates (the root and subdirectories): dumps are
/// plaintext, so only the server's user may list or enter them.
const DIR_MODE: u32 = 0o700;

/// Resolves the user's `path` (raw bytes from the command) inside `root`, creating `root` if
/// missing. The result's parent directories exist and are not symlinks; the file itself, if it
/// exists, is not a symlink. A missing parent directory is an error (reads create nothing).
pub fn resolve(root: &Path, path: &[u8]) -> Result<PathBuf, BackupError> {
    resolve_with(root, path, false)
}

/// [`resolve`] for a file about to be written: parent directories inside `root` that do not
/// exist yet are created (mode 0700) and made durable in their parents.
pub fn resolve_for_write(root: &Path, path: &[u8]) -> Result<PathBuf, BackupError> {
    resolve_with(root, path, true)
}

/// Creates the directory `dir` (whose parent exists and was checked) with [`DIR_MODE`], then
/// fsyncs the parent so the new entry survives a power cut along with the dump under it.
/// Losing a race to a concurrent creator is fine: the caller checks what is there afterwards.
fn make_dir(dir: &Path) -> Result<(), BackupError> {
    match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(BackupError::io("creating directory", dir, e)),
    }
    // The umask may have cleared bits of DIR_MODE; set it exactly.
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .map_err(|e| BackupError::io("setting the mode of", dir, e))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

fn resolve_with(root: &Path, path: &[u8], create: bool) -> Result<PathBuf, BackupError> {
    let shown = String::from_utf8_lossy(path).into_owned();
    if path.is_empty() || path.contains(&0) {
        return Err(refuse(format!("invalid backup path '{shown}'")));
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(root)
        .map_err(|e| BackupError::io("creating backup-dir", root, e))?;
    let canon =
        fs::canonicalize(root).map_err(|e| BackupError::io("resolving backup-dir", root, e))?;
    let p = Path::new(OsStr::from_bytes(path));
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(refuse(format!(
            "backup path '{shown}' must not contain '..'"
        )));
    }
    let rel: PathBuf = if p.is_absolute() {
        let abs_root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        match p
            .strip_prefix(&canon)
            .or_else(|_| p.strip_prefix(&abs_root))
        {
            Ok(r) => r.to_path_buf(),
            Err(_) => {
                return Err(refuse(format!(
                    "backup path '{shown}' is outside backup-dir {}",
                    canon.display()
                )))
            }
        }
    } else {
        p.to_path_buf()
    };
    let parts: Vec<&OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect();
    let Some((last, dirs)) = parts.split_last() else {
        return Err(refuse(format!("backup path '{shown}' names no file")));
    };
    let mut cur = canon;
    for d in dirs {
        cur.push(d);
        let mut meta = fs::symlink_metadata(&cur);
        if create && matches!(&meta, Err(e) if e.kind() == io::ErrorKind::NotFound) {
            make_dir(&cur)?;
            // Checked like any existing component: whatever is there now must be a real dir.
            meta = fs::symlink_metadata(&cur);
        }
        match meta {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(format!(
                    "backup path '{shown}' goes through a symbolic link ({}); refused",
                    cur.display()
                )))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(refuse(format!(
                    "backup path '{shown}': {} is not a directory",
                    cur.display()
                )))
            }
            Err(e) => return Err(BackupError::io("opening directory", &cur, e)),
        }
    }
    cur.push(last);
    if let Ok(m) = fs::symlink_metadata(&cur) {
        if m.file_type().is_symlink() {
            return Err(refuse(format!(
                "backup file '{shown}' is a symbolic link; refused"
            )));
        }
    }
    Ok(cur)
}

/// Opens an existing regular file without following a final symlink.
pub fn open_read(path: &Path) -> Result<File, BackupError> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| BackupError::io("opening", path, e))?;
    let m = f
        .metadata()
        .map_err(|e| BackupError::io("reading", path, e))?;
    if !m.is_file() {
        return Err(refuse(format!("{} is not a regular file", path.display())));
    }
    Ok(f)
}

/// A file being written next to its final name; published with [`NewFile::publish`].
pub struct NewFile {
    pub file: File,
    tmp: PathBuf,
}

impl NewFile {
    /// Creates a fresh temp file beside `target` (never follows or reuses a name).
    pub fn create(target: &Path) -> Result<NewFile, BackupError> {
        // Short and independent of the target's name: a temp name built from the target's
        // would pass the file system's name limit (255 bytes) before the target does.
        let tmp = target.with_file_name(format!(".tmp-{:016x}", rand::random::<u64>()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(|e| BackupError::io("creating", &tmp, e))?;
        Ok(NewFile { file, tmp })
    }

    /// fsync the data, then link it under `target` (fails if the name exists) and drop the temp
    /// name. The caller fsyncs the directory once all files are linked.
    pub fn publish(mut self, target: &Path) -> Result<(), BackupError> {
        self.file
            .flush()
            .map_err(|e| BackupError::io("writing", &self.tmp, e))?;
        self.file
            .sync_all()
            .map_err(|e| BackupError::io("fsyncing", &self.tmp, e))?;
        fs::hard_link(&self.tmp, target).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                refuse(format!(
                    "backup file {} already exists; refusing to overwrite it",
                    target.display()
                ))
            } else {
                BackupError::io("publishing", target, e)
            }
        })?;
        let _ = fs::remove_file(&self.tmp);
        Ok(())
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.tmp);
    }
}

/// Makes the directory entries of `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BackupError::io("fsyncing directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused_and_plain_names_resolve_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("backups");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        let ok = resolve(&root, b"a.json").unwrap();
        assert_eq!(ok, fs::canonicalize(&root).unwrap().join("a.json"));
        let abs = fs::canonicalize(&root).unwrap().join("b.json");
        assert_eq!(resolve(&root, abs.as_os_str().as_bytes()).unwrap(), abs);
        for bad in [&b"../x"[..], b"sub/../../x", b"/etc/passwd", b"", b"a\0b"] {
            assert!(
                resolve(&root, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        assert!(resolve(&root, b"link/x.json")
            .unwrap_err()
            .to_string()
            .contains("symbolic link"));
        std::os::unix::fs::symlink(outside.join("f"), root.join("f.json")).unwrap();
        assert!(resolve(&root, b"f.json")
            .unwrap_err()
            .to_string()
            .contains("symbolic link"));
    }

    #[test]
    fn writes_create_missing_directories_0700_and_reads_do_not() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("backups");
        assert!(
            resolve(&root, b"nightly/a.json").is_err(),
            "reads create nothing"
        );
        assert!(!root.join("nightly").exists());
        let p = resolve_for_write(&root, b"nightly/2026/a.json").unwrap();
        let canon = fs::canonicalize(&root).unwrap();
        assert_eq!(p, canon.join("nightly/2026/a.json"));
        for d in [
            root.clone(),
            root.join("nightly"),
            root.join("nightly/2026"),
        ] {
            let m = fs::symlink_metadata(&d).unwrap();
            assert!(m.is_dir(), "{}", d.display());
            assert_eq!(m.permissions().mode() & 0o777, 0o700, "{}", d.display());
        }
        // Existing directories are used as they are.
        assert_eq!(
            resolve_for_write(&root, b"nightly/b.json").unwrap(),
            canon.join("nightly/b.json")
        );
        assert_eq!(
            resolve(&root, b"nightly/2026/a.json").unwrap(),
            canon.join("nightly/2026/a.json")
        );
    }

    #[test]
    fn writes_that_would_escape_are_refused_and_create_nothing_outside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("backups");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        fs::write(root.join("plain"), b"").unwrap();
        let abs_outside = outside.join("new/x.json");
        for (bad, why) in [
            (&b"../x/a.json"[..], "'..'"),
            (b"new/../../x/a.json", "'..'"),
            (abs_outside.as_os_str().as_bytes(), "outside backup-dir"),
            (b"link/new/a.json", "symbolic link"),
            (b"plain/new/a.json", "not a directory"),
        ] {
            let e = resolve_for_write(&root, bad).unwrap_err().to_string();
            assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            fs::read_dir(&outside).unwrap().count(),
            0,
            "nothing made outside"
        );
        assert!(!tmp.path().join("x").exists());
    }

    #[test]
    fn temp_names_are_short_so_a_255_byte_name_can_be_written() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("n".repeat(255));
        let mut f = NewFile::create(&target).unwrap();
        f.file.write_all(b"1").unwrap();
        f.publish(&target).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"1");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn publish_never_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("x");
        let mut f = NewFile::create(&target).unwrap();
        f.file.write_all(b"1").unwrap();
        f.publish(&target).unwrap();
        let f = NewFile::create(&target).unwrap();
        assert!(f
            .publish(&target)
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        assert_eq!(fs::read(&target).unwrap(), b"1");
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "temp files are cleaned up"
        );
    }
}
