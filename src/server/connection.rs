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
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a connection runs over: plain TCP today, a TLS session later.
pub trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// CLIENT REPLY: whether this connection's replies are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReplyMode {
    #[default]
    On,
    Off,
    /// CLIENT REPLY SKIP ran: the next command's reply is dropped.
    SkipNext,
    /// The command running now is the one SKIP named.
    Skip,
}

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
    /// EXEC is running the queued commands: a blocking command answers at once.
    pub in_exec: bool,
    /// A script's `redis.call` is running: a blocking command answers at once.
    pub in_script: bool,
    /// `maxmemory` was exceeded with nothing left to evict when the current command started
    /// (Redis's pre_command_oom_state: a script's first write is refused then).
    pub oom: bool,
    pub watch_flag: WatchFlag,
    /// (db, key, was expired at WATCH time).
    pub watched: Vec<(DbIndex, Bytes, bool)>,
    /// The newest sequence the replies in the out buffer reveal.
    pub need_seq: u64,
    /// The replies in the out buffer that depend on WAL state, in buffer order: if the WAL
    /// fails before a reply's sequence is acknowledged, that reply is replaced by an error
    /// instead of being sent (see [`withhold`]).
    pub revealing: Vec<Revealing>,
    /// What the running command passed to [`ConnState::observe`] itself (EXEC, BACKUP,
    /// RESTORE observe through their own locks).
    cmd_observed: u64,
    /// Channels, patterns and shard channels, and the outbox messages arrive in.
    pub subs: super::pubsub::Subscriptions,
    pub reply: ReplyMode,
    /// CLIENT TRACKING ON's mode, and CLIENT CACHING's answer for the next command.
    pub tracking: Option<super::tracking::Mode>,
    pub caching: Option<bool>,
    /// Spans of the running command's output that are pushes (subscription confirmations):
    /// CLIENT REPLY OFF/SKIP drops the rest of the output, never these.
    pub pushed: Vec<(usize, usize)>,
    /// Keys this connection's writes changed since its replies last went out, for the BCAST
    /// tracking clients (sent once a turn, see [`ConnState::send_broadcasts`]).
    pub bcast_keys: Vec<Bytes>,
    /// How long the last command ran (a blocked one's slow log entry waits for its answer).
    pub blocked_nanos: u64,
}

/// One reply in the out buffer (`start..end`) and the newest sequence it depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revealing {
    pub start: usize,
    pub end: usize,
    pub seq: u64,
    /// Pushed messages, dropped (not replaced by an error) if `seq` is never acknowledged.
    pub pushed: bool,
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
            in_exec: false,
            in_script: false,
            oom: false,
            watch_flag: Arc::new(AtomicBool::new(false)),
            watched: Vec::new(),
            need_seq: 0,
            revealing: Vec::new(),
            cmd_observed: 0,
            subs: Default::default(),
            reply: ReplyMode::On,
            tracking: None,
            caching: None,
            pushed: Vec::new(),
            bcast_keys: Vec::new(),
            blocked_nanos: 0,
        }
    }

    /// Sends the BCAST invalidations for this turn's writes.
    pub fn send_broadcasts(&mut self, shared: &Shared) {
        if !self.bcast_keys.is_empty() {
            let keys = std::mem::take(&mut self.bcast_keys);
            shared
                .pubsub
                .tracking
                .broadcast(&shared.pubsub, self.id, keys);
        }
    }

    pub fn flag_multi_error(&mut self) {
        if self.multi.is_some() {
            self.multi_error = true;
        }
    }

    pub fn observe(&mut self, seq: u64) {
        self.need_seq = self.need_seq.max(seq);
        self.cmd_observed = self.cmd_observed.max(seq);
    }

    /// Starts accounting one command (see [`ConnState::end_command`]).
    pub fn begin_command(&mut self) {
        self.cmd_observed = 0;
    }

    /// Ends a command whose reply is `out[start..end]`: the reply depends on `revealed` (what
    /// its handler read, finely) and on whatever the handler observed itself; its reply must
    /// wait for `observed` (coarse, >= revealed).
    pub fn end_command(&mut self, start: usize, end: usize, revealed: u64, observed: u64) {
        let seq = revealed.max(self.cmd_observed);
        self.observe(observed);
        if seq > 0 && end > start {
            self.revealing.push(Revealing {
                start,
                end,
                seq,
                pushed: false,
            });
        }
    }

    pub fn set_db(&mut self, db: DbIndex) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    /// Turns CLIENT TRACKING off (TRACKING OFF, RESET, disconnect).
    pub fn stop_tracking(&mut self, shared: &Shared) {
        if self.tracking.take().is_some() {
            shared.pubsub.tracking.disable(self.id);
            shared.refresh_expired_tracking();
        }
        self.caching = None;
        self.info.redir.store(-1, Ordering::Relaxed);
        self.info.bcast.store(false, Ordering::Relaxed);
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
    {
        use std::os::fd::AsRawFd;
        info.fd
            .store(i64::from(sock.as_raw_fd()), Ordering::Relaxed);
    }
    let mut reg = Registration {
        conn: ConnState::new(info, requirepass.is_empty()),
        shared,
    };
    let Registration { shared, conn } = &mut reg;
    if let Err(e) = connection_loop(shared, &mut sock, conn).await {
        tracing::debug!(client = conn.id, "connection closed: {e}");
    }
}

