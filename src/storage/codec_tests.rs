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
    // A value of kind 4 (lists) inside a Put, at byte 6.
    let e = decode_effect(&unhex("950000c4016b9204c40176c0"), Form::Typed).unwrap_err();
    assert!(e.detail.contains("lists"), "{e}");
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
