//! Client-side caching support (CLIENT TRACKING): which clients read which keys, and the
//! invalidation messages sent when those keys change.
//!
//! As in Redis, the table is keyed by key name alone (not by database). In the default mode
//! a key is remembered for a client when a read-only command of that client reads it, and
//! forgotten once its invalidation is sent. In BCAST mode a client hears of every change to
//! a key that starts with one of its prefixes (all keys without a prefix). Invalidations go
//! to the client itself as RESP3 pushes, or to its REDIRECT client: a RESP3 push there, or a
//! `message` on `__redis__:invalidate` for a RESP2 client in subscriber mode.

use super::pubsub::{Outbox, PubSub};
use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What `CLIENT TRACKING ON` asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    pub bcast: bool,
    pub prefixes: Vec<Bytes>,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// The client invalidations are sent to (None: this client).
    pub redirect: Option<u64>,
}

struct Tracker {
    mode: Mode,
    /// BCAST prefixes in byte order (`""` for none), the order Redis sends them in.
    sorted_prefixes: Vec<Bytes>,
    /// This client's own outbox (pushes, and `tracking-redir-broken`).
    outbox: Arc<Outbox>,
    resp3: bool,
}

#[derive(Default)]
pub struct Tracking {
    keys: Mutex<HashMap<Bytes, HashSet<u64>>>,
    clients: RwLock<HashMap<u64, Tracker>>,
    /// `clients.len()`, read on every command without the lock.
    active: AtomicUsize,
    /// How many of them are in BCAST mode: a write collects its keys for them only if any.
    broadcasting: AtomicUsize,
    /// `tracking-table-max-keys` (0: no bound).
    max_keys: AtomicUsize,
}

