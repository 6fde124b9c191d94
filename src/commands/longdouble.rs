//! x87 80-bit extended precision ("long double" on x86-64 Linux), just enough of it for
//! INCRBYFLOAT (and later HINCRBYFLOAT) to give Redis's results bit for bit.
//!
//! Redis parses both operands with `strtold` (correctly rounded to a 64-bit significand), adds
//! them in long double, refuses a NaN or infinite sum, and stores the sum printed with
//! `%.17Lf` minus trailing zeros (`ld2string` in human-friendly mode). This module does the
//! same in software: a value is `±m·2^e` with a 64-bit significand `m`, and every step is
//! exact big-integer arithmetic followed by one round-half-to-even, so nothing depends on the
//! host's floating point. Its invariant: `m` is normalised (top bit set) unless the value is
//! subnormal (`e == MIN_EXP`), and `e` stays within the format's range.
//!
//! It does not implement other operations (multiply, compare), other rounding modes, or the
//! `%.17Lg` form Redis uses elsewhere.

use num_bigint::BigUint;
use num_traits::{One, ToPrimitive, Zero};

/// Significand bits, including the explicit integer bit.
const PRECISION: u64 = 64;
/// The exponent of the smallest subnormal, 2^-16445, as the exponent of an integer significand.
const MIN_EXP: i64 = -16445;
/// The exponent of the largest finite value, (2^64-1)·2^16320.
const MAX_EXP: i64 = 16320;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer inputs are not a valid float.
const MAX_CHARS: usize = 5 * 1024;
/// Digits `%.17Lf` prints after the decimal point.
const FRACTION_DIGITS: u32 = 17;

/// A long double value: zero, finite or infinite, with its sign. NaN is never held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDouble {
    negative: bool,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zero,
    /// `mantissa · 2^exp`, mantissa non-zero.
    Finite {
        mantissa: u64,
        exp: i64,
    },
    Infinite,
}

/// Why INCRBYFLOAT refuses, with Redis's reply texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IncrError {
    #[error("ERR value is not a valid float")]
    NotAFloat,
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
}

/// Redis's INCRBYFLOAT arithmetic: `current` (absent = 0) plus `increment`, as the text Redis
/// stores and replies. The current value is checked before the increment, as Redis does.
pub fn incr_by_float(current: Option<&[u8]>, increment: &[u8]) -> Result<String, IncrError> {
    let cur = match current {
        None => LongDouble::ZERO,
        Some(text) => LongDouble::parse(text).ok_or(IncrError::NotAFloat)?,
    };
    let by = LongDouble::parse(increment).ok_or(IncrError::NotAFloat)?;
    match cur.checked_add(by) {
        Some(sum) if sum.is_finite() => Ok(sum.to_human_string()),
        _ => Err(IncrError::NanOrInfinity),
    }
}

