//! The `vaylix` binary: `vaylix [server] [CONFIG_FILE] [--name value ...]`.

use anyhow::{bail, Context, Result};

/// mimalloc, counted for `used_memory` and `maxmemory` (see `vaylix::alloc`).
#[global_allocator]
static GLOBAL: vaylix::alloc::Counting = vaylix::alloc::Counting;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vaylix::config::{Config, PARAMS};
use vaylix::keyspace::Keyspace;
use vaylix::process;
use vaylix::server::{self, persistence, Shared};

fn usage() -> String {
    let mut s = String::from(
        "vaylix: a Redis-protocol server whose every acknowledged write is durable and encrypted\n\n\
         Usage:\n  vaylix [server] [CONFIG_FILE] [--<parameter> <value> ...]\n\n\
         Every parameter can also be set as VAYLIX_<NAME> (upper case, '-' as '_') or in a\n\
         redis.conf-style CONFIG_FILE (every Redis 7.0 directive is accepted; the ones\n\
         vaylix does not implement are ignored with a warning; see docs/configuration.md).\n\n\
         Offline tools (run with the server stopped; each has --help; see docs/operations.md):\n\
         \x20 vaylix storage verify|migrate --data-dir D     check every file / re-encrypt\n\
         \x20 vaylix pitr inspect|restore ...                  point-in-time recovery\n\
         \x20 vaylix backup verify FILE                        check a logical backup\n\n\
         Parameters:\n",
    );
    for p in PARAMS {
        s.push_str(&format!(
            "  --{:<28} {} (default: {:?})\n",
            p.name, p.doc, p.default
        ));
    }
    s
}

/// Splits `[CONFIG_FILE] [--name value ...]`.
/// (config file, `--name value` overrides)
type ServerArgs = (Option<PathBuf>, Vec<(String, String)>);

fn parse_server_args(args: &[String]) -> Result<ServerArgs> {
    let mut file = None;
    let mut flags = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some(name) = a.strip_prefix("--") {
            if let Some((n, v)) = name.split_once('=') {
                flags.push((n.to_string(), v.to_string()));
                i += 1;
                continue;
            }
            let Some(value) = args.get(i + 1) else {
                bail!("missing value for --{name}");
            };
            flags.push((name.to_string(), value.clone()));
            i += 2;
        } else if file.is_none() && i == 0 {
            file = Some(PathBuf::from(a));
            i += 1;
        } else {
            bail!("unexpected argument '{a}' (see --help)");
        }
    }
    Ok((file, flags))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The offline tools parse their own --help/--version (clap).
    let offline = matches!(
        args.first().map(String::as_str),
        Some("storage" | "pitr" | "backup")
    );
    // print!/eprintln! panic when the stream is closed (`vaylix --help | head -1`): write and
    // ignore the error instead.
    if !offline && args.iter().any(|a| a == "--help" || a == "-h") {
        let _ = std::io::stdout().write_all(usage().as_bytes());
        return;
    }
    if !offline && args.iter().any(|a| a == "--version" || a == "-v") {
        let _ = writeln!(
            std::io::stdout(),
            "vaylix {} (redis {})",
            env!("CARGO_PKG_VERSION"),
            vaylix::REDIS_VERSION
        );
        return;
    }
    let rest: &[String] = match args.first().map(String::as_str) {
        Some("server") => &args[1..],
        Some("storage" | "pitr" | "backup") => match vaylix::offline::run(&args) {
            Ok(code) => std::process::exit(code),
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "vaylix: {e:#}");
                std::process::exit(1);
            }
        },
        _ => &args[..],
    };
    if let Err(e) = run_server(rest) {
        // Into the log once there is one (a logfile, a daemon's), else onto stderr.
        if tracing::dispatcher::has_been_set() {
            tracing::error!("{e:#}");
        } else {
            let _ = writeln!(std::io::stderr(), "vaylix: {e:#}");
        }
        std::process::exit(1);
    }
}

