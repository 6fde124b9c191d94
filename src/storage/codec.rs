//! The bytes of WAL effects and snapshot pieces: storage's own msgpack codec.
//!
//! Owns: the plaintext encoding of a WAL entry (`[seq, [effect...]]`), of every effect, value
//! and snapshot piece, written by hand with `rmp`'s low-level functions. Every effect kind,
//! value kind and piece kind has an explicit number (the constants below, tabled in
//! `docs/storage-format.md` §12), so renaming a Rust variant can never change bytes on disk.
//!
//! Also decodes the *legacy* form: what earlier builds wrote through `rmp_serde` from the Rust
//! enums (variant names as strings, `{"Put": [...]}`, `"FlushAll"`, pair arrays `[[f, v]...]`).
//! Which form a payload holds is never guessed: the frame says it (WAL frame flag bit 1,
//! snapshot chunk flag bit 1, both authenticated as associated data), and the caller passes
//! [`Form`]. Decoding is strict (exact array lengths, known tags, no trailing bytes), bounded
//! (no allocation sized by an untrusted length beyond the bytes present) and never panics;
//! errors carry the byte position inside the plaintext.
//!
//! Does not: frame, encrypt or count anything (`wal`, `snapshot` do), or check the order of
//! snapshot pieces (`snapshot::SnapshotReader` checks the grammar).

use bytes::Bytes;
use rmp::Marker;

use crate::keyspace::{DbIndex, Effect, Kind, Piece, Record, Value};

/// Which encoding a payload holds (decided by the frame's flag bit, never by sniffing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// This codec: numeric tags.
    Typed,
    /// `rmp_serde` of the Rust enums, as builds before the typed codec wrote.
    Legacy,
}

/// Effect tags: the first element of an effect's array.
pub mod effect_tag {
    pub const PUT: u64 = 0;
    pub const DEL: u64 = 1;
    pub const SET_EXPIRY: u64 = 2;
    pub const FLUSH_DB: u64 = 3;
    pub const FLUSH_ALL: u64 = 4;
    pub const HASH_SET: u64 = 10;
    pub const HASH_DEL: u64 = 11;
    pub const SET_ADD: u64 = 20;
    pub const SET_REM: u64 = 21;
    /// 30..=39: sorted-set deltas.
    pub const ZSET_FIRST: u64 = 30;
    pub const ZSET_ADD: u64 = 30;
    pub const ZSET_REM: u64 = 31;
    /// 40..=49: list deltas.
    pub const LIST_FIRST: u64 = 40;
    pub const LIST_PUSH: u64 = 40;
    pub const LIST_POP: u64 = 41;
    pub const LIST_SET: u64 = 42;
    pub const LIST_INSERT: u64 = 43;
    pub const LIST_REM: u64 = 44;
    pub const LIST_TRIM: u64 = 45;
    /// 50..=59: stream deltas (reserved).
    pub const STREAM_FIRST: u64 = 50;
    /// 60..=69: server state that is not a key. 60: the function libraries, set whole.
    pub const FUNCTIONS: u64 = 60;
}

/// Value kinds: the first element of a value's array and a header's `kind`.
pub mod kind_tag {
    pub const STRING: u64 = 0;
    pub const HASH: u64 = 1;
    pub const SET: u64 = 2;
    pub const ZSET: u64 = 3;
    pub const LIST: u64 = 4;
    /// Reserved for streams.
    pub const STREAM: u64 = 5;
}

/// Snapshot piece tags: the first element of a piece's array.
pub mod piece_tag {
    pub const RECORD: u64 = 0;
    pub const HEADER: u64 = 1;
    pub const MEMBERS: u64 = 2;
    /// The function libraries: `[3, version, [code...]]`.
    pub const FUNCTIONS: u64 = 3;
}

/// A payload that does not decode: where (byte position in the plaintext) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {at} of the plaintext: {detail}")]
pub struct DecodeError {
    pub at: usize,
    pub detail: String,
}

/// Encoding into a `Vec` cannot fail except for a length beyond what msgpack can express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(String);

type Enc = Result<(), EncodeError>;

fn enc_err(e: impl std::fmt::Display) -> EncodeError {
    EncodeError(e.to_string())
}

fn w_uint(out: &mut Vec<u8>, v: u64) -> Enc {
    rmp::encode::write_uint(out, v).map(drop).map_err(enc_err)
}

fn w_len(n: usize) -> Result<u32, EncodeError> {
    u32::try_from(n).map_err(|_| EncodeError(format!("{n} elements do not fit msgpack")))
}