/// A connection's entries in the shared registries, undone however its task ends: a normal
/// return, an I/O error, a panic unwinding out of a command, or the runtime dropping the task
/// at shutdown. A leaked client entry would count against `maxclients` for the life of the
/// process; a leaked WATCH flag would stay in its shard's table.
struct Registration {
    shared: Arc<Shared>,
    conn: ConnState,
}

impl Drop for Registration {
    fn drop(&mut self) {
        // A task dropped while blocked (shutdown, a panic): no one may serve it any more.
        let waiting = self.conn.info.blocked.lock().clone();
        if let Some(w) = waiting {
            w.claim();
            self.shared.keyspace.unblock(&w);
            self.shared.clients.clear_blocked(&self.conn.info);
        }
        self.conn.send_broadcasts(&self.shared);
        self.conn.unwatch_all(&self.shared);
        let info = self.conn.info.clone();
        self.conn.stop_tracking(&self.shared);
        self.shared
            .pubsub
            .unsubscribe_all(&mut self.conn.subs, &info);
        self.shared.clients.unregister(self.conn.id);
    }
}

/// What replaces a reply that depends on a write the failed WAL never acknowledged.
const NOT_DURABLE: &[u8] = b"-MISCONF Errors writing to the WAL file: this reply would show writes that never became durable; restart the server to serve the durable state (see INFO persistence)\r\n";

/// Replies go out once the WAL has acknowledged what they reveal (durable under `always`,
/// written under `everysec`/`no`). If the WAL fails first, the replies that depend on an
/// unacknowledged write are replaced by an error and the rest go out: the connection stays.
async fn flush<S: Stream>(
    shared: &Shared,
    sock: &mut S,
    conn: &mut ConnState,
    out: &mut ReplyWriter,
) -> std::io::Result<()> {
    // Other clients hear of this turn's writes before its replies go out (as Redis, which
    // sends them before it writes replies).
    conn.send_broadcasts(shared);
    if out.buf.is_empty() {
        return Ok(());
    }
    settle(shared, conn, out).await;
    shared
        .stats
        .net_output_bytes
        .fetch_add(out.buf.len() as u64, Ordering::Relaxed);
    shared
        .stats
        .writes_processed
        .fetch_add(1, Ordering::Relaxed);
    let info = &conn.info;
    info.rbs.store(out.buf.capacity(), Ordering::Relaxed);
    info.rbp.fetch_max(out.buf.len(), Ordering::Relaxed);
    if conn.subs.outbox.is_some() {
        // A subscriber that stopped reading must not hold its task in this write once the
        // output limit cut it off (or CLIENT KILL named it).
        let info = conn.info.clone();
        let mut killed = std::pin::pin!(info.kill_notify.notified());
        killed.as_mut().enable();
        if info.killed.load(Ordering::Acquire) {
            return Err(std::io::Error::other("client killed"));
        }
        tokio::select! {
            r = sock.write_all(&out.buf) => r?,
            _ = killed => return Err(std::io::Error::other("client killed")),
        }
    } else {
        sock.write_all(&out.buf).await?;
    }
    out.buf.clear();
    if let Some(o) = &conn.subs.outbox {
        o.written();
    }
    Ok(())
}

