//! The listener and the per-connection loop.

use super::clients::ClientInfo;
use super::{dispatch, persistence, Shared};
use crate::commands::After;
use crate::keyspace::{DbIndex, WatchFlag};
use crate::resp::{self, Limits, ReplyWriter};
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Per-connection state owned by its task.
pub struct ConnState {
    pub id: u64,
    pub info: Arc<ClientInfo>,
    pub db: DbIndex,
    pub authed: bool,
    pub resp3: bool,
    /// Commands queued since MULTI.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command failed to queue: EXEC must answer EXECABORT.
    pub multi_error: bool,
    pub watch_flag: WatchFlag,
    /// (db, key, was expired at WATCH time).
    pub watched: Vec<(DbIndex, Bytes, bool)>,
    /// The newest sequence the replies in the out buffer reveal.
    pub need_seq: u64,
}

impl ConnState {
    pub fn new(info: Arc<ClientInfo>, authed: bool) -> Self {
        ConnState {
            id: info.id,
            info,
            db: 0,
            authed,
            resp3: false,
            multi: None,
            multi_error: false,
            watch_flag: Arc::new(AtomicBool::new(false)),
            watched: Vec::new(),
            need_seq: 0,
        }
    }

    pub fn flag_multi_error(&mut self) {
        if self.multi.is_some() {
            self.multi_error = true;
        }
    }

    pub fn observe(&mut self, seq: u64) {
        self.need_seq = self.need_seq.max(seq);
    }

    pub fn set_db(&mut self, db: DbIndex) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    /// Drops every WATCH (UNWATCH, EXEC, DISCARD, RESET, disconnect).
    pub fn unwatch_all(&mut self, shared: &Shared) {
        for (db, key, _) in self.watched.drain(..) {
            shared.keyspace.unwatch(db, &key, &self.watch_flag);
        }
        self.watch_flag.store(false, Ordering::Release);
        self.info.watching.store(0, Ordering::Relaxed);
    }
}

/// Binds every `bind` address and serves until shutdown is requested.
pub async fn serve(shared: Arc<Shared>) -> std::io::Result<()> {
    let port = shared.config.get_i64("port") as u16;
    let backlog = shared
        .config
        .get_i64("tcp-backlog")
        .clamp(1, i32::MAX as i64) as u32;
    let binds = shared.config.get_str("bind");
    let mut listeners = Vec::new();
    for spec in binds.split_whitespace() {
        let addr = spec.trim_start_matches('-');
        let listener = match super::listen(addr, port, backlog).await {
            Ok(l) => l,
            // Redis's '-' prefix marks an address that may be missing (`-::1` without IPv6).
            Err(e) if spec.starts_with('-') => {
                tracing::warn!("optional bind address {addr} skipped: {e}");
                continue;
            }
            Err(e) => {
                let why = format!("cannot listen on {addr}:{port}: {e}");
                return Err(std::io::Error::new(e.kind(), why));
            }
        };
        let local = listener.local_addr()?;
        shared.port.store(local.port() as u64, Ordering::Relaxed);
        tracing::info!("Ready to accept connections tcp on {local}");
        listeners.push(listener);
    }
    if listeners.is_empty() {
        let why = format!("no bind address could be listened on: {binds}");
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            why,
        ));
    }
    shared.ready.notify_one();
    let mut tasks = Vec::new();
    for listener in listeners {
        tasks.push(tokio::spawn(accept_loop(shared.clone(), listener)));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut stop = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => break,
        };
        let (sock, peer) = match accepted {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared
            .stats
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        let _ = sock.set_nodelay(true);
        tokio::spawn(handle(shared.clone(), sock, peer));
    }
}

const PROTECTED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. Set a password with --requirepass or disable protected mode with --protected-mode no.\r\n";

async fn handle(shared: Arc<Shared>, mut sock: TcpStream, peer: SocketAddr) {
    let requirepass = shared.config.get_str("requirepass");
    if shared.config.get_bool("protected-mode")
        && requirepass.is_empty()
        && !peer.ip().is_loopback()
    {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = sock.write_all(PROTECTED.as_bytes()).await;
        return;
    }
    if shared.clients.count() as i64 >= shared.config.get_i64("maxclients") {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = sock
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }
    let laddr = sock.local_addr().unwrap_or(peer);
    let info = shared.clients.register(peer, laddr);
    let mut conn = ConnState::new(info.clone(), requirepass.is_empty());
    if let Err(e) = connection_loop(&shared, &mut sock, &mut conn).await {
        tracing::debug!(client = conn.id, "connection closed: {e}");
    }
    conn.unwatch_all(&shared);
    shared.clients.unregister(conn.id);
}

