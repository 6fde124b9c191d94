//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.
//!
//! The registries and outboxes are in `server::pubsub`. Subscription replies are push frames
//! (`>` in RESP3, arrays in RESP2), one per channel, each with the connection's count after it.

use super::*;
use crate::server::pubsub::{frame, Kind};

/// What a RESP2 client in subscriber mode may still run (anything else is refused).
pub const ALLOWED_SUBSCRIBED: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

const F_SUB: &[&str] = &["pubsub", "noscript", "loading", "stale"];
const F_PUB: &[&str] = &["pubsub", "loading", "stale", "fast"];
const ACL_SLOW: &[&str] = &["@pubsub", "@slow"];
const ACL_FAST: &[&str] = &["@pubsub", "@fast"];
const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);

/// A pub/sub command's spec: the `pubsub` group, with Redis's `since` version. Shard channels
/// are keys only for cluster slot routing, so nothing is locked.
#[allow(clippy::too_many_arguments)]
const fn pubsub_spec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        scope: Scope::None,
        ..keyed_spec(
            "pubsub", name, arity, flags, keys, acl, since, summary, handler,
        )
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    pubsub_spec(
        "subscribe",
        -2,
        F_SUB,
        NO_KEYS,
        ACL_SLOW,
        "2.0.0",
        "Listens for messages published to channels.",
        |c, a| subscribe(c, a, Kind::Channel),
    ),
    pubsub_spec(
        "psubscribe",
        -2,
        F_SUB,
        NO_KEYS,
        ACL_SLOW,
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        |c, a| subscribe(c, a, Kind::Pattern),
    ),
    pubsub_spec(
        "ssubscribe",
        -2,
        F_SUB,
        ALL_KEYS,
        ACL_SLOW,
        "7.0.0",
        "Listens for messages published to shard channels.",
        |c, a| subscribe(c, a, Kind::Shard),
    ),
    pubsub_spec(
        "unsubscribe",
        -1,
        F_SUB,
        NO_KEYS,
        ACL_SLOW,
        "2.0.0",
        "Stops listening to messages posted to channels.",
        |c, a| unsubscribe(c, a, Kind::Channel),
    ),
    pubsub_spec(
        "punsubscribe",
        -1,
        F_SUB,
        NO_KEYS,
        ACL_SLOW,
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        |c, a| unsubscribe(c, a, Kind::Pattern),
    ),
    pubsub_spec(
        "sunsubscribe",
        -1,
        F_SUB,
        ALL_KEYS,
        ACL_SLOW,
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
        |c, a| unsubscribe(c, a, Kind::Shard),
    ),
    pubsub_spec(
        "publish",
        3,
        F_PUB,
        NO_KEYS,
        ACL_FAST,
        "2.0.0",
        "Posts a message to a channel.",
        |c, a| publish(c, a, false),
    ),
    pubsub_spec(
        "spublish",
        3,
        F_PUB,
        ONE_KEY,
        ACL_FAST,
        "7.0.0",
        "Post a message to a shard channel",
        |c, a| publish(c, a, true),
    ),
    pubsub_spec(
        "pubsub",
        -2,
        &[],
        NO_KEYS,
        &["@slow"],
        "2.8.0",
        "A container for Pub/Sub commands.",
        pubsub,
    ),
];

/// MONITOR (kept here with the other push-fed mode).
pub static MONITOR: &[CommandSpec] = &[CommandSpec {
    since: "1.0.0",
    ..spec(
        "monitor",
        1,
        &["admin", "noscript", "loading", "stale"],
        NO_KEYS,
        &["@admin", "@slow", "@dangerous"],
        Scope::None,
        "server",
        "Listens for all requests received by the server in real-time.",
        monitor,
    )
}];

