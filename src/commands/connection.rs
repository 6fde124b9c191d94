//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT.

use super::*;
use std::sync::atomic::Ordering;

const F: &[&str] = &["fast"];
/// Redis 7.0's flags of AUTH, HELLO, QUIT and RESET: `no_auth` lets them run before AUTH.
const NO_AUTH: &[&str] = &[
    "noscript",
    "loading",
    "stale",
    "fast",
    "no_auth",
    "allow_busy",
];
const F_ANYTIME: &[&str] = &["loading", "stale", "fast"];
const ACL_C: &[&str] = &["@connection", "@fast"];

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "ping",
        -1,
        F,
        NO_KEYS,
        ACL_C,
        Scope::None,
        "connection",
        "Returns the server's liveliness response.",
        ping,
    ),
    spec(
        "echo",
        2,
        F_ANYTIME,
        NO_KEYS,
        ACL_C,
        Scope::None,
        "connection",
        "Returns the given string.",
        echo,
    ),
    spec(
        "hello",
        -1,
        NO_AUTH,
        NO_KEYS,
        ACL_C,
        Scope::None,
        "connection",
        "Handshakes with the server (protocol version, auth, name).",
        hello,
    ),
    spec(
        "auth",
        -2,
        NO_AUTH,
        NO_KEYS,
        ACL_C,
        Scope::None,
        "connection",
        "Authenticates the connection.",
        auth,
    ),
    spec(
        "select",
        2,
        F_ANYTIME,
        NO_KEYS,
        ACL_C,
        Scope::None,
        "connection",
        "Changes the selected database.",
        select,
    ),
    spec(
        "quit",
        -1,
        NO_AUTH,
        NO_KEYS,
        ACL_C,
        Scope::None,
        "connection",
        "Closes the connection.",
        quit,
    ),
    spec(
        "reset",
        1,
        NO_AUTH,
        NO_KEYS,
        ACL_C,
        Scope::None,
        "connection",
        "Resets the connection.",
        reset,
    ),
    spec(
        "client",
        -2,
        &[],
        NO_KEYS,
        &["@slow"],
        Scope::None,
        "connection",
        "A container for client connection commands.",
        client,
    ),
];

fn ping(c: &mut Ctx, argv: &[Bytes]) {
    if c.conn.subs.active() && !c.conn.resp3 && argv.len() <= 2 {
        // Subscriber mode in RESP2: a two-element array, so it reads like the messages.
        let arg = argv.get(1).map_or(&b""[..], |a| &a[..]);
        c.out.array(2);
        c.out.bulk(b"pong");
        return c.out.bulk(arg);
    }
    match argv.len() {
        1 => c.out.simple("PONG"),
        2 => c.out.bulk(&argv[1]),
        _ => c.out.error(&wrong_args("ping")),
    }
}

fn echo(c: &mut Ctx, argv: &[Bytes]) {
    c.out.bulk(&argv[1]);
}

