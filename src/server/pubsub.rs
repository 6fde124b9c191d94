//! Pub/sub: the channel and pattern registries and each subscriber's bounded outbox.
//!
//! A publisher encodes a message once per protocol and appends it to every receiver's
//! [`Outbox`] under that outbox's own short lock, then wakes the receiver's connection task,
//! which moves the bytes into its out buffer and writes them. A publisher therefore never
//! waits for a subscriber's socket. What an outbox holds plus what its connection is writing
//! is bounded by `client-output-buffer-limit pubsub`: a subscriber past the hard limit, or
//! past the soft limit for longer than its seconds, is cut off (its outbox is emptied and the
//! connection closed), as Redis does. Messages are not persistent: nothing here reaches the
//! WAL.

use super::clients::ClientInfo;
use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// The three subscription kinds. Shard channels are a namespace of their own (SPUBLISH
/// reaches only SSUBSCRIBE), as in Redis 7.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    pub fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    pub fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// `client-output-buffer-limit pubsub <hard> <soft> <soft seconds>` (bytes; 0 = no limit).
#[derive(Default)]
struct Limit {
    hard: AtomicU64,
    soft: AtomicU64,
    soft_secs: AtomicU64,
}

/// What a subscriber has been sent but its connection has not written yet.
pub struct Outbox {
    info: Arc<ClientInfo>,
    /// Frames are encoded for the client's protocol (`>` pushes in RESP3).
    resp3: AtomicBool,
    q: Mutex<Queue>,
    /// Bytes the connection took from the queue and is writing now (they count against the
    /// limit until the socket has them).
    in_flight: AtomicUsize,
    /// Woken when frames arrive.
    pub ready: Notify,
}

#[derive(Default)]
struct Queue {
    buf: BytesMut,
    /// The newest WAL sequence a queued frame reports (a keyspace event of a write, a message
    /// published after writes): the frames go out once it is acknowledged, as replies do.
    seq: u64,
    soft_since: Option<Instant>,
    closed: bool,
}

/// Whether `pending` output bytes pass `(hard, soft, soft seconds)` (0: no limit), as Redis
/// checks a client's output buffer: over the hard limit, or over the soft one for longer than
/// its seconds (`soft_since` remembers since when).
pub fn over_output_limit(
    pending: u64,
    (hard, soft, secs): (u64, u64, u64),
    soft_since: &mut Option<Instant>,
) -> bool {
    if hard > 0 && pending > hard {
        return true;
    }
    if soft == 0 || pending <= soft {
        *soft_since = None;
        return false;
    }
    soft_since
        .get_or_insert_with(Instant::now)
        .elapsed()
        .as_secs()
        > secs
}

impl Outbox {
    fn push(&self, frame: &[u8], seq: u64, hub: &PubSub) {
        let mut q = self.q.lock();
        if q.closed {
            return;
        }
        q.buf.extend_from_slice(frame);
        q.seq = q.seq.max(seq);
        let pending = (q.buf.len() + self.in_flight.load(Ordering::Relaxed)) as u64;
        let limit = (
            hub.limit.hard.load(Ordering::Relaxed),
            hub.limit.soft.load(Ordering::Relaxed),
            hub.limit.soft_secs.load(Ordering::Relaxed),
        );
        if over_output_limit(pending, limit, &mut q.soft_since) {
            q.closed = true;
            q.buf = BytesMut::new();
            drop(q);
            hub.cut_off.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "Client id={} addr={} closed for overcoming of output buffer limits (pubsub, {pending} bytes pending).",
                self.info.id,
                self.info.addr
            );
            self.info.kill();
            return;
        }
        let len = q.buf.len();
        drop(q);
        hub.peak.fetch_max(len, Ordering::Relaxed);
        self.ready.notify_one();
    }

    /// Moves what arrived into `out` (the connection's buffer); returns the newest sequence
    /// the moved frames report (they may go out once the WAL has acknowledged it).
    pub fn drain_into(&self, out: &mut BytesMut) -> u64 {
        let mut q = self.q.lock();
        if !q.buf.is_empty() {
            out.extend_from_slice(&q.buf);
            self.in_flight.fetch_add(q.buf.len(), Ordering::Relaxed);
            q.buf.clear();
        }
        std::mem::take(&mut q.seq)
    }

    /// The connection's out buffer reached the socket.
    pub fn written(&self) {
        self.in_flight.store(0, Ordering::Relaxed);
    }

    pub fn set_resp3(&self, resp3: bool) {
        self.resp3.store(resp3, Ordering::Relaxed);
    }

    /// Bytes pending (CLIENT LIST `omem`).
    pub fn pending(&self) -> usize {
        self.q.lock().buf.len() + self.in_flight.load(Ordering::Relaxed)
    }
}