/// An invalidation frame: `keys` None means "everything" (FLUSHDB/FLUSHALL).
fn invalidation(resp3: bool, keys: Option<&[Bytes]>) -> BytesMut {
    let mut b = BytesMut::new();
    if resp3 {
        b.put_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else {
        b.put_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    }
    match keys {
        None if resp3 => b.put_slice(b"_\r\n"),
        None => b.put_slice(b"*-1\r\n"),
        Some(keys) => {
            b.put_slice(format!("*{}\r\n", keys.len()).as_bytes());
            for k in keys {
                b.put_slice(format!("${}\r\n", k.len()).as_bytes());
                b.put_slice(k);
                b.put_slice(b"\r\n");
            }
        }
    }
    b
}

impl Tracking {
    /// Clients with tracking on (INFO `tracking_clients`).
    pub fn count(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    pub fn enable(&self, id: u64, mode: Mode, outbox: Arc<Outbox>, resp3: bool) {
        let mut sorted_prefixes = mode.prefixes.clone();
        if mode.bcast && sorted_prefixes.is_empty() {
            sorted_prefixes.push(Bytes::new());
        }
        sorted_prefixes.sort();
        let mut c = self.clients.write();
        c.insert(
            id,
            Tracker {
                mode,
                sorted_prefixes,
                outbox,
                resp3,
            },
        );
        self.counted(&c);
    }

    fn counted(&self, c: &HashMap<u64, Tracker>) {
        self.active.store(c.len(), Ordering::Relaxed);
        let bcast = c.values().filter(|t| t.mode.bcast).count();
        self.broadcasting.store(bcast, Ordering::Relaxed);
    }

    /// Whether any client tracks in BCAST mode.
    pub fn broadcasting(&self) -> bool {
        self.broadcasting.load(Ordering::Relaxed) > 0
    }

    /// CLIENT TRACKING OFF, RESET or disconnect. The keys it read stay in the table until
    /// they change (as in Redis); an invalidation for a client no longer tracking is dropped.
    pub fn disable(&self, id: u64) {
        if self.count() == 0 {
            return;
        }
        let mut c = self.clients.write();
        c.remove(&id);
        self.counted(&c);
    }

    /// The protocol of a tracking client changed (HELLO).
    pub fn set_resp3(&self, id: u64, resp3: bool) {
        if let Some(t) = self.clients.write().get_mut(&id) {
            t.resp3 = resp3;
        }
    }

    pub fn set_max_keys(&self, max: usize) {
        self.max_keys.store(max, Ordering::Relaxed);
    }

    /// A read-only command of client `id` read `keys`. Past `tracking-table-max-keys`, keys
    /// (the hash table's first, as good as random) are forgotten, and their clients told
    /// they are invalid, as Redis does: a client never keeps a key nobody would invalidate.
    pub fn remember(&self, hub: &PubSub, id: u64, keys: impl Iterator<Item = Bytes>) {
        let mut t = self.keys.lock();
        for k in keys {
            t.entry(k).or_default().insert(id);
        }
        let max = self.max_keys.load(Ordering::Relaxed);
        if max == 0 || t.len() <= max {
            return;
        }
        let over: Vec<Bytes> = t.keys().take(t.len() - max).cloned().collect();
        drop(t);
        self.invalidate_readers(hub, 0, &over);
    }

    /// INFO stats: (`tracking_total_keys`, `tracking_total_items`, `tracking_total_prefixes`).
    pub fn totals(&self) -> (usize, usize, usize) {
        let (keys, items) = {
            let t = self.keys.lock();
            (t.len(), t.values().map(HashSet::len).sum())
        };
        let clients = self.clients.read();
        let prefixes: HashSet<&Bytes> = clients
            .values()
            .filter(|c| c.mode.bcast)
            .flat_map(|c| c.mode.prefixes.iter())
            .collect();
        (keys, items, prefixes.len())
    }

    /// `keys` changed by the server itself (expiry, eviction, the table bound): the readers
    /// and the BCAST clients hear of it at once.
    pub fn invalidate(&self, hub: &PubSub, keys: &[Bytes]) {
        self.invalidate_readers(hub, 0, keys);
        if self.broadcasting() {
            self.broadcast(hub, 0, keys.to_vec());
        }
    }

    /// `keys` changed (a write by client `writer`, 0 for the server): the clients that read
    /// them in the default mode are told at once, and forget them.
    pub fn invalidate_readers(&self, hub: &PubSub, writer: u64, keys: &[Bytes]) {
        let mut per_client: HashMap<u64, Vec<Bytes>> = HashMap::new();
        {
            let mut table = self.keys.lock();
            if table.is_empty() {
                return;
            }
            for k in keys {
                if let Some(ids) = table.remove(k) {
                    for id in ids {
                        per_client.entry(id).or_default().push(k.clone());
                    }
                }
            }
        }
        if per_client.is_empty() {
            return;
        }
        let clients = self.clients.read();
        for (id, keys) in per_client {
            let Some(t) = clients.get(&id) else { continue };
            if t.mode.noloop && id == writer {
                continue;
            }
            self.deliver(hub, t, Some(&keys));
        }
    }

    /// The keys client `writer` changed in one turn of its connection (all the commands of
    /// one read, or up to a flush of its replies), for the BCAST clients. As Redis does once
    /// per event-loop turn, each client gets one invalidation per matching prefix, in prefix
    /// order, with that prefix's keys sorted and each once; NOLOOP skips its own writes.
    pub fn broadcast(&self, hub: &PubSub, writer: u64, mut keys: Vec<Bytes>) {
        keys.sort_unstable();
        keys.dedup();
        let clients = self.clients.read();
        for (&id, t) in clients.iter().filter(|(_, t)| t.mode.bcast) {
            if t.mode.noloop && id == writer {
                continue;
            }
            for p in &t.sorted_prefixes {
                let from = keys.partition_point(|k| k < p);
                let hit: Vec<Bytes> = keys[from..]
                    .iter()
                    .take_while(|k| k.starts_with(p))
                    .cloned()
                    .collect();
                if !hit.is_empty() {
                    self.deliver(hub, t, Some(&hit));
                }
            }
        }
    }

    /// FLUSHDB / FLUSHALL: every tracking client hears "everything", and the table empties.
    pub fn invalidate_all(&self, hub: &PubSub) {
        self.keys.lock().clear();
        for t in self.clients.read().values() {
            self.deliver(hub, t, None);
        }
    }

    fn deliver(&self, hub: &PubSub, t: &Tracker, keys: Option<&[Bytes]>) {
        match t.mode.redirect {
            None if t.resp3 => hub.push_to(&t.outbox, &invalidation(true, keys)),
            // A RESP2 client without a redirect cannot receive pushes (Redis drops them too).
            None => {}
            Some(target) => match hub.client_outbox(target) {
                Some((o, resp3)) => hub.push_to(&o, &invalidation(resp3, keys)),
                None if t.resp3 => {
                    let f = super::pubsub::frame(
                        true,
                        &[Some(b"tracking-redir-broken")],
                        Some(target as i64),
                    );
                    hub.push_to(&t.outbox, &f);
                }
                None => {}
            },
        }
    }

    pub fn mode(&self, id: u64) -> Option<Mode> {
        self.clients.read().get(&id).map(|t| t.mode.clone())
    }
}
