//! Server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, TIME, CONFIG, COMMAND, LASTSAVE,
//! SHUTDOWN, MEMORY USAGE, DEBUG SLEEP.

use super::*;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

const ADMIN: &[&str] = &["admin", "noscript", "loading", "stale"];
const ACL_ADMIN: &[&str] = &["@admin", "@slow", "@dangerous"];

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "info",
        -1,
        &["loading", "stale"],
        NO_KEYS,
        &["@slow", "@dangerous"],
        Scope::All,
        "server",
        "Returns information and statistics about the server.",
        info,
    ),
    spec(
        "dbsize",
        1,
        &["readonly", "fast"],
        NO_KEYS,
        &["@keyspace", "@read", "@fast"],
        Scope::All,
        "server",
        "Returns the number of keys in the database.",
        dbsize,
    ),
    spec(
        "flushdb",
        -1,
        &["write"],
        NO_KEYS,
        &["@keyspace", "@write", "@slow", "@dangerous"],
        Scope::All,
        "server",
        "Removes all keys from the current database.",
        flushdb,
    ),
    spec(
        "flushall",
        -1,
        &["write"],
        NO_KEYS,
        &["@keyspace", "@write", "@slow", "@dangerous"],
        Scope::All,
        "server",
        "Removes all keys from all databases.",
        flushall,
    ),
    spec(
        "time",
        1,
        &["loading", "stale", "fast"],
        NO_KEYS,
        &["@fast"],
        Scope::None,
        "server",
        "Returns the server time.",
        time,
    ),
    spec(
        "config",
        -2,
        &[],
        NO_KEYS,
        &["@slow"],
        Scope::None,
        "server",
        "A container for server configuration commands.",
        config,
    ),
    spec(
        "slowlog",
        -2,
        &[],
        NO_KEYS,
        &["@slow"],
        Scope::None,
        "server",
        "A container for slow log commands",
        slowlog,
    ),
    spec(
        "latency",
        -2,
        &[],
        NO_KEYS,
        &["@slow"],
        Scope::None,
        "server",
        "A container for latency diagnostics commands",
        latency,
    ),
    spec(
        "command",
        -1,
        &["loading", "stale"],
        NO_KEYS,
        &["@slow", "@connection"],
        Scope::None,
        "server",
        "Returns detailed information about all commands.",
        command,
    ),
    spec(
        "lastsave",
        1,
        &["loading", "stale", "fast"],
        NO_KEYS,
        &["@admin", "@fast", "@dangerous"],
        Scope::None,
        "server",
        "Returns the Unix timestamp of the last successful save to disk.",
        lastsave,
    ),
    spec(
        "shutdown",
        -1,
        // `no_multi`: refused while queueing a transaction (EXEC then gives EXECABORT).
        &[
            "admin",
            "noscript",
            "loading",
            "stale",
            "no_multi",
            "allow_busy",
        ],
        NO_KEYS,
        ACL_ADMIN,
        Scope::None,
        "server",
        "Synchronously saves and shuts down the server.",
        shutdown,
    ),
    spec(
        "memory",
        -2,
        &[],
        (2, 2, 1),
        &["@slow"],
        Scope::Keys,
        "server",
        "A container for memory diagnostics commands.",
        memory,
    ),
    spec(
        "debug",
        -2,
        ADMIN,
        NO_KEYS,
        ACL_ADMIN,
        Scope::None,
        "server",
        "A container for debugging commands.",
        debug,
    ),
];

fn dbsize(c: &mut Ctx, _argv: &[Bytes]) {
    let db = c.db();
    c.out.int(c.ks.db_stats(db).0 as i64);
}

fn flush_opts(c: &mut Ctx, argv: &[Bytes]) -> bool {
    if argv.len() > 2 || (argv.len() == 2 && !eq(&argv[1], "async") && !eq(&argv[1], "sync")) {
        c.out.error(ERR_SYNTAX);
        return false;
    }
    true
}

