//! The data-dir lock: one writer per data dir.
//!
//! Owns: the `LOCK` file in the data dir. A process that writes the data dir (the server for
//! its whole life, `storage migrate`, the target of `pitr restore`) holds an exclusive `flock`
//! on it and has written its PID into it. The kernel releases the lock when the process dies,
//! however it dies (kill -9 included), so a stale file never blocks a start; the PID in it is
//! only a hint for the refusal message.
//!
//! Invariants: the file is never removed (unlinking it while another process has it open would
//! let two processes lock two different inodes of the same name); it is created 0600 and holds
//! only the holder's PID. Read-only tools call [`probe`], which never creates the file and
//! holds a shared lock only for the instant of the test; [`DataDirLock::acquire`] retries
//! briefly so such a probe cannot make a server start fail.
//!
//! Does not: protect against processes that ignore the lock (builds before it, or tools that
//! do not call it), or work across machines on network file systems without `flock`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::StorageError;

/// File name of the lock in the data dir.
pub const LOCK_FILE: &str = "LOCK";

/// How long [`DataDirLock::acquire`] retries a held lock: long enough to outlast a read-only
/// tool's probe, short enough that a second server is refused at once.
const ACQUIRE_RETRY: Duration = Duration::from_millis(200);

/// An exclusive lock on a data dir, held until dropped (or the process dies).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

/// `flock(fd, op | LOCK_NB)`: Ok(true) if taken, Ok(false) if another process holds it.
fn try_flock(f: &File, op: libc::c_int) -> io::Result<bool> {
    // SAFETY: flock on a file descriptor this function's caller owns; no memory is shared.
    let rc = unsafe { libc::flock(f.as_raw_fd(), op | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(false);
    }
    Err(e)
}

/// The PID written in a lock file, if it holds one.
fn read_pid(f: &mut File) -> Option<u32> {
    let mut s = String::new();
    f.seek(SeekFrom::Start(0)).ok()?;
    f.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

impl DataDirLock {
    /// Takes the exclusive lock on the existing directory `data_dir`, creating `LOCK` (0600)
    /// if needed, and writes this process's PID into it. Refuses with
    /// [`StorageError::Locked`] naming the holder's PID when another process holds it.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, StorageError> {
        let path = data_dir.join(LOCK_FILE);
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StorageError::io("opening the lock file", &path, e))?;
        let deadline = Instant::now() + ACQUIRE_RETRY;
        loop {
            match try_flock(&f, libc::LOCK_EX) {
                Ok(true) => break,
                Ok(false) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(false) => {
                    return Err(StorageError::Locked {
                        dir: data_dir.to_path_buf(),
                        pid: read_pid(&mut f),
                    })
                }
                Err(e) => return Err(StorageError::io("locking", &path, e)),
            }
        }
        // The file may predate this build's modes, or the umask may have masked 0600 further.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| StorageError::io("setting the mode of", &path, e))?;
        (|| {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
            writeln!(f, "{}", std::process::id())?;
            // Not fsynced: the PID only matters while this process lives.
            f.flush()
        })()
        .map_err(|e| StorageError::io("writing the PID into", &path, e))?;
        Ok(DataDirLock { _file: f, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Who holds the lock on `data_dir`, without taking it for longer than the test and without
/// creating anything: `Some(pid)` (or `Some(None)` when the PID cannot be read) if a process
/// holds it, `None` if nobody does or the dir has no lock file.
pub fn probe(data_dir: &Path) -> Option<Option<u32>> {
    let mut f = File::open(data_dir.join(LOCK_FILE)).ok()?;
    match try_flock(&f, libc::LOCK_SH) {
        // Dropping `f` releases the shared lock.
        Ok(true) => None,
        Ok(false) => Some(read_pid(&mut f)),
        Err(_) => None,
    }
}

/// The one-line note read-only tools print when a process holds the lock.
pub fn holder_note(data_dir: &Path, holder: Option<u32>) -> String {
    match holder {
        Some(pid) => format!(
            "a server (PID {pid}) is running on {}: files may change while they are read",
            data_dir.display()
        ),
        None => format!(
            "a server is running on {} (it holds {LOCK_FILE}): files may change while they are read",
            data_dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_same_dir_is_refused_with_the_holders_pid() {
        let d = tempfile::tempdir().unwrap();
        let l = DataDirLock::acquire(d.path()).unwrap();
        let e = DataDirLock::acquire(d.path()).unwrap_err();
        assert!(
            matches!(e, StorageError::Locked { pid: Some(p), .. } if p == std::process::id()),
            "{e}"
        );
        assert!(e.to_string().contains(&std::process::id().to_string()));
        assert_eq!(probe(d.path()), Some(Some(std::process::id())));
        drop(l);
        assert_eq!(probe(d.path()), None);
        let _again = DataDirLock::acquire(d.path()).unwrap();
    }

    #[test]
    fn probe_creates_nothing_and_does_not_block_a_later_lock() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(probe(d.path()), None);
        assert!(!d.path().join(LOCK_FILE).exists());
        let l = DataDirLock::acquire(d.path()).unwrap();
        let mode = std::fs::metadata(l.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
