//! The client registry behind CLIENT LIST / INFO / KILL and INFO clients.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// What other connections may read about a client (or ask of it).
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    pub name: Mutex<Bytes>,
    pub lib_name: Mutex<String>,
    pub lib_ver: Mutex<String>,
    pub db: AtomicU8,
    pub resp: AtomicU8,
    /// Index into the command table of the last command (usize::MAX = none yet).
    pub last_cmd: AtomicUsize,
    /// Subcommand of the last command when it was a container (`client|list`).
    pub last_sub: Mutex<String>,
    /// Milliseconds after `created` of the last read (an atomic: written on every request).
    pub last_active_ms: AtomicU64,
    pub in_multi: AtomicBool,
    pub watching: AtomicUsize,
    pub no_evict: AtomicBool,
    pub no_touch: AtomicBool,
    /// Set by CLIENT KILL; the connection closes at its next wake-up.
    pub killed: AtomicBool,
    pub kill_notify: Notify,
    /// The blocked command this client waits in (BLPOP ...), for CLIENT UNBLOCK and the `b`
    /// flag of CLIENT LIST.
    pub blocked: Mutex<Option<Arc<crate::keyspace::Waiter>>>,
    /// Subscriptions by [`super::pubsub::Kind`]: channels, patterns, shard channels.
    pub subs: [AtomicUsize; 3],
    /// CLIENT TRACKING: -1 off, 0 on without REDIRECT, else the redirect client (`redir=`).
    pub redir: AtomicI64,
    /// CLIENT TRACKING in BCAST mode (flag `B`).
    pub bcast: AtomicBool,
    /// MONITOR is on (flag `O`).
    pub monitor: AtomicBool,
    /// The socket's file descriptor (-1 for a client with no socket).
    pub fd: AtomicI64,
    /// CLIENT LIST's memory fields: the query buffer's unparsed bytes and capacity at the last
    /// read, the running command's argument bytes (0 between commands), the reply buffer's
    /// capacity and its peak.
    pub qbuf: AtomicUsize,
    pub qbuf_cap: AtomicUsize,
    pub argv_mem: AtomicUsize,
    pub rbs: AtomicUsize,
    pub rbp: AtomicUsize,
}

impl ClientInfo {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        // Every waiter (the connection loop, a subscriber's stalled write), and a permit for
        // one that has not started waiting yet.
        self.kill_notify.notify_waiters();
        self.kill_notify.notify_one();
    }

    /// Redis's client type (CLIENT LIST/KILL TYPE): `pubsub` while subscribed, else `normal`.
    pub fn class(&self) -> &'static str {
        if self.subs.iter().any(|n| n.load(Ordering::Relaxed) > 0) {
            "pubsub"
        } else {
            "normal"
        }
    }

    /// One line of CLIENT LIST / CLIENT INFO in Redis's format; `omem` is what it has pending
    /// to send (a subscriber's outbox).
    pub fn describe(&self, omem: usize) -> String {
        let cmd = match self.last_cmd.load(Ordering::Relaxed) {
            usize::MAX => "NULL".to_string(),
            i => match crate::commands::all().get(i) {
                Some(s) if crate::commands::is_container(s.name) => {
                    format!("{}|{}", s.name, self.last_sub.lock())
                }
                Some(s) => s.name.to_string(),
                None => "NULL".to_string(),
            },
        };
        let now = Instant::now();
        let age = now.duration_since(self.created).as_secs();
        let active = self.created
            + std::time::Duration::from_millis(self.last_active_ms.load(Ordering::Relaxed));
        let idle = now.saturating_duration_since(active).as_secs();
        let multi = if self.in_multi.load(Ordering::Relaxed) {
            0
        } else {
            -1
        };
        let mut flags = String::new();
        if self.monitor.load(Ordering::Relaxed) {
            flags.push('O');
        }
        let subs = self.subs.each_ref().map(|n| n.load(Ordering::Relaxed));
        if subs.iter().any(|&n| n > 0) {
            flags.push('P');
        }
        if self.in_multi.load(Ordering::Relaxed) {
            flags.push('x');
        }
        if self.blocked.lock().is_some() {
            flags.push('b');
        }
        let redir = self.redir.load(Ordering::Relaxed);
        if redir >= 0 {
            flags.push('t');
        }
        if self.bcast.load(Ordering::Relaxed) {
            flags.push('B');
        }
        if self.no_evict.load(Ordering::Relaxed) {
            flags.push('e');
        }
        if self.no_touch.load(Ordering::Relaxed) {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let qbuf = self.qbuf.load(Ordering::Relaxed);
        let qbuf_cap = self.qbuf_cap.load(Ordering::Relaxed).max(qbuf);
        let argv = self.argv_mem.load(Ordering::Relaxed);
        let rbs = self.rbs.load(Ordering::Relaxed);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} watch={} qbuf={qbuf} qbuf-free={} argv-mem={argv} multi-mem=0 rbs={rbs} rbp={} obl=0 oll=0 omem={omem} tot-mem={} events=r cmd={} user=default redir={} resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd.load(Ordering::Relaxed),
            String::from_utf8_lossy(&self.name.lock()),
            age,
            idle,
            flags,
            self.db.load(Ordering::Relaxed),
            subs[0],
            subs[1],
            subs[2],
            multi,
            self.watching.load(Ordering::Relaxed),
            qbuf_cap.saturating_sub(qbuf),
            self.rbp.load(Ordering::Relaxed).max(rbs),
            // The client's own buffers; the connection's fixed state is not counted.
            qbuf_cap + argv + rbs + omem,
            cmd,
            redir,
            self.resp.load(Ordering::Relaxed),
            self.lib_name.lock(),
            self.lib_ver.lock(),
        )
    }
}

