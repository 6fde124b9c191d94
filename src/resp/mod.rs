//! RESP: request parsing and reply writing. Knows nothing of tokio, storage or the keyspace, so
//! it can be fuzzed and reused by tests.
//!
//! Requests are always arrays of bulk strings (or inline commands typed into telnet). Before the
//! `redis-protocol` decoder sees a request, [`parse_command`] walks its headers once to enforce the
//! limits (`proto-max-bulk-len`, the multibulk length) and to learn whether the whole request has
//! arrived; the crate is only called on complete input, so a large value arriving in many reads
//! costs linear, not quadratic, time. Incomplete input is `Ok(None)`, never an error.

mod reply;

pub use reply::{error_code, format_double, format_g17, ReplyWriter};

use bytes::{Buf, Bytes, BytesMut};
use redis_protocol::resp2::decode::decode_bytes_mut;
use redis_protocol::resp2::types::BytesFrame;

/// Redis's limit on the number of elements of one request.
pub const MAX_MULTIBULK_LEN: i64 = 1024 * 1024;
/// Longest inline request Redis accepts before a newline.
pub const MAX_INLINE_LEN: usize = 64 * 1024;

/// The limits a parser enforces (from the configuration).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bulk_len: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
        }
    }
}

/// A protocol error: the connection gets `-ERR Protocol error: <msg>` and is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Protocol error: {0}")]
pub struct ProtocolError(pub String);

fn perr(msg: impl Into<String>) -> ProtocolError {
    ProtocolError(msg.into())
}

/// Takes one complete command (its argv) off the front of `buf`.
/// Returns `Ok(None)` when more input is needed. An empty argv (an empty inline line) is skipped.
pub fn parse_command(
    buf: &mut BytesMut,
    limits: Limits,
) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    loop {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if first != b'*' {
            match parse_inline(buf)? {
                Some(argv) if argv.is_empty() => continue,
                other => return Ok(other),
            }
        }
        let mut spans = Vec::new();
        let end = match scan_multibulk(buf, limits, &mut spans)? {
            Scan::Incomplete => return Ok(None),
            Scan::Empty(consumed) => {
                buf.advance(consumed);
                continue;
            }
            Scan::Complete(end) => end,
        };
        // Fast path: the scan found every argument; when each is followed by CRLF, the request
        // is well formed and the arguments are slices of it (no copy). Otherwise the decoder
        // below reports the error.
        let crlf = |&(start, len): &(usize, usize)| {
            buf.get(start + len..start + len + 2) == Some(&b"\r\n"[..])
        };
        if spans.iter().all(crlf) {
            let frame = buf.split_to(end).freeze();
            return Ok(Some(
                spans
                    .into_iter()
                    .map(|(start, len)| frame.slice(start..start + len))
                    .collect(),
            ));
        }
        let (frame, _amt, _) = match decode_bytes_mut(buf) {
            Ok(Some(v)) => v,
            Ok(None) => return Ok(None),
            Err(e) => return Err(perr(e.details().to_string())),
        };
        let BytesFrame::Array(items) = frame else {
            return Err(perr("expected an array"));
        };
        let mut argv = Vec::with_capacity(items.len());
        for item in items {
            match item {
                BytesFrame::BulkString(b) => argv.push(b),
                _ => return Err(perr("expected '$'")),
            }
        }
        return Ok(Some(argv));
    }
}

enum Scan {
    Incomplete,
    /// `*0\r\n` or `*-1\r\n`: Redis ignores these.
    Empty(usize),
    /// The whole request is in the buffer and ends at this offset.
    Complete(usize),
}

/// Reads `<prefix><integer>\r\n` at `pos`; returns the integer and the position after the line.
fn read_int_line(
    buf: &[u8],
    pos: usize,
    what: &str,
) -> Result<Option<(i64, usize)>, ProtocolError> {
    let rest = buf.get(pos..).unwrap_or_default();
    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
        if rest.len() > MAX_INLINE_LEN {
            return Err(perr(format!("too big {what} count string")));
        }
        return Ok(None);
    };
    let line = rest.get(1..nl).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let n = std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| perr(format!("invalid {what} length")))?;
    Ok(Some((n, pos + nl + 1)))
}