/// AUTH / HELLO AUTH. The password is compared in constant time (hashed first, so neither its
/// length nor the first differing byte shows in the reply's timing); the user name is public.
fn check_password(c: &Ctx, user: &[u8], pass: &[u8]) -> bool {
    let required = c.shared.config.get_str("requirepass");
    let matches = crate::storage::crypto::secret_eq(pass, required.as_bytes());
    user == b"default" && !required.is_empty() && matches
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(c: &mut Ctx, argv: &[Bytes]) {
    if argv.len() > 3 {
        return c.out.error(ERR_SYNTAX);
    }
    let (user, pass) = if argv.len() == 3 {
        (&argv[1][..], &argv[2][..])
    } else {
        (&b"default"[..], &argv[1][..])
    };
    if argv.len() == 2 && c.shared.config.get_str("requirepass").is_empty() {
        return c.out.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    }
    if check_password(c, user, pass)
        || (c.shared.config.get_str("requirepass").is_empty() && user == b"default")
    {
        c.conn.authed = true;
        c.out.ok();
    } else {
        c.out.error(WRONGPASS);
    }
}

fn hello(c: &mut Ctx, argv: &[Bytes]) {
    let mut proto = if c.conn.resp3 { 3 } else { 2 };
    let mut i = 1;
    if argv.len() > 1 {
        match parse_i64(&argv[1]) {
            Some(v @ 2..=3) => proto = v,
            Some(_) => return c.out.error("NOPROTO unsupported protocol version"),
            None => {
                return c
                    .out
                    .error("ERR Protocol version is not an integer or out of range")
            }
        }
        i = 2;
    }
    let mut name: Option<Bytes> = None;
    while i < argv.len() {
        if eq(&argv[i], "auth") && i + 2 < argv.len() {
            if !check_password(c, &argv[i + 1], &argv[i + 2]) {
                let no_pass = c.shared.config.get_str("requirepass").is_empty();
                if !(no_pass && &argv[i + 1][..] == b"default") {
                    return c.out.error(WRONGPASS);
                }
            }
            c.conn.authed = true;
            i += 3;
        } else if eq(&argv[i], "setname") && i + 1 < argv.len() {
            if !valid_name(&argv[i + 1]) {
                return c.out.error(BAD_NAME);
            }
            name = Some(argv[i + 1].clone());
            i += 2;
        } else {
            return c.out.error(&format!(
                "ERR Syntax error in HELLO option '{}'",
                text(&argv[i])
            ));
        }
    }
    if !c.conn.authed {
        return c.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = name {
        *c.conn.info.name.lock() = n;
    }
    c.conn.resp3 = proto == 3;
    c.out.resp3 = c.conn.resp3;
    if let Some(o) = &c.conn.subs.outbox {
        o.set_resp3(c.conn.resp3);
    }
    c.shared.pubsub.tracking.set_resp3(c.conn.id, c.conn.resp3);
    c.conn.info.resp.store(proto as u8, Ordering::Relaxed);
    c.out.map(7);
    c.out.bulk(b"server");
    c.out.bulk(b"redis");
    c.out.bulk(b"version");
    c.out.bulk(crate::REDIS_VERSION.as_bytes());
    c.out.bulk(b"proto");
    c.out.int(proto);
    c.out.bulk(b"id");
    c.out.int(c.conn.id as i64);
    c.out.bulk(b"mode");
    c.out.bulk(b"standalone");
    c.out.bulk(b"role");
    c.out.bulk(b"master");
    c.out.bulk(b"modules");
    c.out.array(0);
}

fn select(c: &mut Ctx, argv: &[Bytes]) {
    match parse_i64(&argv[1]) {
        None => c.out.error(ERR_NOT_INT),
        Some(n) => match db_index(c.shared, n) {
            Some(db) => {
                c.conn.set_db(db);
                c.out.ok();
            }
            None => c.out.error("ERR DB index is out of range"),
        },
    }
}

fn quit(c: &mut Ctx, _argv: &[Bytes]) {
    c.out.ok();
    c.after = After::Close;
}

fn reset(c: &mut Ctx, _argv: &[Bytes]) {
    c.conn.reply = crate::server::ReplyMode::On;
    c.conn.multi = None;
    c.conn.multi_error = false;
    c.conn.info.in_multi.store(false, Ordering::Relaxed);
    c.conn.unwatch_all(c.shared);
    let info = c.conn.info.clone();
    c.conn.stop_tracking(c.shared);
    c.shared.pubsub.unsubscribe_all(&mut c.conn.subs, &info);
    c.conn.set_db(0);
    c.conn.resp3 = false;
    c.out.resp3 = false;
    c.conn.info.resp.store(2, Ordering::Relaxed);
    *c.conn.info.name.lock() = Bytes::new();
    c.conn.info.no_evict.store(false, Ordering::Relaxed);
    c.conn.info.no_touch.store(false, Ordering::Relaxed);
    c.conn.authed = c.shared.config.get_str("requirepass").is_empty();
    c.out.simple("RESET");
}

const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn client(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    let n = argv.len();
    let wrong = |c: &mut Ctx| {
        c.out.error(&format!(
            "ERR wrong number of arguments for 'client|{sub}' command"
        ))
    };
    match sub.as_str() {
        "id" if n == 2 => c.out.int(c.conn.id as i64),
        "getname" if n == 2 => {
            let name = c.conn.info.name.lock().clone();
            if name.is_empty() {
                c.out.null()
            } else {
                c.out.bulk(&name)
            }
        }
        "setname" if n == 3 => {
            if !valid_name(&argv[2]) {
                return c.out.error(BAD_NAME);
            }
            *c.conn.info.name.lock() = argv[2].clone();
            c.out.ok();
        }
        "setinfo" if n == 4 => {
            let value = text(&argv[3]);
            if value.contains(|ch: char| !('!'..='~').contains(&ch)) {
                return c.out.error(&format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    text(&argv[2])
                ));
            }
            if eq(&argv[2], "lib-name") {
                *c.conn.info.lib_name.lock() = value;
            } else if eq(&argv[2], "lib-ver") {
                *c.conn.info.lib_ver.lock() = value;
            } else {
                return c
                    .out
                    .error(&format!("ERR Unrecognized option '{}'", text(&argv[2])));
            }
            c.out.ok();
        }
        "info" if n == 2 => {
            let line = c.conn.info.describe(0) + "\n";
            c.out.verbatim(&line);
        }
        "list" => client_list(c, argv),
        "unblock" if n == 3 || n == 4 => client_unblock(c, argv),
        // Redis's arity for CLIENT UNBLOCK is -3: more arguments reach its handler, which
        // answers this.
        "unblock" if n > 4 => c.out.error(
            "ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.",
        ),
        "kill" if n >= 3 => client_kill(c, argv),
        "no-evict" | "no-touch" if n == 3 => {
            let on = if eq(&argv[2], "on") {
                true
            } else if eq(&argv[2], "off") {
                false
            } else {
                return c.out.error(ERR_SYNTAX);
            };
            let flag = if sub == "no-evict" {
                &c.conn.info.no_evict
            } else {
                &c.conn.info.no_touch
            };
            flag.store(on, Ordering::Relaxed);
            c.out.ok();
        }
        "pause" if n == 3 || n == 4 => {
            let ms = match parse_i64(&argv[2]) {
                Some(ms) if ms >= 0 => ms as u64,
                _ => return c.out.error("ERR timeout is not an integer or out of range"),
            };
            let all = match argv.get(3) {
                None => true,
                Some(m) if eq(m, "all") => true,
                Some(m) if eq(m, "write") => false,
                Some(_) => return c.out.error(ERR_SYNTAX),
            };
            let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
            {
                // As Redis: a pause only ever grows, in time and in scope.
                let mut p = c.shared.pause.lock();
                *p = Some(match *p {
                    Some((u, a)) if std::time::Instant::now() < u => (u.max(until), a || all),
                    _ => (until, all),
                });
                c.shared.pause_set.store(true, Ordering::Release);
            }
            c.shared.pause_changed.notify_waiters();
            c.out.ok();
        }
        "unpause" if n == 2 => {
            *c.shared.pause.lock() = None;
            c.shared.pause_set.store(false, Ordering::Release);
            c.shared.pause_changed.notify_waiters();
            c.out.ok();
        }
        "tracking" if n >= 3 => client_tracking(c, argv),
        "caching" if n == 3 => {
            let Some(mode) = &c.conn.tracking else {
                return c.out.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
            };
            if !(mode.optin || mode.optout) {
                return c.out.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
            }
            if eq(&argv[2], "yes") {
                if !mode.optin {
                    return c.out.error(
                        "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
                    );
                }
                c.conn.caching = Some(true);
            } else if eq(&argv[2], "no") {
                if !mode.optout {
                    return c.out.error(
                        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
                    );
                }
                c.conn.caching = Some(false);
            } else {
                return c.out.error(ERR_SYNTAX);
            }
            c.out.ok();
        }
        "getredir" if n == 2 => c.out.int(match &c.conn.tracking {
            None => -1,
            Some(m) => m.redirect.map_or(0, |r| r as i64),
        }),
        "trackinginfo" if n == 2 => client_trackinginfo(c),
        "reply" if n == 3 => match text(&argv[2]).to_ascii_lowercase().as_str() {
            "on" => {
                c.conn.reply = crate::server::ReplyMode::On;
                c.out.ok();
            }
            // Neither answers, not even itself.
            "off" => c.conn.reply = crate::server::ReplyMode::Off,
            "skip" => {
                if c.conn.reply != crate::server::ReplyMode::Off {
                    c.conn.reply = crate::server::ReplyMode::SkipNext;
                }
            }
            _ => c.out.error(ERR_SYNTAX),
        },
        "help" => {
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are: ID <client-id>, ADDR <ip:port>,",
                "    LADDR <ip:port>, SKIPME (YES|NO).",
                "LIST [TYPE normal] [ID <client-id> [<client-id> ...]]",
                "    Return information about client connections.",
                "NO-EVICT (ON|OFF)",
                "    Protect current client connection from eviction.",
                "NO-TOUCH (ON|OFF)",
                "    Will not touch LRU/LFU stats when this mode is on.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Suspend all, or just write, clients for <timeout> milliseconds.",
                "REPLY (ON|OFF|SKIP)",
                "    Control the replies sent to the current connection.",
                "CACHING (YES|NO)",
                "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
                "GETREDIR",
                "    Return the client ID we are redirecting to when tracking is enabled.",
                "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
                "         [OPTIN] [OPTOUT] [NOLOOP]",
                "    Control server assisted client side caching.",
                "TRACKINGINFO",
                "    Report tracking status for the current connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>",
                "    Set client meta attr. Options are LIB-NAME and LIB-VER.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Unblock the specified blocked client.",
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
            ];
            c.out.help(&lines);
        }
        "id" | "getname" | "setname" | "setinfo" | "info" | "kill" | "no-evict" | "no-touch"
        | "unblock" | "reply" | "pause" | "unpause" | "tracking" | "caching" | "getredir"
        | "trackinginfo" => wrong(c),
        _ => c.out.error(&unknown_subcommand(argv, "CLIENT")),
    }
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP].
fn client_tracking(c: &mut Ctx, argv: &[Bytes]) {
    use crate::server::tracking::Mode;
    let on = if eq(&argv[2], "on") {
        true
    } else if eq(&argv[2], "off") {
        false
    } else {
        return c.out.error(ERR_SYNTAX);
    };
    let mut mode = Mode::default();
    let mut i = 3;
    while i < argv.len() {
        let a = &argv[i];
        if eq(a, "redirect") && i + 1 < argv.len() {
            if mode.redirect.is_some() {
                return c
                    .out
                    .error("ERR A client can only redirect to a single other client");
            }
            match parse_i64(&argv[i + 1]) {
                Some(id) => mode.redirect = Some(id as u64),
                None => return c.out.error(ERR_NOT_INT),
            }
            i += 2;
        } else if eq(a, "bcast") {
            mode.bcast = true;
            i += 1;
        } else if eq(a, "optin") {
            mode.optin = true;
            i += 1;
        } else if eq(a, "optout") {
            mode.optout = true;
            i += 1;
        } else if eq(a, "noloop") {
            mode.noloop = true;
            i += 1;
        } else if eq(a, "prefix") && i + 1 < argv.len() {
            mode.prefixes.push(argv[i + 1].clone());
            i += 2;
        } else {
            return c.out.error(ERR_SYNTAX);
        }
    }
    if !on {
        c.conn.stop_tracking(c.shared);
        return c.out.ok();
    }
    if !mode.bcast && !mode.prefixes.is_empty() {
        return c
            .out
            .error("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if let Some(old) = &c.conn.tracking {
        if old.bcast != mode.bcast {
            return c.out.error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
        }
    }
    if mode.optin && mode.optout {
        return c
            .out
            .error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if (mode.optin || mode.optout) && mode.bcast {
        return c
            .out
            .error("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if let Some(old) = &c.conn.tracking {
        if (old.optin && mode.optout) || (old.optout && mode.optin) {
            return c.out.error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
        }
    }
    for (j, p) in mode.prefixes.iter().enumerate() {
        for q in mode.prefixes.iter().skip(j + 1) {
            if p.starts_with(q) || q.starts_with(p) {
                return c.out.error(&format!(
                    "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    text(p),
                    text(q)
                ));
            }
        }
    }
    if let Some(r) = mode.redirect {
        if r == c.conn.id || c.shared.clients.get(r).is_none() {
            let why = if r == c.conn.id {
                "ERR A client cannot redirect to itself"
            } else {
                "ERR The client ID you want redirect to does not exist"
            };
            return c.out.error(why);
        }
    }
    let info = c.conn.info.clone();
    let resp3 = c.conn.resp3;
    let outbox = c.shared.pubsub.outbox(&mut c.conn.subs, &info, resp3);
    c.shared
        .pubsub
        .tracking
        .enable(c.conn.id, mode.clone(), outbox, resp3);
    let redir = mode.redirect.map_or(0, |r| r as i64);
    c.conn.info.redir.store(redir, Ordering::Relaxed);
    c.conn.info.bcast.store(mode.bcast, Ordering::Relaxed);
    c.conn.tracking = Some(mode);
    c.shared.refresh_expired_tracking();
    c.out.ok();
}

fn client_trackinginfo(c: &mut Ctx) {
    let mode = c.conn.tracking.clone();
    let mut flags: Vec<&str> = Vec::new();
    match &mode {
        None => flags.push("off"),
        Some(m) => {
            flags.push("on");
            if m.bcast {
                flags.push("bcast");
            }
            if m.optin {
                flags.push("optin");
                if c.conn.caching == Some(true) {
                    flags.push("caching-yes");
                }
            }
            if m.optout {
                flags.push("optout");
                if c.conn.caching == Some(false) {
                    flags.push("caching-no");
                }
            }
            if m.noloop {
                flags.push("noloop");
            }
            if m.redirect
                .is_some_and(|r| c.shared.clients.get(r).is_none())
            {
                flags.push("broken_redirect");
            }
        }
    }
    c.out.map(3);
    c.out.bulk(b"flags");
    c.out.set(flags.len());
    for f in flags {
        c.out.bulk(f.as_bytes());
    }
    c.out.bulk(b"redirect");
    c.out.int(match &mode {
        None => -1,
        Some(m) => m.redirect.map_or(0, |r| r as i64),
    });
    c.out.bulk(b"prefixes");
    let prefixes = mode.map(|m| m.prefixes).unwrap_or_default();
    c.out.array(prefixes.len());
    for p in prefixes {
        c.out.bulk(&p);
    }
}

fn client_list(c: &mut Ctx, argv: &[Bytes]) {
    let mut ids: Option<Vec<u64>> = None;
    let mut class: Option<String> = None;
    let mut i = 2;
    while i < argv.len() {
        if eq(&argv[i], "type") && i + 1 < argv.len() {
            let t = text(&argv[i + 1]).to_ascii_lowercase();
            if !matches!(
                t.as_str(),
                "normal" | "master" | "replica" | "slave" | "pubsub"
            ) {
                return c.out.error(&format!("ERR Unknown client type '{t}'"));
            }
            class = Some(t);
            i += 2;
        } else if eq(&argv[i], "id") && i + 1 < argv.len() {
            let mut list = Vec::new();
            for a in &argv[i + 1..] {
                match parse_i64(a) {
                    Some(v) if v > 0 => list.push(v as u64),
                    _ => return c.out.error("ERR Invalid client ID"),
                }
            }
            ids = Some(list);
            i = argv.len();
        } else {
            return c.out.error(ERR_SYNTAX);
        }
    }
    let mut text = String::new();
    for client in c.shared.clients.all() {
        if ids.as_ref().is_some_and(|l| !l.contains(&client.id))
            || class.as_ref().is_some_and(|t| t != client.class())
        {
            continue;
        }
        let omem = c
            .shared
            .pubsub
            .client_outbox(client.id)
            .map_or(0, |(o, _)| o.pending());
        text.push_str(&client.describe(omem));
        text.push('\n');
    }
    c.out.verbatim(&text);
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: answers a client blocked in BLPOP & co. as if its
/// timeout had passed, or with an error; 1 if it was blocked, else 0.
fn client_unblock(c: &mut Ctx, argv: &[Bytes]) {
    let Some(id) = parse_i64(&argv[2]) else {
        return c.out.error(ERR_NOT_INT);
    };
    let error = match argv.get(3) {
        None => false,
        Some(a) if eq(a, "timeout") => false,
        Some(a) if eq(a, "error") => true,
        Some(_) => {
            return c
                .out
                .error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        }
    };
    let waiter = u64::try_from(id)
        .ok()
        .and_then(|id| c.shared.clients.get(id))
        .and_then(|client| client.blocked.lock().clone());
    let Some(w) = waiter else {
        return c.out.int(0);
    };
    let Some(tx) = w.claim() else {
        return c.out.int(0);
    };
    let reply = if error {
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n".to_vec()
    } else {
        super::blocking::timeout_reply(w.resp3)
    };
    let _ = tx.send(crate::keyspace::Served { reply, seq: 0 });
    c.out.int(1);
}

fn client_kill(c: &mut Ctx, argv: &[Bytes]) {
    // Old form: CLIENT KILL ip:port -> +OK or error.
    if argv.len() == 3 {
        let addr = text(&argv[2]);
        for client in c.shared.clients.all() {
            if client.addr.to_string() == addr {
                client.kill();
                return c.out.ok();
            }
        }
        return c.out.error("ERR No such client");
    }
    let (mut id, mut addr, mut laddr, mut skipme) = (None, None, None, true);
    let mut class: Option<String> = None;
    let mut i = 2;
    while i + 1 < argv.len() {
        let v = &argv[i + 1];
        if eq(&argv[i], "id") {
            match parse_i64(v) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return c.out.error("ERR client-id should be greater than 0"),
            }
        } else if eq(&argv[i], "addr") {
            addr = Some(text(v));
        } else if eq(&argv[i], "laddr") {
            laddr = Some(text(v));
        } else if eq(&argv[i], "skipme") {
            skipme = if eq(v, "yes") {
                true
            } else if eq(v, "no") {
                false
            } else {
                return c.out.error(ERR_SYNTAX);
            };
        } else if eq(&argv[i], "type") {
            let t = text(v).to_ascii_lowercase();
            if !matches!(
                t.as_str(),
                "normal" | "master" | "replica" | "slave" | "pubsub"
            ) {
                return c
                    .out
                    .error(&format!("ERR Unknown client type '{}'", text(v)));
            }
            class = Some(t);
        } else if eq(&argv[i], "user") {
            // Every client is the default user's (there are no others yet).
            if &v[..] != b"default" {
                return c.out.error(&format!("ERR No such user '{}'", text(v)));
            }
        } else {
            return c.out.error(ERR_SYNTAX);
        }
        i += 2;
    }
    if i != argv.len() {
        return c.out.error(ERR_SYNTAX);
    }
    let mut killed = 0;
    for client in c.shared.clients.all() {
        if id.is_some_and(|v| v != client.id)
            || addr.as_ref().is_some_and(|a| *a != client.addr.to_string())
            || laddr
                .as_ref()
                .is_some_and(|a| *a != client.laddr.to_string())
            || (skipme && client.id == c.conn.id)
            || class.as_ref().is_some_and(|t| t != client.class())
        {
            continue;
        }
        client.kill();
        killed += 1;
    }
    c.out.int(killed);
}