fn w_array(out: &mut Vec<u8>, n: usize) -> Enc {
    rmp::encode::write_array_len(out, w_len(n)?)
        .map(drop)
        .map_err(enc_err)
}

fn w_bin(out: &mut Vec<u8>, b: &[u8]) -> Enc {
    w_len(b.len())?;
    rmp::encode::write_bin(out, b).map_err(enc_err)
}

fn w_exp(out: &mut Vec<u8>, exp: Option<u64>) -> Enc {
    match exp {
        Some(t) => w_uint(out, t),
        None => rmp::encode::write_nil(out).map_err(enc_err),
    }
}

fn w_bins(out: &mut Vec<u8>, items: &[Bytes]) -> Enc {
    w_array(out, items.len())?;
    items.iter().try_for_each(|b| w_bin(out, b))
}

/// Pairs flattened: `[f1, v1, f2, v2, ...]` (half the array headers of `[[f, v]...]`).
fn w_pairs(out: &mut Vec<u8>, pairs: &[(Bytes, Bytes)]) -> Enc {
    w_array(out, pairs.len().saturating_mul(2))?;
    pairs.iter().try_for_each(|(f, v)| {
        w_bin(out, f)?;
        w_bin(out, v)
    })
}

/// Scored members flattened: `[m1, s1, m2, s2, ...]`, each score a float 64.
fn w_scored(out: &mut Vec<u8>, pairs: &[(Bytes, f64)]) -> Enc {
    w_array(out, pairs.len().saturating_mul(2))?;
    pairs.iter().try_for_each(|(m, score)| {
        w_bin(out, m)?;
        rmp::encode::write_f64(out, *score).map_err(enc_err)
    })
}

fn kind_number(k: Kind) -> u64 {
    match k {
        Kind::String => kind_tag::STRING,
        Kind::Hash => kind_tag::HASH,
        Kind::Set => kind_tag::SET,
        Kind::ZSet => kind_tag::ZSET,
        Kind::List => kind_tag::LIST,
    }
}

/// A value: `[kind, payload]`; payload bin (string), flat pairs (hash), bins (set).
pub fn encode_value(v: &Value, out: &mut Vec<u8>) -> Enc {
    w_array(out, 2)?;
    match v {
        Value::String(b) => {
            w_uint(out, kind_tag::STRING)?;
            w_bin(out, b)
        }
        Value::Hash(pairs) => {
            w_uint(out, kind_tag::HASH)?;
            w_pairs(out, pairs)
        }
        Value::Set(members) => {
            w_uint(out, kind_tag::SET)?;
            w_bins(out, members)
        }
        Value::ZSet(pairs) => {
            w_uint(out, kind_tag::ZSET)?;
            w_scored(out, pairs)
        }
        Value::List(elements) => {
            w_uint(out, kind_tag::LIST)?;
            w_bins(out, elements)
        }
    }
}