/// One connection's subscriptions (owned by its task).
#[derive(Default)]
pub struct Subscriptions {
    pub outbox: Option<Arc<Outbox>>,
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    pub shard: HashSet<Bytes>,
    /// MONITOR ran: every command the server runs is sent here too.
    pub monitor: bool,
}

impl Subscriptions {
    fn of(&mut self, kind: Kind) -> &mut HashSet<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Redis's count in (un)subscribe replies: channels and patterns together; shard
    /// channels on their own.
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    /// Whether the connection is in subscriber mode (RESP2 then allows only a few commands).
    pub fn active(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }
}

type Receivers = Vec<Arc<Outbox>>;

/// The server's channel and pattern registries.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<HashMap<Bytes, Receivers>>,
    shard: RwLock<HashMap<Bytes, Receivers>>,
    patterns: RwLock<Patterns>,
    limit: Limit,
    /// Subscribers cut off by the output limit (INFO stats `pubsub_clients_cut_off`).
    pub cut_off: AtomicU64,
    /// The largest outbox seen (INFO clients `client_recent_max_output_buffer`).
    pub peak: AtomicUsize,
    /// `notify-keyspace-events` as `commands::notify` flags.
    pub notify_flags: AtomicU32,
    /// Every outbox by client id (REDIRECT targets of CLIENT TRACKING).
    by_client: Mutex<HashMap<u64, std::sync::Weak<Outbox>>>,
    /// CLIENT TRACKING's tables.
    pub tracking: super::tracking::Tracking,
    /// Clients in MONITOR mode (and how many, read without the lock on every command).
    monitors: RwLock<Vec<Arc<Outbox>>>,
    monitor_count: AtomicUsize,
}

/// Patterns in a vector (PUBLISH walks them all) with an index by pattern.
#[derive(Default)]
struct Patterns {
    list: Vec<(Bytes, Receivers)>,
    index: HashMap<Bytes, usize>,
}

fn remove_receiver(list: &mut Receivers, outbox: &Arc<Outbox>) {
    if let Some(i) = list.iter().position(|o| Arc::ptr_eq(o, outbox)) {
        list.remove(i);
    }
}