/// Walks the headers of the multibulk request at the front of `buf`, enforcing limits, and
/// records where each argument's bytes are: (offset, length).
fn scan_multibulk(
    buf: &[u8],
    limits: Limits,
    spans: &mut Vec<(usize, usize)>,
) -> Result<Scan, ProtocolError> {
    let Some((count, mut pos)) = read_int_line(buf, 0, "multibulk")? else {
        return Ok(Scan::Incomplete);
    };
    if count > MAX_MULTIBULK_LEN {
        return Err(perr("invalid multibulk length"));
    }
    if count <= 0 {
        return Ok(Scan::Empty(pos));
    }
    spans.reserve((count as usize).min(1024));
    for _ in 0..count {
        match buf.get(pos) {
            None => return Ok(Scan::Incomplete),
            Some(b'$') => {}
            Some(&other) => return Err(perr(format!("expected '$', got '{}'", other as char))),
        }
        let Some((len, next)) = read_int_line(buf, pos, "bulk")? else {
            return Ok(Scan::Incomplete);
        };
        if len < 0 || len > limits.max_bulk_len {
            return Err(perr("invalid bulk length"));
        }
        let end = next as u64 + len as u64 + 2;
        if end > buf.len() as u64 {
            return Ok(Scan::Incomplete);
        }
        spans.push((next, len as usize));
        pos = end as usize;
    }
    Ok(Scan::Complete(pos))
}

/// Parses one inline command (`SET a b\r\n`), splitting on spaces with Redis-style quotes.
fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_INLINE_LEN {
            return Err(perr("too big inline request"));
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1);
    let line = line.get(..nl).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    split_args(line)
        .map(Some)
        .ok_or_else(|| perr("unbalanced quotes in request"))
}

/// Splits a line into arguments like redis-cli and Redis's inline parser do: whitespace
/// separates, "double quotes" allow escapes (\n, \xHH, ...), 'single quotes' are literal.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut cur = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    let c = *line.get(i)?;
                    if c == b'"' {
                        i += 1;
                        break;
                    }
                    if c == b'\\' && i + 1 < line.len() {
                        let e = line[i + 1];
                        if e == b'x' && i + 3 < line.len() {
                            let hex = std::str::from_utf8(&line[i + 2..i + 4]).ok();
                            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                                cur.push(v);
                                i += 4;
                                continue;
                            }
                        }
                        cur.push(match e {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                        i += 2;
                    } else {
                        cur.push(c);
                        i += 1;
                    }
                }
                if i < line.len() && !line[i].is_ascii_whitespace() {
                    return None;
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    let c = *line.get(i)?;
                    if c == b'\'' {
                        i += 1;
                        break;
                    }
                    if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                        cur.push(b'\'');
                        i += 2;
                    } else {
                        cur.push(c);
                        i += 1;
                    }
                }
                if i < line.len() && !line[i].is_ascii_whitespace() {
                    return None;
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    cur.push(line[i]);
                    i += 1;
                }
            }
        }
        out.push(Bytes::from(cur));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        parse_command(&mut buf, Limits::default())
    }

    #[test]
    fn complete_multibulk_yields_argv() {
        let argv = parse(b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n").unwrap().unwrap();
        assert_eq!(argv, vec![Bytes::from("GET"), Bytes::from("a")]);
    }

    #[test]
    fn partial_input_is_none_at_every_cut() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$5\r\nhello\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn pipelined_commands_come_out_one_by_one() {
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\nPING\r\n"[..]);
        for _ in 0..3 {
            let argv = parse_command(&mut buf, Limits::default()).unwrap().unwrap();
            assert_eq!(argv, vec![Bytes::from("PING")]);
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_bulk_length_is_a_protocol_error_before_the_data_arrives() {
        let err = parse(b"*1\r\n$600000000\r\n").unwrap_err();
        assert_eq!(err.to_string(), "Protocol error: invalid bulk length");
    }

    #[test]
    fn oversized_multibulk_is_a_protocol_error() {
        let err = parse(b"*2000000\r\n").unwrap_err();
        assert_eq!(err.to_string(), "Protocol error: invalid multibulk length");
    }

    #[test]
    fn non_bulk_element_is_a_protocol_error() {
        assert!(parse(b"*1\r\n:5\r\n").is_err());
        assert!(parse(b"*x\r\n").is_err());
    }

    #[test]
    fn inline_commands_split_with_quotes() {
        let argv = parse(b"set \"a b\" 'c d' e\\x\r\n").unwrap().unwrap();
        assert_eq!(
            argv,
            vec![
                Bytes::from("set"),
                Bytes::from("a b"),
                Bytes::from("c d"),
                Bytes::from("e\\x")
            ]
        );
        assert!(parse(b"set \"abc\r\n").is_err());
        let mut buf = BytesMut::from(&b"\r\n\r\nPING\r\n"[..]);
        assert_eq!(
            parse_command(&mut buf, Limits::default()).unwrap().unwrap(),
            vec![Bytes::from("PING")]
        );
    }

    #[test]
    fn garbage_without_newline_eventually_errors() {
        let junk = vec![b'x'; MAX_INLINE_LEN + 10];
        assert!(parse(&junk).is_err());
    }
}