#[derive(Default)]
pub struct Clients {
    next_id: AtomicU64,
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    /// Clients waiting in a blocking command (INFO `blocked_clients`), and those of them
    /// with a timeout (`clients_in_timeout_table`).
    blocked: AtomicUsize,
    timed: AtomicUsize,
}

impl Clients {
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::AcqRel) + 1;
        let now = Instant::now();
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created: now,
            name: Mutex::new(Bytes::new()),
            lib_name: Mutex::new(String::new()),
            lib_ver: Mutex::new(String::new()),
            db: AtomicU8::new(0),
            resp: AtomicU8::new(2),
            last_cmd: AtomicUsize::new(usize::MAX),
            last_sub: Mutex::new(String::new()),
            last_active_ms: AtomicU64::new(0),
            in_multi: AtomicBool::new(false),
            watching: AtomicUsize::new(0),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            kill_notify: Notify::new(),
            blocked: Mutex::new(None),
            subs: Default::default(),
            redir: AtomicI64::new(-1),
            bcast: AtomicBool::new(false),
            monitor: AtomicBool::new(false),
            fd: AtomicI64::new(-1),
            qbuf: AtomicUsize::new(0),
            qbuf_cap: AtomicUsize::new(0),
            argv_mem: AtomicUsize::new(0),
            rbs: AtomicUsize::new(0),
            rbp: AtomicUsize::new(0),
        });
        self.map.lock().insert(id, info.clone());
        info
    }

    pub fn unregister(&self, id: u64) {
        self.map.lock().remove(&id);
    }

    pub fn count(&self) -> usize {
        self.map.lock().len()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.map.lock().get(&id).cloned()
    }

    /// `info`'s client starts waiting in `w`.
    pub fn set_blocked(&self, info: &ClientInfo, w: Arc<crate::keyspace::Waiter>) {
        let timed = w.timed;
        if info.blocked.lock().replace(w).is_none() {
            self.blocked.fetch_add(1, Ordering::Relaxed);
            if timed {
                self.timed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// `info`'s client stopped waiting.
    pub fn clear_blocked(&self, info: &ClientInfo) {
        if let Some(w) = info.blocked.lock().take() {
            self.blocked.fetch_sub(1, Ordering::Relaxed);
            if w.timed {
                self.timed.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    pub fn blocked_count(&self) -> usize {
        self.blocked.load(Ordering::Relaxed)
    }

    pub fn timed_count(&self) -> usize {
        self.timed.load(Ordering::Relaxed)
    }

    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.map.lock().values().cloned().collect()
    }

    pub fn kill_all(&self) {
        for c in self.all() {
            c.kill();
        }
    }
}