fn flushdb(c: &mut Ctx, argv: &[Bytes]) {
    if flush_opts(c, argv) {
        let db = c.db();
        c.ks.flush(Some(db));
        c.out.ok();
    }
}

fn flushall(c: &mut Ctx, argv: &[Bytes]) {
    if flush_opts(c, argv) {
        c.ks.flush(None);
        c.out.ok();
    }
}

fn time(c: &mut Ctx, _argv: &[Bytes]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    c.out.array(2);
    c.out.bulk(now.as_secs().to_string().as_bytes());
    c.out.bulk(now.subsec_micros().to_string().as_bytes());
}

fn lastsave(c: &mut Ctx, _argv: &[Bytes]) {
    c.out.int(c.shared.lastsave.load(Ordering::Relaxed) as i64);
}

fn shutdown(c: &mut Ctx, argv: &[Bytes]) {
    let mut save = true;
    for a in &argv[1..] {
        if eq(a, "nosave") {
            save = false;
        } else if eq(a, "save") {
            save = true;
        } else if eq(a, "now") || eq(a, "force") || eq(a, "abort") {
        } else {
            return c.out.error(ERR_SYNTAX);
        }
    }
    // A busy script holds the keyspace: only SHUTDOWN NOSAVE may end it (as in Redis).
    if save && c.shared.scripting.run.running() {
        return c.out.error(c.shared.scripting.run.busy_error());
    }
    // Redis closes the connection without a reply on success.
    c.after = After::Shutdown { save };
}

fn memory(c: &mut Ctx, argv: &[Bytes]) {
    if eq(&argv[1], "usage") {
        if argv.len() < 3 {
            return c
                .out
                .error("ERR wrong number of arguments for 'memory|usage' command");
        }
        // Redis's order: each `SAMPLES n` must be an integer, then non-negative. vaylix counts
        // every element whatever the sample size (an exact figure, not an estimate).
        let mut i = 3;
        while i < argv.len() {
            if !eq(&argv[i], "samples") || i + 1 >= argv.len() {
                return c.out.error(ERR_SYNTAX);
            }
            match parse_i64(&argv[i + 1]) {
                None => return c.out.error(ERR_NOT_INT),
                Some(n) if n < 0 => return c.out.error(ERR_SYNTAX),
                Some(_) => {}
            }
            i += 2;
        }
        let db = c.db();
        let key = argv[2].clone();
        match c.ks.get(db, &key, c.now_ms) {
            None => c.out.null(),
            Some(e) => {
                // The entry's block (header, key, value) and its table slot.
                c.out.int(e.footprint() as i64);
            }
        }
    } else if eq(&argv[1], "help") && argv.len() == 2 {
        c.out.help(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value.",
        ]);
    } else {
        c.out.error(&unknown_subcommand(argv, "MEMORY"));
    }
}

fn debug(c: &mut Ctx, argv: &[Bytes]) {
    if eq(&argv[1], "sleep") && argv.len() == 3 {
        c.out.ok();
        if let Some(d) = debug_sleep_duration(&argv[2]) {
            c.after = After::Sleep(d);
        }
    } else if eq(&argv[1], "help") && argv.len() == 2 {
        c.out.help(&[
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ]);
    } else {
        c.out.error(&format!(
            "ERR DEBUG subcommand '{}' is not supported by vaylix",
            text(&argv[1])
        ));
    }
}

/// How long `DEBUG SLEEP <seconds>` sleeps, as Redis 7.0 computes it: the argument is read
/// with `strtod` (its longest numeric prefix; no number at all is 0), converted to whole
/// microseconds, and handed to `nanosleep`, which refuses a negative time. Redis therefore
/// answers OK at once for garbage, NaN, negative values and values whose microsecond count
/// does not fit a signed 64-bit integer (1e30, inf). `None` = no sleep. Never panics: the
/// accepted range (< 2^63 µs) fits a `Duration`.
fn debug_sleep_duration(arg: &[u8]) -> Option<std::time::Duration> {
    let micros = strtod_prefix(arg) * 1e6;
    // The literal rounds to the largest f64 below 2^63 (the cast to i64 in Redis stays
    // positive up to it); NaN is in no range.
    (1.0..=9.223_372_036_854_775e18)
        .contains(&micros)
        .then(|| std::time::Duration::from_micros(micros as u64))
}