fn monitor(c: &mut Ctx, _argv: &[Bytes]) {
    if c.conn.in_exec {
        return c
            .out
            .error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    let info = c.conn.info.clone();
    // A second MONITOR is ignored without a reply, as in Redis.
    if c.shared.pubsub.add_monitor(&mut c.conn.subs, &info) {
        c.out.ok();
    }
}

/// Sends a command that ran to the MONITOR clients, unless it is an admin command (hidden
/// from MONITOR in Redis); passwords are shown as `(redacted)`.
pub fn feed_monitors(shared: &Shared, conn: &ConnState, spec: &CommandSpec, argv: &[Bytes]) {
    if spec.has_flag("skip_monitor") {
        return;
    }
    feed_monitors_as(shared, conn.db, &conn.info.addr, spec, argv);
}

/// Sends a command's MONITOR line as `who` (a client's address, or `lua` for the commands
/// a script calls). EVAL is `skip_monitor`: it feeds itself before its script runs, so its
/// line comes before the lines of the commands the script calls.
pub fn feed_monitors_as(
    shared: &Shared,
    db: u8,
    who: &dyn std::fmt::Display,
    spec: &CommandSpec,
    argv: &[Bytes],
) {
    if !shared.pubsub.monitoring() || spec.has_flag("admin") {
        return;
    }
    // Containers carry no flags; these subcommands are admin in Redis 7.0.
    let sub = argv.get(1).map(|a| text(a).to_ascii_lowercase());
    let admin_sub = match spec.name {
        "config" | "debug" | "keyring" => true,
        "client" => matches!(
            sub.as_deref(),
            Some("kill" | "list" | "pause" | "unpause" | "unblock" | "no-evict")
        ),
        _ => false,
    };
    if admin_sub {
        return;
    }
    let args: Vec<&[u8]> = argv
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if redacted_at(spec, argv, i) {
                &b"(redacted)"[..]
            } else {
                &a[..]
            }
        })
        .collect();
    shared.pubsub.feed_monitors(db, who, &args);
}

/// Whether argument `i` of a call is a password, shown as `(redacted)` by MONITOR and SLOWLOG.
pub fn redacted_at(spec: &CommandSpec, argv: &[Bytes], i: usize) -> bool {
    match spec.name {
        "auth" => i >= 1,
        "hello" => argv
            .iter()
            .position(|a| eq(a, "auth"))
            .is_some_and(|at| i == at + 1 || i == at + 2),
        "acl" => i >= 2 && argv.get(1).is_some_and(|a| eq(a, "setuser")),
        // CONFIG SET's values of the password parameters.
        "config" => {
            i >= 3
                && i % 2 == 1
                && argv.get(1).is_some_and(|a| eq(a, "set"))
                && argv
                    .get(i - 1)
                    .is_some_and(|n| eq(n, "requirepass") || eq(n, "masterauth"))
        }
        _ => false,
    }
}

