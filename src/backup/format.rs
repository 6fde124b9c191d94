//! The logical dump format (JSON, docs/backup.md): a streaming writer and a streaming parser.
//!
//! Owns: the byte layout of v1 and v2 dumps and of the `<dump>.manifest.json` sidecar.
//! Invariants: the writer never holds the whole dump in memory (entries are encoded one at a
//! time into the output, which is hashed as it goes); the parser decodes each entry as soon as
//! it is read (the base64 text is dropped at once, for a hash or set element by element) and
//! fully validates the dump (JSON, version, base64, types, versions, databases, duplicate keys,
//! fields and members, empty collections) before anyone may act on it. Hash fields and set
//! members are written sorted by bytes, so equal states give byte-identical dumps.
//! Does not: touch the keyspace or decide where files live.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read, Write};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use super::BackupError;
use crate::keyspace::{DbIndex, Kind, Record, Value};

/// The dump version this server writes.
pub const DUMP_VERSION: u64 = 2;
/// The sidecar manifest version this server writes and reads.
pub const MANIFEST_VERSION: u64 = 1;

/// What a dump says about itself (written first in the JSON object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub created_at_ms: u64,
    pub source_engine_version: String,
    pub source_sequence: u64,
    /// The function libraries' source code (FUNCTION LOAD), written as `functions` when any.
    pub functions: Vec<Bytes>,
}

/// The engine version written to `source_engine_version`.
pub fn engine_version() -> String {
    format!("vaylix {}", env!("CARGO_PKG_VERSION"))
}

/// `<dump>.manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    pub manifest_version: u64,
    pub backup_version: u64,
    pub created_at_ms: u64,
    #[serde(deserialize_with = "engine_version_text")]
    pub source_engine_version: String,
    pub source_sequence: u64,
    pub entry_count: u64,
    pub byte_len: u64,
    pub hash_algorithm: String,
    pub sha256: String,
}

/// `source_engine_version` as text. This server writes a string ("vaylix 0.1.0"), but other
/// producers write a bare integer (`3`); both name the producer and nothing acts on the value,
/// so an integer is kept as its decimal text rather than refusing a dump that is otherwise valid.
struct EngineVersion;

impl Visitor<'_> for EngineVersion {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an integer")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

fn engine_version_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(EngineVersion)
}

/// [`engine_version_text`] for the dump's optional field (`null` or absent is `None`).
struct OptionalEngineVersion;

impl<'de> DeserializeSeed<'de> for OptionalEngineVersion {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalEngineVersion {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, an integer or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        engine_version_text(d).map(Some)
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A writer that counts and hashes what passes through it.
pub struct Hashing<W: Write> {
    pub inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }
    /// (byte length, lower-case hex SHA-256) of everything written.
    pub fn finish(self) -> (W, u64, String) {
        let digest = self.hasher.finalize();
        (self.inner, self.len, hex(&digest))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and length of a byte slice.
pub fn digest(bytes: &[u8]) -> (u64, String) {
    (bytes.len() as u64, hex(&Sha256::digest(bytes)))
}

/// SHA-256 and length of a reader's whole content, streaming.
pub fn digest_reader(r: &mut dyn Read) -> io::Result<(u64, String)> {
    let mut h = Hashing::new(io::sink());
    io::copy(r, &mut h)?;
    let (_, len, hex) = h.finish();
    Ok((len, hex))
}

fn json_str(out: &mut dyn Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(io::Error::other)
}

/// `bytes` as a quoted base64 JSON string (the alphabet needs no escaping); `buf` is reused
/// between calls so a big collection costs no allocation per element.
fn b64_str(out: &mut dyn Write, bytes: &[u8], buf: &mut String) -> io::Result<()> {
    buf.clear();
    B64.encode_string(bytes, buf);
    out.write_all(b"\"")?;
    out.write_all(buf.as_bytes())?;
    out.write_all(b"\"")
}

/// The value member(s) of an entry: `"value_base64":...` for a string, `"fields":[[f,v],...]`
/// for a hash, `"members":[m,...]` for a set. Fields and members are written sorted by their
/// bytes: the keyspace iterates collections in an order that depends on their encoding and
/// history, and two dumps of the same state must be byte-identical.
fn write_value(out: &mut dyn Write, value: &Value, buf: &mut String) -> io::Result<()> {
    match value {
        Value::String(v) => {
            out.write_all(b"\"value_base64\":")?;
            b64_str(out, v, buf)
        }
        Value::Hash(pairs) => {
            let mut sorted: Vec<&(Bytes, Bytes)> = pairs.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            out.write_all(b"\"fields\":[")?;
            for (j, (f, v)) in sorted.into_iter().enumerate() {
                out.write_all(if j == 0 { b"[" } else { b",[" })?;
                b64_str(out, f, buf)?;
                out.write_all(b",")?;
                b64_str(out, v, buf)?;
                out.write_all(b"]")?;
            }
            out.write_all(b"]")
        }
        Value::Set(members) => {
            let mut sorted: Vec<&Bytes> = members.iter().collect();
            sorted.sort_unstable();
            out.write_all(b"\"members\":[")?;
            for (j, m) in sorted.into_iter().enumerate() {
                if j > 0 {
                    out.write_all(b",")?;
                }
                b64_str(out, m, buf)?;
            }
            out.write_all(b"]")
        }
        Value::ZSet(pairs) => {
            let mut sorted: Vec<&(Bytes, f64)> = pairs.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            out.write_all(b"\"scored\":[")?;
            for (j, (m, score)) in sorted.into_iter().enumerate() {
                out.write_all(if j == 0 { b"[" } else { b",[" })?;
                b64_str(out, m, buf)?;
                out.write_all(b",")?;
                write_score(out, *score)?;
                out.write_all(b"]")?;
            }
            out.write_all(b"]")
        }
        Value::List(elements) => {
            // In list order, head first: the order is the value.
            out.write_all(b"\"elements\":[")?;
            for (j, e) in elements.iter().enumerate() {
                if j > 0 {
                    out.write_all(b",")?;
                }
                b64_str(out, e, buf)?;
            }
            out.write_all(b"]")
        }
    }
}

/// A score as JSON: a number in its shortest round-trip form, or the strings `"inf"` and
/// `"-inf"`, which JSON numbers cannot hold.
fn write_score(out: &mut dyn Write, score: f64) -> io::Result<()> {
    if score.is_infinite() {
        out.write_all(if score > 0.0 { b"\"inf\"" } else { b"\"-inf\"" })
    } else {
        serde_json::to_writer(&mut *out, &score).map_err(io::Error::other)
    }
}

/// Streams a v2 dump of `records` (in the given order) to `out`. Returns the entry count.
pub fn write_dump<'a>(
    out: &mut dyn Write,
    header: &Header,
    records: impl Iterator<Item = &'a Record>,
) -> io::Result<u64> {
    write!(
        out,
        "{{\"version\":{DUMP_VERSION},\"created_at_ms\":{},\"source_engine_version\":",
        header.created_at_ms
    )?;
    json_str(out, &header.source_engine_version)?;
    write!(out, ",\"source_sequence\":{}", header.source_sequence)?;
    let mut b64 = String::new();
    if !header.functions.is_empty() {
        out.write_all(b",\"functions\":[")?;
        for (i, code) in header.functions.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            b64_str(out, code, &mut b64)?;
        }
        out.write_all(b"]")?;
    }
    out.write_all(b",\"entries\":[")?;
    let mut n = 0u64;
    for r in records {
        // The keyspace never holds an empty collection (its last element takes the key with
        // it), and a restore refuses one; should one reach here it is no key at all.
        if r.value.kind() != Kind::String && r.value.is_empty() {
            continue;
        }
        out.write_all(if n == 0 { b"\n{" } else { b",\n{" })?;
        match std::str::from_utf8(&r.key) {
            Ok(k) => {
                out.write_all(b"\"key\":")?;
                json_str(out, k)?;
            }
            Err(_) => {
                b64.clear();
                B64.encode_string(&r.key, &mut b64);
                write!(out, "\"key_base64\":\"{b64}\"")?;
            }
        }
        write!(out, ",\"type\":\"{}\",", r.value.type_name())?;
        write_value(out, &r.value, &mut b64)?;
        write!(out, ",\"version\":{}", r.version)?;
        match r.expires_at_ms {
            Some(e) => write!(out, ",\"expires_at_ms\":{e}")?,
            None => out.write_all(b",\"expires_at_ms\":null")?,
        }
        if r.db != 0 {
            write!(out, ",\"db\":{}", r.db)?;
        }
        out.write_all(b"}")?;
        n += 1;
    }
    out.write_all(b"\n]}\n")?;
    Ok(n)
}

/// One decoded dump entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DumpEntry {
    pub db: DbIndex,
    pub key: Bytes,
    /// The value; after a parse that keeps no values ([`parse_dump_with`]) an empty value of
    /// the entry's kind, so counts by kind still work.
    pub value: Value,
    /// `None` in v1 dumps (the restore gives them a fresh clock value).
    pub version: Option<u64>,
    pub expires_at_ms: Option<u64>,
    /// The value came as text (`value`, v1) rather than `value_base64` (v2).
    text_value: bool,
}

