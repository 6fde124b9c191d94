//! The logical dump format (JSON, docs/backup.md): a streaming writer and a streaming parser.
//!
//! Owns: the byte layout of v1 and v2 dumps and of the `<dump>.manifest.json` sidecar.
//! Invariants: the writer never holds the whole dump in memory (entries are encoded one at a
//! time into the output, which is hashed as it goes); the parser decodes each entry as soon as
//! it is read (the base64 text is dropped at once) and fully validates the dump (JSON, version,
//! base64, types, versions, databases, duplicates) before anyone may act on it.
//! Does not: touch the keyspace or decide where files live.

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
use crate::keyspace::{DbIndex, Record, Value};

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
    write!(
        out,
        ",\"source_sequence\":{},\"entries\":[",
        header.source_sequence
    )?;
    let mut n = 0u64;
    let mut b64 = String::new();
    for r in records {
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
        let Value::String(v) = &r.value else {
            return Err(std::io::Error::other("collections are not in backups yet"));
        };
        b64.clear();
        B64.encode_string(v, &mut b64);
        write!(
            out,
            ",\"type\":\"{}\",\"value_base64\":\"{b64}\",\"version\":{}",
            r.value.type_name(),
            r.version
        )?;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpEntry {
    pub db: DbIndex,
    pub key: Bytes,
    pub value: Bytes,
    /// `None` in v1 dumps (the restore gives them a fresh clock value).
    pub version: Option<u64>,
    pub expires_at_ms: Option<u64>,
    /// The value came as text (`value`, v1) rather than `value_base64` (v2).
    text_value: bool,
}

/// A parsed and validated dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub version: u64,
    pub created_at_ms: Option<u64>,
    pub source_engine_version: Option<String>,
    pub source_sequence: Option<u64>,
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
        match self.entries.iter().position(|e| e.db as usize >= databases) {
            Some(i) => Err(BackupError::Invalid(format!(
                "entry {i}: db {} is out of range (this server has {databases} databases)",
                self.entries[i].db
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
                value: Value::String(e.value),
                version: e.version.unwrap_or(fresh),
                expires_at_ms: e.expires_at_ms,
            });
        }
        (out, skipped)
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
    version: Option<u64>,
    expires_at_ms: Option<u64>,
    db: Option<u64>,
}

fn decode_entry(i: usize, r: RawEntry) -> Result<DumpEntry, String> {
    let key = match (r.key, r.key_base64) {
        (Some(k), None) => Bytes::from(k.into_bytes()),
        (None, Some(k)) => Bytes::from(
            B64.decode(k.as_bytes())
                .map_err(|e| format!("entry {i}: key_base64 is not valid base64 ({e})"))?,
        ),
        (Some(_), Some(_)) => return Err(format!("entry {i}: has both key and key_base64")),
        (None, None) => return Err(format!("entry {i}: has no key")),
    };
    match r.ty.as_deref() {
        None | Some("string") => {}
        Some(t) => {
            return Err(format!(
                "entry {i}: unsupported type '{t}' (this server restores strings)"
            ))
        }
    }
    let (value, text_value) = match (r.value, r.value_base64) {
        (None, Some(v)) => (
            Bytes::from(
                B64.decode(v.as_bytes())
                    .map_err(|e| format!("entry {i}: value_base64 is not valid base64 ({e})"))?,
            ),
            false,
        ),
        (Some(v), None) => (Bytes::from(v.into_bytes()), true),
        (Some(_), Some(_)) => return Err(format!("entry {i}: has both value and value_base64")),
        (None, None) => return Err(format!("entry {i}: has no value")),
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

/// Decodes entries into the vector; with `keep_values == false` each value is checked and then
/// dropped (verification needs no values, so its memory is the keys only).
struct EntriesSeed<'a>(&'a mut Vec<DumpEntry>, bool);

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
        while let Some(raw) = seq.next_element::<RawEntry>()? {
            let i = self.0.len();
            let mut e = decode_entry(i, raw).map_err(de::Error::custom)?;
            if !self.1 {
                e.value = Bytes::new();
            }
            self.0.push(e);
        }
        Ok(())
    }
}

#[derive(Default)]
struct Top {
    version: Option<u64>,
    created_at_ms: Option<u64>,
    source_engine_version: Option<String>,
    source_sequence: Option<u64>,
    entries: Option<Vec<DumpEntry>>,
}

struct TopVisitor(bool);

impl<'de> Visitor<'de> for TopVisitor {
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
                "entries" => {
                    let mut v = Vec::new();
                    map.next_value_seed(EntriesSeed(&mut v, self.0))?;
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

fn json_error(e: serde_json::Error) -> BackupError {
    if e.is_eof() {
        BackupError::Invalid(format!("truncated dump: {e}"))
    } else if e.is_data() {
        BackupError::Invalid(e.to_string())
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
    let mut de = serde_json::Deserializer::from_reader(r);
    let top = de
        .deserialize_map(TopVisitor(keep_values))
        .map_err(json_error)?;
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
    Ok(Dump {
        version,
        created_at_ms: t.created_at_ms,
        source_engine_version: t.source_engine_version,
        source_sequence: t.source_sequence,
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
            ("{\"version\":2,\"entries\":[{\"key\":\"a\",\"type\":\"hash\",\"value_base64\":\"\",\"version\":1}]}", "unsupported type 'hash'"),
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
}
