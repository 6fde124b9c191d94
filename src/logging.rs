//! The server's log: where lines go (stderr, or `logfile`), their format (`log-format text|json`),
//! their level (`loglevel`, overridden by `RUST_LOG`), and colours only on a terminal.
//!
//! A log write can never hurt the server. When stderr is a pipe whose reader went away
//! (`vaylix | head`, a `tee` stopped by Ctrl-C) every write fails with EPIPE, and
//! tracing-subscriber's reaction to a failed write is an `eprintln!`, which panics on the same
//! closed pipe and so kills whichever task was logging: the signal handler (the server then ignores
//! SIGTERM), the snapshot scheduler, or `main` itself at start-up. So [`SinkWriter`] reports every
//! write as done and tracing-subscriber's internal error messages are off; Redis likewise drops a
//! log line it cannot write. (SIGPIPE itself is ignored: Rust's runtime sets that before `main`.)

use crate::config::Config;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot open logfile {path}: {err}")]
    Open { path: String, err: io::Error },
    #[error("cannot install the logger: {0}")]
    Init(String),
}

/// Where log lines go: the `logfile` (opened once, appending) or stderr.
pub struct LogSink {
    file: Option<File>,
}

impl LogSink {
    pub fn stderr() -> Self {
        LogSink { file: None }
    }

    /// Appends to `path`, creating it (mode 0640: logs name keys and clients, not for everyone).
    pub fn file(path: &Path) -> Result<Self, LogError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(path)
            .map_err(|err| LogError::Open {
                path: path.display().to_string(),
                err,
            })?;
        Ok(LogSink { file: Some(file) })
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = SinkWriter<'a>;

    fn make_writer(&'a self) -> SinkWriter<'a> {
        SinkWriter(self.file.as_ref())
    }
}

/// One log line's writer: never fails (see the module doc). tracing-subscriber formats a whole
/// event into one buffer and writes it with one `write_all`, and the file is opened with
/// O_APPEND, so lines from different threads do not interleave.
pub struct SinkWriter<'a>(Option<&'a File>);

impl Write for SinkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = match self.0 {
            Some(mut f) => f.write_all(buf),
            None => io::stderr().write_all(buf),
        };
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The tracing level for Redis's `loglevel` names.
pub fn level(loglevel: &str) -> &'static str {
    match loglevel {
        "debug" => "debug",
        "verbose" => "info",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    }
}

/// Changes the level at run time (`CONFIG SET loglevel`); a no-op when `RUST_LOG` is set.
pub type SetLevel = Box<dyn Fn(&str) + Send + Sync>;

/// Installs the global logger from `loglevel`, `logfile` and `log-format`.
pub fn init(config: &Config) -> Result<SetLevel, LogError> {
    let logfile = config.get_str("logfile");
    let (sink, ansi) = if logfile.is_empty() {
        (LogSink::stderr(), io::stderr().is_terminal())
    } else {
        (LogSink::file(Path::new(&logfile))?, false)
    };
    let from_env = tracing_subscriber::EnvFilter::try_from_default_env().ok();
    let fixed = from_env.is_some();
    let filter = from_env.unwrap_or_else(|| level(&config.get_str("loglevel")).into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink)
        .with_ansi(ansi)
        .log_internal_errors(false);
    let init_err = |e: Box<dyn std::error::Error + Send + Sync>| LogError::Init(e.to_string());
    // The two formats are different types, hence the two arms.
    if config.get_str("log-format") == "json" {
        let b = builder.json().with_filter_reloading();
        let handle = b.reload_handle();
        b.try_init().map_err(init_err)?;
        Ok(Box::new(move |l| {
            if !fixed {
                let _ = handle.reload(level(l));
            }
        }))
    } else {
        let b = builder.with_filter_reloading();
        let handle = b.reload_handle();
        b.try_init().map_err(init_err)?;
        Ok(Box::new(move |l| {
            if !fixed {
                let _ = handle.reload(level(l));
            }
        }))
    }
}
