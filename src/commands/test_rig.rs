//! The in-memory server the command unit tests dispatch to (no storage): one client, a reply
//! buffer, and a WAL stand-in that records every entry the commands submit.

use crate::config::Config;
use crate::keyspace::{Effect, EntrySink, Keyspace};
use crate::resp::ReplyWriter;
use crate::server::{dispatch, ConnState, Shared};
use bytes::Bytes;
use std::sync::{Arc, Mutex};

/// The WAL stand-in: every submitted entry, in order.
#[derive(Default)]
pub struct Log(pub Mutex<Vec<(u64, Vec<Effect>)>>);

impl EntrySink for Log {
    fn submit(&self, seq: u64, effects: Vec<Effect>) {
        if let Ok(mut l) = self.0.lock() {
            l.push((seq, effects));
        }
    }
}

pub struct Rig {
    pub shared: Arc<Shared>,
    pub conn: ConnState,
    pub out: ReplyWriter,
    pub log: Arc<Log>,
}

impl Rig {
    pub fn new() -> Rig {
        let ks = Arc::new(Keyspace::new(16));
        let log = Arc::new(Log::default());
        ks.set_sink(log.clone());
        let shared = Shared::new(Arc::new(Config::default()), ks, None).into_arc();
        let addr = "127.0.0.1:1".parse().expect("loopback address");
        let conn = ConnState::new(shared.clients.register(addr, addr), true);
        Rig {
            shared,
            conn,
            out: ReplyWriter::new(),
            log,
        }
    }

    /// Runs one command and returns the raw reply.
    pub fn ask(&mut self, argv: &[&str]) -> String {
        let argv: Vec<Bytes> = argv.iter().map(|a| Bytes::from(a.to_string())).collect();
        dispatch(&self.shared, &mut self.conn, &mut self.out, &argv);
        String::from_utf8_lossy(&self.out.buf.split()).into_owned()
    }

    /// The entries logged since the last call.
    pub fn logged(&self) -> Vec<Vec<Effect>> {
        self.log
            .0
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
            .into_iter()
            .map(|(_, e)| e)
            .collect()
    }

    /// `OBJECT ENCODING` of `key` in db 0, read from the keyspace.
    pub fn encoding(&self, key: &str) -> Option<&'static str> {
        let ks = &self.shared.keyspace;
        let mut l = ks.lock_keys(std::iter::once(key.as_bytes()));
        l.get(0, key.as_bytes(), super::now_ms())
            .map(|e| e.encoding())
    }
}