/// One effect: `[tag, fields...]` (see [`effect_tag`] and docs/storage-format.md §12).
pub fn encode_effect(e: &Effect, out: &mut Vec<u8>) -> Enc {
    match e {
        Effect::Put {
            db,
            key,
            value,
            expires_at_ms,
        } => {
            w_array(out, 5)?;
            w_uint(out, effect_tag::PUT)?;
            w_uint(out, u64::from(*db))?;
            w_bin(out, key)?;
            encode_value(value, out)?;
            w_exp(out, *expires_at_ms)
        }
        Effect::Del { db, key } => {
            w_array(out, 3)?;
            w_uint(out, effect_tag::DEL)?;
            w_uint(out, u64::from(*db))?;
            w_bin(out, key)
        }
        Effect::SetExpiry {
            db,
            key,
            expires_at_ms,
        } => {
            w_array(out, 4)?;
            w_uint(out, effect_tag::SET_EXPIRY)?;
            w_uint(out, u64::from(*db))?;
            w_bin(out, key)?;
            w_exp(out, *expires_at_ms)
        }
        Effect::FlushDb { db } => {
            w_array(out, 2)?;
            w_uint(out, effect_tag::FLUSH_DB)?;
            w_uint(out, u64::from(*db))
        }
        Effect::FlushAll => {
            w_array(out, 1)?;
            w_uint(out, effect_tag::FLUSH_ALL)
        }
        Effect::Functions { libraries } => {
            w_array(out, 2)?;
            w_uint(out, effect_tag::FUNCTIONS)?;
            w_bins(out, libraries)
        }
        Effect::HashSet {
            db,
            key,
            pairs,
            expires_at_ms,
        } => w_delta(out, effect_tag::HASH_SET, *db, key, *expires_at_ms, |o| {
            w_pairs(o, pairs)
        }),
        Effect::ZAdd {
            db,
            key,
            pairs,
            expires_at_ms,
        } => w_delta(out, effect_tag::ZSET_ADD, *db, key, *expires_at_ms, |o| {
            w_scored(o, pairs)
        }),
        Effect::ListPush {
            db,
            key,
            left,
            elements,
            expires_at_ms,
        } => w_list(out, effect_tag::LIST_PUSH, *db, key, *expires_at_ms, |o| {
            w_uint(o, u64::from(*left))?;
            w_bins(o, elements)
        }),
        Effect::ListPop {
            db,
            key,
            left,
            count,
            expires_at_ms,
        } => w_list(out, effect_tag::LIST_POP, *db, key, *expires_at_ms, |o| {
            w_uint(o, u64::from(*left))?;
            w_uint(o, *count)
        }),
        Effect::ListSet {
            db,
            key,
            index,
            element,
            expires_at_ms,
        }
        | Effect::ListInsert {
            db,
            key,
            index,
            element,
            expires_at_ms,
        } => {
            let tag = match e {
                Effect::ListSet { .. } => effect_tag::LIST_SET,
                _ => effect_tag::LIST_INSERT,
            };
            w_list(out, tag, *db, key, *expires_at_ms, |o| {
                w_uint(o, *index)?;
                w_bin(o, element)
            })
        }
        Effect::ListRem {
            db,
            key,
            count,
            element,
            expires_at_ms,
        } => w_list(out, effect_tag::LIST_REM, *db, key, *expires_at_ms, |o| {
            rmp::encode::write_sint(o, *count).map_err(enc_err)?;
            w_bin(o, element)
        }),
        Effect::ListTrim {
            db,
            key,
            front,
            back,
            expires_at_ms,
        } => w_list(out, effect_tag::LIST_TRIM, *db, key, *expires_at_ms, |o| {
            w_uint(o, *front)?;
            w_uint(o, *back)
        }),
        Effect::HashDel {
            db,
            key,
            fields: items,
            expires_at_ms,
        }
        | Effect::SetAdd {
            db,
            key,
            members: items,
            expires_at_ms,
        }
        | Effect::SetRem {
            db,
            key,
            members: items,
            expires_at_ms,
        }
        | Effect::ZRem {
            db,
            key,
            members: items,
            expires_at_ms,
        } => {
            let tag = match e {
                Effect::HashDel { .. } => effect_tag::HASH_DEL,
                Effect::SetAdd { .. } => effect_tag::SET_ADD,
                Effect::SetRem { .. } => effect_tag::SET_REM,
                _ => effect_tag::ZSET_REM,
            };
            w_delta(out, tag, *db, key, *expires_at_ms, |o| w_bins(o, items))
        }
    }
}

/// A collection delta: `[tag, db, key, payload, exp]`.
fn w_delta(
    out: &mut Vec<u8>,
    tag: u64,
    db: DbIndex,
    key: &[u8],
    exp: Option<u64>,
    payload: impl FnOnce(&mut Vec<u8>) -> Enc,
) -> Enc {
    w_array(out, 5)?;
    w_uint(out, tag)?;
    w_uint(out, u64::from(db))?;
    w_bin(out, key)?;
    payload(out)?;
    w_exp(out, exp)
}

/// A list delta: `[tag, db, key, a, b, exp]`, its two operands written by `operands`.
fn w_list(
    out: &mut Vec<u8>,
    tag: u64,
    db: DbIndex,
    key: &[u8],
    exp: Option<u64>,
    operands: impl FnOnce(&mut Vec<u8>) -> Enc,
) -> Enc {
    w_array(out, 6)?;
    w_uint(out, tag)?;
    w_uint(out, u64::from(db))?;
    w_bin(out, key)?;
    operands(out)?;
    w_exp(out, exp)
}

/// One WAL entry as it appears in a frame's array: `[seq, [effect...]]`.
pub fn encode_entry(seq: u64, effects: &[Effect], out: &mut Vec<u8>) -> Enc {
    w_array(out, 2)?;
    w_uint(out, seq)?;
    w_array(out, effects.len())?;
    effects.iter().try_for_each(|e| encode_effect(e, out))
}