/// C's `strtod` on a byte string: leading white space, an optional sign, then the longest
/// prefix that is a decimal or hexadecimal (`0x`) number, `inf`/`infinity` or `nan`; 0.0 when
/// no prefix is a number.
fn strtod_prefix(arg: &[u8]) -> f64 {
    let mut i = arg
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(arg.len());
    let negative = match arg.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let rest = arg.get(i..).unwrap_or_default();
    let starts = |word: &str| {
        rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
    };
    let digits = |from: usize, hex: bool| {
        rest.get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count()
    };
    let magnitude = if starts("inf") {
        f64::INFINITY
    } else if starts("nan") {
        f64::NAN
    } else if starts("0x")
        && (digits(2, true) > 0 || (rest.get(2) == Some(&b'.') && digits(3, true) > 0))
    {
        hex_float(&rest[2..])
    } else {
        // Mantissa digits, an optional fraction, then an exponent only if it has digits.
        let int = digits(0, false);
        let mut end = int;
        let mut frac = 0;
        if rest.get(end) == Some(&b'.') {
            frac = digits(end + 1, false);
            end += 1 + frac;
        }
        if int + frac == 0 {
            return 0.0;
        }
        if matches!(rest.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(rest.get(end + 1), Some(b'+' | b'-')));
            let exp = digits(end + 1 + sign, false);
            if exp > 0 {
                end += 1 + sign + exp;
            }
        }
        std::str::from_utf8(&rest[..end])
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// The value of a hexadecimal float body after `0x`: hex digits, an optional fraction, an
/// optional binary exponent `p[+-]digits`. Precise enough for a sleep time.
fn hex_float(s: &[u8]) -> f64 {
    let mut value = 0.0f64;
    let mut scale = 0i64;
    let mut i = 0;
    let mut seen_point = false;
    while let Some(&b) = s.get(i) {
        if b == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (b as char).to_digit(16) {
            value = value * 16.0 + f64::from(d);
            if seen_point {
                scale -= 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut j = i + 1;
        let neg = s.get(j) == Some(&b'-');
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let start = j;
        let mut exp = 0i64;
        while let Some(d) = s.get(j).filter(|b| b.is_ascii_digit()) {
            exp = exp.saturating_mul(10).saturating_add(i64::from(d - b'0'));
            j += 1;
        }
        if j > start {
            scale = scale.saturating_add(if neg { -exp } else { exp });
        }
    }
    value * 2f64.powi(scale.clamp(-2000, 2000) as i32)
}

// ---- CONFIG -------------------------------------------------------------------------------

fn config(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" if argv.len() >= 3 => {
            let mut pairs: Vec<(&str, String)> = Vec::new();
            for pattern in &argv[2..] {
                for (k, v) in c.shared.config.matching(pattern) {
                    if !pairs.iter().any(|(n, _)| *n == k) {
                        pairs.push((k, v));
                    }
                }
            }
            c.out.map(pairs.len());
            for (k, v) in pairs {
                c.out.bulk(k.as_bytes());
                c.out.bulk(v.as_bytes());
            }
        }
        "set" if argv.len() >= 4 && argv.len().is_multiple_of(2) => {
            // Validate every pair before applying any (Redis applies CONFIG SET atomically).
            let mut seen: Vec<String> = Vec::new();
            for pair in argv[2..].chunks(2) {
                let name = text(&pair[0]);
                let Some(p) = crate::config::param(&name) else {
                    return c.out.error(&format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    ));
                };
                let failed = |why: &str| {
                    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
                };
                // Redis's protected configs (`enable-protected-configs no`).
                if matches!(p.name, "dbfilename" | "dir") {
                    return c.out.error(&failed("can't set protected config"));
                }
                if !p.mutable {
                    return c.out.error(&failed("can't set immutable config"));
                }
                // By the name given: to Redis an alias is a parameter of its own.
                let given = name.to_ascii_lowercase();
                if seen.contains(&given) {
                    return c.out.error(&failed("duplicate parameter"));
                }
                seen.push(given);
            }
            // Every name was checked above; an alias reads its parameter's value.
            let before: Vec<(&str, String)> = argv[2..]
                .chunks(2)
                .filter_map(|p| crate::config::param(&text(&p[0])))
                .map(|p| (p.name, c.shared.config.get_str(p.name)))
                .collect();
            let mut limits_changed = false;
            for pair in argv[2..].chunks(2) {
                let name = text(&pair[0]);
                let p = match c.shared.config.set(&name, &text(&pair[1])) {
                    Ok(p) => p,
                    Err(e) => {
                        for (n, v) in &before {
                            let _ = c.shared.config.set(n, v);
                        }
                        let why = crate::config::redis_reason(&e);
                        return c.out.error(&format!(
                            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
                        ));
                    }
                };
                crate::server::persistence::config_changed(c.shared, p.name);
                if let (true, Some(set)) = (p.name == "loglevel", &c.shared.set_log_level) {
                    set(&c.shared.config.get_str("loglevel"));
                }
                limits_changed |= crate::config::LIMIT_PARAMS.contains(&p.name);
            }
            if limits_changed {
                c.shared.keyspace.set_limits(c.shared.config.coll_limits());
            }
            c.out.ok();
        }
        "resetstat" if argv.len() == 2 => {
            c.shared.stats.reset();
            c.shared.cmdstats.reset();
            c.shared
                .evictor
                .evicted
                .store(0, std::sync::atomic::Ordering::Relaxed);
            c.out.ok();
        }
        "rewrite" if argv.len() == 2 => {
            c.out
                .error("ERR The server is running without a config file");
        }
        "help" => {
            let lines = [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
            ];
            c.out.help(&lines);
        }
        // Past CONFIG SET's arity, a name without a value is a syntax error to Redis.
        "set" if argv.len() > 4 => c.out.error(ERR_SYNTAX),
        "get" | "set" | "resetstat" | "rewrite" => c.out.error(&format!(
            "ERR wrong number of arguments for 'config|{sub}' command"
        )),
        _ => c.out.error(&unknown_subcommand(argv, "CONFIG")),
    }
}

