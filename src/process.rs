//! The server process's relations with its surroundings: the `pidfile`, `daemonize yes` and
//! `supervised systemd` readiness.
//!
//! `daemonize yes` forks before anything else starts (no runtime, no storage threads: a fork
//! copies only the calling thread). Unlike Redis, whose parent exits at once, the parent waits
//! until the child reports that it serves (or dies) and exits 0 or 1 accordingly, so `vaylix
//! redis.conf && redis-cli ping` works and a start-up error reaches the caller's exit status.
//! The child keeps the caller's stderr until then, so start-up errors are seen; once ready it
//! points stdin, stdout and stderr at /dev/null, as Redis does.

use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The pidfile, removed when dropped (a clean exit or a start-up error).
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    pub fn create(path: &Path) -> io::Result<PidFile> {
        std::fs::write(path, format!("{}\n", std::process::id()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The child's side of `daemonize yes`: tells the waiting parent how start-up went.
pub struct Daemon {
    ready: Option<std::fs::File>,
}

/// Forks into the background (`daemonize yes`). Returns in the child only; the parent exits
/// when the child reports ready (0) or closes the pipe without doing so (1). Must be called
/// while the process has a single thread.
pub fn daemonize() -> io::Result<Daemon> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the caller guarantees a single-threaded process, so the child's copy is consistent.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            drop(read);
            // A session of its own: no controlling terminal, no SIGHUP when the shell exits.
            // SAFETY: plain syscall.
            unsafe { libc::setsid() };
            Ok(Daemon {
                ready: Some(std::fs::File::from(write)),
            })
        }
        _ => {
            drop(write);
            let mut byte = [0u8; 1];
            if matches!(std::fs::File::from(read).read(&mut byte), Ok(1)) {
                std::process::exit(0);
            }
            let _ = writeln!(
                io::stderr(),
                "vaylix: the server did not start (its log says why)"
            );
            std::process::exit(1);
        }
    }
}

impl Daemon {
    /// The server listens: release the parent and let go of the caller's terminal.
    pub fn ready(&mut self) {
        if let Some(mut f) = self.ready.take() {
            let _ = f.write_all(b"1");
        }
        if let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            use std::os::fd::AsRawFd;
            for fd in 0..3 {
                // SAFETY: dup2 onto the standard descriptors, which this process owns.
                unsafe { libc::dup2(null.as_raw_fd(), fd) };
            }
        }
    }
}

/// Sends a state line (`READY=1`, `STOPPING=1`) to systemd's `$NOTIFY_SOCKET`, when
/// `supervised` is `systemd`, or `auto` and the variable is set. A unit with `Type=notify`
/// (Debian's redis-server.service) waits for READY=1.
pub fn sd_notify(supervised: &str, state: &str) {
    if !matches!(supervised, "systemd" | "auto") {
        return;
    }
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        if supervised == "systemd" {
            tracing::warn!("supervised systemd: NOTIFY_SOCKET is not set, cannot notify systemd");
        }
        return;
    };
    if let Err(e) = send_notify(&path, state) {
        tracing::warn!("cannot notify systemd ({state}): {e}");
    }
}

fn send_notify(path: &std::ffi::OsStr, state: &str) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let sock = UnixDatagram::unbound()?;
    let bytes = path.as_bytes();
    // '@' names a socket in the abstract namespace (sd_notify(3)).
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(Path::new(path))?,
    };
    sock.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

/// Redis's warning when the kernel caps the listen backlog below `tcp-backlog`.
pub fn check_somaxconn(backlog: i64) {
    let Ok(s) = std::fs::read_to_string("/proc/sys/net/core/somaxconn") else {
        return;
    };
    if let Ok(max) = s.trim().parse::<i64>() {
        if max < backlog {
            tracing::warn!(
                "the TCP backlog setting of {backlog} cannot be enforced because \
                 /proc/sys/net/core/somaxconn is set to the lower value of {max}"
            );
        }
    }
}
