//! RFC 3339 timestamps <-> unix milliseconds (UTC output), without a date-time dependency.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_ms(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms % 1000
    )
}

fn num(s: &str, what: &str) -> Result<i64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} '{s}'"));
    }
    s.parse().map_err(|_| format!("bad {what} '{s}'"))
}

/// Parses an RFC 3339 timestamp (`2024-05-01T12:00:00Z`, fractional seconds and `+hh:mm`
/// offsets allowed; a space instead of `T` too) into unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let err = |d: String| format!("invalid RFC 3339 time '{s}': {d}");
    let t = s.trim();
    let (date, rest) = t
        .split_once(['T', 't', ' '])
        .ok_or_else(|| err("expected YYYY-MM-DDTHH:MM:SSZ".into()))?;
    let mut dp = date.split('-');
    let (Some(y), Some(mo), Some(d), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else {
        return Err(err("bad date".into()));
    };
    let (y, mo, d) = (
        num(y, "year").map_err(err)?,
        num(mo, "month").map_err(err)?,
        num(d, "day").map_err(err)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(err("month or day out of range".into()));
    }
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0i64)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..]
            .split_once(':')
            .ok_or_else(|| err("bad offset".into()))?;
        let (oh, om) = (
            num(oh, "offset").map_err(err)?,
            num(om, "offset").map_err(err)?,
        );
        (c, sign * (oh * 60 + om))
    } else {
        return Err(err("missing time zone (Z or +hh:mm)".into()));
    };
    let mut cp = clock.split(':');
    let (Some(h), Some(mi), Some(sec), None) = (cp.next(), cp.next(), cp.next(), cp.next()) else {
        return Err(err("bad time of day".into()));
    };
    let (sec, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let (h, mi, sec) = (
        num(h, "hour").map_err(err)?,
        num(mi, "minute").map_err(err)?,
        num(sec, "second").map_err(err)?,
    );
    if h > 23 || mi > 59 || sec > 60 {
        return Err(err("time of day out of range".into()));
    }
    let ms_frac = if frac.is_empty() {
        0
    } else {
        let f: String = frac.chars().chain("000".chars()).take(3).collect();
        num(&f, "fraction").map_err(err)?
    };
    let total = (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60)
        * 1000
        + ms_frac;
    u64::try_from(total).map_err(|_| err("before 1970".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_honours_offsets() {
        let ms = parse_rfc3339("2024-02-29T23:59:58.123Z").unwrap();
        assert_eq!(format_ms(ms), "2024-02-29T23:59:58.123Z");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339("1970-01-01T02:00:00+02:00").unwrap(),
            parse_rfc3339("1970-01-01T00:00:00Z").unwrap()
        );
        assert!(parse_rfc3339("2024-13-01T00:00:00Z").is_err());
        assert!(parse_rfc3339("2024-01-01T00:00:00").is_err());
    }
}