/// Waits until the out buffer may go out, withholding what the WAL failed to acknowledge.
async fn settle(shared: &Shared, conn: &mut ConnState, out: &mut ReplyWriter) {
    if !persistence::wait_acknowledged(shared, conn.need_seq).await {
        let acked = persistence::acknowledged_seq(shared);
        withhold(&mut out.buf, &conn.revealing, acked);
    }
    conn.revealing.clear();
}

/// Replaces each reply of `spans` (in buffer order) that depends on a sequence past `acked`
/// with [`NOT_DURABLE`], keeping every other byte of `buf`.
fn withhold(buf: &mut BytesMut, spans: &[Revealing], acked: u64) {
    if spans.iter().all(|r| r.seq <= acked) {
        return;
    }
    let mut kept = BytesMut::with_capacity(buf.len());
    let mut pos = 0;
    for r in spans {
        kept.extend_from_slice(buf.get(pos..r.start).unwrap_or_default());
        if r.seq <= acked {
            kept.extend_from_slice(buf.get(r.start..r.end).unwrap_or_default());
        } else if !r.pushed {
            kept.extend_from_slice(NOT_DURABLE);
        }
        pos = r.end;
    }
    kept.extend_from_slice(buf.get(pos..).unwrap_or_default());
    *buf = kept;
}