// ---- SLOWLOG ------------------------------------------------------------------------------

fn slowlog(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    let log = &c.shared.cmdstats;
    match (sub.as_str(), argv.len()) {
        ("get", 2 | 3) => {
            let count = match argv.get(2) {
                None => Some(10),
                Some(a) => match parse_i64(a) {
                    Some(-1) => None,
                    Some(n) if n >= 0 => Some(n as usize),
                    _ => {
                        return c
                            .out
                            .error("ERR count should be greater than or equal to -1")
                    }
                },
            };
            let out = &mut *c.out;
            log.slow_entries(count, |entries| {
                out.array(entries.len());
                for e in entries {
                    out.array(6);
                    out.int(e.id as i64);
                    out.int(e.unix_secs as i64);
                    out.int(e.micros as i64);
                    out.array(e.argv.len());
                    for a in &e.argv {
                        out.bulk(a);
                    }
                    out.bulk(e.addr.as_bytes());
                    out.bulk(&e.name);
                }
            });
        }
        ("get", _) => c.out.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
            text(&argv[1])
        )),
        ("len", 2) => c.out.int(log.slow_len() as i64),
        ("reset", 2) => {
            log.slow_reset();
            c.out.ok();
        }
        ("len" | "reset", _) => c.out.error(&format!(
            "ERR wrong number of arguments for 'slowlog|{sub}' command"
        )),
        ("help", _) => c.out.help(&[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ]),
        _ => c.out.error(&unknown_subcommand(argv, "SLOWLOG")),
    }
}

// ---- LATENCY ------------------------------------------------------------------------------