/// One snapshot piece: `[0, db, key, value, version, exp]` (record),
/// `[1, db, key, kind, version, exp, members]` (header) or `[2, value]` (a batch).
pub fn encode_piece(p: &Piece, out: &mut Vec<u8>) -> Enc {
    match p {
        Piece::Record(r) => {
            w_array(out, 6)?;
            w_uint(out, piece_tag::RECORD)?;
            w_uint(out, u64::from(r.db))?;
            w_bin(out, &r.key)?;
            encode_value(&r.value, out)?;
            w_uint(out, r.version)?;
            w_exp(out, r.expires_at_ms)
        }
        Piece::Header {
            db,
            key,
            kind,
            version,
            expires_at_ms,
            members,
        } => {
            w_array(out, 7)?;
            w_uint(out, piece_tag::HEADER)?;
            w_uint(out, u64::from(*db))?;
            w_bin(out, key)?;
            w_uint(out, kind_number(*kind))?;
            w_uint(out, *version)?;
            w_exp(out, *expires_at_ms)?;
            w_uint(out, *members)
        }
        Piece::Members(v) => {
            w_array(out, 2)?;
            w_uint(out, piece_tag::MEMBERS)?;
            encode_value(v, out)
        }
        Piece::Functions { version, libraries } => {
            w_array(out, 3)?;
            w_uint(out, piece_tag::FUNCTIONS)?;
            w_uint(out, *version)?;
            w_bins(out, libraries)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

type Dr<T> = Result<T, DecodeError>;

/// A cursor over a plaintext that knows its position for error messages.
struct Dec<'a> {
    all: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Dec<'a> {
    fn new(b: &'a [u8]) -> Self {
        Dec { all: b, rest: b }
    }

    fn pos(&self) -> usize {
        self.all.len() - self.rest.len()
    }

    fn err<T>(&self, at: usize, detail: impl Into<String>) -> Dr<T> {
        Err(DecodeError {
            at,
            detail: detail.into(),
        })
    }

    fn peek(&self) -> Option<Marker> {
        self.rest.first().map(|b| Marker::from_u8(*b))
    }

    fn uint(&mut self, what: &str) -> Dr<u64> {
        let at = self.pos();
        rmp::decode::read_int::<u64, _>(&mut self.rest)
            .or_else(|e| self.err(at, format!("{what}: expected an unsigned integer ({e})")))
    }

    /// A list end: 1 = head (left), 0 = tail.
    fn list_end(&mut self) -> Dr<bool> {
        let at = self.pos();
        match self.uint("list end")? {
            0 => Ok(false),
            1 => Ok(true),
            n => self.err(at, format!("list end {n} (0 or 1 expected)")),
        }
    }

    fn sint(&mut self, what: &str) -> Dr<i64> {
        let at = self.pos();
        rmp::decode::read_int(&mut self.rest)
            .or_else(|e| self.err(at, format!("{what}: expected an integer ({e})")))
    }

    fn db(&mut self) -> Dr<DbIndex> {
        let at = self.pos();
        let v = self.uint("database")?;
        DbIndex::try_from(v).or_else(|_| self.err(at, format!("database {v} out of range")))
    }

    fn array(&mut self, what: &str) -> Dr<usize> {
        let at = self.pos();
        let n = rmp::decode::read_array_len(&mut self.rest)
            .or_else(|e| self.err(at, format!("{what}: expected an array ({e})")))?;
        Ok(n as usize)
    }

    /// An array of exactly `n` elements.
    fn array_of(&mut self, n: usize, what: &str) -> Dr<()> {
        let at = self.pos();
        let got = self.array(what)?;
        if got != n {
            return self.err(
                at,
                format!("{what}: {got} elements where {n} were expected"),
            );
        }
        Ok(())
    }

    /// A capacity for `n` elements of at least one byte each: never more than the bytes left,
    /// so a corrupt length cannot make us allocate gigabytes.
    fn cap(&self, n: usize) -> usize {
        n.min(self.rest.len())
    }

    fn take(&mut self, at: usize, n: u32, what: &str) -> Dr<Bytes> {
        let n = n as usize;
        match self.rest.split_at_checked(n) {
            Some((b, rest)) => {
                self.rest = rest;
                Ok(Bytes::copy_from_slice(b))
            }
            None => self.err(
                at,
                format!("{what}: {n} bytes announced, {} left", self.rest.len()),
            ),
        }
    }

    /// A byte string: bin (typed form); the legacy form also accepts str.
    fn bytes(&mut self, form: Form, what: &str) -> Dr<Bytes> {
        let at = self.pos();
        match (self.peek(), form) {
            (
                Some(Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32),
                Form::Legacy,
            ) => {
                let n = rmp::decode::read_str_len(&mut self.rest)
                    .or_else(|e| self.err(at, format!("{what}: {e}")))?;
                self.take(at, n, what)
            }
            _ => {
                let n = rmp::decode::read_bin_len(&mut self.rest)
                    .or_else(|e| self.err(at, format!("{what}: expected bytes ({e})")))?;
                self.take(at, n, what)
            }
        }
    }

    fn exp(&mut self) -> Dr<Option<u64>> {
        if self.peek() == Some(Marker::Null) {
            self.rest = self.rest.get(1..).unwrap_or_default();
            return Ok(None);
        }
        self.uint("expiry").map(Some)
    }

    fn bins(&mut self, form: Form, what: &str) -> Dr<Vec<Bytes>> {
        let n = self.array(what)?;
        let mut v = Vec::with_capacity(self.cap(n));
        for _ in 0..n {
            v.push(self.bytes(form, what)?);
        }
        Ok(v)
    }

    /// Flat `[m, score, ...]` (typed form only; no legacy build had sorted sets). A NaN
    /// score is refused: no build writes one.
    fn scored(&mut self, form: Form) -> Dr<Vec<(Bytes, f64)>> {
        let at = self.pos();
        let n = self.array("scored members")?;
        if n % 2 != 0 {
            return self.err(at, format!("odd scored-member array of {n}"));
        }
        let mut v = Vec::with_capacity(self.cap(n / 2));
        for _ in 0..n / 2 {
            let m = self.bytes(form, "member")?;
            let sat = self.pos();
            let score = rmp::decode::read_f64(&mut self.rest)
                .or_else(|e| self.err(sat, format!("score: expected a float 64 ({e})")))?;
            if score.is_nan() {
                return self.err(sat, "score is NaN");
            }
            v.push((m, score));
        }
        Ok(v)
    }

    /// Typed: flat `[f, v, ...]`; legacy: `[[f, v], ...]`.
    fn pairs(&mut self, form: Form) -> Dr<Vec<(Bytes, Bytes)>> {
        let at = self.pos();
        let n = self.array("pairs")?;
        let count = match form {
            Form::Typed if n % 2 != 0 => return self.err(at, format!("odd pair array of {n}")),
            Form::Typed => n / 2,
            Form::Legacy => n,
        };
        let mut v = Vec::with_capacity(self.cap(count));
        for _ in 0..count {
            if form == Form::Legacy {
                self.array_of(2, "pair")?;
            }
            let f = self.bytes(form, "field")?;
            v.push((f, self.bytes(form, "value")?));
        }
        Ok(v)
    }

    fn kind(&mut self, form: Form) -> Dr<Kind> {
        let at = self.pos();
        match form {
            Form::Typed => {
                let k = self.uint("kind")?;
                kind_from_number(k).or_else(|d| self.err(at, d))
            }
            Form::Legacy => {
                let name = self.variant_name()?;
                match name {
                    b"String" => Ok(Kind::String),
                    b"Hash" => Ok(Kind::Hash),
                    b"Set" => Ok(Kind::Set),
                    _ => self.err(at, format!("unknown legacy kind {}", show(name))),
                }
            }
        }
    }

    /// A bare string (a legacy unit variant's name).
    fn variant_name(&mut self) -> Dr<&'a [u8]> {
        let at = self.pos();
        let n = rmp::decode::read_str_len(&mut self.rest)
            .or_else(|e| self.err(at, format!("expected a variant name ({e})")))?;
        match self.rest.split_at_checked(n as usize) {
            Some((s, rest)) => {
                self.rest = rest;
                Ok(s)
            }
            None => self.err(at, "variant name runs past the end"),
        }
    }

    /// A legacy enum value: `{"Name": payload}`, or a bare `"Name"` for a unit variant
    /// (returned with `false`: no payload follows).
    fn legacy_variant(&mut self) -> Dr<(&'a [u8], bool)> {
        let at = self.pos();
        match self.peek() {
            Some(Marker::FixMap(_) | Marker::Map16 | Marker::Map32) => {
                let n = rmp::decode::read_map_len(&mut self.rest)
                    .or_else(|e| self.err(at, format!("{e}")))?;
                if n != 1 {
                    return self.err(at, format!("legacy variant map of {n} entries"));
                }
                Ok((self.variant_name()?, true))
            }
            _ => Ok((self.variant_name()?, false)),
        }
    }

    fn value(&mut self, form: Form) -> Dr<Value> {
        let at = self.pos();
        match form {
            Form::Typed => {
                self.array_of(2, "value")?;
                let k = self.uint("value kind")?;
                match kind_from_number(k).or_else(|d| self.err(at, d))? {
                    Kind::String => Ok(Value::String(self.bytes(form, "string")?)),
                    Kind::Hash => Ok(Value::Hash(self.pairs(form)?)),
                    Kind::Set => Ok(Value::Set(self.bins(form, "member")?)),
                    Kind::ZSet => Ok(Value::ZSet(self.scored(form)?)),
                    Kind::List => Ok(Value::List(self.bins(form, "element")?)),
                }
            }
            Form::Legacy => {
                let (name, payload) = self.legacy_variant()?;
                if !payload {
                    return self.err(at, "legacy value without payload");
                }
                match name {
                    b"String" => Ok(Value::String(self.bytes(form, "string")?)),
                    b"Hash" => Ok(Value::Hash(self.pairs(form)?)),
                    b"Set" => Ok(Value::Set(self.bins(form, "member")?)),
                    _ => self.err(at, format!("unknown legacy value {}", show(name))),
                }
            }
        }
    }

    fn effect(&mut self, form: Form) -> Dr<Effect> {
        match form {
            Form::Typed => self.typed_effect(),
            Form::Legacy => self.legacy_effect(),
        }
    }

    fn typed_effect(&mut self) -> Dr<Effect> {
        let at = self.pos();
        let n = self.array("effect")?;
        let tag = self.uint("effect tag")?;
        let want = match tag {
            effect_tag::PUT => 5,
            effect_tag::DEL => 3,
            effect_tag::SET_EXPIRY => 4,
            effect_tag::FLUSH_DB => 2,
            effect_tag::FLUSH_ALL => 1,
            effect_tag::FUNCTIONS => 2,
            effect_tag::HASH_SET
            | effect_tag::HASH_DEL
            | effect_tag::SET_ADD
            | effect_tag::SET_REM
            | effect_tag::ZSET_ADD
            | effect_tag::ZSET_REM => 5,
            effect_tag::LIST_PUSH
            | effect_tag::LIST_POP
            | effect_tag::LIST_SET
            | effect_tag::LIST_INSERT
            | effect_tag::LIST_REM
            | effect_tag::LIST_TRIM => 6,
            t => return self.err(at, format!("unknown effect tag {t}{}", reserved_effect(t))),
        };
        if n != want {
            return self.err(
                at,
                format!("effect {tag} with {n} elements, {want} expected"),
            );
        }
        let f = Form::Typed;
        let e = match tag {
            effect_tag::FLUSH_ALL => Effect::FlushAll,
            effect_tag::FLUSH_DB => Effect::FlushDb { db: self.db()? },
            effect_tag::FUNCTIONS => Effect::Functions {
                libraries: self.bins(f, "libraries")?,
            },
            _ => {
                let db = self.db()?;
                let key = self.bytes(f, "key")?;
                match tag {
                    effect_tag::PUT => Effect::Put {
                        db,
                        key,
                        value: self.value(f)?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::DEL => Effect::Del { db, key },
                    effect_tag::SET_EXPIRY => Effect::SetExpiry {
                        db,
                        key,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::HASH_SET => Effect::HashSet {
                        db,
                        key,
                        pairs: self.pairs(f)?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::HASH_DEL => Effect::HashDel {
                        db,
                        key,
                        fields: self.bins(f, "field")?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::SET_ADD => Effect::SetAdd {
                        db,
                        key,
                        members: self.bins(f, "member")?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::SET_REM => Effect::SetRem {
                        db,
                        key,
                        members: self.bins(f, "member")?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::ZSET_ADD => Effect::ZAdd {
                        db,
                        key,
                        pairs: self.scored(f)?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::ZSET_REM => Effect::ZRem {
                        db,
                        key,
                        members: self.bins(f, "member")?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::LIST_PUSH => Effect::ListPush {
                        db,
                        key,
                        left: self.list_end()?,
                        elements: self.bins(f, "element")?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::LIST_POP => Effect::ListPop {
                        db,
                        key,
                        left: self.list_end()?,
                        count: self.uint("pop count")?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::LIST_SET => Effect::ListSet {
                        db,
                        key,
                        index: self.uint("index")?,
                        element: self.bytes(f, "element")?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::LIST_INSERT => Effect::ListInsert {
                        db,
                        key,
                        index: self.uint("index")?,
                        element: self.bytes(f, "element")?,
                        expires_at_ms: self.exp()?,
                    },
                    effect_tag::LIST_REM => Effect::ListRem {
                        db,
                        key,
                        count: self.sint("LREM count")?,
                        element: self.bytes(f, "element")?,
                        expires_at_ms: self.exp()?,
                    },
                    _ => Effect::ListTrim {
                        db,
                        key,
                        front: self.uint("trim front")?,
                        back: self.uint("trim back")?,
                        expires_at_ms: self.exp()?,
                    },
                }
            }
        };
        Ok(e)
    }

    fn legacy_effect(&mut self) -> Dr<Effect> {
        let at = self.pos();
        let f = Form::Legacy;
        let (name, payload) = self.legacy_variant()?;
        if name == b"FlushAll" {
            // A unit variant: bare name, or (accepted too) a map to nil.
            if payload {
                self.expect_nil_or_empty()?;
            }
            return Ok(Effect::FlushAll);
        }
        if !payload {
            return self.err(at, format!("legacy effect {} without fields", show(name)));
        }
        let fields = match name {
            b"Put" | b"HashSet" | b"HashDel" | b"SetAdd" | b"SetRem" => 4,
            b"Del" => 2,
            b"SetExpiry" => 3,
            b"FlushDb" => 1,
            _ => return self.err(at, format!("unknown legacy effect {}", show(name))),
        };
        self.array_of(fields, "legacy effect")?;
        if name == b"FlushDb" {
            return Ok(Effect::FlushDb { db: self.db()? });
        }
        let db = self.db()?;
        let key = self.bytes(f, "key")?;
        Ok(match name {
            b"Put" => Effect::Put {
                db,
                key,
                value: self.value(f)?,
                expires_at_ms: self.exp()?,
            },
            b"Del" => Effect::Del { db, key },
            b"SetExpiry" => Effect::SetExpiry {
                db,
                key,
                expires_at_ms: self.exp()?,
            },
            b"HashSet" => Effect::HashSet {
                db,
                key,
                pairs: self.pairs(f)?,
                expires_at_ms: self.exp()?,
            },
            b"HashDel" => Effect::HashDel {
                db,
                key,
                fields: self.bins(f, "field")?,
                expires_at_ms: self.exp()?,
            },
            b"SetAdd" => Effect::SetAdd {
                db,
                key,
                members: self.bins(f, "member")?,
                expires_at_ms: self.exp()?,
            },
            _ => Effect::SetRem {
                db,
                key,
                members: self.bins(f, "member")?,
                expires_at_ms: self.exp()?,
            },
        })
    }

    fn expect_nil_or_empty(&mut self) -> Dr<()> {
        let at = self.pos();
        match self.peek() {
            Some(Marker::Null) => {
                self.rest = self.rest.get(1..).unwrap_or_default();
                Ok(())
            }
            _ => self
                .array_of(0, "unit variant")
                .or_else(|_| self.err(at, "unit variant with data")),
        }
    }

    /// A record's fields after its tag (typed) or as the legacy 5-array.
    fn record_fields(&mut self, form: Form) -> Dr<Record> {
        Ok(Record {
            db: self.db()?,
            key: self.bytes(form, "key")?,
            value: self.value(form)?,
            version: self.uint("version")?,
            expires_at_ms: self.exp()?,
        })
    }

    fn piece(&mut self, form: Form) -> Dr<Piece> {
        match form {
            Form::Typed => self.typed_piece(),
            Form::Legacy => self.legacy_piece(),
        }
    }

    fn typed_piece(&mut self) -> Dr<Piece> {
        let at = self.pos();
        let n = self.array("piece")?;
        let tag = self.uint("piece tag")?;
        let want = match tag {
            piece_tag::RECORD => 6,
            piece_tag::HEADER => 7,
            piece_tag::MEMBERS => 2,
            piece_tag::FUNCTIONS => 3,
            t => return self.err(at, format!("unknown piece tag {t}")),
        };
        if n != want {
            return self.err(
                at,
                format!("piece {tag} with {n} elements, {want} expected"),
            );
        }
        let f = Form::Typed;
        Ok(match tag {
            piece_tag::RECORD => Piece::Record(self.record_fields(f)?),
            piece_tag::HEADER => Piece::Header {
                db: self.db()?,
                key: self.bytes(f, "key")?,
                kind: self.kind(f)?,
                version: self.uint("version")?,
                expires_at_ms: self.exp()?,
                members: self.uint("members")?,
            },
            piece_tag::FUNCTIONS => Piece::Functions {
                version: self.uint("version")?,
                libraries: self.bins(f, "libraries")?,
            },
            _ => Piece::Members(self.value(f)?),
        })
    }

    /// Legacy chunks hold `[db, key, value, version, exp]` records (builds before pieces) or
    /// `{"Record": ...}` / `{"Header": ...}` / `{"Members": ...}` pieces (the transitional one).
    fn legacy_piece(&mut self) -> Dr<Piece> {
        let at = self.pos();
        let f = Form::Legacy;
        if matches!(
            self.peek(),
            Some(Marker::FixArray(_) | Marker::Array16 | Marker::Array32)
        ) {
            self.array_of(5, "legacy record")?;
            return Ok(Piece::Record(self.record_fields(f)?));
        }
        let (name, payload) = self.legacy_variant()?;
        if !payload {
            return self.err(at, format!("legacy piece {} without data", show(name)));
        }
        match name {
            b"Record" => {
                self.array_of(5, "legacy record")?;
                Ok(Piece::Record(self.record_fields(f)?))
            }
            b"Header" => {
                self.array_of(6, "legacy header")?;
                Ok(Piece::Header {
                    db: self.db()?,
                    key: self.bytes(f, "key")?,
                    kind: self.kind(f)?,
                    version: self.uint("version")?,
                    expires_at_ms: self.exp()?,
                    members: self.uint("members")?,
                })
            }
            b"Members" => Ok(Piece::Members(self.value(f)?)),
            _ => self.err(at, format!("unknown legacy piece {}", show(name))),
        }
    }

    fn end(&self) -> Dr<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            self.err(self.pos(), format!("{} trailing bytes", self.rest.len()))
        }
    }
}

fn kind_from_number(k: u64) -> Result<Kind, String> {
    match k {
        kind_tag::STRING => Ok(Kind::String),
        kind_tag::HASH => Ok(Kind::Hash),
        kind_tag::SET => Ok(Kind::Set),
        kind_tag::ZSET => Ok(Kind::ZSet),
        kind_tag::LIST => Ok(Kind::List),
        kind_tag::STREAM => {
            Err("kind 5 (reserved for streams) is not supported by this build".into())
        }
        k => Err(format!("unknown value kind {k}")),
    }
}

fn reserved_effect(t: u64) -> &'static str {
    match t {
        32..=39 => " (reserved for sorted sets; not supported by this build)",
        46..=49 => " (reserved for lists; not supported by this build)",
        50..=59 => " (reserved for streams; not supported by this build)",
        61..=69 => " (reserved for server state; not supported by this build)",
        _ => "",
    }
}

fn show(name: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(name))
}

/// Decodes a frame's entries: `[entry...]` where an entry is `[seq, [effect...]]`.
pub fn decode_entries(payload: &[u8], form: Form) -> Dr<Vec<(u64, Vec<Effect>)>> {
    let mut d = Dec::new(payload);
    let n = d.array("entries")?;
    let mut entries = Vec::with_capacity(d.cap(n));
    for _ in 0..n {
        d.array_of(2, "entry")?;
        let seq = d.uint("sequence")?;
        let m = d.array("effects")?;
        let mut effects = Vec::with_capacity(d.cap(m));
        for _ in 0..m {
            effects.push(d.effect(form)?);
        }
        entries.push((seq, effects));
    }
    d.end()?;
    Ok(entries)
}

/// Decodes a snapshot chunk's pieces: `[piece...]`.
pub fn decode_pieces(plain: &[u8], form: Form) -> Dr<Vec<Piece>> {
    let mut d = Dec::new(plain);
    let n = d.array("pieces")?;
    let mut pieces = Vec::with_capacity(d.cap(n));
    for _ in 0..n {
        pieces.push(d.piece(form)?);
    }
    d.end()?;
    Ok(pieces)
}

/// One effect on its own (tests and tools).
pub fn decode_effect(b: &[u8], form: Form) -> Dr<Effect> {
    let mut d = Dec::new(b);
    let e = d.effect(form)?;
    d.end()?;
    Ok(e)
}

/// One value on its own (tests and tools).
pub fn decode_value(b: &[u8], form: Form) -> Dr<Value> {
    let mut d = Dec::new(b);
    let v = d.value(form)?;
    d.end()?;
    Ok(v)
}

/// One piece on its own (tests and tools).
pub fn decode_piece(b: &[u8], form: Form) -> Dr<Piece> {
    let mut d = Dec::new(b);
    let p = d.piece(form)?;
    d.end()?;
    Ok(p)
}

/// The snapshot trailer: `[records, chunks]` or `[records, chunks, horizon]`, unsigned ints.
pub fn encode_u64s(v: &[u64], out: &mut Vec<u8>) -> Enc {
    w_array(out, v.len())?;
    v.iter().try_for_each(|x| w_uint(out, *x))
}

/// Decodes an array of unsigned integers (the trailer).
pub fn decode_u64s(b: &[u8]) -> Dr<Vec<u64>> {
    let mut d = Dec::new(b);
    let n = d.array("trailer")?;
    let mut v = Vec::with_capacity(d.cap(n));
    for _ in 0..n {
        v.push(d.uint("trailer field")?);
    }
    d.end()?;
    Ok(v)
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