/// The result of rounding an exact value.
enum Rounded {
    Value(LongDouble),
    /// A non-zero value too small for even the smallest subnormal (strtold: ERANGE and 0).
    Underflow,
    /// Too large for the format (strtold: ERANGE and ±HUGE_VALL).
    Overflow,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        kind: Kind::Zero,
    };

    pub fn is_finite(&self) -> bool {
        !matches!(self.kind, Kind::Infinite)
    }

    /// Redis's `string2ld`: `strtold` over the whole input (up to an embedded NUL, where C's
    /// string ends), no leading space, no overflow, no underflow to zero, no NaN. Infinity
    /// (`inf`, `infinity`) is a valid float here; the sum then fails.
    pub fn parse(input: &[u8]) -> Option<LongDouble> {
        if input.is_empty() || input.len() >= MAX_CHARS {
            return None;
        }
        let text = match input.iter().position(|&b| b == 0) {
            // strtold sees an empty string, converts nothing and stops at the end: 0.
            Some(0) => return Some(LongDouble::ZERO),
            Some(nul) => input.get(..nul)?,
            None => input,
        };
        let (negative, body) = match text.first() {
            Some(b'-') => (true, text.get(1..)?),
            Some(b'+') => (false, text.get(1..)?),
            _ => (false, text),
        };
        let rounded = if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity")
        {
            return Some(LongDouble {
                negative,
                kind: Kind::Infinite,
            });
        } else if body.len() > 2 && body[..2].eq_ignore_ascii_case(b"0x") {
            parse_hex(body.get(2..)?, negative)?
        } else {
            parse_decimal(body, negative)?
        };
        match rounded {
            Rounded::Value(v) => Some(v),
            Rounded::Underflow | Rounded::Overflow => None,
        }
    }

    /// The correctly rounded sum; `None` for NaN (infinity minus infinity).
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        match (self.kind, other.kind) {
            (Kind::Infinite, Kind::Infinite) if self.negative != other.negative => None,
            (Kind::Infinite, _) => Some(self),
            (_, Kind::Infinite) => Some(other),
            (Kind::Zero, Kind::Zero) => Some(LongDouble {
                negative: self.negative && other.negative,
                kind: Kind::Zero,
            }),
            (Kind::Zero, _) => Some(other),
            (_, Kind::Zero) => Some(self),
            (
                Kind::Finite {
                    mantissa: ma,
                    exp: ea,
                },
                Kind::Finite {
                    mantissa: mb,
                    exp: eb,
                },
            ) => {
                let exp = ea.min(eb);
                let a = BigUint::from(ma) << (ea - exp) as usize;
                let b = BigUint::from(mb) << (eb - exp) as usize;
                let (negative, magnitude) = if self.negative == other.negative {
                    (self.negative, a + b)
                } else if a >= b {
                    (self.negative, a - b)
                } else {
                    (other.negative, b - a)
                };
                if magnitude.is_zero() {
                    // x + (-x) is +0 when rounding to nearest.
                    return Some(LongDouble::ZERO);
                }
                // A sum of multiples of 2^MIN_EXP never underflows to zero.
                Some(match round(negative, magnitude, exp, false) {
                    Rounded::Value(v) => v,
                    Rounded::Overflow | Rounded::Underflow => LongDouble {
                        negative,
                        kind: Kind::Infinite,
                    },
                })
            }
        }
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` (exact value, rounded half to even at
    /// the 17th decimal), trailing zeros and a bare point removed, `-0` printed as `0`.
    /// Infinity prints as `inf` / `-inf` (INCRBYFLOAT never stores one).
    pub fn to_human_string(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        let scaled: BigUint = match self.kind {
            Kind::Infinite => return format!("{sign}inf"),
            Kind::Zero => BigUint::zero(),
            Kind::Finite { mantissa, exp } => {
                let n = BigUint::from(mantissa) * BigUint::from(10u32).pow(FRACTION_DIGITS);
                if exp >= 0 {
                    n << exp as usize
                } else {
                    let shift = exp.unsigned_abs();
                    let q: BigUint = &n >> shift as usize;
                    let rem = n - (&q << shift as usize);
                    let half = BigUint::one() << (shift - 1) as usize;
                    if rem > half || (rem == half && q.bit(0)) {
                        q + 1u32
                    } else {
                        q
                    }
                }
            }
        };
        let mut digits = scaled.to_str_radix(10);
        let frac = FRACTION_DIGITS as usize;
        if digits.len() <= frac {
            digits.insert_str(0, &"0".repeat(frac + 1 - digits.len()));
        }
        let point = digits.len() - frac;
        let fraction = digits[point..].trim_end_matches('0');
        let mut out = String::with_capacity(digits.len() + 2);
        out.push_str(sign);
        out.push_str(&digits[..point]);
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
        if out == "-0" {
            out.remove(0);
        }
        out
    }
}

/// Rounds `magnitude · 2^exp` (plus a non-zero tail below it when `sticky`) to a long double,
/// half to even, subnormals included.
fn round(negative: bool, magnitude: BigUint, exp: i64, sticky: bool) -> Rounded {
    let bits = magnitude.bits() as i64;
    if bits == 0 {
        return if sticky {
            Rounded::Underflow
        } else {
            Rounded::Value(LongDouble {
                negative,
                kind: Kind::Zero,
            })
        };
    }
    // The exponent that leaves a 64-bit significand, but never below the subnormal exponent.
    let target = (bits - PRECISION as i64 + exp).max(MIN_EXP);
    let shift = target - exp;
    let (mut mantissa, mut exp) = if shift <= 0 {
        // Exact: at most 64 significant bits and no tail (callers keep enough bits when not).
        let m = magnitude << shift.unsigned_abs() as usize;
        (m.to_u64().unwrap_or(u64::MAX), target)
    } else {
        let shift = shift as u64;
        let q: BigUint = &magnitude >> shift as usize;
        let half_bit = magnitude.bit(shift - 1);
        let below = sticky || magnitude.trailing_zeros().is_some_and(|tz| tz < shift - 1);
        let mut m = q.to_u64().unwrap_or(u64::MAX);
        if half_bit && (below || m & 1 == 1) {
            match m.checked_add(1) {
                Some(n) => m = n,
                None => {
                    // Rounded up to 2^64: one more binary digit of exponent.
                    return finish(negative, 1u64 << 63, target + 1);
                }
            }
        }
        (m, target)
    };
    if mantissa == 0 {
        return Rounded::Underflow;
    }
    // Subnormal results stay at MIN_EXP with fewer bits; normal ones already have 64.
    while mantissa & (1 << 63) == 0 && exp > MIN_EXP {
        mantissa <<= 1;
        exp -= 1;
    }
    finish(negative, mantissa, exp)
}

fn finish(negative: bool, mantissa: u64, exp: i64) -> Rounded {
    if exp > MAX_EXP {
        return Rounded::Overflow;
    }
    Rounded::Value(LongDouble {
        negative,
        kind: Kind::Finite { mantissa, exp },
    })
}

/// Splits `digits [. digits]` at the first byte that is neither; None without any digit.
fn mantissa_digits(s: &[u8], is_digit: fn(&u8) -> bool) -> Option<(&[u8], &[u8], &[u8])> {
    let int_len = s.iter().take_while(|b| is_digit(b)).count();
    let (int, rest) = s.split_at(int_len);
    let (frac, rest) = match rest.split_first() {
        Some((b'.', after)) => {
            let n = after.iter().take_while(|b| is_digit(b)).count();
            after.split_at(n)
        }
        _ => (&rest[..0], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    Some((int, frac, rest))
}

/// `[+-]digits` of an exponent, saturated far beyond any long double's range.
fn exponent(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for d in digits {
        v = (v * 10 + i64::from(d - b'0')).min(1_000_000_000);
    }
    Some(if negative { -v } else { v })
}

fn big_from_digits(int: &[u8], frac: &[u8], radix: u32) -> BigUint {
    let all: Vec<u8> = int
        .iter()
        .chain(frac.iter())
        .filter_map(|&b| {
            (b as char)
                .to_digit(radix)
                .and_then(|d| u8::try_from(d).ok())
        })
        .collect();
    BigUint::from_radix_be(&all, radix).unwrap_or_default()
}

fn parse_decimal(body: &[u8], negative: bool) -> Option<Rounded> {
    let (int, frac, rest) = mantissa_digits(body, u8::is_ascii_digit)?;
    let exp10 = match rest.split_first() {
        None => 0,
        Some((b'e' | b'E', e)) => exponent(e)?,
        Some(_) => return None,
    };
    let n = big_from_digits(int, frac, 10);
    if n.is_zero() {
        return Some(round(negative, n, 0, false));
    }
    let exp10 = exp10 - frac.len() as i64;
    // Order of magnitude: n has `digits` significant decimal digits.
    let digits = n.to_str_radix(10).len() as i64;
    let magnitude = digits - 1 + exp10;
    if magnitude > 4933 {
        return Some(Rounded::Overflow);
    }
    if magnitude < -4952 {
        return Some(Rounded::Underflow);
    }
    if exp10 >= 0 {
        let exact = n * BigUint::from(10u32).pow(exp10.unsigned_abs() as u32);
        return Some(round(negative, exact, 0, false));
    }
    // n / 10^k: a quotient of at least PRECISION + 2 bits and a sticky remainder.
    let d = BigUint::from(10u32).pow(exp10.unsigned_abs() as u32);
    let scale = (PRECISION as i64 + 2 + d.bits() as i64 - n.bits() as i64).max(0);
    let scaled = n << scale as usize;
    let q = &scaled / &d;
    let sticky = !(scaled - &q * &d).is_zero();
    Some(round(negative, q, -scale, sticky))
}

fn parse_hex(body: &[u8], negative: bool) -> Option<Rounded> {
    let (int, frac, rest) = mantissa_digits(body, u8::is_ascii_hexdigit)?;
    let exp2 = match rest.split_first() {
        None => 0,
        Some((b'p' | b'P', e)) => exponent(e)?,
        Some(_) => return None,
    };
    let n = big_from_digits(int, frac, 16);
    let exp2 = exp2 - 4 * frac.len() as i64;
    if !n.is_zero() {
        let top = n.bits() as i64 + exp2;
        if top > MAX_EXP + PRECISION as i64 + 1 {
            return Some(Rounded::Overflow);
        }
        if top < MIN_EXP - 2 {
            return Some(Rounded::Underflow);
        }
    }
    Some(round(negative, n, exp2, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(cur: Option<&str>, by: &str) -> Result<String, IncrError> {
        incr_by_float(cur.map(str::as_bytes), by.as_bytes())
    }

    #[test]
    fn issue_examples_match_redis() {
        assert_eq!(
            incr(Some("9223372036854775807"), "-0.25").unwrap(),
            "9223372036854775807"
        );
        let once = incr(None, "1e308").unwrap();
        assert!(once.starts_with("99999999999999999996685879655845645660560099847415567207797"));
        assert_eq!(once.len(), 308);
        let twice = incr(Some(&once), "1e308").unwrap();
        assert!(twice.starts_with("199999999999999999993371759311691291321120199694831134415"));
        assert_eq!(twice.len(), 309);
        let a = incr(None, "0.024390243902439025").unwrap();
        assert_eq!(a, "0.02439024390243902");
        assert_eq!(incr(Some(&a), "-0.024390243902439025").unwrap(), "0");
    }

    #[test]
    fn short_decimals_print_as_typed() {
        assert_eq!(incr(None, "0.1").unwrap(), "0.1");
        assert_eq!(incr(Some("0.1"), "0.2").unwrap(), "0.3");
        assert_eq!(incr(Some("10.5"), "0.1").unwrap(), "10.6");
        assert_eq!(incr(Some("5.0e3"), "2.0e2").unwrap(), "5200");
        assert_eq!(incr(None, "1e-20").unwrap(), "0");
        assert_eq!(incr(None, "-1e-20").unwrap(), "0");
        assert_eq!(incr(None, "-0").unwrap(), "0");
        assert_eq!(incr(Some("1"), "-1.5").unwrap(), "-0.5");
    }

    #[test]
    fn strtold_grammar_as_redis_accepts_it() {
        for (input, out) in [
            ("0x1.8p1", "3"),
            ("0X1P-2", "0.25"),
            (".5", "0.5"),
            ("5.", "5"),
            ("+1", "1"),
            ("1e+5", "100000"),
            ("1e-4940", "0"),
        ] {
            assert_eq!(incr(None, input).as_deref(), Ok(out), "{input}");
        }
        for input in [
            "", " 1", "1 ", ".", "1e", "nan", "NaN", "0x", "1_0", "1e-5000", "1e4933", "1e-4960",
            "abc", "--1", "0x1p", "infx",
        ] {
            assert_eq!(incr(None, input), Err(IncrError::NotAFloat), "{input:?}");
        }
        for input in ["inf", "-INF", "infinity", "+Infinity"] {
            assert_eq!(incr(None, input), Err(IncrError::NanOrInfinity), "{input}");
        }
        assert_eq!(incr(Some("abc"), "1"), Err(IncrError::NotAFloat));
        assert!(incr(None, "1e4932")
            .unwrap()
            .starts_with("100000000000000000000601894"));
    }

    #[test]
    fn overflowing_sum_is_refused() {
        let max = incr(None, "1.18e4932").unwrap();
        assert_eq!(incr(Some(&max), &max), Err(IncrError::NanOrInfinity));
    }

    #[test]
    fn rounding_is_half_to_even_at_64_bits() {
        // 2^64 + 1 is halfway between 2^64 and 2^64 + 2: ties go to the even significand.
        let v = LongDouble::parse(b"18446744073709551617").unwrap();
        assert_eq!(v.to_human_string(), "18446744073709551616");
        let v = LongDouble::parse(b"18446744073709551619").unwrap();
        assert_eq!(v.to_human_string(), "18446744073709551620");
        // 2^63 + 0.5 rounds to 2^63 (even), 2^63 + 1.5 to 2^63 + 2.
        assert_eq!(
            incr(Some("9223372036854775808"), "0.5").unwrap(),
            "9223372036854775808"
        );
        assert_eq!(
            incr(Some("9223372036854775809"), "0.5").unwrap(),
            "9223372036854775810"
        );
    }

    #[test]
    fn embedded_nul_ends_the_number_as_in_c() {
        assert_eq!(incr_by_float(Some(b"1\0junk"), b"1"), Ok("2".into()));
        assert_eq!(incr_by_float(Some(b"\0junk"), b"1"), Ok("1".into()));
    }
}