/// CLIENT TRACKING after a command: the keys a tracking client's read-only command read are
/// remembered, and the keys `effects` changed are invalidated.
pub fn track(
    shared: &Shared,
    conn: &mut ConnState,
    spec: &CommandSpec,
    argv: &[Bytes],
    effects: &[crate::keyspace::Effect],
) {
    use crate::keyspace::Effect;
    let t = &shared.pubsub.tracking;
    if t.count() == 0 {
        conn.caching = None;
        return;
    }
    if let Some(m) = &conn.tracking {
        let wanted = if m.optin {
            conn.caching == Some(true)
        } else if m.optout {
            conn.caching != Some(false)
        } else {
            true
        };
        if !m.bcast && wanted && spec.has_flag("readonly") {
            let keys = spec
                .keys_of(argv)
                .into_iter()
                .filter_map(|i| argv.get(i).cloned());
            t.remember(&shared.pubsub, conn.id, keys);
        }
    }
    let mut keys: Vec<Bytes> = Vec::new();
    let mut flushed = false;
    for e in effects {
        match e {
            Effect::FlushDb { .. } | Effect::FlushAll => flushed = true,
            e => {
                if let Some((_, k)) = e.key() {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
            }
        }
    }
    if flushed {
        t.invalidate_all(&shared.pubsub);
    }
    if !keys.is_empty() {
        t.invalidate_readers(&shared.pubsub, conn.id, &keys);
        if t.broadcasting() {
            conn.bcast_keys.extend(keys);
        }
    }
    // CLIENT CACHING applies to the one command after it.
    let caching_cmd = spec.name == "client" && argv.get(1).is_some_and(|a| eq(a, "caching"));
    if !caching_cmd {
        conn.caching = None;
    }
}

fn subscribe(c: &mut Ctx, argv: &[Bytes], kind: Kind) {
    if kind == Kind::Shard && c.conn.in_exec {
        return c
            .out
            .error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    let resp3 = c.conn.resp3;
    for name in &argv[1..] {
        let info = c.conn.info.clone();
        c.shared
            .pubsub
            .subscribe(&mut c.conn.subs, &info, resp3, kind, name);
        let n = c.conn.subs.count(kind) as i64;
        let f = frame(resp3, &[Some(kind.subscribe_word()), Some(name)], Some(n));
        push_out(c, &f);
    }
}

/// Writes a push (a subscription confirmation) that CLIENT REPLY OFF must not drop.
fn push_out(c: &mut Ctx, f: &[u8]) {
    let start = c.out.buf.len();
    c.out.buf.extend_from_slice(f);
    c.conn.pushed.push((start, c.out.buf.len()));
}

fn unsubscribe(c: &mut Ctx, argv: &[Bytes], kind: Kind) {
    let resp3 = c.conn.resp3;
    let names: Vec<Bytes> = if argv.len() > 1 {
        argv[1..].to_vec()
    } else {
        let subs = &c.conn.subs;
        let set = match kind {
            Kind::Channel => &subs.channels,
            Kind::Pattern => &subs.patterns,
            Kind::Shard => &subs.shard,
        };
        set.iter().cloned().collect()
    };
    if names.is_empty() {
        let n = c.conn.subs.count(kind) as i64;
        let f = frame(resp3, &[Some(kind.unsubscribe_word()), None], Some(n));
        return push_out(c, &f);
    }
    let info = c.conn.info.clone();
    for name in &names {
        c.shared
            .pubsub
            .unsubscribe(&mut c.conn.subs, &info, kind, name);
        let n = c.conn.subs.count(kind) as i64;
        let f = frame(resp3, &[Some(kind.unsubscribe_word()), Some(name)], Some(n));
        push_out(c, &f);
    }
}

fn publish(c: &mut Ctx, argv: &[Bytes], shard: bool) {
    // After the publisher's own writes: subscribers hear of them only once they are durable.
    let n = c
        .shared
        .pubsub
        .publish(&argv[1], &argv[2], shard, c.conn.need_seq);
    // A client that receives its own message sees it before PUBLISH's reply, as in Redis.
    if let Some(o) = c.conn.subs.outbox.clone() {
        let start = c.out.buf.len();
        o.drain_into(&mut c.out.buf);
        c.conn.pushed.push((start, c.out.buf.len()));
    }
    c.out.int(n as i64);
}

fn pubsub(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    let ps = &c.shared.pubsub;
    match (sub.as_str(), argv.len()) {
        ("channels", 2 | 3) | ("shardchannels", 2 | 3) => {
            let list = ps.channels(argv.get(2).map(|p| &p[..]), sub == "shardchannels");
            c.out.array(list.len());
            for ch in list {
                c.out.bulk(&ch);
            }
        }
        ("numsub", _) | ("shardnumsub", _) => {
            let shard = sub == "shardnumsub";
            c.out.array((argv.len() - 2) * 2);
            for ch in &argv[2..] {
                c.out.bulk(ch);
                c.out.int(ps.numsub(ch, shard) as i64);
            }
        }
        ("numpat", 2) => c.out.int(ps.numpat() as i64),
        ("help", 2) => c.out.help(&[
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ]),
        ("channels" | "shardchannels", _) => c.out.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            text(&argv[1])
        )),
        ("numpat" | "help", _) => c.out.error(&wrong_args(&format!("pubsub|{sub}"))),
        _ => c.out.error(&unknown_subcommand(argv, "PUBSUB")),
    }
}