fn run_server(args: &[String]) -> Result<()> {
    let (file, flags) = parse_server_args(args)?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = Arc::new(Config::load(file.as_deref(), &env, &flags)?);
    // First of all: a fork copies only the calling thread, so no thread may exist yet.
    // Shared with the readiness task, and held here too: declared before the pidfile, it is
    // dropped after it, so a daemon that fails to start has removed its pidfile by the time
    // the closed pipe lets the waiting parent exit.
    let daemon = Arc::new(std::sync::Mutex::new(if config.get_bool("daemonize") {
        Some(process::daemonize().context("daemonize")?)
    } else {
        None
    }));
    let set_level = vaylix::logging::init(&config)?;
    tracing::info!(
        "vaylix {} (redis {} protocol) starting, pid {}",
        env!("CARGO_PKG_VERSION"),
        vaylix::REDIS_VERSION,
        std::process::id()
    );
    for w in config.startup_warnings() {
        tracing::warn!("{w}");
    }
    let supervised = config.get_str("supervised");
    if supervised == "upstart" {
        tracing::warn!("supervised upstart is not supported: ignored (use systemd or no)");
    }
    // Like Redis: a pidfile that cannot be written is worth a warning, not a refusal.
    let pidfile = config.get_str("pidfile");
    let _pidfile = if pidfile.is_empty() {
        None
    } else {
        process::PidFile::create(Path::new(&pidfile))
            .map_err(|e| tracing::warn!("cannot write pidfile {pidfile}: {e}"))
            .ok()
    };
    let backlog = config.get_i64("tcp-backlog");
    process::check_somaxconn(backlog);

    let keyspace = Arc::new(Keyspace::new(config.get_i64("databases") as usize));
    // Before recovery: the collections it loads take the configured encodings.
    keyspace.set_limits(config.coll_limits());
    let key_source = master_key_source(&config);
    let storage = persistence::open(&config, &keyspace)
        .map_err(|e| anyhow::anyhow!("cannot open the data dir: {e}"))?;
    let data_dir = config.get_str("data-dir");
    tracing::info!(
        "data dir {}, appendfsync {}, master key from {key_source}",
        std::fs::canonicalize(&data_dir)
            .map(|p| p.display().to_string())
            .unwrap_or(data_dir),
        config.get_str("appendfsync"),
    );
    let mut shared = Shared::new(config.clone(), keyspace, Some(storage.clone()));
    shared.config_file = file.map(|f| f.display().to_string());
    shared.set_log_level = Some(set_level);
    let shared = shared.into_arc();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let save = rt.block_on(async {
        spawn_background(shared.clone());
        tokio::spawn(persistence::snapshot_scheduler(shared.clone()));
        let sig = shared.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("signal received, shutting down");
            sig.request_shutdown(true);
        });
        let ready = shared.clone();
        let notify = supervised.clone();
        let daemon = daemon.clone();
        tokio::spawn(async move {
            ready.ready.notified().await;
            vaylix::alloc::note_startup();
            process::sd_notify(&notify, "READY=1");
            if let Some(d) = daemon.lock().unwrap().as_mut() {
                d.ready();
            }
        });
        server::serve(shared.clone()).await?;
        process::sd_notify(&supervised, "STOPPING=1");
        // Stop accepting is done; let connections finish their in-flight replies (bounded).
        shared.clients.kill_all();
        for _ in 0..200 {
            if shared.clients.count() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        anyhow::Ok(shared.shutdown.borrow().unwrap_or(true))
    })?;
    if save {
        tracing::info!("taking the shutdown snapshot");
        if let Err(e) = persistence::snapshot_now(&shared) {
            tracing::warn!("shutdown snapshot failed (the WAL still has everything): {e}");
        }
    }
    // Write and fdatasync everything submitted, stop the writer.
    storage
        .shutdown()
        .map_err(|e| anyhow::anyhow!("final WAL sync failed: {e}"))?;
    tracing::info!("vaylix is now ready to exit, bye bye...");
    if shared.scripting.run.running() {
        // SHUTDOWN NOSAVE during a script that cannot be killed: its thread never returns,
        // and its effects were never acknowledged. Everything acknowledged is synced above.
        std::process::exit(0);
    }
    Ok(())
}

/// Where the master key comes from, for the start-up log (computed before the open, which may
/// generate the embedded key).
fn master_key_source(config: &Config) -> String {
    use vaylix::storage::MasterKeySource;
    match persistence::storage_config(config).map(|sc| sc.master_key) {
        Ok(MasterKeySource::File(p)) => format!("file {}", p.display()),
        Ok(MasterKeySource::Hex(_)) => "env VAYLIX_MASTER_KEY".into(),
        Ok(MasterKeySource::Embedded) => {
            let p = Path::new(&config.get_str("data-dir")).join(vaylix::storage::MASTER_KEY_FILE);
            if p.exists() {
                format!("embedded {}", p.display())
            } else {
                format!("generated {} (embedded)", p.display())
            }
        }
        Err(e) => format!("? ({e})"),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

/// Active expiry: `hz` times a second, drop expired keys shard by shard.
fn spawn_background(shared: Arc<Shared>) {
    tokio::spawn(async move {
        loop {
            let hz = shared.config.get_i64("hz").max(1) as u64;
            tokio::time::sleep(std::time::Duration::from_millis(1000 / hz)).await;
            vaylix::keyspace::access::tick(vaylix::commands::now_ms());
            vaylix::alloc::note_peak();
            shared.stats.sample_rates();
            // Slow WAL fsyncs join the latency monitor as they happen, not only when asked.
            let _ = shared.latency_events();
            shared.evictor.refresh(&shared);
            let ks = shared.keyspace.clone();
            let removed = tokio::task::spawn_blocking(move || {
                ks.active_expire(vaylix::commands::now_ms(), 64)
            })
            .await
            .unwrap_or(0);
            shared
                .stats
                .expired_keys
                .fetch_add(removed as u64, std::sync::atomic::Ordering::Relaxed);
            let wanted =
                vaylix::commands::notify::enabled(&shared) || shared.pubsub.tracking.count() > 0;
            if removed > 0 && wanted {
                let expired = shared.keyspace.drain_expired();
                vaylix::commands::notify::expired_keys(&shared, expired);
            }
        }
    });
}
