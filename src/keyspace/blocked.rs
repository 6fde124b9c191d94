//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...): the keyspace's side.
//!
//! A blocked client is a [`Waiter`] queued, in arrival order, under every key it waits on, in
//! the shard that holds the key (`Shard::blocked`). A write that touches a key with waiters
//! notes the key as ready in its shard (`Shard::ready`); once the command (or the whole
//! EXEC) has run, the server serves the ready keys' waiters under the same locks
//! (`commands::blocking::serve_ready`), so the pops join the writer's WAL entry.
//!
//! A waiter is answered exactly once: whoever [`Waiter::claim`]s its sender first (the server
//! serving it, its own timeout, CLIENT UNBLOCK, its disconnection) owns the answer. The server
//! claims before it pops, so an element is never taken for a client that is gone.

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::effect::{DbIndex, Kind};

/// What a blocked command does when a key it waits on can serve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockOp {
    /// BLPOP / BRPOP (`count` None: one element, `[key, element]`) and BLMPOP (`count` Some:
    /// `[key, [elements]]`).
    ListPop { left: bool, count: Option<usize> },
    /// BLMOVE / BRPOPLPUSH: pop from the key, push to `dst`; the reply is the element.
    ListMove {
        dst: Bytes,
        from_left: bool,
        to_left: bool,
    },
    /// BZPOPMIN / BZPOPMAX (`count` None: `[key, member, score]`) and BZMPOP (`count` Some:
    /// `[key, [[member, score]...]]`).
    ZPop { min: bool, count: Option<usize> },
}

impl BlockOp {
    /// The kind of value that serves this waiter.
    pub fn wants(&self) -> Kind {
        match self {
            BlockOp::ListPop { .. } | BlockOp::ListMove { .. } => Kind::List,
            BlockOp::ZPop { .. } => Kind::ZSet,
        }
    }
}

/// The answer sent to a blocked client: its reply bytes (already in its protocol) and the WAL
/// sequence the reply reveals (0: none), which the client's connection waits for before
/// writing it, like any reply.
#[derive(Debug)]
pub struct Served {
    pub reply: Vec<u8>,
    pub seq: u64,
}

/// One blocked client.
#[derive(Debug)]
pub struct Waiter {
    pub client: u64,
    pub db: DbIndex,
    /// The keys it waits on, in the command's order.
    pub keys: Vec<Bytes>,
    pub op: BlockOp,
    /// Whether its replies are RESP3.
    pub resp3: bool,
    /// Whether it has a timeout (INFO `clients_in_timeout_table`).
    pub timed: bool,
    tx: Mutex<Option<oneshot::Sender<Served>>>,
}

impl Waiter {
    /// A waiter and the receiver its connection awaits.
    pub fn new(
        client: u64,
        db: DbIndex,
        keys: Vec<Bytes>,
        op: BlockOp,
        resp3: bool,
        timed: bool,
    ) -> (Waiter, oneshot::Receiver<Served>) {
        let (tx, rx) = oneshot::channel();
        let w = Waiter {
            client,
            db,
            keys,
            op,
            resp3,
            timed,
            tx: Mutex::new(Some(tx)),
        };
        (w, rx)
    }

    /// Takes the right to answer this waiter; `None` if someone already has.
    pub fn claim(&self) -> Option<oneshot::Sender<Served>> {
        self.tx.lock().take()
    }

    /// Whether the waiter has been answered (or given up) already.
    pub fn is_claimed(&self) -> bool {
        self.tx.lock().is_none()
    }
}
