//! Golden bytes of the typed codec (every effect, value and piece kind) and of the legacy
//! `rmp_serde` form earlier builds wrote (captured from the build before the codec, as hex):
//! a change to either breaks every data dir ever written, so these bytes must never change.

use super::*;

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn samples() -> (Vec<Effect>, Vec<Value>, Vec<Piece>) {
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    let effects = vec![
        Effect::Put {
            db: 0,
            key: b("k"),
            value: Value::String(b("v")),
            expires_at_ms: None,
        },
        Effect::Put {
            db: 3,
            key: b("k"),
            value: Value::String(b("v")),
            expires_at_ms: Some(1_700_000_000_000),
        },
        Effect::Put {
            db: 0,
            key: b("h"),
            value: Value::Hash(vec![(b("f"), b("v"))]),
            expires_at_ms: None,
        },
        Effect::Put {
            db: 0,
            key: b("s"),
            value: Value::Set(vec![b("a"), b("b")]),
            expires_at_ms: None,
        },
        Effect::Del { db: 1, key: b("k") },
        Effect::SetExpiry {
            db: 0,
            key: b("k"),
            expires_at_ms: Some(5),
        },
        Effect::SetExpiry {
            db: 0,
            key: b("k"),
            expires_at_ms: None,
        },
        Effect::FlushDb { db: 2 },
        Effect::FlushAll,
        Effect::HashSet {
            db: 0,
            key: b("h"),
            pairs: vec![(b("f"), b("v"))],
            expires_at_ms: None,
        },
        Effect::HashDel {
            db: 0,
            key: b("h"),
            fields: vec![b("f")],
            expires_at_ms: Some(7),
        },
        Effect::SetAdd {
            db: 0,
            key: b("s"),
            members: vec![b("a"), b("b")],
            expires_at_ms: None,
        },
        Effect::SetRem {
            db: 0,
            key: b("s"),
            members: vec![b("a")],
            expires_at_ms: None,
        },
    ];
    let values = vec![
        Value::String(b("v")),
        Value::Hash(vec![(b("f"), b("v")), (b("g"), b("w"))]),
        Value::Set(vec![b("a")]),
    ];
    let pieces = vec![
        Piece::Record(Record {
            db: 0,
            key: b("k"),
            value: Value::String(b("v")),
            version: 9,
            expires_at_ms: None,
        }),
        Piece::Header {
            db: 0,
            key: b("s"),
            kind: Kind::Set,
            version: 300,
            expires_at_ms: None,
            members: 2000,
        },
        Piece::Header {
            db: 1,
            key: b("h"),
            kind: Kind::Hash,
            version: 7,
            expires_at_ms: Some(5),
            members: 1025,
        },
        Piece::Members(Value::Set(vec![b("a")])),
        Piece::Members(Value::Hash(vec![(b("f"), b("v"))])),
    ];
    (effects, values, pieces)
}

/// New encoding of each sample effect, in the order of `samples()`.
const TYPED_EFFECTS: [&str; 13] = [
    "950000c4016b9200c40176c0",
    "950003c4016b9200c40176cf0000018bcfe56800",
    "950000c40168920192c40166c40176c0",
    "950000c40173920292c40161c40162c0",
    "930101c4016b",
    "940200c4016b05",
    "940200c4016bc0",
    "920302",
    "9104",
    "950a00c4016892c40166c40176c0",
    "950b00c4016891c4016607",
    "951400c4017392c40161c40162c0",
    "951500c4017391c40161c0",
];

/// What `rmp_serde` made of the same effects in the build before the codec.
const LEGACY_EFFECTS: [&str; 13] = [
    "81a35075749400c4016b81a6537472696e67c40176c0",
    "81a35075749403c4016b81a6537472696e67c40176cf0000018bcfe56800",
    "81a35075749400c4016881a4486173689192c40166c40176c0",
    "81a35075749400c4017381a353657492c40161c40162c0",
    "81a344656c9201c4016b",
    "81a95365744578706972799300c4016b05",
    "81a95365744578706972799300c4016bc0",
    "81a7466c75736844629102",
    "a8466c757368416c6c",
    "81a7486173685365749400c401689192c40166c40176c0",
    "81a74861736844656c9400c4016891c4016607",
    "81a65365744164649400c4017392c40161c40162c0",
    "81a653657452656d9400c4017391c40161c0",
];

const TYPED_VALUES: [&str; 3] = [
    "9200c40176",
    "920194c40166c40176c40167c40177",
    "920291c40161",
];
const LEGACY_VALUES: [&str; 3] = [
    "81a6537472696e67c40176",
    "81a4486173689292c40166c4017692c40167c40177",
    "81a353657491c40161",
];