async fn connection_loop<S: Stream>(
    shared: &Arc<Shared>,
    sock: &mut S,
    conn: &mut ConnState,
) -> std::io::Result<()> {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out = ReplyWriter::new();
    conn.info.rbs.store(out.buf.capacity(), Ordering::Relaxed);
    let mut stop = shared.shutdown.subscribe();
    let info = conn.info.clone();
    // Made once and polled by reference: a fresh `notified()`/`changed()` per read would
    // register and deregister a waiter (two mutex round trips each) on every request.
    let mut killed = std::pin::pin!(info.kill_notify.notified());
    let mut stopping = std::pin::pin!(stop.changed());
    // Limits read from the configuration, refreshed only when CONFIG SET changed something.
    let mut limits_gen = u64::MAX;
    let (mut timeout, mut limits, mut qbuf_limit) = (0i64, Limits::default(), 0i64);
    // `client-output-buffer-limit normal`: (hard, soft, soft seconds), and since when the
    // pending output has been over the soft limit.
    let (mut out_limit, mut soft_since) = ((0u64, 0u64, 0u64), None::<Instant>);
    loop {
        if limits_gen != shared.config.generation() {
            limits_gen = shared.config.generation();
            timeout = shared.config.get_i64("timeout");
            limits = Limits {
                max_bulk_len: shared.config.get_i64("proto-max-bulk-len"),
            };
            qbuf_limit = shared.config.get_i64("client-query-buffer-limit");
            out_limit = shared.config.output_limit("normal");
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
        // Messages for a subscriber wake the loop as well as requests do.
        let outbox = conn.subs.outbox.clone();
        // As in Redis, `timeout` never closes a subscriber.
        let subscriber = conn.subs.active() || conn.subs.monitor;
        let pushed = async {
            match &outbox {
                Some(o) => o.ready.notified().await,
                None => std::future::pending::<()>().await,
            }
        };
        let n = tokio::select! {
            r = sock.read_buf(&mut buf) => Some(r?),
            _ = &mut killed => return Ok(()),
            _ = &mut stopping => return Ok(()),
            _ = idle, if !subscriber => return Ok(()),
            _ = pushed => None,
        };
        let Some(n) = n else {
            if let Some(o) = &outbox {
                drain_outbox(conn, o, &mut out);
            }
            flush(shared, sock, conn, &mut out).await?;
            continue;
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
        shared.stats.reads_processed.fetch_add(1, Ordering::Relaxed);
        let since = info.created.elapsed().as_millis();
        info.last_active_ms
            .store(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
        info.qbuf.store(buf.len(), Ordering::Relaxed);
        info.qbuf_cap.store(buf.capacity(), Ordering::Relaxed);
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
            // CLIENT PAUSE: this client waits (replies so far go out first) until the pause
            // ends or is lifted; pipelined input stays buffered.
            while let Some(until) = shared.paused_until(conn, &argv) {
                flush(shared, sock, conn, &mut out).await?;
                let changed = shared.pause_changed.notified();
                tokio::select! {
                    _ = tokio::time::sleep_until(until.into()) => {}
                    _ = changed => {}
                    _ = &mut killed => return Ok(()),
                    _ = &mut stopping => return Ok(()),
                }
            }
            // Messages that arrived before this command go out before its reply.
            if let Some(o) = conn.subs.outbox.clone() {
                drain_outbox(conn, &o, &mut out);
            }
            let (start, spans) = (out.buf.len(), conn.revealing.len());
            if conn.reply == ReplyMode::SkipNext {
                conn.reply = ReplyMode::Skip;
            }
            conn.pushed.clear();
            // While a script runs, nothing else does: wait for it, or answer -BUSY past
            // `busy-reply-threshold` (one relaxed load when no script runs).
            let busy = if shared.scripting.run.running() {
                shared.scripting.run.wait_turn(&argv).await
            } else {
                None
            };
            let after = match busy {
                Some(e) => {
                    out.error(e);
                    After::Nothing
                }
                None => {
                    let bytes = argv.iter().map(|a| a.len()).sum();
                    info.argv_mem.store(bytes, Ordering::Relaxed);
                    let after = dispatch(shared, conn, &mut out, &argv);
                    info.argv_mem.store(0, Ordering::Relaxed);
                    after
                }
            };
            // CLIENT REPLY OFF or SKIP (which answer nothing themselves), or the command SKIP
            // named: its reply is dropped, pushes kept. A blocked command's later answer too.
            let silenced = matches!(conn.reply, ReplyMode::Off | ReplyMode::Skip);
            if silenced {
                let kept: Vec<u8> = conn
                    .pushed
                    .iter()
                    .flat_map(|&(a, b)| out.buf.get(a..b).unwrap_or_default().to_vec())
                    .collect();
                out.buf.truncate(start);
                out.buf.extend_from_slice(&kept);
                conn.revealing.truncate(spans);
                if conn.reply == ReplyMode::Skip {
                    conn.reply = ReplyMode::On;
                }
            }
            out.resp3 = conn.resp3;
            match after {
                After::Nothing => {}
                After::Close => {
                    flush(shared, sock, conn, &mut out).await?;
                    return Ok(());
                }
                After::Sleep(d) => {
                    flush(shared, sock, conn, &mut out).await?;
                    // The sleep ends early if the client goes away (or is killed, or the
                    // server stops): DEBUG SLEEP may ask for years, and a departed client
                    // must not keep its slot. Pipelined input is buffered meanwhile, up to
                    // the query buffer limit.
                    let mut nap = std::pin::pin!(tokio::time::sleep(d));
                    loop {
                        tokio::select! {
                            _ = &mut nap => break,
                            r = sock.read_buf(&mut buf), if (buf.len() as i64) <= qbuf_limit => {
                                if r? == 0 {
                                    return Ok(());
                                }
                            }
                            _ = &mut killed => return Ok(()),
                            _ = &mut stopping => return Ok(()),
                        }
                    }
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
                After::Block(blocked) => {
                    flush(shared, sock, conn, &mut out).await?;
                    let Some(served) = wait_blocked(
                        shared,
                        sock,
                        &mut buf,
                        conn,
                        *blocked,
                        qbuf_limit,
                        &mut killed,
                        &mut stopping,
                    )
                    .await?
                    else {
                        return Ok(());
                    };
                    // Served by a write (a timeout's answer reveals no sequence).
                    if served.seq != 0 {
                        super::log_served(shared, conn, &argv, conn.blocked_nanos);
                    }
                    conn.begin_command();
                    let start = out.buf.len();
                    if !silenced {
                        out.buf.extend_from_slice(&served.reply);
                    }
                    conn.end_command(start, out.buf.len(), served.seq, served.seq);
                }
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
            if out_limit != (0, 0, 0)
                && conn.subs.outbox.is_none()
                && super::pubsub::over_output_limit(
                    out.buf.len() as u64,
                    out_limit,
                    &mut soft_since,
                )
            {
                shared.pubsub.cut_off.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "Client id={} addr={} closed for overcoming of output buffer limits (normal, {} bytes pending).",
                    conn.id,
                    info.addr,
                    out.buf.len()
                );
                return Ok(());
            }
            if out.buf.len() > 64 * 1024 {
                flush(shared, sock, conn, &mut out).await?;
            }
        }
        // What is left unparsed (a partial command) waits for the next read.
        info.qbuf.store(buf.len(), Ordering::Relaxed);
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

/// Moves what the outbox holds into the out buffer. MONITOR lines are replies to Redis, so
/// CLIENT REPLY OFF silences them (messages and other pushes still go out).
fn drain_outbox(conn: &mut ConnState, o: &super::pubsub::Outbox, out: &mut ReplyWriter) {
    let start = out.buf.len();
    let seq = o.drain_into(&mut out.buf);
    if conn.reply == ReplyMode::Off && conn.subs.monitor && !conn.subs.active() {
        out.buf.truncate(start);
        return;
    }
    // The frames wait for the writes they report, like a reply that reveals them.
    if seq > 0 && out.buf.len() > start {
        conn.observe(seq);
        conn.revealing.push(Revealing {
            start,
            end: out.buf.len(),
            seq,
            pushed: true,
        });
    }
}

/// Waits in a blocking command: for the server to serve it, its timeout, CLIENT UNBLOCK
/// (which answers through the same channel), or the client's departure. Pipelined input is
/// read and kept meanwhile (up to the query buffer limit), as Redis does, so a disconnection
/// is seen at once. `None`: the connection is over (the waiter has been given up). However
/// it ends, the waiter leaves every key's queue and the client's blocked state.
#[allow(clippy::too_many_arguments)]
async fn wait_blocked<S: Stream>(
    shared: &Shared,
    sock: &mut S,
    buf: &mut BytesMut,
    conn: &mut ConnState,
    blocked: crate::commands::blocking::Blocked,
    qbuf_limit: i64,
    killed: &mut std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    stopping: &mut std::pin::Pin<
        &mut impl std::future::Future<Output = Result<(), tokio::sync::watch::error::RecvError>>,
    >,
) -> std::io::Result<Option<crate::keyspace::Served>> {
    let crate::commands::blocking::Blocked {
        waiter,
        mut rx,
        timeout,
    } = blocked;
    shared.clients.set_blocked(&conn.info, waiter.clone());
    let timer = async {
        match timeout {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    let mut timer = std::pin::pin!(timer);
    let result = loop {
        tokio::select! {
            r = &mut rx => {
                // The sender never goes without an answer; if it did, answer as a timeout.
                break Ok(Some(r.unwrap_or_else(|_| crate::keyspace::Served {
                    reply: crate::commands::blocking::timeout_reply(waiter.resp3),
                    seq: 0,
                })));
            }
            _ = &mut timer => {
                if let Some(tx) = waiter.claim() {
                    drop(tx);
                    let reply = crate::commands::blocking::timeout_reply(waiter.resp3);
                    break Ok(Some(crate::keyspace::Served { reply, seq: 0 }));
                }
                // Claimed by the server serving it (or CLIENT UNBLOCK): its answer is coming.
                break Ok((&mut rx).await.ok());
            }
            r = sock.read_buf(buf), if (buf.len() as i64) <= qbuf_limit => {
                match r {
                    Ok(0) => { waiter.claim(); break Ok(None) }
                    Ok(_) => {}
                    Err(e) => { waiter.claim(); break Err(e) }
                }
            }
            _ = &mut *killed => { waiter.claim(); break Ok(None) }
            _ = &mut *stopping => { waiter.claim(); break Ok(None) }
        }
    };
    shared.keyspace.unblock(&waiter);
    shared.clients.clear_blocked(&conn.info);
    result
}

#[cfg(test)]
mod tests {
    use super::{settle, withhold, ConnState, Registration, Revealing, NOT_DURABLE};
    use crate::config::Config;
    use crate::keyspace::{Effect, Keyspace, Value};
    use crate::resp::ReplyWriter;
    use crate::server::{dispatch, Shared};
    use crate::storage::fs::SimFs;
    use crate::storage::{MasterKeySource, RecoverySink, Storage, StorageConfig, SyncPolicy};
    use bytes::{Bytes, BytesMut};
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    #[test]
    fn withhold_replaces_only_the_unacknowledged_replies() {
        let mut buf = BytesMut::from(&b"+A\r\n+B\r\n+C\r\n+D\r\n>P\r\n"[..]);
        let span = |start, seq, pushed| Revealing {
            start,
            end: start + 4,
            seq,
            pushed,
        };
        // +C (8..12) revealed nothing: never withheld. The pushed >P (16..20) is dropped.
        let spans = [
            span(0, 5, false),
            span(4, 9, false),
            span(12, 7, false),
            span(16, 8, true),
        ];
        withhold(&mut buf, &spans, 7);
        let mut want = b"+A\r\n".to_vec();
        want.extend_from_slice(NOT_DURABLE);
        want.extend_from_slice(b"+C\r\n+D\r\n");
        assert_eq!(&buf[..], &want[..]);
    }

    struct NoRecovery;
    impl RecoverySink for NoRecovery {
        fn load_piece(&mut self, _piece: crate::keyspace::Piece) {}
        fn apply_entry(&mut self, _seq: u64, _effects: Vec<Effect>) {}
    }

    /// A server (keyspace + WAL on a simulated file system) driven command by command, each
    /// reply settled as the connection loop does before it writes to the socket.
    struct Rig {
        shared: Arc<Shared>,
        conn: ConnState,
        out: ReplyWriter,
    }

    impl Rig {
        fn new(fs: &SimFs, policy: SyncPolicy) -> Rig {
            let mut cfg = StorageConfig::new("/data");
            cfg.master_key = MasterKeySource::Hex("11".repeat(32));
            cfg.sync = policy;
            let (storage, _) =
                Storage::open_with_fs(cfg, Arc::new(fs.clone()), &mut NoRecovery).unwrap();
            let ks = Arc::new(Keyspace::new(16));
            ks.set_sink(storage.clone());
            let config = Arc::new(Config::default());
            config.set("appendfsync", &policy.to_string()).unwrap();
            let shared = Shared::new(config, ks, Some(storage)).into_arc();
            let addr = "127.0.0.1:1".parse().unwrap();
            let conn = ConnState::new(shared.clients.register(addr, addr), true);
            Rig {
                shared,
                conn,
                out: ReplyWriter::new(),
            }
        }

        /// Runs a pipeline and returns the bytes the client would receive.
        async fn ask(&mut self, cmds: &[&[&str]]) -> Vec<u8> {
            for argv in cmds {
                let argv: Vec<Bytes> = argv.iter().map(|a| Bytes::from(a.to_string())).collect();
                dispatch(&self.shared, &mut self.conn, &mut self.out, &argv);
            }
            settle(&self.shared, &mut self.conn, &mut self.out).await;
            self.out.buf.split().to_vec()
        }

        async fn ask1(&mut self, argv: &[&str]) -> String {
            String::from_utf8_lossy(&self.ask(&[argv]).await).into_owned()
        }
    }

    fn bulk(v: &str) -> String {
        format!("${}\r\n{v}\r\n", v.len())
    }

    /// After the WAL fails (write or fsync), every read answers: durable keys with their
    /// values, INFO in full with the failure, and replies that would show the failed write
    /// with an error instead.
    async fn reads_answer_after_wal_failure(fail_sync: bool, policy: SyncPolicy) {
        let fs = SimFs::new();
        let mut rig = Rig::new(&fs, policy);
        for i in 0..600 {
            let (k, v) = (format!("k{i}"), format!("v{i}"));
            assert_eq!(rig.ask1(&["SET", &k, &v]).await, "+OK\r\n");
        }
        // Under everysec the failed fsync is the periodic one: force it.
        if fail_sync {
            fs.fail_sync_in(1);
        } else {
            fs.fail_write_in(1);
        }
        let victim_reply = rig.ask1(&["SET", "victim", "x"]).await;
        let storage = rig.shared.storage.clone().unwrap();
        if fail_sync && policy != SyncPolicy::Always {
            // The write reached the kernel, which is all everysec promises; the next fsync
            // fails and poisons the WAL.
            assert_eq!(victim_reply, "+OK\r\n");
            storage.request_sync();
            let t = std::time::Instant::now();
            while !storage.is_poisoned() && t.elapsed() < std::time::Duration::from_secs(10) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        } else {
            assert_eq!(victim_reply.as_bytes(), NOT_DURABLE);
        }
        assert!(storage.is_poisoned());
        assert!(rig
            .ask1(&["SET", "after", "x"])
            .await
            .starts_with("-MISCONF"));

        let info = rig.ask1(&["INFO"]).await;
        assert!(
            info.starts_with('$') && info.contains("wal_poisoned:1"),
            "{info}"
        );
        assert!(info.contains("# Keyspace"), "{info}");
        let info = rig.ask1(&["INFO", "persistence"]).await;
        assert!(info.contains("wal_poisoned:1") && info.contains("aof_last_write_status:err"));
        assert!(info.contains("wal_poison_error:") && info.contains("simulated failure"));
        for i in 0..600 {
            let (k, v) = (format!("k{i}"), format!("v{i}"));
            assert_eq!(rig.ask1(&["GET", &k]).await, bulk(&v), "GET {k}");
        }
        // A pipeline: each reply on its own.
        let got = rig
            .ask(&[&["GET", "k1"], &["GET", "victim"], &["GET", "k2"]])
            .await;
        let victim_visible = fail_sync && policy != SyncPolicy::Always;
        let middle = if victim_visible {
            bulk("x").into_bytes()
        } else {
            NOT_DURABLE.to_vec()
        };
        let want = [bulk("v1").as_bytes(), &middle, bulk("v2").as_bytes()].concat();
        assert_eq!(got, want);
        // Whole-keyspace reads answer: with the data when it is all acknowledged, else with
        // the error.
        let whole = |r: &str| {
            if victim_visible {
                !r.starts_with('-')
            } else {
                r.as_bytes() == NOT_DURABLE
            }
        };
        let dbsize = rig.ask1(&["DBSIZE"]).await;
        assert!(whole(&dbsize), "DBSIZE answered {dbsize}");
        let backup = rig.ask1(&["BACKUP"]).await;
        assert!(whole(&backup), "BACKUP answered {backup:.80}");
        for _ in 0..20 {
            let r = rig.ask1(&["RANDOMKEY"]).await;
            assert!(r.starts_with('$') || r.as_bytes() == NOT_DURABLE, "{r}");
        }
        let mut cursor = "0".to_string();
        let mut answered = 0;
        for _ in 0..300 {
            let r = rig.ask1(&["SCAN", &cursor, "COUNT", "1"]).await;
            answered += 1;
            if r.as_bytes() == NOT_DURABLE {
                // The client cannot go on from an error; skip the shard as a tool would.
                let next: u64 = cursor.parse::<u64>().unwrap() + 1;
                cursor = if next >= 256 {
                    "0".into()
                } else {
                    next.to_string()
                };
            } else {
                assert!(r.starts_with("*2\r\n"), "SCAN answered {r}");
                cursor = r.split("\r\n").nth(2).unwrap().to_string();
            }
            if cursor == "0" {
                break;
            }
        }
        assert!(answered > 1);
        assert_eq!(rig.ask1(&["PING"]).await, "+PONG\r\n");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_answer_after_a_failed_wal_write_under_always() {
        reads_answer_after_wal_failure(false, SyncPolicy::Always).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_answer_after_a_failed_wal_fsync_under_always() {
        reads_answer_after_wal_failure(true, SyncPolicy::Always).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_answer_after_a_failed_wal_write_under_everysec() {
        reads_answer_after_wal_failure(false, SyncPolicy::EverySec).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_answer_after_a_failed_wal_fsync_under_everysec() {
        reads_answer_after_wal_failure(true, SyncPolicy::EverySec).await;
    }

    #[test]
    fn registration_and_subscriptions_are_undone_when_a_command_panics() {
        let shared = Arc::new(Shared::new(
            Arc::new(Config::default()),
            Arc::new(Keyspace::new(16)),
            None,
        ));
        let addr = "127.0.0.1:1".parse().unwrap();
        let key = Bytes::from_static(b"watched");
        let mut reg = Registration {
            conn: ConnState::new(shared.clients.register(addr, addr), true),
            shared: shared.clone(),
        };
        let flag = reg.conn.watch_flag.clone();
        shared.keyspace.watch(0, &key, &flag, 0);
        reg.conn.watched.push((0, key.clone(), false));
        // Subscribed to a channel, a pattern and a shard channel, through the commands.
        let mut out = ReplyWriter::new();
        for argv in [
            ["SUBSCRIBE", "ch"],
            ["PSUBSCRIBE", "p*"],
            ["SSUBSCRIBE", "sh"],
        ] {
            let argv: Vec<Bytes> = argv.iter().map(|a| Bytes::from(a.to_string())).collect();
            dispatch(&shared, &mut reg.conn, &mut out, &argv);
        }
        let ps = &shared.pubsub;
        assert_eq!(
            (ps.numsub(b"ch", false), ps.numpat(), ps.numsub(b"sh", true)),
            (1, 1, 1)
        );
        assert_eq!(shared.clients.count(), 1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _reg = reg;
            panic!("a command handler panicked");
        }));
        assert!(r.is_err());
        assert_eq!(shared.clients.count(), 0, "client entry leaked");
        // A write to the key would flag a WATCH that is still registered.
        let mut locked = shared.keyspace.lock_keys(std::iter::once(&key[..]));
        locked.put(0, &key, Value::String(Bytes::from_static(b"v")), 0);
        drop(locked);
        assert!(!flag.load(Ordering::Acquire), "WATCH registration leaked");
        let ps = &shared.pubsub;
        assert_eq!(
            (ps.numsub(b"ch", false), ps.numpat(), ps.numsub(b"sh", true)),
            (0, 0, 0),
            "subscriptions leaked"
        );
        assert_eq!(ps.publish(b"ch", b"m", false, 0), 0);
    }
}