/// The kinds a dump may hold, in the order counts are reported.
pub const KINDS: [Kind; 5] = [Kind::String, Kind::Hash, Kind::Set, Kind::ZSet, Kind::List];

/// A parsed and validated dump.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    pub version: u64,
    pub created_at_ms: Option<u64>,
    pub source_engine_version: Option<String>,
    pub source_sequence: Option<u64>,
    /// The function libraries' source code (none in a dump without `functions`).
    pub functions: Vec<Bytes>,
    pub entries: Vec<DumpEntry>,
}

impl Dump {
    /// Entries not expired at `now_ms`.
    pub fn live_entries(&self, now_ms: u64) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.expires_at_ms.is_none_or(|x| x > now_ms))
            .count() as u64
    }

    /// How many entries (keys, not elements) hold each kind, every kind of [`KINDS`] listed.
    pub fn kind_counts(&self) -> [(Kind, u64); KINDS.len()] {
        KINDS.map(|k| {
            let n = self.entries.iter().filter(|e| e.value.kind() == k).count();
            (k, n as u64)
        })
    }

    /// The largest version an entry carries (0 if none).
    pub fn max_version(&self) -> u64 {
        self.entries
            .iter()
            .filter_map(|e| e.version)
            .max()
            .unwrap_or(0)
    }

    /// Every entry must name a database below `databases`.
    pub fn check_databases(&self, databases: usize) -> Result<(), BackupError> {
        match self
            .entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.db as usize >= databases)
        {
            Some((i, e)) => Err(BackupError::Invalid(format!(
                "entry {i}: db {} is out of range (this server has {databases} databases)",
                e.db
            ))),
            None => Ok(()),
        }
    }

    /// Records to install, versions filled with `fresh` where the dump has none, entries
    /// expired at `now_ms` left out. Returns (records, skipped expired).
    pub fn into_records(self, fresh: u64, now_ms: u64) -> (Vec<Record>, u64) {
        let mut skipped = 0;
        let mut out = Vec::with_capacity(self.entries.len());
        for e in self.entries {
            if e.expires_at_ms.is_some_and(|x| x <= now_ms) {
                skipped += 1;
                continue;
            }
            out.push(Record {
                db: e.db,
                key: e.key,
                value: e.value,
                version: e.version.unwrap_or(fresh),
                expires_at_ms: e.expires_at_ms,
            });
        }
        (out, skipped)
    }
}

/// One base64 string of a `fields` pair or of `members`, decoded as it is read (the JSON text
/// is never kept). A bad string is kept as its error so the caller can name its position.
struct B64Item(Result<Bytes, base64::DecodeError>);

impl<'de> Deserialize<'de> for B64Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(B64ItemVisitor)
    }
}

struct B64ItemVisitor;

impl Visitor<'_> for B64ItemVisitor {
    type Value = B64Item;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a base64 string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<B64Item, E> {
        Ok(B64Item(B64.decode(v.as_bytes()).map(Bytes::from)))
    }
}

/// The first element of a collection whose base64 did not decode: (position, which part of a
/// pair or "" for a member, the decoder's message).
type BadItem = (usize, &'static str, String);

/// A hash entry's `fields`: `[["<field>","<value>"], ...]`, decoded while read.
#[derive(Default)]
struct B64Pairs {
    pairs: Vec<(Bytes, Bytes)>,
    bad: Option<BadItem>,
}

/// A set entry's `members`: `["<member>", ...]`, decoded while read.
#[derive(Default)]
struct B64List {
    items: Vec<Bytes>,
    bad: Option<BadItem>,
}

const PAIR: &str = "a [field_base64, value_base64] pair";

struct Pair(B64Item, B64Item);

impl<'de> Deserialize<'de> for Pair {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(PairVisitor)
    }
}

struct PairVisitor;

impl<'de> Visitor<'de> for PairVisitor {
    type Value = Pair;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(PAIR)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pair, A::Error> {
        let field = seq
            .next_element::<B64Item>()?
            .ok_or_else(|| de::Error::invalid_length(0, &PAIR))?;
        let value = seq
            .next_element::<B64Item>()?
            .ok_or_else(|| de::Error::invalid_length(1, &PAIR))?;
        let mut n = 2;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        if n != 2 {
            return Err(de::Error::invalid_length(n, &PAIR));
        }
        Ok(Pair(field, value))
    }
}

impl<'de> Deserialize<'de> for B64Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(PairsVisitor)
    }
}

struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = B64Pairs;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [field_base64, value_base64] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<B64Pairs, A::Error> {
        let mut out = B64Pairs::default();
        let mut j = 0;
        while let Some(Pair(f, v)) = seq.next_element::<Pair>()? {
            match (f.0, v.0) {
                (Ok(f), Ok(v)) => out.pairs.push((f, v)),
                (Err(e), _) => {
                    out.bad.get_or_insert((j, "field", e.to_string()));
                }
                (_, Err(e)) => {
                    out.bad.get_or_insert((j, "value", e.to_string()));
                }
            }
            j += 1;
        }
        Ok(out)
    }
}

impl<'de> Deserialize<'de> for B64List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(ListVisitor)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = B64List;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of base64 strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<B64List, A::Error> {
        let mut out = B64List::default();
        let mut j = 0;
        while let Some(B64Item(m)) = seq.next_element::<B64Item>()? {
            match m {
                Ok(m) => out.items.push(m),
                Err(e) => {
                    out.bad.get_or_insert((j, "", e.to_string()));
                }
            }
            j += 1;
        }
        Ok(out)
    }
}

/// A zset entry's `scored`: `[["<member>", score], ...]`, decoded while read; a score is a
/// JSON number or one of the strings `"inf"` / `"-inf"` (JSON has no infinities, and no NaN,
/// so a NaN score cannot be written).
#[derive(Default)]
struct B64Scored {
    pairs: Vec<(Bytes, f64)>,
    bad: Option<BadItem>,
}

const SCORED_PAIR: &str = "a [member_base64, score] pair";

/// A score as read: the number, or what was there instead.
struct ScoreItem(Result<f64, String>);

impl<'de> Deserialize<'de> for ScoreItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScoreVisitor)
    }
}

struct ScoreVisitor;