fn latency(c: &mut Ctx, argv: &[Bytes]) {
    let sub = text(&argv[1]).to_ascii_lowercase();
    let monitor = c.shared.latency_events();
    let arity = |c: &mut Ctx| {
        c.out.error(&format!(
            "ERR wrong number of arguments for 'latency|{sub}' command"
        ))
    };
    match sub.as_str() {
        "latest" if argv.len() == 2 => {
            let events = monitor.latest();
            c.out.array(events.len());
            for (name, t, ms, max) in events {
                c.out.array(4);
                c.out.bulk(name.as_bytes());
                c.out.int(t as i64);
                c.out.int(ms as i64);
                c.out.int(max as i64);
            }
        }
        "history" if argv.len() == 3 => {
            let samples = monitor.history(&text(&argv[2]));
            c.out.array(samples.len());
            for (t, ms) in samples {
                c.out.array(2);
                c.out.int(t as i64);
                c.out.int(ms as i64);
            }
        }
        "reset" => {
            let names: Vec<String> = argv[2..].iter().map(|a| text(a)).collect();
            c.out.int(monitor.reset(&names) as i64);
        }
        "graph" if argv.len() == 3 => {
            let event = text(&argv[2]);
            let samples = monitor.history(&event);
            if samples.is_empty() {
                return c
                    .out
                    .error(&format!("ERR No samples available for event '{event}'"));
            }
            c.out.verbatim(&latency_graph(&event, &samples, &monitor.latest()));
        }
        "doctor" if argv.len() == 2 => c.out.verbatim(&monitor.doctor()),
        "histogram" => {
            let names: Vec<String> = argv[2..].iter().map(|a| text(a)).collect();
            let hists = c.shared.cmdstats.histograms(&names);
            c.out.map(hists.len());
            for (name, calls, cdf) in hists {
                c.out.bulk(name.as_bytes());
                c.out.map(2);
                c.out.bulk(b"calls");
                c.out.int(calls as i64);
                c.out.bulk(b"histogram_usec");
                c.out.map(cdf.len());
                for (usec, n) in cdf {
                    c.out.int(usec as i64);
                    c.out.int(n as i64);
                }
            }
        }
        "help" if argv.len() == 2 => c.out.help(&[
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ]),
        "latest" | "history" | "graph" | "doctor" | "help" => arity(c),
        _ => c.out.error(&unknown_subcommand(argv, "LATENCY")),
    }
}

/// LATENCY GRAPH: one bar per sample, oldest first, scaled to the worst one (vaylix's own
/// layout; Redis draws a sparkline).
fn latency_graph(
    event: &str,
    samples: &[(u64, u64)],
    latest: &[(String, u64, u64, u64)],
) -> String {
    let high = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let low = samples.iter().map(|s| s.1).min().unwrap_or(0);
    let all_time = latest.iter().find(|l| l.0 == event).map_or(high, |l| l.3);
    let mut out = format!(
        "{event} - high {high} ms, low {low} ms (all time high {all_time} ms)\n{}\n",
        "-".repeat(60)
    );
    let newest = samples.last().map_or(0, |s| s.0);
    for &(t, ms) in samples {
        let width = if high == 0 {
            0
        } else {
            (ms * 40).div_ceil(high) as usize
        };
        let ago = newest.saturating_sub(t);
        let _ = writeln!(out, "{ago:>6}s ago {ms:>6} ms {}", "#".repeat(width.max(1)));
    }
    out
}

// ---- COMMAND ------------------------------------------------------------------------------

fn command_info(c: &mut Ctx, s: &CommandSpec) {
    c.out.array(10);
    c.out.bulk(s.name.as_bytes());
    c.out.int(s.arity as i64);
    c.out.set(s.flags.len());
    for f in s.flags {
        c.out.simple(f);
    }
    c.out.int(s.first_key as i64);
    c.out.int(s.last_key as i64);
    c.out.int(s.step as i64);
    c.out.set(s.acl.len());
    for a in s.acl {
        c.out.simple(a);
    }
    c.out.array(0); // tips
    c.out.array(0); // key specs
    c.out.array(0); // subcommands
}

