//! The reply writer: RESP2 or RESP3 encoding straight into the connection's out buffer.
//!
//! Replies are written directly rather than built as frames first: a reply is usually a few
//! bytes (`+OK`, `:1`, one bulk string) and building a frame per reply would allocate. The
//! RESP3-only types (map, set, double, boolean, null, verbatim) fall back to their RESP2
//! equivalents as Redis does.

use bytes::{BufMut, BytesMut};

pub struct ReplyWriter {
    pub buf: BytesMut,
    pub resp3: bool,
    /// The codes of the error replies written since the server last counted them (INFO
    /// errorstats, `failed_calls`): see [`error_code`].
    pub errors: Vec<String>,
    /// Set when a container command refused its subcommand as Redis's lookup would, before
    /// running it: `Some(true)` for a subcommand's arity (a rejected call), `Some(false)` for
    /// an unknown subcommand (no call at all).
    pub refused: Option<bool>,
}

/// The error code of an error reply (`ERR`, `WRONGTYPE`): its first word when that is
/// shorter than 32 bytes, else `ERR`, as Redis counts them.
pub fn error_code(msg: &str) -> &str {
    let head = &msg.as_bytes()[..msg.len().min(32)];
    match head.iter().position(|&b| b == b' ') {
        Some(end) => &msg[..end],
        None => "ERR",
    }
}

impl ReplyWriter {
    pub fn new() -> Self {
        Self::with_capacity(16 * 1024)
    }

    pub fn with_capacity(bytes: usize) -> Self {
        ReplyWriter {
            buf: BytesMut::with_capacity(bytes),
            resp3: false,
            errors: Vec::new(),
            refused: None,
        }
    }

    fn line(&mut self, prefix: u8, body: &[u8]) {
        self.buf.reserve(body.len() + 3);
        self.buf.put_u8(prefix);
        self.buf.put_slice(body);
        self.buf.put_slice(b"\r\n");
    }

    fn header(&mut self, prefix: u8, n: i64) {
        let mut b = itoa_buf(n);
        self.line(prefix, b.as_bytes_mut());
    }

    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.line(b'+', s.as_bytes());
    }

    /// An error reply; `msg` starts with its prefix (`ERR ...`, `WRONGTYPE ...`).
    /// Newlines are replaced so the reply stays one line.
    pub fn error(&mut self, msg: &str) {
        let clean: String = msg
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        self.errors.push(error_code(&clean).to_string());
        if let Some(rest) = clean.strip_prefix("ERR wrong number of arguments for '") {
            if rest
                .split('\'')
                .next()
                .is_some_and(|name| name.contains('|'))
            {
                self.refused = Some(true);
            }
        } else if clean.starts_with("ERR unknown subcommand '") {
            self.refused = Some(false);
        }
        self.line(b'-', clean.as_bytes());
    }

    /// An error reply already counted where it arose (a script's `redis.call` error that the
    /// script returns): it marks the call failed but is not counted again.
    pub fn error_counted(&mut self, msg: &str) {
        let before = self.errors.len();
        self.error(msg);
        if let Some(code) = self.errors.get_mut(before) {
            code.clear();
        }
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.reserve(data.len() + 2);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    pub fn bulk_opt(&mut self, data: Option<&[u8]>) {
        match data {
            Some(d) => self.bulk(d),
            None => self.null(),
        }
    }

    /// The null bulk string (RESP2 `$-1`, RESP3 `_`).
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"$-1\r\n");
        }
    }

    /// The null array (RESP2 `*-1`, RESP3 `_`): EXEC aborted by WATCH, BLPOP timeouts.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs (RESP2: a flat array of 2n elements).
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    pub fn double(&mut self, v: f64) {
        let text = format_double(v);
        if self.resp3 {
            self.line(b',', text.as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A sorted-set score as Redis 7.0's `addReplyDouble` sends it: `%.17g` text, a bulk
    /// string in RESP2 and a double in RESP3 (`inf` / `-inf` spelled out).
    pub fn score(&mut self, v: f64) {
        let mut buf = [0u8; 32];
        let n = g17_into(v, &mut buf);
        let text = buf.get(..n).unwrap_or_default();
        if self.resp3 {
            self.line(b',', text);
        } else {
            self.bulk(text);
        }
    }

    pub fn boolean(&mut self, v: bool) {
        if self.resp3 {
            self.buf.put_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// Verbatim text (INFO, CLIENT INFO): RESP3 `=` with the `txt` format, RESP2 a bulk string.
    pub fn verbatim(&mut self, text: &str) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.put_slice(b"txt:");
            self.buf.put_slice(text.as_bytes());
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A `<COMMAND> HELP` reply: one status line per entry, then the `HELP` entry every Redis
    /// help ends with (Redis's `addReplyHelp`), so callers list only their own subcommands.
    pub fn help(&mut self, lines: &[&str]) {
        const TRAILER: [&str; 2] = ["HELP", "    Prints this help."];
        self.array(lines.len() + TRAILER.len());
        for l in lines.iter().chain(TRAILER.iter()) {
            self.simple(l);
        }
    }

    pub fn bulks<I, T>(&mut self, items: I)
    where
        I: ExactSizeIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.array(items.len());
        for item in items {
            self.bulk(item.as_ref());
        }
    }
}

impl Default for ReplyWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Formats a double as Redis does for INCRBYFLOAT and RESP3 doubles: shortest round-trip form,
/// integers without a fraction, `inf`/`-inf`.
pub fn format_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v == v.trunc() && v.abs() < 1e17 {
        return format!("{}", v as i64);
    }
    format!("{v}")
}

/// The text of `v` as C's `printf("%.17g", v)` prints it (what Redis 7.0 formats scores
/// with: 17 significant digits, trailing zeros dropped, exponent form below 1e-4 and from
/// 1e17; `inf`, `-inf`, `-0`), in `buf`; returns its length. Integral values below 1e17 print
/// as integers without calling into C; the rest go to the C library's own `snprintf`, which
/// is both exact and what Redis itself calls.
pub fn g17_into(v: f64, buf: &mut [u8; 32]) -> usize {
    let put = |buf: &mut [u8; 32], text: &[u8]| {
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text[..n]);
        n
    };
    if v.is_infinite() {
        return put(buf, if v > 0.0 { b"inf" } else { b"-inf" });
    }
    if v.is_nan() {
        return put(buf, b"nan");
    }
    if v == 0.0 {
        return put(buf, if v.is_sign_negative() { b"-0" } else { b"0" });
    }
    if v.fract() == 0.0 && v.abs() < 1e17 {
        let mut b = itoa_buf(v as i64);
        let text = b.as_bytes_mut();
        return put(buf, text);
    }
    // SAFETY: the format takes exactly one double; snprintf writes at most `buf.len()` bytes
    // (NUL included) into the buffer we own, and returns the length it would have written.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr().cast::<libc::c_char>(),
            buf.len(),
            c"%.17g".as_ptr(),
            v,
        )
    };
    usize::try_from(n).map_or(0, |n| n.min(buf.len() - 1))
}

