//! The `vaylix` binary: `vaylix [server] [CONFIG_FILE] [--name value ...]`.

use anyhow::{bail, Context, Result};

/// mimalloc: the WAL writer thread frees what connection threads allocated (each entry's
/// effects), which glibc's malloc serves slowly; mimalloc's thread-local free lists do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::sync::Arc;
use vaylix::config::{Config, PARAMS};
use vaylix::keyspace::Keyspace;
use vaylix::server::{self, persistence, Shared};

fn usage() -> String {
    let mut s = String::from(
        "vaylix: a Redis-protocol server whose every acknowledged write is durable and encrypted\n\n\
         Usage:\n  vaylix [server] [CONFIG_FILE] [--<parameter> <value> ...]\n\n\
         Every parameter can also be set as VAYLIX_<NAME> (upper case, '-' as '_') or in a\n\
         redis.conf-style CONFIG_FILE. Parameters:\n",
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
    if !offline && args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", usage());
        return;
    }
    if !offline && args.iter().any(|a| a == "--version" || a == "-v") {
        println!(
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
                eprintln!("vaylix: {e:#}");
                std::process::exit(1);
            }
        },
        _ => &args[..],
    };
    if let Err(e) = run_server(rest) {
        eprintln!("vaylix: {e:#}");
        std::process::exit(1);
    }
}

fn run_server(args: &[String]) -> Result<()> {
    let (file, flags) = parse_server_args(args)?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = Arc::new(Config::load(file.as_deref(), &env, &flags)?);
    let level = match config.get_str("loglevel").as_str() {
        "debug" => "debug",
        "verbose" => "info",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let keyspace = Arc::new(Keyspace::new(config.get_i64("databases") as usize));
    let storage = persistence::open(&config, &keyspace)
        .map_err(|e| anyhow::anyhow!("cannot open the data dir: {e}"))?;
    let mut shared = Shared::new(config.clone(), keyspace, Some(storage.clone()));
    shared.config_file = file.map(|f| f.display().to_string());
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
        server::serve(shared.clone()).await?;
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
    Ok(())
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
        }
    });
}