fn command_docs(c: &mut Ctx, s: &CommandSpec) {
    c.out.bulk(s.name.as_bytes());
    c.out.map(4);
    c.out.bulk(b"summary");
    c.out.bulk(s.summary.as_bytes());
    c.out.bulk(b"since");
    c.out.bulk(s.since.as_bytes());
    c.out.bulk(b"group");
    c.out.bulk(s.group.as_bytes());
    c.out.bulk(b"arguments");
    c.out.array(0);
}

fn command(c: &mut Ctx, argv: &[Bytes]) {
    let all = all();
    if argv.len() == 1 {
        c.out.array(all.len());
        for s in all {
            command_info(c, s);
        }
        return;
    }
    let sub = text(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "count" if argv.len() == 2 => c.out.int(all.len() as i64),
        "info" => {
            if argv.len() == 2 {
                c.out.array(all.len());
                for s in all {
                    command_info(c, s);
                }
            } else {
                c.out.array(argv.len() - 2);
                for name in &argv[2..] {
                    match lookup(name) {
                        Some(s) => command_info(c, s),
                        None => c.out.null_array(),
                    }
                }
            }
        }
        "docs" => {
            let specs: Vec<&CommandSpec> = if argv.len() == 2 {
                all.to_vec()
            } else {
                argv[2..].iter().filter_map(|n| lookup(n)).collect()
            };
            c.out.map(specs.len());
            for s in specs {
                command_docs(c, s);
            }
        }
        "list" => {
            let mut names: Vec<String> = all.iter().map(|s| s.name.to_string()).collect();
            for (container, subs) in SUBCOMMANDS {
                if lookup(container.as_bytes()).is_some() {
                    names.extend(subs.iter().map(|s| format!("{container}|{s}")));
                }
            }
            if argv.len() == 5 && eq(&argv[2], "filterby") {
                let v = text(&argv[4]);
                if eq(&argv[3], "pattern") {
                    names.retain(|n| crate::glob::matches(v.as_bytes(), n.as_bytes(), true));
                } else if eq(&argv[3], "aclcat") {
                    let cat = format!("@{}", v.to_ascii_lowercase());
                    names.retain(|n| {
                        lookup(n.split('|').next().unwrap_or_default().as_bytes())
                            .is_some_and(|s| s.acl.contains(&cat.as_str()))
                    });
                } else if eq(&argv[3], "module") {
                    names.clear();
                } else {
                    return c.out.error(ERR_SYNTAX);
                }
            } else if argv.len() != 2 {
                return c.out.error(ERR_SYNTAX);
            }
            c.out.bulks(names.iter());
        }
        "getkeys" if argv.len() >= 4 => {
            let Some(s) = lookup(&argv[2]) else {
                return c.out.error("ERR Invalid command specified");
            };
            let args = &argv[2..];
            if !arity_ok(s, args.len()) {
                return c
                    .out
                    .error("ERR Invalid number of arguments specified for command");
            }
            let keys = s.keys_of(args);
            if keys.is_empty() && s.movable_keys.is_some() {
                // Redis's answer when `numkeys` & co. do not fit the arguments.
                return c.out.error("ERR Invalid arguments specified for command");
            }
            if keys.is_empty() {
                return c.out.error("ERR The command has no key arguments");
            }
            c.out.array(keys.len());
            for i in keys {
                c.out.bulk(&args[i]);
            }
        }
        "help" => {
            let lines = [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all commands.",
                "COUNT",
                "    Return the total number of commands in this server.",
                "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
                "    Return a list of all commands in this server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple commands.",
                "    If no command names are given, details for all commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple commands.",
                "    If no command names are given, documentation for all commands is returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full command.",
            ];
            c.out.help(&lines);
        }
        "count" | "getkeys" => c.out.error(&format!(
            "ERR wrong number of arguments for 'command|{sub}' command"
        )),
        _ => c.out.error(&unknown_subcommand(argv, "COMMAND")),
    }
}