/// [`g17_into`] as a `String`.
pub fn format_g17(v: f64) -> String {
    let mut buf = [0u8; 32];
    let n = g17_into(v, &mut buf);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

struct ItoaBuf {
    bytes: [u8; 24],
    start: usize,
}

impl ItoaBuf {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

fn itoa_buf(n: i64) -> ItoaBuf {
    let mut bytes = [0u8; 24];
    let mut pos = bytes.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        pos -= 1;
        bytes[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        pos -= 1;
        bytes[pos] = b'-';
    }
    ItoaBuf { bytes, start: pos }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g17_matches_c_printf() {
        // Each expected text is what glibc's printf("%.17g") prints for the value.
        let cases: [(f64, &str); 19] = [
            (0.1, "0.10000000000000001"),
            (1.0, "1"),
            (1.5, "1.5"),
            (-0.0, "-0"),
            (1e300, "1.0000000000000001e+300"),
            (5e-324, "4.9406564584124654e-324"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-2.5e-5, "-2.5000000000000001e-05"),
            (1.1, "1.1000000000000001"),
            (12.25, "12.25"),
            (1.0 / 3.0, "0.33333333333333331"),
            (100.0, "100"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (f64::MAX, "1.7976931348623157e+308"),
            (12345678901234567.0, "12345678901234568"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g17(v), want, "{v:e}");
        }
        assert_eq!(format_g17(f64::INFINITY), "inf");
        assert_eq!(format_g17(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn resp2_and_resp3_nulls_differ() {
        let mut w = ReplyWriter::new();
        w.null();
        w.null_array();
        assert_eq!(&w.buf[..], b"$-1\r\n*-1\r\n");
        let mut w = ReplyWriter::new();
        w.resp3 = true;
        w.null();
        w.map(1);
        assert_eq!(&w.buf[..], b"_\r\n%1\r\n");
    }

    #[test]
    fn integers_encode_with_sign() {
        let mut w = ReplyWriter::new();
        w.int(-42);
        w.int(i64::MIN);
        assert_eq!(&w.buf[..], b":-42\r\n:-9223372036854775808\r\n");
    }

    #[test]
    fn doubles_format_like_redis() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(10.5), "10.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
    }
}