const TYPED_PIECES: [&str; 5] = [
    "960000c4016b9200c4017609c0",
    "970100c4017302cd012cc0cd07d0",
    "970101c40168010705cd0401",
    "9202920291c40161",
    "9202920192c40166c40176",
];
const LEGACY_PIECES: [&str; 5] = [
    "81a65265636f72649500c4016b81a6537472696e67c4017609c0",
    "81a64865616465729600c40173a3536574cd012cc0cd07d0",
    "81a64865616465729601c40168a4486173680705cd0401",
    "81a74d656d6265727381a353657491c40161",
    "81a74d656d6265727381a4486173689192c40166c40176",
];

/// A bare record (`Vec<Record>` chunks of builds before pieces).
const LEGACY_RECORD: &str = "9500c4016b81a6537472696e67c4017609c0";

#[test]
fn typed_effects_have_pinned_bytes_and_round_trip() {
    let (effects, _, _) = samples();
    for (e, want) in effects.iter().zip(TYPED_EFFECTS) {
        let mut out = Vec::new();
        encode_effect(e, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{e:?}");
        assert_eq!(&decode_effect(&out, Form::Typed).unwrap(), e);
    }
}

#[test]
fn typed_values_and_pieces_have_pinned_bytes_and_round_trip() {
    let (_, values, pieces) = samples();
    for (v, want) in values.iter().zip(TYPED_VALUES) {
        let mut out = Vec::new();
        encode_value(v, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{v:?}");
        assert_eq!(&decode_value(&out, Form::Typed).unwrap(), v);
    }
    for (p, want) in pieces.iter().zip(TYPED_PIECES) {
        let mut out = Vec::new();
        encode_piece(p, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{p:?}");
        assert_eq!(&decode_piece(&out, Form::Typed).unwrap(), p);
    }
}

#[test]
fn legacy_rmp_serde_bytes_of_earlier_builds_still_decode() {
    let (effects, values, pieces) = samples();
    for (e, legacy) in effects.iter().zip(LEGACY_EFFECTS) {
        assert_eq!(&decode_effect(&unhex(legacy), Form::Legacy).unwrap(), e);
    }
    for (v, legacy) in values.iter().zip(LEGACY_VALUES) {
        assert_eq!(&decode_value(&unhex(legacy), Form::Legacy).unwrap(), v);
    }
    for (p, legacy) in pieces.iter().zip(LEGACY_PIECES) {
        assert_eq!(&decode_piece(&unhex(legacy), Form::Legacy).unwrap(), p);
    }
    assert_eq!(
        decode_piece(&unhex(LEGACY_RECORD), Form::Legacy).unwrap(),
        pieces[0]
    );
    // A legacy frame payload: array32 of `[seq, [effects]]` entries.
    let payload = unhex("dd00000002920591a8466c757368416c6c9206917f");
    let err = decode_entries(&payload, Form::Legacy).unwrap_err();
    assert_eq!(err.at, 20, "{err}");
    let payload = unhex(&format!(
        "dd00000002920591a8466c757368416c6c920691{}",
        LEGACY_EFFECTS[4]
    ));
    assert_eq!(
        decode_entries(&payload, Form::Legacy).unwrap(),
        vec![(5, vec![Effect::FlushAll]), (6, vec![effects[4].clone()])]
    );
    // A legacy chunk mixing bare records (older builds) and pieces (the transitional build).
    let chunk = unhex(&format!("dd00000002{LEGACY_RECORD}{}", LEGACY_PIECES[1]));
    assert_eq!(
        decode_pieces(&chunk, Form::Legacy).unwrap(),
        vec![pieces[0].clone(), pieces[1].clone()]
    );
}

#[test]
fn the_form_is_the_frames_word_not_a_guess() {
    // Typed bytes are refused as legacy and legacy bytes as typed.
    let (effects, _, pieces) = samples();
    for (e, (t, l)) in effects.iter().zip(TYPED_EFFECTS.iter().zip(LEGACY_EFFECTS)) {
        assert!(decode_effect(&unhex(t), Form::Legacy).is_err(), "{e:?}");
        assert!(decode_effect(&unhex(l), Form::Typed).is_err(), "{e:?}");
    }
    for (t, l) in TYPED_PIECES.iter().zip(LEGACY_PIECES) {
        assert!(decode_piece(&unhex(t), Form::Legacy).is_err());
        assert!(decode_piece(&unhex(l), Form::Typed).is_err());
    }
    let mut chunk = Vec::new();
    w_array(&mut chunk, 1).unwrap();
    encode_piece(&pieces[0], &mut chunk).unwrap();
    assert_eq!(
        decode_pieces(&chunk, Form::Typed).unwrap(),
        vec![pieces[0].clone()]
    );
}

#[test]
fn entries_encode_as_seq_and_effect_array() {
    let mut out = Vec::new();
    encode_entry(5, &[Effect::FlushAll, Effect::FlushDb { db: 2 }], &mut out).unwrap();
    assert_eq!(hex(&out), "9205929104920302");
    let mut payload = unhex("91");
    payload.extend_from_slice(&out);
    assert_eq!(
        decode_entries(&payload, Form::Typed).unwrap(),
        vec![(5, vec![Effect::FlushAll, Effect::FlushDb { db: 2 }])]
    );
    let mut t = Vec::new();
    encode_u64s(&[3, 1, 300], &mut t).unwrap();
    assert_eq!(hex(&t), "930301cd012c");
    assert_eq!(decode_u64s(&t).unwrap(), vec![3, 1, 300]);
}

#[test]
fn reserved_and_unknown_tags_are_refused_with_their_position() {
    // [32, ...]: a sorted-set delta this build does not know (30 and 31 it does).
    let e = decode_effect(&unhex("932000c4016b"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("sorted sets"), "{e}");
    assert_eq!(e.at, 0);
    // A value of kind 5 (streams) inside a Put, at byte 6.
    let e = decode_effect(&unhex("950000c4016b9205c40176c0"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("streams"), "{e}");
    assert_eq!(e.at, 6);
    let e = decode_piece(&unhex("9209"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("unknown piece tag 9"), "{e}");
    // Wrong arity, odd pair array, database out of range, trailing bytes.
    assert!(decode_effect(&unhex("940000c4016b"), Form::Typed).is_err());
    assert!(decode_value(&unhex("920193c40166c40176c40167"), Form::Typed).is_err());
    let e = decode_effect(&unhex("9301cd0100c4016b"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("database 256"), "{e}");
    assert!(decode_effect(&unhex("910400"), Form::Typed).is_err());
}

#[test]
fn truncated_or_garbage_payloads_fail_without_panicking_or_huge_allocations() {
    let (effects, _, pieces) = samples();
    let mut all = Vec::new();
    for e in &effects {
        let mut out = Vec::new();
        encode_effect(e, &mut out).unwrap();
        all.push(out);
    }
    for p in &pieces {
        let mut out = Vec::new();
        encode_piece(p, &mut out).unwrap();
        all.push(out);
    }
    for b in &all {
        for cut in 0..b.len() {
            assert!(decode_effect(&b[..cut], Form::Typed).is_err());
            assert!(decode_piece(&b[..cut], Form::Typed).is_err());
            assert!(decode_effect(&b[..cut], Form::Legacy).is_err());
        }
    }
    // An array announcing 4 billion entries in 5 bytes.
    assert!(decode_entries(&unhex("ddffffffff"), Form::Typed).is_err());
    assert!(decode_pieces(&unhex("ddffffffff"), Form::Legacy).is_err());
    // A bin announcing 4 GiB.
    assert!(decode_value(&unhex("9200c6ffffffff"), Form::Typed).is_err());
    // Every single byte flipped in a piece either fails or decodes to something (never panics).
    for b in &all {
        for i in 0..b.len() {
            for x in [0x00, 0xff, 0x80, 0xc0, 0xdd] {
                let mut c = b.clone();
                c[i] = x;
                let _ = decode_piece(&c, Form::Typed);
                let _ = decode_effect(&c, Form::Typed);
                let _ = decode_piece(&c, Form::Legacy);
                let _ = decode_effect(&c, Form::Legacy);
            }
        }
    }
}

// ---- sorted sets: tags 30/31, kind 3, zset headers and batches -----------------------------

fn zset_samples() -> (Vec<Effect>, Vec<Value>, Vec<Piece>) {
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    let effects = vec![
        Effect::ZAdd {
            db: 0,
            key: b("z"),
            pairs: vec![(b("a"), 1.5), (b("b"), f64::INFINITY)],
            expires_at_ms: None,
        },
        Effect::ZAdd {
            db: 2,
            key: b("z"),
            pairs: vec![(b("n"), f64::NEG_INFINITY), (b("m"), -0.0)],
            expires_at_ms: Some(1_700_000_000_000),
        },
        Effect::ZRem {
            db: 0,
            key: b("z"),
            members: vec![b("a"), b("b")],
            expires_at_ms: None,
        },
        Effect::ZRem {
            db: 1,
            key: b("z"),
            members: vec![b("a")],
            expires_at_ms: Some(7),
        },
        Effect::Put {
            db: 0,
            key: b("z"),
            value: Value::ZSet(vec![(b("a"), 0.0)]),
            expires_at_ms: None,
        },
    ];
    let values = vec![
        Value::ZSet(vec![(b("a"), 1.0), (b("b"), -2.25)]),
        // The smallest subnormal and the largest finite double.
        Value::ZSet(vec![(b("s"), f64::from_bits(1)), (b("x"), f64::MAX)]),
    ];
    let pieces = vec![
        Piece::Record(Record {
            db: 0,
            key: b("z"),
            value: Value::ZSet(vec![(b("a"), 1.0)]),
            version: 9,
            expires_at_ms: Some(5),
        }),
        Piece::Header {
            db: 0,
            key: b("z"),
            kind: Kind::ZSet,
            version: 300,
            expires_at_ms: None,
            members: 2000,
        },
        Piece::Members(Value::ZSet(vec![
            (b("a"), f64::NEG_INFINITY),
            (b("b"), -0.0),
        ])),
    ];
    (effects, values, pieces)
}

/// `[30, db, key, [m, f64, ...], exp]` / `[31, db, key, [m...], exp]`; a score is always a
/// msgpack float 64 (`cb` + 8 bytes big-endian), never narrowed to float 32 or an integer.
const ZSET_EFFECTS: [&str; 5] = [
    "951e00c4017a94c40161cb3ff8000000000000c40162cb7ff0000000000000c0",
    "951e02c4017a94c4016ecbfff0000000000000c4016dcb8000000000000000cf0000018bcfe56800",
    "951f00c4017a92c40161c40162c0",
    "951f01c4017a91c4016107",
    "950000c4017a920392c40161cb0000000000000000c0",
];
const ZSET_VALUES: [&str; 2] = [
    "920394c40161cb3ff0000000000000c40162cbc002000000000000",
    "920394c40173cb0000000000000001c40178cb7fefffffffffffff",
];
const ZSET_PIECES: [&str; 3] = [
    "960000c4017a920392c40161cb3ff00000000000000905",
    "970100c4017a03cd012cc0cd07d0",
    "9202920394c40161cbfff0000000000000c40162cb8000000000000000",
];

fn bits_of(v: &Value) -> Vec<(Bytes, u64)> {
    match v {
        Value::ZSet(p) => p.iter().map(|(m, s)| (m.clone(), s.to_bits())).collect(),
        other => panic!("not a zset: {other:?}"),
    }
}

#[test]
fn zset_effects_values_and_pieces_have_pinned_bytes_and_round_trip_bit_exact() {
    let (effects, values, pieces) = zset_samples();
    for (e, want) in effects.iter().zip(ZSET_EFFECTS) {
        let mut out = Vec::new();
        encode_effect(e, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{e:?}");
        let back = decode_effect(&out, Form::Typed).unwrap();
        assert_eq!(&back, e);
        // PartialEq on f64 says -0.0 == 0.0: compare the bits too.
        match (&back, e) {
            (Effect::ZAdd { pairs: a, .. }, Effect::ZAdd { pairs: w, .. }) => {
                assert_eq!(
                    bits_of(&Value::ZSet(a.clone())),
                    bits_of(&Value::ZSet(w.clone()))
                );
            }
            (Effect::Put { value: a, .. }, Effect::Put { value: w, .. }) => {
                assert_eq!(bits_of(a), bits_of(w));
            }
            _ => {}
        }
    }
    for (v, want) in values.iter().zip(ZSET_VALUES) {
        let mut out = Vec::new();
        encode_value(v, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{v:?}");
        let back = decode_value(&out, Form::Typed).unwrap();
        assert_eq!(bits_of(&back), bits_of(v));
    }
    for (p, want) in pieces.iter().zip(ZSET_PIECES) {
        let mut out = Vec::new();
        encode_piece(p, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{p:?}");
        let back = decode_piece(&out, Form::Typed).unwrap();
        assert_eq!(&back, p);
        if let (Piece::Members(a), Piece::Members(w)) = (&back, p) {
            assert_eq!(bits_of(a), bits_of(w));
        }
    }
    // -0.0 keeps its sign bit through the codec.
    let Value::ZSet(p) =
        decode_value(&unhex("920392c40161cb8000000000000000"), Form::Typed).unwrap()
    else {
        panic!("kind 3 is a zset")
    };
    assert!(p[0].1 == 0.0 && p[0].1.is_sign_negative());
}

#[test]
fn zset_nan_and_malformed_scores_are_refused_with_their_position() {
    // A quiet NaN score in a ZAdd at byte 10 (after 95 1e 00 c4017a 92 c40161).
    let e = decode_effect(
        &unhex("951e00c4017a92c40161cb7ff8000000000000c0"),
        Form::Typed,
    )
    .unwrap_err();
    assert!(e.detail.contains("NaN"), "{e}");
    assert_eq!(e.at, 10, "{e}");
    // A signalling NaN with a payload, and a negative NaN, inside a value.
    for nan in ["7ff0000000000001", "fff8000000000000", "ffffffffffffffff"] {
        let e = decode_value(&unhex(&format!("920392c40161cb{nan}")), Form::Typed).unwrap_err();
        assert!(e.detail.contains("NaN"), "{nan}: {e}");
    }
    // A NaN inside a snapshot batch.
    assert!(decode_piece(&unhex("9202920392c40161cb7ff8000000000000"), Form::Typed).is_err());
    // A float 32 score, an integer score, a missing score (odd array), a str member.
    assert!(decode_value(&unhex("920392c40161ca3f800000"), Form::Typed).is_err());
    assert!(decode_value(&unhex("920392c4016101"), Form::Typed).is_err());
    let e = decode_value(&unhex("920391c40161"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("odd"), "{e}");
    assert!(decode_value(&unhex("920392a161cb3ff0000000000000"), Form::Typed).is_err());
    // A ZRem with scores in place of members.
    assert!(decode_effect(&unhex("951f00c4017a91cb3ff0000000000000c0"), Form::Typed).is_err());
    // A header with a kind this build does not know is refused; kind 3 is accepted.
    let e = decode_piece(&unhex("970100c4017a05cd012cc0cd07d0"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("streams"), "{e}");
    // Tags 32..=39 are still reserved.
    for t in 0x20..=0x27u8 {
        let e = decode_effect(&unhex(&format!("93{t:02x}00c4017a")), Form::Typed).unwrap_err();
        assert!(e.detail.contains("reserved for sorted sets"), "{t}: {e}");
    }
    // No legacy build wrote sorted sets.
    assert!(decode_value(&unhex("81a45a53657491c40161"), Form::Legacy).is_err());
}

#[test]
fn zset_scores_of_every_class_round_trip_bit_for_bit() {
    let specials = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::from_bits(1),
        -f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        0.1,
        1.0 / 3.0,
        9_007_199_254_740_993.0,
        -1e300,
    ];
    let pairs: Vec<(Bytes, f64)> = specials
        .iter()
        .enumerate()
        .map(|(i, s)| (Bytes::from(format!("m{i}")), *s))
        .collect();
    let v = Value::ZSet(pairs.clone());
    let mut out = Vec::new();
    encode_value(&v, &mut out).unwrap();
    assert_eq!(
        bits_of(&decode_value(&out, Form::Typed).unwrap()),
        bits_of(&v)
    );
    let e = Effect::ZAdd {
        db: 0,
        key: Bytes::from_static(b"z"),
        pairs,
        expires_at_ms: None,
    };
    let mut out = Vec::new();
    encode_entry(1, std::slice::from_ref(&e), &mut out).unwrap();
    let mut payload = unhex("91");
    payload.extend_from_slice(&out);
    let got = decode_entries(&payload, Form::Typed).unwrap();
    let Effect::ZAdd { pairs: back, .. } = &got[0].1[0] else {
        panic!("a ZAdd")
    };
    assert_eq!(
        bits_of(&Value::ZSet(back.clone())),
        bits_of(&v),
        "every score keeps its bits"
    );
}

#[test]
fn truncated_or_garbage_zset_payloads_fail_without_panicking() {
    let (effects, values, pieces) = zset_samples();
    let mut all = Vec::new();
    for e in &effects {
        let mut out = Vec::new();
        encode_effect(e, &mut out).unwrap();
        all.push(out);
    }
    for v in &values {
        let mut out = Vec::new();
        encode_value(v, &mut out).unwrap();
        all.push(out);
    }
    for p in &pieces {
        let mut out = Vec::new();
        encode_piece(p, &mut out).unwrap();
        all.push(out);
    }
    for b in &all {
        for cut in 0..b.len() {
            assert!(decode_effect(&b[..cut], Form::Typed).is_err());
            assert!(decode_value(&b[..cut], Form::Typed).is_err());
            assert!(decode_piece(&b[..cut], Form::Typed).is_err());
        }
        for i in 0..b.len() {
            for x in [0x00, 0xff, 0x80, 0xc0, 0xcb, 0xdd] {
                let mut c = b.clone();
                c[i] = x;
                let _ = decode_piece(&c, Form::Typed);
                let _ = decode_effect(&c, Form::Typed);
                let _ = decode_value(&c, Form::Typed);
            }
        }
    }
}

// ---- lists: tags 40..=45, kind 4, list headers and batches ---------------------------------

fn list_samples() -> (Vec<Effect>, Vec<Value>, Vec<Piece>) {
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    let effects = vec![
        Effect::ListPush {
            db: 0,
            key: b("l"),
            left: true,
            elements: vec![b("a"), b("b")],
            expires_at_ms: None,
        },
        Effect::ListPush {
            db: 2,
            key: b("l"),
            left: false,
            elements: vec![b("x")],
            expires_at_ms: Some(1_700_000_000_000),
        },
        Effect::ListPop {
            db: 0,
            key: b("l"),
            left: true,
            count: 3,
            expires_at_ms: None,
        },
        Effect::ListPop {
            db: 1,
            key: b("l"),
            left: false,
            count: 300,
            expires_at_ms: Some(7),
        },
        Effect::ListSet {
            db: 0,
            key: b("l"),
            index: 5,
            element: b("v"),
            expires_at_ms: None,
        },
        Effect::ListInsert {
            db: 0,
            key: b("l"),
            index: 0,
            element: b(""),
            expires_at_ms: None,
        },
        Effect::ListRem {
            db: 0,
            key: b("l"),
            count: -2,
            element: b("x"),
            expires_at_ms: None,
        },
        Effect::ListRem {
            db: 0,
            key: b("l"),
            count: 0,
            element: b("x"),
            expires_at_ms: None,
        },
        Effect::ListRem {
            db: 0,
            key: b("l"),
            count: -200,
            element: b("x"),
            expires_at_ms: None,
        },
        Effect::ListRem {
            db: 0,
            key: b("l"),
            count: i64::MIN,
            element: b("x"),
            expires_at_ms: None,
        },
        Effect::ListTrim {
            db: 0,
            key: b("l"),
            front: 1,
            back: 2,
            expires_at_ms: None,
        },
        Effect::Put {
            db: 0,
            key: b("l"),
            value: Value::List(vec![b("a"), b("b")]),
            expires_at_ms: None,
        },
    ];
    let values = vec![
        Value::List(vec![b("a"), b("b")]),
        Value::List(vec![]),
        Value::List(vec![Bytes::from_static(&[0x00, 0xff])]),
    ];
    let pieces = vec![
        Piece::Record(Record {
            db: 0,
            key: b("l"),
            value: Value::List(vec![b("a")]),
            version: 9,
            expires_at_ms: Some(5),
        }),
        Piece::Header {
            db: 1,
            key: b("l"),
            kind: Kind::List,
            version: 300,
            expires_at_ms: None,
            members: 5000,
        },
        Piece::Members(Value::List(vec![b("a"), b("b")])),
    ];
    (effects, values, pieces)
}

/// `[tag, db, key, a, b, exp]`: push `[40, db, key, end, [e...], exp]`, pop `[41, .., end,
/// count, exp]`, set `[42, .., index, e, exp]`, insert `[43, .., index, e, exp]`, rem `[44, ..,
/// count (signed, smallest int form), e, exp]`, trim `[45, .., front, back, exp]`; end 1 = head.
const LIST_EFFECTS: [&str; 12] = [
    "962800c4016c0192c40161c40162c0",
    "962802c4016c0091c40178cf0000018bcfe56800",
    "962900c4016c0103c0",
    "962901c4016c00cd012c07",
    "962a00c4016c05c40176c0",
    "962b00c4016c00c400c0",
    "962c00c4016cfec40178c0",
    "962c00c4016c00c40178c0",
    "962c00c4016cd1ff38c40178c0",
    "962c00c4016cd38000000000000000c40178c0",
    "962d00c4016c0102c0",
    "950000c4016c920492c40161c40162c0",
];
/// `[4, [elements head..tail]]`.
const LIST_VALUES: [&str; 3] = ["920492c40161c40162", "920490", "920491c40200ff"];
const LIST_PIECES: [&str; 3] = [
    "960000c4016c920491c401610905",
    "970101c4016c04cd012cc0cd1388",
    "9202920492c40161c40162",
];

#[test]
fn list_effects_values_and_pieces_have_pinned_bytes_and_round_trip() {
    let (effects, values, pieces) = list_samples();
    for (e, want) in effects.iter().zip(LIST_EFFECTS) {
        let mut out = Vec::new();
        encode_effect(e, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{e:?}");
        assert_eq!(&decode_effect(&out, Form::Typed).unwrap(), e);
        // Golden bytes decode on their own too (not only what this encoder wrote).
        assert_eq!(&decode_effect(&unhex(want), Form::Typed).unwrap(), e);
    }
    for (v, want) in values.iter().zip(LIST_VALUES) {
        let mut out = Vec::new();
        encode_value(v, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{v:?}");
        assert_eq!(&decode_value(&unhex(want), Form::Typed).unwrap(), v);
    }
    for (p, want) in pieces.iter().zip(LIST_PIECES) {
        let mut out = Vec::new();
        encode_piece(p, &mut out).unwrap();
        assert_eq!(hex(&out), want, "{p:?}");
        assert_eq!(&decode_piece(&unhex(want), Form::Typed).unwrap(), p);
    }
}

#[test]
fn list_entry_of_a_served_blocked_pop_round_trips_in_order() {
    // What a push that serves a blocked BLMOVE logs in one entry: the push, the waiter's pop
    // and its push to the destination; order inside the entry is part of the meaning.
    let (effects, _, _) = list_samples();
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    let entry = vec![
        effects[0].clone(),
        Effect::ListPop {
            db: 0,
            key: b("l"),
            left: false,
            count: 1,
            expires_at_ms: None,
        },
        Effect::ListPush {
            db: 0,
            key: b("dst"),
            left: true,
            elements: vec![b("a")],
            expires_at_ms: None,
        },
    ];
    let mut payload = unhex("92");
    encode_entry(41, &entry, &mut payload).unwrap();
    encode_entry(42, &effects, &mut payload).unwrap();
    assert!(hex(&payload).starts_with("92922993962800c4016c0192c40161c40162c0962900c4016c0001c0"));
    assert_eq!(
        decode_entries(&payload, Form::Typed).unwrap(),
        vec![(41, entry), (42, effects)]
    );
}

#[test]
fn malformed_list_effects_are_refused_with_their_position() {
    // End 2 (only 0 = tail and 1 = head exist), at byte 6, for a push and a pop.
    let e = decode_effect(&unhex("962800c4016c0291c40161c0"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("list end 2"), "{e}");
    assert_eq!(e.at, 6, "{e}");
    let e = decode_effect(&unhex("962900c4016c0201c0"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("list end 2"), "{e}");
    assert_eq!(e.at, 6, "{e}");
    // A boolean or negative end is not an end either.
    assert!(decode_effect(&unhex("962800c4016cc391c40161c0"), Form::Typed).is_err());
    assert!(decode_effect(&unhex("962900c4016cff01c0"), Form::Typed).is_err());
    // A list delta is a 6-array: 5 (the collection-delta shape) or 7 elements are refused.
    let e = decode_effect(&unhex("952800c4016c91c40161c0"), Form::Typed).unwrap_err();
    assert!(
        e.detail.contains("effect 40 with 5 elements, 6 expected"),
        "{e}"
    );
    assert_eq!(e.at, 0);
    for tag in 0x28..=0x2du8 {
        let e = decode_effect(&unhex(&format!("97{tag:02x}00c4016c0000c0c0")), Form::Typed)
            .unwrap_err();
        assert!(
            e.detail.contains("with 7 elements, 6 expected"),
            "{tag}: {e}"
        );
    }
    // Tags 46..=49 are reserved for lists.
    for tag in 0x2e..=0x31u8 {
        let e =
            decode_effect(&unhex(&format!("96{tag:02x}00c4016c0000c0")), Form::Typed).unwrap_err();
        assert!(
            e.detail
                .contains(&format!("unknown effect tag {tag} (reserved for lists")),
            "{tag}: {e}"
        );
        assert_eq!(e.at, 0);
    }
    // A negative pop count, index, trim length; an LREM count beyond i64.
    assert!(decode_effect(&unhex("962900c4016c01ffc0"), Form::Typed).is_err());
    assert!(decode_effect(&unhex("962a00c4016cffc40176c0"), Form::Typed).is_err());
    assert!(decode_effect(&unhex("962b00c4016cffc40176c0"), Form::Typed).is_err());
    assert!(decode_effect(&unhex("962d00c4016c01ffc0"), Form::Typed).is_err());
    let e = decode_effect(
        &unhex("962c00c4016ccfffffffffffffffffc40178c0"),
        Form::Typed,
    )
    .unwrap_err();
    assert!(e.detail.contains("LREM count"), "{e}");
    // Elements are bin: a str element, a push whose elements are not an array, a set whose
    // element is an array.
    assert!(decode_effect(&unhex("962800c4016c0191a161c0"), Form::Typed).is_err());
    assert!(decode_effect(&unhex("962800c4016c01c40161c0"), Form::Typed).is_err());
    assert!(decode_effect(&unhex("962a00c4016c0591c40176c0"), Form::Typed).is_err());
    // A list value whose payload is not an array, or holds a non-bin element.
    assert!(decode_value(&unhex("9204c40161"), Form::Typed).is_err());
    assert!(decode_value(&unhex("92049101"), Form::Typed).is_err());
    // A list batch holding a set value decodes (the snapshot reader checks the grammar), a
    // list header with kind 4 is a list.
    assert_eq!(
        decode_piece(&unhex("970101c4016c04cd012cc0cd1388"), Form::Typed).map(|p| matches!(
            p,
            Piece::Header {
                kind: Kind::List,
                ..
            }
        )),
        Ok(true)
    );
    // No legacy build wrote lists.
    assert!(decode_value(&unhex("81a44c69737491c40161"), Form::Legacy).is_err());
    assert!(decode_piece(
        &unhex("81a64865616465729601c4016ca44c6973740705cd0401"),
        Form::Legacy
    )
    .is_err());
}

#[test]
fn truncated_or_garbage_list_payloads_fail_without_panicking() {
    let (effects, values, pieces) = list_samples();
    let mut all = Vec::new();
    for e in &effects {
        let mut out = Vec::new();
        encode_effect(e, &mut out).unwrap();
        all.push(out);
    }
    for v in &values {
        let mut out = Vec::new();
        encode_value(v, &mut out).unwrap();
        all.push(out);
    }
    for p in &pieces {
        let mut out = Vec::new();
        encode_piece(p, &mut out).unwrap();
        all.push(out);
    }
    for b in &all {
        for cut in 0..b.len() {
            assert!(decode_effect(&b[..cut], Form::Typed).is_err());
            assert!(decode_value(&b[..cut], Form::Typed).is_err());
            assert!(decode_piece(&b[..cut], Form::Typed).is_err());
        }
        for i in 0..b.len() {
            for x in [0x00, 0x02, 0xff, 0x80, 0xc0, 0xc3, 0xd3, 0xdd] {
                let mut c = b.clone();
                c[i] = x;
                let _ = decode_piece(&c, Form::Typed);
                let _ = decode_effect(&c, Form::Typed);
                let _ = decode_value(&c, Form::Typed);
            }
        }
    }
}

/// The function libraries: effect `[60, [code...]]`, piece `[3, version, [code...]]`.
#[test]
fn functions_effect_and_piece_have_pinned_bytes_and_round_trip() {
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    let cases = [
        (
            Effect::Functions {
                libraries: vec![b("a")],
            },
            "923c91c40161",
        ),
        (Effect::Functions { libraries: vec![] }, "923c90"),
    ];
    for (e, want) in &cases {
        let mut out = Vec::new();
        encode_effect(e, &mut out).unwrap();
        assert_eq!(hex(&out), *want, "{e:?}");
        assert_eq!(&decode_effect(&unhex(want), Form::Typed).unwrap(), e);
    }
    let p = Piece::Functions {
        version: 7,
        libraries: vec![b("a"), b("b")],
    };
    let mut out = Vec::new();
    encode_piece(&p, &mut out).unwrap();
    assert_eq!(hex(&out), "93030792c40161c40162");
    assert_eq!(decode_piece(&out, Form::Typed).unwrap(), p);
    // Wrong lengths and a code that is not bytes are refused, not guessed.
    for bad in ["913c", "933c9090", "923c91c0"] {
        assert!(decode_effect(&unhex(bad), Form::Typed).is_err(), "{bad}");
    }
    for bad in ["920307", "9303079201", "94030790c0"] {
        assert!(decode_piece(&unhex(bad), Form::Typed).is_err(), "{bad}");
    }
    let reserved = decode_effect(&unhex("913d"), Form::Typed).unwrap_err();
    assert!(
        reserved.to_string().contains("reserved for server state"),
        "{reserved}"
    );
}