/// `arg` in double quotes, escaped as Redis's `sdscatrepr` does (MONITOR's argument form).
fn quote_into(out: &mut BytesMut, arg: &[u8]) {
    out.put_u8(b'"');
    for &b in arg {
        match b {
            b'\\' => out.put_slice(b"\\\\"),
            b'"' => out.put_slice(b"\\\""),
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            b'\t' => out.put_slice(b"\\t"),
            7 => out.put_slice(b"\\a"),
            8 => out.put_slice(b"\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.put_u8(b),
            b => out.put_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.put_u8(b'"');
}

/// A push frame (`>n` in RESP3, `*n` in RESP2) of bulk strings; `None` parts are nulls.
pub fn frame(resp3: bool, parts: &[Option<&[u8]>], tail_int: Option<i64>) -> BytesMut {
    let n = parts.len() + usize::from(tail_int.is_some());
    let mut b =
        BytesMut::with_capacity(16 + parts.iter().flatten().map(|p| p.len() + 16).sum::<usize>());
    b.put_u8(if resp3 { b'>' } else { b'*' });
    b.put_slice(n.to_string().as_bytes());
    b.put_slice(b"\r\n");
    for p in parts {
        match p {
            Some(p) => {
                b.put_u8(b'$');
                b.put_slice(p.len().to_string().as_bytes());
                b.put_slice(b"\r\n");
                b.put_slice(p);
                b.put_slice(b"\r\n");
            }
            None if resp3 => b.put_slice(b"_\r\n"),
            None => b.put_slice(b"$-1\r\n"),
        }
    }
    if let Some(i) = tail_int {
        b.put_u8(b':');
        b.put_slice(i.to_string().as_bytes());
        b.put_slice(b"\r\n");
    }
    b
}

/// A message encoded at most once per protocol.
struct Encoded<'a> {
    parts: [Option<&'a [u8]>; 4],
    n: usize,
    cache: [Option<BytesMut>; 2],
}

impl<'a> Encoded<'a> {
    fn new(parts: &[&'a [u8]]) -> Self {
        let mut p = [None; 4];
        for (slot, part) in p.iter_mut().zip(parts) {
            *slot = Some(*part);
        }
        Encoded {
            parts: p,
            n: parts.len(),
            cache: [None, None],
        }
    }

    fn get(&mut self, resp3: bool) -> &[u8] {
        let (parts, n) = (self.parts, self.n);
        self.cache[usize::from(resp3)].get_or_insert_with(|| frame(resp3, &parts[..n], None))
    }
}

impl PubSub {
    /// Applies `client-output-buffer-limit` (its pubsub class).
    pub fn set_limit(&self, hard: u64, soft: u64, soft_secs: u64) {
        self.limit.hard.store(hard, Ordering::Relaxed);
        self.limit.soft.store(soft, Ordering::Relaxed);
        self.limit.soft_secs.store(soft_secs, Ordering::Relaxed);
    }

    /// The connection's outbox, made on first use.
    pub fn outbox(
        &self,
        subs: &mut Subscriptions,
        info: &Arc<ClientInfo>,
        resp3: bool,
    ) -> Arc<Outbox> {
        subs.outbox
            .get_or_insert_with(|| {
                let o = Arc::new(Outbox {
                    info: info.clone(),
                    resp3: AtomicBool::new(resp3),
                    q: Mutex::new(Queue::default()),
                    in_flight: AtomicUsize::new(0),
                    ready: Notify::new(),
                });
                self.by_client.lock().insert(info.id, Arc::downgrade(&o));
                o
            })
            .clone()
    }

    /// The outbox of client `id` and its protocol, if it can receive pushes: a RESP3 client,
    /// or a RESP2 one in subscriber mode.
    pub fn client_outbox(&self, id: u64) -> Option<(Arc<Outbox>, bool)> {
        let o = self.by_client.lock().get(&id)?.upgrade()?;
        let resp3 = o.resp3.load(Ordering::Relaxed);
        let subscribed = o.info.subs.iter().any(|n| n.load(Ordering::Relaxed) > 0);
        (resp3 || subscribed).then_some((o, resp3))
    }

    /// Appends a frame to one outbox (under the same output limits as messages).
    pub fn push_to(&self, outbox: &Outbox, frame: &[u8]) {
        outbox.push(frame, 0, self);
    }

    /// Subscribes; false if it already was.
    pub fn subscribe(
        &self,
        subs: &mut Subscriptions,
        info: &Arc<ClientInfo>,
        resp3: bool,
        kind: Kind,
        name: &Bytes,
    ) -> bool {
        if subs.of(kind).contains(name) {
            return false;
        }
        let outbox = self.outbox(subs, info, resp3);
        subs.of(kind).insert(name.clone());
        match kind {
            Kind::Channel => self
                .channels
                .write()
                .entry(name.clone())
                .or_default()
                .push(outbox),
            Kind::Shard => self
                .shard
                .write()
                .entry(name.clone())
                .or_default()
                .push(outbox),
            Kind::Pattern => {
                let mut p = self.patterns.write();
                let Patterns { list, index } = &mut *p;
                match index.get(name) {
                    Some(&i) => list[i].1.push(outbox),
                    None => {
                        index.insert(name.clone(), list.len());
                        list.push((name.clone(), vec![outbox]));
                    }
                }
            }
        }
        info.subs[kind as usize].store(subs.of(kind).len(), Ordering::Relaxed);
        true
    }

    /// Unsubscribes; false if it was not subscribed.
    pub fn unsubscribe(
        &self,
        subs: &mut Subscriptions,
        info: &ClientInfo,
        kind: Kind,
        name: &[u8],
    ) -> bool {
        let Some(outbox) = subs.outbox.clone() else {
            return false;
        };
        if !subs.of(kind).remove(name) {
            return false;
        }
        info.subs[kind as usize].store(subs.of(kind).len(), Ordering::Relaxed);
        let map = match kind {
            Kind::Channel => &self.channels,
            Kind::Shard => &self.shard,
            Kind::Pattern => {
                let mut p = self.patterns.write();
                let Patterns { list, index } = &mut *p;
                if let Some(&i) = index.get(name) {
                    remove_receiver(&mut list[i].1, &outbox);
                    if list[i].1.is_empty() {
                        index.remove(name);
                        list.swap_remove(i);
                        if let Some((moved, _)) = list.get(i) {
                            index.insert(moved.clone(), i);
                        }
                    }
                }
                return true;
            }
        };
        let mut m = map.write();
        if let Some(list) = m.get_mut(name) {
            remove_receiver(list, &outbox);
            if list.is_empty() {
                m.remove(name);
            }
        }
        true
    }

    /// MONITOR: the connection receives a line for every command from now on; false if it
    /// already did.
    pub fn add_monitor(&self, subs: &mut Subscriptions, info: &Arc<ClientInfo>) -> bool {
        if subs.monitor {
            return false;
        }
        let outbox = self.outbox(subs, info, false);
        subs.monitor = true;
        info.monitor.store(true, Ordering::Relaxed);
        self.monitors.write().push(outbox);
        self.monitor_count.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Whether any client is in MONITOR mode.
    pub fn monitoring(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) > 0
    }

    /// Sends one MONITOR line: `+<secs>.<micros> [<db> <addr>] "arg" ...`.
    pub fn feed_monitors(&self, db: u8, addr: &dyn std::fmt::Display, argv: &[&[u8]]) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = BytesMut::with_capacity(64);
        line.put_slice(
            format!(
                "+{}.{:06} [{db} {addr}]",
                now.as_secs(),
                now.subsec_micros()
            )
            .as_bytes(),
        );
        for a in argv {
            line.put_u8(b' ');
            quote_into(&mut line, a);
        }
        line.put_slice(b"\r\n");
        for o in self.monitors.read().iter() {
            o.push(&line, 0, self);
        }
    }

    /// Every subscription of a departing (or RESET) connection.
    pub fn unsubscribe_all(&self, subs: &mut Subscriptions, info: &ClientInfo) {
        if subs.monitor {
            if let Some(o) = &subs.outbox {
                let mut m = self.monitors.write();
                remove_receiver(&mut m, o);
            }
            subs.monitor = false;
            info.monitor.store(false, Ordering::Relaxed);
            self.monitor_count.fetch_sub(1, Ordering::Relaxed);
        }
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            let names: Vec<Bytes> = subs.of(kind).iter().cloned().collect();
            for n in names {
                self.unsubscribe(subs, info, kind, &n);
            }
        }
        if subs.outbox.take().is_some() {
            self.by_client.lock().remove(&info.id);
        }
    }

    /// PUBLISH (or SPUBLISH with `shard`): sends `message` to the subscribers of `channel` (and of the patterns matching it); it
    /// reports the WAL sequence `seq` (0: none), so it reaches them only once that is
    /// acknowledged. Returns how many subscribers it was sent to.
    pub fn publish(&self, channel: &[u8], message: &[u8], shard: bool, seq: u64) -> usize {
        let mut n = 0;
        if shard {
            let mut enc = Encoded::new(&[b"smessage", channel, message]);
            if let Some(list) = self.shard.read().get(channel) {
                for o in list {
                    o.push(enc.get(o.resp3.load(Ordering::Relaxed)), seq, self);
                    n += 1;
                }
            }
            return n;
        }
        let mut enc = Encoded::new(&[b"message", channel, message]);
        if let Some(list) = self.channels.read().get(channel) {
            for o in list {
                o.push(enc.get(o.resp3.load(Ordering::Relaxed)), seq, self);
                n += 1;
            }
        }
        let p = self.patterns.read();
        for (pattern, list) in &p.list {
            if !crate::glob::matches(pattern, channel, false) {
                continue;
            }
            let mut enc = Encoded::new(&[b"pmessage", pattern, channel, message]);
            for o in list {
                o.push(enc.get(o.resp3.load(Ordering::Relaxed)), seq, self);
                n += 1;
            }
        }
        n
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS: active channels matching `pattern`.
    pub fn channels(&self, pattern: Option<&[u8]>, shard: bool) -> Vec<Bytes> {
        let map = if shard { &self.shard } else { &self.channels };
        map.read()
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::glob::matches(p, c, false)))
            .cloned()
            .collect()
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel.
    pub fn numsub(&self, channel: &[u8], shard: bool) -> usize {
        let map = if shard { &self.shard } else { &self.channels };
        map.read().get(channel).map_or(0, Vec::len)
    }

    /// PUBSUB NUMPAT: distinct patterns with a subscriber.
    pub fn numpat(&self) -> usize {
        self.patterns.read().list.len()
    }

    /// INFO's `pubsub_channels` / `pubsubshard_channels`.
    pub fn channel_count(&self, shard: bool) -> usize {
        if shard {
            self.shard.read().len()
        } else {
            self.channels.read().len()
        }
    }
}