/// Replies go out once the WAL is durable up to what they reveal.
async fn flush(
    shared: &Shared,
    sock: &mut TcpStream,
    conn: &mut ConnState,
    out: &mut ReplyWriter,
) -> std::io::Result<()> {
    if out.buf.is_empty() {
        return Ok(());
    }
    if !persistence::wait_durable(shared, conn.need_seq).await {
        return Err(std::io::Error::other(
            "WAL poisoned before the reply was durable",
        ));
    }
    shared
        .stats
        .net_output_bytes
        .fetch_add(out.buf.len() as u64, Ordering::Relaxed);
    sock.write_all(&out.buf).await?;
    out.buf.clear();
    Ok(())
}

async fn connection_loop(
    shared: &Arc<Shared>,
    sock: &mut TcpStream,
    conn: &mut ConnState,
) -> std::io::Result<()> {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out = ReplyWriter::new();
    let mut stop = shared.shutdown.subscribe();
    let info = conn.info.clone();
    // Made once and polled by reference: a fresh `notified()`/`changed()` per read would
    // register and deregister a waiter (two mutex round trips each) on every request.
    let mut killed = std::pin::pin!(info.kill_notify.notified());
    let mut stopping = std::pin::pin!(stop.changed());
    // Limits read from the configuration, refreshed only when CONFIG SET changed something.
    let mut limits_gen = u64::MAX;
    let (mut timeout, mut limits, mut qbuf_limit) = (0i64, Limits::default(), 0i64);
    loop {
        if limits_gen != shared.config.generation() {
            limits_gen = shared.config.generation();
            timeout = shared.config.get_i64("timeout");
            limits = Limits {
                max_bulk_len: shared.config.get_i64("proto-max-bulk-len"),
            };
            qbuf_limit = shared.config.get_i64("client-query-buffer-limit");
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        // No timer at all unless `timeout` is set: arming one per read costs on every request.
        let idle = async {
            if timeout > 0 {
                tokio::time::sleep(Duration::from_secs(timeout as u64)).await
            } else {
                std::future::pending::<()>().await
            }
        };
        let n = tokio::select! {
            r = sock.read_buf(&mut buf) => r?,
            _ = &mut killed => return Ok(()),
            _ = &mut stopping => return Ok(()),
            _ = idle => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        if info.killed.load(Ordering::Acquire) {
            return Ok(());
        }
        shared
            .stats
            .net_input_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        let since = info.created.elapsed().as_millis();
        info.last_active_ms
            .store(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
        loop {
            let argv = match resp::parse_command(&mut buf, limits) {
                Ok(Some(argv)) => argv,
                Ok(None) => break,
                Err(e) => {
                    out.error(&format!("ERR {e}"));
                    flush(shared, sock, conn, &mut out).await?;
                    return Ok(());
                }
            };
            let after = dispatch(shared, conn, &mut out, &argv);
            out.resp3 = conn.resp3;
            match after {
                After::Nothing => {}
                After::Close => {
                    flush(shared, sock, conn, &mut out).await?;
                    return Ok(());
                }
                After::Sleep(d) => {
                    flush(shared, sock, conn, &mut out).await?;
                    tokio::time::sleep(d).await;
                }
                After::Shutdown { save } => {
                    flush(shared, sock, conn, &mut out).await?;
                    shared.request_shutdown(save);
                    return Ok(());
                }
                After::Save => match persistence::snapshot_async(shared.clone()).await {
                    Ok(_) => out.ok(),
                    Err(e) => out.error(&format!("ERR snapshot failed: {e}")),
                },
                After::WaitAof {
                    numlocal,
                    numreplicas,
                    timeout_ms,
                } => {
                    flush(shared, sock, conn, &mut out).await?;
                    let (local, replicas) = persistence::wait_aof(
                        shared,
                        conn.need_seq,
                        numlocal,
                        numreplicas,
                        timeout_ms,
                    )
                    .await;
                    out.array(2);
                    out.int(local);
                    out.int(replicas);
                }
            }
            if out.buf.len() > 64 * 1024 {
                flush(shared, sock, conn, &mut out).await?;
            }
        }
        if buf.len() as i64 > qbuf_limit {
            out.error(
                "ERR Protocol error: query buffer limit exceeded (client-query-buffer-limit)",
            );
            flush(shared, sock, conn, &mut out).await?;
            return Ok(());
        }
        flush(shared, sock, conn, &mut out).await?;
        if info.killed.load(Ordering::Acquire) {
            return Ok(());
        }
    }
}