// ---- INFO ---------------------------------------------------------------------------------

/// Every section, in the order Redis 7.0 prints them.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// The sections `INFO` and `INFO default` print (`all` and `everything` add the rest).
fn in_default(section: &str) -> bool {
    !matches!(section, "commandstats" | "latencystats")
}

fn info(c: &mut Ctx, argv: &[Bytes]) {
    let asked: Vec<String> = argv[1..]
        .iter()
        .map(|a| text(a).to_ascii_lowercase())
        .collect();
    let wanted = |name: &str| {
        (asked.is_empty() && in_default(name))
            || asked.iter().any(|s| {
                s == name || s == "all" || s == "everything" || (s == "default" && in_default(name))
            })
    };
    let mut out = String::new();
    for name in SECTIONS {
        if !wanted(name) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(c, name, &mut out);
    }
    // INFO always answers, even after a WAL failure.
    c.ks.reveal_nothing();
    c.out.verbatim(&out);
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// MemTotal of /proc/meminfo, bytes.
fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else {
        format!("{bytes}B")
    }
}

fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

fn section(c: &mut Ctx, name: &str, out: &mut String) {
    let sh = c.shared;
    let st = &sh.stats;
    match name {
        "server" => {
            let up = sh.started.elapsed().as_secs();
            let hz = sh.config.get_i64("hz");
            let _ = write!(
                out,
                "# Server\r\nredis_version:{}\r\nvaylix_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{hz}\r\nconfigured_hz:{hz}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                crate::REDIS_VERSION,
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                sh.run_id,
                sh.port.load(Ordering::Relaxed),
                c.now_ms * 1000,
                up,
                up / 86400,
                // Redis's LRU clock: seconds, 24 bits.
                (c.now_ms / 1000) & ((1 << 24) - 1),
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                sh.config_file.clone().unwrap_or_default(),
            );
        }
        "clients" => {
            let _ = write!(
                out,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
                sh.clients.count(),
                sh.config.get_i64("maxclients"),
                sh.pubsub.peak.load(Ordering::Relaxed),
                sh.clients.blocked_count(),
                sh.pubsub.tracking.count(),
                sh.clients.timed_count(),
            );
        }
        "memory" => {
            let rss = rss_bytes();
            let used = crate::alloc::note_peak();
            let peak = crate::alloc::peak().max(used);
            let startup = crate::alloc::startup().min(used);
            let total = total_system_memory();
            let max = sh.config.get_i64("maxmemory").max(0) as u64;
            let pct = |a: u64, b: u64| {
                if b == 0 {
                    0.0
                } else {
                    a as f64 * 100.0 / b as f64
                }
            };
            let frag = if used == 0 {
                0.0
            } else {
                rss as f64 / used as f64
            };
            let _ = write!(
                out,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{startup}\r\nused_memory_startup:{startup}\r\nused_memory_dataset:{}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{used}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\n",
                human(used),
                human(rss),
                human(peak),
                pct(used, peak),
                used - startup,
                pct(used - startup, used),
                human(total),
            );
            let (eval_vm, fn_vm, fn_code) = sh.scripting.memory();
            let (scripts, script_bytes) = sh.scripting.cached();
            let _ = write!(
                out,
                "used_memory_lua:{eval_vm}\r\nused_memory_vm_eval:{eval_vm}\r\nused_memory_lua_human:{}\r\nused_memory_scripts_eval:{script_bytes}\r\nnumber_of_cached_scripts:{scripts}\r\nnumber_of_functions:{}\r\nnumber_of_libraries:{}\r\nused_memory_vm_functions:{fn_vm}\r\nused_memory_vm_total:{}\r\nused_memory_vm_total_human:{}\r\nused_memory_functions:{fn_code}\r\nused_memory_scripts:{}\r\nused_memory_scripts_human:{}\r\n",
                human(eval_vm as u64),
                sh.scripting.function_counts().1,
                sh.scripting.function_counts().0,
                eval_vm + fn_vm,
                human((eval_vm + fn_vm) as u64),
                script_bytes + fn_code,
                human((script_bytes + fn_code) as u64),
            );
            let _ = write!(
                out,
                "maxmemory:{max}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_fragmentation_ratio:{frag:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{}\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                human(max),
                sh.config.get_str("maxmemory-policy"),
                rss as i64 - used as i64,
                crate::alloc::allocator_name(),
            );
        }
        "persistence" => crate::server::persistence::info_persistence(sh, out),
        "stats" => {
            let tracked = sh.pubsub.tracking.totals();
            let (ops, input, output) = st.rates();
            let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
            let _ = write!(
                out,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:{}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\nclient_output_buffer_limit_disconnections:{}\r\n",
                n(&st.connections_received),
                n(&st.commands_processed),
                ops.round() as u64,
                n(&st.net_input_bytes),
                n(&st.net_output_bytes),
                input / 1024.0,
                output / 1024.0,
                n(&st.rejected_connections),
                n(&st.expired_keys),
                n(&sh.evictor.evicted),
                n(&st.keyspace_hits),
                n(&st.keyspace_misses),
                sh.pubsub.channel_count(false),
                sh.pubsub.numpat(),
                sh.pubsub.channel_count(true),
                tracked.0,
                tracked.1,
                tracked.2,
                sh.cmdstats.total_errors(),
                n(&st.reads_processed),
                n(&st.writes_processed),
                n(&sh.pubsub.cut_off),
            );
        }
        "replication" => {
            let _ = write!(
                out,
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                sh.run_id,
                sh.config.get_i64("repl-backlog-size")
            );
        }
        "cpu" => {
            let (sys, user) = cpu_times();
            let _ = write!(out, "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n");
        }
        "modules" => out.push_str("# Modules\r\n"),
        "commandstats" => sh.cmdstats.info_commandstats(out),
        "errorstats" => sh.cmdstats.info_errorstats(out),
        "latencystats" => sh.cmdstats.info_latencystats(&sh.config, out),
        "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for db in crate::keyspace::db_indexes(sh.keyspace.databases()) {
                let (keys, expires) = c.ks.db_stats(db);
                if keys > 0 {
                    let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{debug_sleep_duration, strtod_prefix};
    use std::time::Duration;

    #[test]
    fn strtod_prefix_reads_like_c() {
        for (arg, want) in [
            ("1.5", 1.5),
            ("  2", 2.0),
            ("-3", -3.0),
            ("+.5", 0.5),
            ("7.", 7.0),
            ("1e3", 1000.0),
            ("1e", 1.0),
            ("1e+", 1.0),
            ("2abc", 2.0),
            ("abc", 0.0),
            ("", 0.0),
            (".", 0.0),
            ("-", 0.0),
            ("0x10", 16.0),
            ("0x1p4", 16.0),
            ("0x.8", 0.5),
            ("0x", 0.0),
            ("0xg", 0.0),
            ("1e30", 1e30),
        ] {
            assert_eq!(strtod_prefix(arg.as_bytes()), want, "{arg:?}");
        }
        assert_eq!(strtod_prefix(b"INF"), f64::INFINITY);
        assert_eq!(strtod_prefix(b"-infinity"), f64::NEG_INFINITY);
        assert!(strtod_prefix(b"nan").is_nan());
    }

    #[test]
    fn debug_sleep_never_sleeps_on_values_redis_skips() {
        for arg in [
            "1e30",
            "-1e30",
            "9.3e12",
            "1e18",
            "-1",
            "-0.5",
            "nan",
            "-nan",
            "inf",
            "-inf",
            "abc",
            "",
            "0",
            "0.0000001",
        ] {
            assert_eq!(debug_sleep_duration(arg.as_bytes()), None, "{arg:?}");
        }
        assert_eq!(
            debug_sleep_duration(b"0.25"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(debug_sleep_duration(b"0x2"), Some(Duration::from_secs(2)));
        // The largest accepted value still fits a Duration (no panic), whatever it is.
        assert!(debug_sleep_duration(b"9.2e12").is_some());
    }
}