impl<'de> Visitor<'de> for ScoreVisitor {
    type Value = ScoreItem;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a score (a number, \"inf\" or \"-inf\")")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScoreItem, E> {
        Ok(ScoreItem(if v.is_nan() {
            Err("is NaN".into())
        } else {
            Ok(v)
        }))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScoreItem, E> {
        Ok(ScoreItem(Ok(v as f64)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScoreItem, E> {
        Ok(ScoreItem(Ok(v as f64)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ScoreItem, E> {
        Ok(ScoreItem(match v {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(format!(
                "is the string {other:?} (a score is a number, \"inf\" or \"-inf\")"
            )),
        }))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScoreItem, E> {
        Ok(ScoreItem(Err(format!("is {v}, not a number"))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<ScoreItem, E> {
        Ok(ScoreItem(Err("is null, not a number".into())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScoreItem, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ScoreItem(Err("is an array, not a number".into())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScoreItem, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ScoreItem(Err("is an object, not a number".into())))
    }
}

struct ScoredPair(B64Item, ScoreItem);

impl<'de> Deserialize<'de> for ScoredPair {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(ScoredPairVisitor)
    }
}

struct ScoredPairVisitor;

impl<'de> Visitor<'de> for ScoredPairVisitor {
    type Value = ScoredPair;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(SCORED_PAIR)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScoredPair, A::Error> {
        let member = seq
            .next_element::<B64Item>()?
            .ok_or_else(|| de::Error::invalid_length(0, &SCORED_PAIR))?;
        let score = seq
            .next_element::<ScoreItem>()?
            .ok_or_else(|| de::Error::invalid_length(1, &SCORED_PAIR))?;
        let mut n = 2;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        if n != 2 {
            return Err(de::Error::invalid_length(n, &SCORED_PAIR));
        }
        Ok(ScoredPair(member, score))
    }
}

impl<'de> Deserialize<'de> for B64Scored {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(ScoredVisitor)
    }
}

struct ScoredVisitor;

impl<'de> Visitor<'de> for ScoredVisitor {
    type Value = B64Scored;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [member_base64, score] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<B64Scored, A::Error> {
        let mut out = B64Scored::default();
        let mut j = 0;
        while let Some(ScoredPair(m, score)) = seq.next_element::<ScoredPair>()? {
            match (m.0, score.0) {
                (Ok(m), Ok(score)) => out.pairs.push((m, score)),
                (Err(e), _) => {
                    out.bad
                        .get_or_insert((j, "member", format!("is not valid base64 ({e})")));
                }
                (_, Err(e)) => {
                    out.bad.get_or_insert((j, "score", e));
                }
            }
            j += 1;
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
struct RawEntry {
    key: Option<String>,
    key_base64: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
    value: Option<String>,
    value_base64: Option<String>,
    fields: Option<B64Pairs>,
    members: Option<B64List>,
    scored: Option<B64Scored>,
    elements: Option<B64List>,
    version: Option<u64>,
    expires_at_ms: Option<u64>,
    db: Option<u64>,
}

/// How an error names a key: the text when it is UTF-8 (quoted and escaped), else its base64.
fn shown_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(k) => format!("{k:?}"),
        Err(_) => format!("(key_base64 {})", B64.encode(key)),
    }
}

/// The first element that appears twice: (its bytes, first position, second position).
fn first_duplicate<'a>(
    items: impl Iterator<Item = &'a Bytes>,
) -> Option<(&'a Bytes, usize, usize)> {
    // foldhash: SipHash made this check most of a big dump's parse time. Randomly seeded, as a
    // dump is outside input.
    let mut seen: std::collections::HashMap<&Bytes, usize, foldhash::fast::RandomState> =
        std::collections::HashMap::with_capacity_and_hasher(
            items.size_hint().0,
            foldhash::fast::RandomState::default(),
        );
    for (j, m) in items.enumerate() {
        if let Some(first) = seen.insert(m, j) {
            return Some((m, first, j));
        }
    }
    None
}

/// A hash entry's fields, checked: present, every base64 decodes, not empty, no field twice.
fn hash_value(i: usize, key: &[u8], r: &mut RawEntry) -> Result<Value, String> {
    let key = shown_key(key);
    let f = r
        .fields
        .take()
        .ok_or_else(|| format!("entry {i}: hash {key} has no 'fields'"))?;
    if let Some((j, part, e)) = f.bad {
        return Err(format!(
            "entry {i}: hash {key}: fields[{j}] {part} is not valid base64 ({e})"
        ));
    }
    if f.pairs.is_empty() {
        return Err(format!(
            "entry {i}: hash {key} has no fields (an empty hash is no key; leave the entry out)"
        ));
    }
    if let Some((dup, a, b)) = first_duplicate(f.pairs.iter().map(|(f, _)| f)) {
        return Err(format!(
            "entry {i}: hash {key} has field {} twice (fields[{a}] and fields[{b}])",
            B64.encode(dup)
        ));
    }
    Ok(Value::Hash(f.pairs))
}

/// A set entry's members, checked: present, every base64 decodes, not empty, none twice.
fn set_value(i: usize, key: &[u8], r: &mut RawEntry) -> Result<Value, String> {
    let key = shown_key(key);
    let m = r
        .members
        .take()
        .ok_or_else(|| format!("entry {i}: set {key} has no 'members'"))?;
    if let Some((j, _, e)) = m.bad {
        return Err(format!(
            "entry {i}: set {key}: members[{j}] is not valid base64 ({e})"
        ));
    }
    if m.items.is_empty() {
        return Err(format!(
            "entry {i}: set {key} has no members (an empty set is no key; leave the entry out)"
        ));
    }
    if let Some((dup, a, b)) = first_duplicate(m.items.iter()) {
        return Err(format!(
            "entry {i}: set {key} has member {} twice (members[{a}] and members[{b}])",
            B64.encode(dup)
        ));
    }
    Ok(Value::Set(m.items))
}

/// A zset entry's members and scores, checked: present, every base64 decodes, every score a
/// number or an infinity, not empty, no member twice.
fn zset_value(i: usize, key: &[u8], r: &mut RawEntry) -> Result<Value, String> {
    let key = shown_key(key);
    let z = r
        .scored
        .take()
        .ok_or_else(|| format!("entry {i}: zset {key} has no 'scored'"))?;
    if let Some((j, part, e)) = z.bad {
        return Err(format!("entry {i}: zset {key}: scored[{j}] {part} {e}"));
    }
    if z.pairs.is_empty() {
        return Err(format!(
            "entry {i}: zset {key} has no members (an empty sorted set is no key; leave the entry out)"
        ));
    }
    if let Some((dup, a, b)) = first_duplicate(z.pairs.iter().map(|(m, _)| m)) {
        return Err(format!(
            "entry {i}: zset {key} has member {} twice (scored[{a}] and scored[{b}])",
            B64.encode(dup)
        ));
    }
    Ok(Value::ZSet(z.pairs))
}

/// A list entry's elements, checked: present, every base64 decodes, not empty (elements may
/// repeat: a list is a sequence).
fn list_value(i: usize, key: &[u8], r: &mut RawEntry) -> Result<Value, String> {
    let key = shown_key(key);
    let l = r
        .elements
        .take()
        .ok_or_else(|| format!("entry {i}: list {key} has no 'elements'"))?;
    if let Some((j, _, e)) = l.bad {
        return Err(format!(
            "entry {i}: list {key}: elements[{j}] is not valid base64 ({e})"
        ));
    }
    if l.items.is_empty() {
        return Err(format!(
            "entry {i}: list {key} has no elements (an empty list is no key; leave the entry out)"
        ));
    }
    Ok(Value::List(l.items))
}

/// A string entry's value: exactly one of `value` (text, v1) and `value_base64` (v2).
fn string_value(i: usize, r: &mut RawEntry) -> Result<(Value, bool), String> {
    let (value, text) = match (r.value.take(), r.value_base64.take()) {
        (None, Some(v)) => (
            B64.decode(v.as_bytes())
                .map_err(|e| format!("entry {i}: value_base64 is not valid base64 ({e})"))?,
            false,
        ),
        (Some(v), None) => (v.into_bytes(), true),
        (Some(_), Some(_)) => return Err(format!("entry {i}: has both value and value_base64")),
        (None, None) => return Err(format!("entry {i}: has no value")),
    };
    Ok((Value::String(Bytes::from(value)), text))
}

fn decode_entry(i: usize, mut r: RawEntry) -> Result<DumpEntry, String> {
    let key = match (r.key.take(), r.key_base64.take()) {
        (Some(k), None) => Bytes::from(k.into_bytes()),
        (None, Some(k)) => Bytes::from(
            B64.decode(k.as_bytes())
                .map_err(|e| format!("entry {i}: key_base64 is not valid base64 ({e})"))?,
        ),
        (Some(_), Some(_)) => return Err(format!("entry {i}: has both key and key_base64")),
        (None, None) => return Err(format!("entry {i}: has no key")),
    };
    // A missing type is a string: v1 dumps and early v2 producers wrote none.
    let ty = r.ty.take();
    let ty = ty.as_deref().unwrap_or("string");
    // Each type carries its value in its own member; another type's member is a mistake in
    // the producer, refused rather than ignored so nothing in a dump is silently dropped.
    let stray = [
        ("value", r.value.is_some(), "string"),
        ("value_base64", r.value_base64.is_some(), "string"),
        ("fields", r.fields.is_some(), "hash"),
        ("members", r.members.is_some(), "set"),
        ("scored", r.scored.is_some(), "zset"),
        ("elements", r.elements.is_some(), "list"),
    ];
    if KINDS.iter().any(|k| k.type_name() == ty) {
        if let Some((name, _, owner)) = stray.iter().find(|(_, has, owner)| *has && *owner != ty) {
            return Err(format!(
                "entry {i}: a {ty} entry has no '{name}' (that member belongs to {owner} entries)"
            ));
        }
    }
    let (value, text_value) = match ty {
        "string" => string_value(i, &mut r)?,
        "hash" => (hash_value(i, &key, &mut r)?, false),
        "set" => (set_value(i, &key, &mut r)?, false),
        "zset" => (zset_value(i, &key, &mut r)?, false),
        "list" => (list_value(i, &key, &mut r)?, false),
        t => {
            return Err(format!(
            "entry {i}: unsupported type '{t}' (this server restores string, hash, set, zset and list)"
        ))
        }
    };
    if r.version == Some(0) {
        return Err(format!("entry {i}: version must be at least 1"));
    }
    if let Some(v) = r.version {
        // Versions become the clock's: above the bound the clock would have no room left
        // (docs/storage-format.md section 10).
        crate::keyspace::clock::check_restored_version(|| format!("entry {i}: version"), v)
            .map_err(|e| e.to_string())?;
    }
    let db = r.db.unwrap_or(0);
    let db = DbIndex::try_from(db).map_err(|_| format!("entry {i}: db {db} is out of range"))?;
    Ok(DumpEntry {
        db,
        key,
        value,
        version: r.version,
        expires_at_ms: r.expires_at_ms.filter(|e| *e != 0),
        text_value,
    })
}

/// An empty value of `v`'s kind: what an entry keeps when values are not kept.
fn placeholder(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::String(Bytes::new()),
        Value::Hash(_) => Value::Hash(Vec::new()),
        Value::Set(_) => Value::Set(Vec::new()),
        Value::ZSet(_) => Value::ZSet(Vec::new()),
        Value::List(_) => Value::List(Vec::new()),
    }
}

/// Decodes entries into `out`; with `keep_values == false` each value is checked and then
/// dropped (verification needs no values, so its memory is the keys plus the one entry being
/// checked). `at` holds the index of the entry serde is reading, so a JSON shape error inside
/// it (a number where a string belongs ...) can name the entry.
struct EntriesSeed<'a> {
    out: &'a mut Vec<DumpEntry>,
    keep_values: bool,
    at: &'a Cell<Option<usize>>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let i = self.out.len();
            self.at.set(Some(i));
            let Some(raw) = seq.next_element::<RawEntry>()? else {
                break;
            };
            // decode_entry's messages name the entry themselves.
            self.at.set(None);
            let mut e = decode_entry(i, raw).map_err(de::Error::custom)?;
            if !self.keep_values {
                e.value = placeholder(&e.value);
            }
            self.out.push(e);
        }
        self.at.set(None);
        Ok(())
    }
}

#[derive(Default)]
struct Top {
    version: Option<u64>,
    created_at_ms: Option<u64>,
    source_engine_version: Option<String>,
    source_sequence: Option<u64>,
    functions: Option<Vec<String>>,
    entries: Option<Vec<DumpEntry>>,
}

struct TopVisitor<'a> {
    keep_values: bool,
    at: &'a Cell<Option<usize>>,
}

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = Top;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a backup object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut t = Top::default();
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                "version" => t.version = Some(map.next_value()?),
                "created_at_ms" => t.created_at_ms = map.next_value()?,
                "source_engine_version" => {
                    t.source_engine_version = map.next_value_seed(OptionalEngineVersion)?
                }
                "source_sequence" => t.source_sequence = map.next_value()?,
                "functions" => t.functions = Some(map.next_value()?),
                "entries" => {
                    let mut v = Vec::new();
                    map.next_value_seed(EntriesSeed {
                        out: &mut v,
                        keep_values: self.keep_values,
                        at: self.at,
                    })?;
                    t.entries = Some(v);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(t)
    }
}

/// `at`: the entry being read when the error happened, if serde (not our checks) raised it.
fn json_error(e: serde_json::Error, at: Option<usize>) -> BackupError {
    if e.is_eof() {
        BackupError::Invalid(format!("truncated dump: {e}"))
    } else if e.is_data() {
        match at {
            Some(i) => BackupError::Invalid(format!("entry {i}: {e}")),
            None => BackupError::Invalid(e.to_string()),
        }
    } else {
        BackupError::Invalid(format!("invalid JSON: {e}"))
    }
}

/// Parses and validates a whole dump from a reader (streaming: entries are decoded as read).
pub fn parse_dump(r: impl Read) -> Result<Dump, BackupError> {
    parse_dump_with(r, true)
}

/// [`parse_dump`]; with `keep_values == false` the entries' values are validated and dropped
/// (`BACKUP VERIFY`, `RESTORE CHECK`).
pub fn parse_dump_with(r: impl Read, keep_values: bool) -> Result<Dump, BackupError> {
    let at = Cell::new(None);
    let mut de = serde_json::Deserializer::from_reader(r);
    let top = de
        .deserialize_map(TopVisitor {
            keep_values,
            at: &at,
        })
        .map_err(|e| json_error(e, at.get()))?;
    de.end().map_err(|e| {
        BackupError::Invalid(format!("invalid JSON: trailing data after the dump ({e})"))
    })?;
    validate(top)
}

fn validate(t: Top) -> Result<Dump, BackupError> {
    let version = t
        .version
        .ok_or_else(|| BackupError::Invalid("missing field 'version'".into()))?;
    if version != 1 && version != 2 {
        return Err(BackupError::Invalid(format!(
            "unsupported backup version {version} (this server reads versions 1 and 2)"
        )));
    }
    let entries = t
        .entries
        .ok_or_else(|| BackupError::Invalid("missing field 'entries'".into()))?;
    let mut seen: HashSet<(DbIndex, &Bytes)> = HashSet::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if version == 1 && e.value.kind() != Kind::String {
            return Err(BackupError::Invalid(format!(
                "entry {i}: type '{}' needs a v2 dump (v1 dumps hold strings only)",
                e.value.type_name()
            )));
        }
        if version == 2 && e.text_value {
            return Err(BackupError::Invalid(format!(
                "entry {i}: v2 entries carry value_base64, not value"
            )));
        }
        if version == 2 && e.version.is_none() {
            return Err(BackupError::Invalid(format!("entry {i}: missing version")));
        }
        if version == 1 && !e.text_value {
            return Err(BackupError::Invalid(format!(
                "entry {i}: v1 entries carry a text value"
            )));
        }
        if !seen.insert((e.db, &e.key)) {
            return Err(BackupError::Invalid(format!(
                "entry {i}: duplicate key in db {}",
                e.db
            )));
        }
    }
    drop(seen);
    let functions = match t.functions {
        Some(_) if version == 1 => {
            return Err(BackupError::Invalid(
                "'functions' needs a v2 dump (v1 dumps hold strings only)".into(),
            ))
        }
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, code)| {
                B64.decode(code).map(Bytes::from).map_err(|e| {
                    BackupError::Invalid(format!("functions {i}: invalid base64 ({e})"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    Ok(Dump {
        version,
        created_at_ms: t.created_at_ms,
        source_engine_version: t.source_engine_version,
        source_sequence: t.source_sequence,
        functions,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(db: u8, key: &[u8], val: &[u8], version: u64, exp: Option<u64>) -> Record {
        Record {
            db,
            key: Bytes::copy_from_slice(key),
            value: Value::String(Bytes::copy_from_slice(val)),
            version,
            expires_at_ms: exp,
        }
    }

    #[test]
    fn v2_round_trip_keeps_binary_keys_values_versions_expiry_and_db() {
        let recs = vec![
            rec(0, b"plain \"quoted\" \xc3\xa9", b"\x00\xff\x01", 5, None),
            rec(3, b"\xff\xfe binary", b"v", 9, Some(4_000_000_000_000)),
        ];
        let h = Header {
            created_at_ms: 1,
            source_engine_version: engine_version(),
            source_sequence: 9,
            functions: Vec::new(),
        };
        let mut out = Vec::new();
        assert_eq!(write_dump(&mut out, &h, recs.iter()).unwrap(), 2);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("\"key_base64\""), "{text}");
        assert!(text.contains("\"db\":3"));
        let d = parse_dump(&out[..]).unwrap();
        assert_eq!(d.version, 2);
        assert_eq!(d.source_sequence, Some(9));
        let (back, skipped) = d.into_records(100, 0);
        assert_eq!(skipped, 0);
        assert_eq!(back, recs);
    }

    #[test]
    fn bad_dumps_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("{", "truncated"),
            ("nonsense", "invalid JSON"),
            ("{\"version\":3,\"entries\":[]}", "unsupported backup version 3"),
            ("{\"entries\":[]}", "missing field 'version'"),
            ("{\"version\":2,\"entries\":[{\"key\":\"a\",\"type\":\"string\",\"value_base64\":\"@@\",\"version\":1}]}", "not valid base64"),
            ("{\"version\":2,\"entries\":[{\"key\":\"a\",\"type\":\"list\",\"value_base64\":\"\",\"version\":1}]}", "entry 0: a list entry has no 'value_base64'"),
            ("{\"version\":2,\"entries\":[{\"key\":\"a\",\"type\":\"stream\",\"value_base64\":\"\",\"version\":1}]}", "entry 0: unsupported type 'stream'"),
            ("{\"version\":2,\"entries\":[{\"key\":\"a\",\"type\":\"string\",\"value_base64\":\"\"}]}", "missing version"),
            ("{\"version\":2,\"entries\":[{\"key\":\"a\",\"value_base64\":\"\",\"version\":\"x\"}]}", "invalid type"),
            ("{\"version\":2,\"entries\":[{\"key\":\"a\",\"value_base64\":\"\",\"version\":1},{\"key\":\"a\",\"value_base64\":\"\",\"version\":2}]}", "duplicate key"),
            ("{\"version\":2,\"entries\":[]} x", "trailing data"),
        ];
        for (text, want) in cases {
            let e = parse_dump(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn source_engine_version_may_be_an_integer_or_a_string() {
        for (field, want) in [
            ("3", Some("3")),
            ("\"vaylix 0.9.3\"", Some("vaylix 0.9.3")),
            ("null", None),
        ] {
            for version in [1, 2] {
                let entry = if version == 1 {
                    r#"{"key":"a","value":"x"}"#
                } else {
                    r#"{"key":"a","value_base64":"eA==","version":4}"#
                };
                let text = format!(
                    r#"{{"version":{version},"source_engine_version":{field},"entries":[{entry}]}}"#
                );
                let d = parse_dump(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!(d.source_engine_version.as_deref(), want, "{text}");
                assert_eq!(d.entries.len(), 1);
            }
        }
        let e = parse_dump(&br#"{"version":2,"source_engine_version":[1],"entries":[]}"#[..])
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a string or an integer"), "{e}");
        let side = r#"{"manifest_version":1,"backup_version":2,"created_at_ms":1,"source_engine_version":3,
            "source_sequence":9,"entry_count":0,"byte_len":10,"hash_algorithm":"sha256","sha256":"00"}"#;
        let s: Sidecar = serde_json::from_str(side).unwrap();
        assert_eq!(s.source_engine_version, "3");
    }

    #[test]
    fn versions_above_the_clock_bound_are_refused_and_the_bound_itself_is_accepted() {
        use crate::keyspace::clock::MAX_RESTORE_VERSION;
        let dump = |v: u64| {
            format!(
                r#"{{"version":2,"entries":[{{"key":"a","value_base64":"eA==","version":1}},{{"key":"b","value_base64":"eA==","version":{v}}}]}}"#
            )
        };
        let d = parse_dump(dump(MAX_RESTORE_VERSION).as_bytes()).unwrap();
        assert_eq!(d.max_version(), MAX_RESTORE_VERSION);
        for v in [
            MAX_RESTORE_VERSION + 1,
            i64::MAX as u64,
            18446744073709551612,
            u64::MAX,
        ] {
            let e = parse_dump(dump(v).as_bytes()).unwrap_err().to_string();
            assert!(
                e.contains(&format!(
                    "entry 1: version {v} is above 4611686018427387904"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn v1_text_values_get_the_fresh_version_and_expired_entries_are_skipped() {
        let text = r#"{"version":1,"entries":[{"key":"a","value":"hello"},{"key":"b","value":"x","expires_at_ms":5}]}"#;
        let d = parse_dump(text.as_bytes()).unwrap();
        assert_eq!(d.live_entries(10), 1);
        let (recs, skipped) = d.into_records(77, 10);
        assert_eq!(skipped, 1);
        assert_eq!(recs, vec![rec(0, b"a", b"hello", 77, None)]);
    }

    fn coll(db: u8, key: &[u8], value: Value, version: u64, exp: Option<u64>) -> Record {
        Record {
            db,
            key: Bytes::copy_from_slice(key),
            value,
            version,
            expires_at_ms: exp,
        }
    }

    fn b(x: &[u8]) -> Bytes {
        Bytes::copy_from_slice(x)
    }

    fn dump_of(recs: &[Record]) -> Vec<u8> {
        let h = Header {
            created_at_ms: 1,
            source_engine_version: engine_version(),
            source_sequence: 99,
            functions: Vec::new(),
        };
        let mut out = Vec::new();
        write_dump(&mut out, &h, recs.iter()).unwrap();
        out
    }

    #[test]
    fn hashes_and_sets_round_trip_with_binary_fields_members_versions_and_expiry() {
        let recs = vec![
            coll(
                0,
                b"h",
                Value::Hash(vec![(b(b"f\x00\xff"), b(b"")), (b(b"a"), b(b"\xc3\xa9 v"))]),
                7,
                Some(4_000_000_000_000),
            ),
            coll(
                2,
                b"\xfe s",
                Value::Set(vec![b(b"3"), b(b"-1"), b(b"\x00")]),
                8,
                None,
            ),
            rec(0, b"s", b"str", 9, None),
        ];
        let out = dump_of(&recs);
        let text = String::from_utf8(out.clone()).unwrap();
        // Fields and members sorted by bytes: "a" < "f\0\xff"; "\0" < "-1" < "3".
        assert!(
            text.contains(r#""type":"hash","fields":[["YQ==","w6kgdg=="],["ZgD/",""]],"version":7,"expires_at_ms":4000000000000}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""type":"set","members":["AA==","LTE=","Mw=="],"version":8,"expires_at_ms":null,"db":2}"#),
            "{text}"
        );
        let d = parse_dump(&out[..]).unwrap();
        let (back, _) = d.into_records(100, 0);
        let sorted = |r: &Record| match &r.value {
            Value::Hash(p) => {
                let mut p = p.clone();
                p.sort();
                Value::Hash(p)
            }
            Value::Set(m) => {
                let mut m = m.clone();
                m.sort();
                Value::Set(m)
            }
            v => v.clone(),
        };
        assert_eq!(back.len(), recs.len());
        for (got, want) in back.iter().zip(&recs) {
            assert_eq!(
                (got.db, &got.key, got.version),
                (want.db, &want.key, want.version)
            );
            assert_eq!(got.expires_at_ms, want.expires_at_ms);
            assert_eq!(sorted(got), sorted(want));
        }
        // Rewriting what was read gives the same bytes.
        assert_eq!(dump_of(&back), out);
    }

    #[test]
    fn equal_collections_in_any_order_give_byte_identical_dumps() {
        let members: Vec<Bytes> = (0..500).map(|i| Bytes::from(format!("m{i}"))).collect();
        let mut reversed = members.clone();
        reversed.reverse();
        let pairs: Vec<(Bytes, Bytes)> = members.iter().map(|m| (m.clone(), m.clone())).collect();
        let mut pairs_rev = pairs.clone();
        pairs_rev.reverse();
        let a = dump_of(&[
            coll(0, b"h", Value::Hash(pairs), 1, None),
            coll(0, b"s", Value::Set(members), 2, None),
        ]);
        let b = dump_of(&[
            coll(0, b"h", Value::Hash(pairs_rev), 1, None),
            coll(0, b"s", Value::Set(reversed), 2, None),
        ]);
        assert_eq!(a, b);
    }

    #[test]
    fn empty_collections_are_not_written() {
        let out = dump_of(&[
            coll(0, b"e", Value::Set(vec![]), 1, None),
            rec(0, b"s", b"x", 2, None),
        ]);
        let d = parse_dump(&out[..]).unwrap();
        assert_eq!(d.entries.len(), 1);
    }

    #[test]
    fn bad_hash_and_set_entries_name_the_entry_and_the_problem() {
        let one = |entry: &str| {
            format!(
                r#"{{"version":2,"entries":[{{"key":"ok","value_base64":"","version":1}},{entry}]}}"#
            )
        };
        let cases: &[(&str, &str)] = &[
            (r#"{"key":"h","type":"hash","fields":[["YQ==","MQ=="],["YQ==","Mg=="]],"version":2}"#,
             r#"entry 1: hash "h" has field YQ== twice (fields[0] and fields[1])"#),
            (r#"{"key":"s","type":"set","members":["YQ==","Yg==","YQ=="],"version":2}"#,
             r#"entry 1: set "s" has member YQ== twice (members[0] and members[2])"#),
            (r#"{"key":"h","type":"hash","fields":[],"version":2}"#, r#"entry 1: hash "h" has no fields"#),
            (r#"{"key":"s","type":"set","members":[],"version":2}"#, r#"entry 1: set "s" has no members"#),
            (r#"{"key":"h","type":"hash","fields":[["YQ==","@@"]],"version":2}"#,
             r#"entry 1: hash "h": fields[0] value is not valid base64"#),
            (r#"{"key":"h","type":"hash","fields":[["YQ==","MQ=="],["!","MQ=="]],"version":2}"#,
             r#"entry 1: hash "h": fields[1] field is not valid base64"#),
            (r#"{"key":"s","type":"set","members":["YQ==","Y"],"version":2}"#,
             r#"entry 1: set "s": members[1] is not valid base64"#),
            (r#"{"key":"h","type":"hash","version":2}"#, r#"entry 1: hash "h" has no 'fields'"#),
            (r#"{"key":"h","type":"hash","fields":null,"version":2}"#, r#"entry 1: hash "h" has no 'fields'"#),
            (r#"{"key":"s","type":"set","version":2}"#, r#"entry 1: set "s" has no 'members'"#),
            (r#"{"key":"s","type":"set","members":["YQ=="]}"#, "entry 1: missing version"),
            (r#"{"key":"x","type":"list","members":["YQ=="],"version":2}"#,
             "entry 1: a list entry has no 'members' (that member belongs to set entries)"),
            (r#"{"key":"x","type":"stream","members":["YQ=="],"version":2}"#, "entry 1: unsupported type 'stream'"),
            (r#"{"key":"h","type":"hash","value_base64":"","version":2}"#,
             "entry 1: a hash entry has no 'value_base64' (that member belongs to string entries)"),
            (r#"{"key":"h","type":"hash","fields":[["YQ==","YQ=="]],"members":["YQ=="],"version":2}"#,
             "entry 1: a hash entry has no 'members'"),
            (r#"{"key":"s","value_base64":"","members":["YQ=="],"version":2}"#,
             "entry 1: a string entry has no 'members'"),
            (r#"{"key":"h","type":"hash","fields":[["YQ==","YQ==","YQ=="]],"version":2}"#,
             "entry 1: invalid length 3, expected a [field_base64, value_base64] pair"),
            (r#"{"key":"h","type":"hash","fields":[["YQ=="]],"version":2}"#,
             "entry 1: invalid length 1, expected a [field_base64, value_base64] pair"),
            (r#"{"key":"s","type":"set","members":[5],"version":2}"#,
             "entry 1: invalid type: integer `5`, expected a base64 string"),
            (r#"{"key":"s","type":"set","members":"YQ==","version":2}"#,
             "entry 1: invalid type: string \"YQ==\", expected an array of base64 strings"),
        ];
        for (entry, want) in cases {
            let text = one(entry);
            for keep in [true, false] {
                let e = parse_dump_with(text.as_bytes(), keep)
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(want), "{entry}: {e}");
            }
        }
        let e = parse_dump(
            &br#"{"version":1,"entries":[{"key":"s","type":"set","members":["YQ=="]}]}"#[..],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("entry 0: type 'set' needs a v2 dump"), "{e}");
        let e = parse_dump(&br#"{"version":2,"entries":[{"key_base64":"/w==","type":"set","members":[],"version":1}]}"#[..])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("entry 0: set (key_base64 /w==) has no members"),
            "{e}"
        );
        // A truncated collection is still a truncated dump.
        let e = parse_dump(
            &br#"{"version":2,"entries":[{"key":"s","type":"set","members":["YQ==","#[..],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("truncated dump"), "{e}");
    }

    #[test]
    fn a_check_without_values_still_counts_keys_by_type() {
        let out = dump_of(&[
            coll(0, b"h", Value::Hash(vec![(b(b"f"), b(b"v"))]), 1, None),
            coll(0, b"s1", Value::Set(vec![b(b"1"), b(b"2")]), 2, None),
            coll(0, b"s2", Value::Set(vec![b(b"x")]), 3, None),
            rec(0, b"str", b"x", 4, None),
        ]);
        let d = parse_dump_with(&out[..], false).unwrap();
        assert_eq!(
            d.kind_counts(),
            [
                (Kind::String, 1),
                (Kind::Hash, 1),
                (Kind::Set, 2),
                (Kind::ZSet, 0),
                (Kind::List, 0)
            ]
        );
        assert!(d
            .entries
            .iter()
            .all(|e| e.value.is_empty() || e.value.kind() == Kind::String));
    }

    fn zbits(v: &Value) -> Vec<(Bytes, u64)> {
        match v {
            Value::ZSet(p) => {
                let mut v: Vec<(Bytes, u64)> =
                    p.iter().map(|(m, s)| (m.clone(), s.to_bits())).collect();
                v.sort();
                v
            }
            other => panic!("not a zset: {other:?}"),
        }
    }

    #[test]
    fn zsets_round_trip_with_binary_members_and_every_score_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        let mut pairs: Vec<(Bytes, f64)> = vec![
            (b(b"inf"), f64::INFINITY),
            (b(b"-inf"), f64::NEG_INFINITY),
            (b(b"negzero"), -0.0),
            (b(b"zero"), 0.0),
            (b(b"\x00\xff bin"), f64::from_bits(1)),
            (b(b"sub"), -f64::from_bits(0x000f_ffff_ffff_ffff)),
            (b(b"max"), f64::MAX),
            (b(b"min"), f64::MIN),
            (b(b"third"), 1.0 / 3.0),
            (b(b"big int"), 9_007_199_254_740_993.0),
            (b(b"int"), 42.0),
        ];
        // Random doubles of every exponent: the JSON text must parse back to the same bits.
        for i in 0..5000 {
            let s = f64::from_bits(rng.random::<u64>());
            if !s.is_nan() {
                pairs.push((b(format!("r{i}").as_bytes()), s));
            }
        }
        let recs = vec![
            coll(
                0,
                b"z",
                Value::ZSet(pairs.clone()),
                7,
                Some(4_000_000_000_000),
            ),
            coll(2, b"\xffsmall", Value::ZSet(vec![(b(b"a"), 1.5)]), 8, None),
        ];
        let out = dump_of(&recs);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains(r#""type":"zset""#), "{}", &text[..200]);
        assert!(text.contains(r#"["aW5m","inf"]"#), "inf as a string");
        assert!(text.contains(r#"["LWluZg==","-inf"]"#), "-inf as a string");
        let d = parse_dump(&out[..]).unwrap();
        assert_eq!(
            d.kind_counts(),
            [
                (Kind::String, 0),
                (Kind::Hash, 0),
                (Kind::Set, 0),
                (Kind::ZSet, 2),
                (Kind::List, 0)
            ]
        );
        let (back, skipped) = d.into_records(100, 0);
        assert_eq!(skipped, 0);
        assert_eq!(back.len(), 2);
        for (got, want) in back.iter().zip(&recs) {
            assert_eq!(
                (got.db, &got.key, got.version),
                (want.db, &want.key, want.version)
            );
            assert_eq!(got.expires_at_ms, want.expires_at_ms);
            assert_eq!(zbits(&got.value), zbits(&want.value), "{:?}", want.key);
        }
        // Two dumps of the same state are byte-identical whatever the pairs' order.
        let mut shuffled = pairs;
        shuffled.reverse();
        let again = dump_of(&[
            coll(0, b"z", Value::ZSet(shuffled), 7, Some(4_000_000_000_000)),
            recs[1].clone(),
        ]);
        assert_eq!(again, out);
    }

    #[test]
    fn zset_scores_may_be_integers_or_exponents_in_a_hand_written_dump() {
        let text = r#"{"version":2,"entries":[{"key":"z","type":"zset","version":3,
            "scored":[["YQ==",1],["Yg==",-2],["Yw==",1e3],["ZA==",-0.0],["ZQ==","inf"],["Zg==",2.5E-3]]}]}"#;
        let d = parse_dump(text.as_bytes()).unwrap();
        let got = zbits(&d.entries[0].value);
        let want = zbits(&Value::ZSet(vec![
            (b(b"a"), 1.0),
            (b(b"b"), -2.0),
            (b(b"c"), 1000.0),
            (b(b"d"), -0.0),
            (b(b"e"), f64::INFINITY),
            (b(b"f"), 0.0025),
        ]));
        assert_eq!(got, want);
    }

    #[test]
    fn bad_zset_entries_are_refused_naming_the_entry_and_the_pair() {
        let entry = |body: &str| {
            format!(
                r#"{{"version":2,"entries":[{{"key":"ok","value_base64":"eA==","version":1}},{{"key":"z","type":"zset","version":2{body}}}]}}"#
            )
        };
        let cases: &[(&str, &str)] = &[
            ("", "entry 1: zset \"z\" has no 'scored'"),
            (r#","scored":[]"#, "entry 1: zset \"z\" has no members"),
            (
                r#","scored":[["YQ==",1],["Yg==",2],["YQ==",3]]"#,
                "entry 1: zset \"z\" has member YQ== twice (scored[0] and scored[2])",
            ),
            (
                r#","scored":[["YQ==",1],["@@",2]]"#,
                "entry 1: zset \"z\": scored[1] member is not valid base64",
            ),
            (
                r#","scored":[["YQ==","nan"]]"#,
                "entry 1: zset \"z\": scored[0] score is the string \"nan\"",
            ),
            (
                r#","scored":[["YQ==","NaN"]]"#,
                "scored[0] score is the string \"NaN\"",
            ),
            (
                r#","scored":[["YQ==","+inf"]]"#,
                "scored[0] score is the string \"+inf\"",
            ),
            (
                r#","scored":[["YQ==","1.5"]]"#,
                "scored[0] score is the string \"1.5\"",
            ),
            (r#","scored":[["YQ==",null]]"#, "scored[0] score is null"),
            (r#","scored":[["YQ==",true]]"#, "scored[0] score is true"),
            (r#","scored":[["YQ==",[1]]]"#, "scored[0] score is an array"),
            (r#","scored":[["YQ==",1,2]]"#, "entry 1: invalid length 3"),
            (r#","scored":[["YQ=="]]"#, "entry 1: invalid length 1"),
            (r#","scored":[["YQ==",1e400]]"#, "number out of range"),
            (r#","scored":[["YQ==",NaN]]"#, "invalid JSON"),
            (r#","scored":{"a":1}"#, "entry 1: invalid type"),
            (
                r#","scored":[["YQ==",1]],"members":["YQ=="]"#,
                "entry 1: a zset entry has no 'members' (that member belongs to set entries)",
            ),
            (
                r#","members":["YQ=="]"#,
                "entry 1: a zset entry has no 'members'",
            ),
        ];
        for (body, want) in cases {
            let text = entry(body);
            let e = parse_dump(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
            // A check without values refuses the same dumps.
            assert!(parse_dump_with(text.as_bytes(), false).is_err(), "{body}");
        }
        // 'scored' on another type is refused too.
        let text = r#"{"version":2,"entries":[{"key":"s","type":"set","version":1,"members":["YQ=="],"scored":[["YQ==",1]]}]}"#;
        let e = parse_dump(text.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains(
                "entry 0: a set entry has no 'scored' (that member belongs to zset entries)"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_check_without_values_counts_zsets() {
        let out = dump_of(&[
            coll(0, b"z1", Value::ZSet(vec![(b(b"a"), 1.0)]), 1, None),
            coll(
                0,
                b"z2",
                Value::ZSet(vec![(b(b"a"), f64::INFINITY), (b(b"b"), 0.0)]),
                2,
                None,
            ),
            coll(0, b"s", Value::Set(vec![b(b"x")]), 3, None),
            rec(0, b"str", b"x", 4, None),
        ]);
        let d = parse_dump_with(&out[..], false).unwrap();
        assert_eq!(
            d.kind_counts(),
            [
                (Kind::String, 1),
                (Kind::Hash, 0),
                (Kind::Set, 1),
                (Kind::ZSet, 2),
                (Kind::List, 0)
            ]
        );
    }
}
