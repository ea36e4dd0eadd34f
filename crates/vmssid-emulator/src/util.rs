//! Small parsing helpers: GUIDs, percent-decoding, query strings, clock.
//!
//! Written here rather than borrowed from the client side so that the emulator and the client
//! never share a parsing bug.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `8-4-4-4-12` hex digits, case-insensitive, nothing else.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups.iter().zip(lens).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
/// `plus_is_space` is for query strings.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16))?;
                let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16))?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Query pairs in order; keys keep their spelling. Undecodable pairs are kept raw.
pub fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(k, true).unwrap_or_else(|| k.to_string()),
                percent_decode(v, true).unwrap_or_else(|| v.to_string()),
            )
        })
        .collect()
}

/// First value of a query parameter, name compared case-insensitively.
pub fn query_get<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Percent-encodes everything but unreserved characters (for building nextLink/status URLs).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn now_rfc3339() -> String {
    rfc3339_ago(std::time::Duration::ZERO)
}

/// The wall-clock time `ago` before now, as RFC 3339.
pub fn rfc3339_ago(ago: std::time::Duration) -> String {
    let t = OffsetDateTime::now_utc().checked_sub(time::Duration::saturating_seconds_f64(ago.as_secs_f64()));
    t.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// Now as Authorization answers it: UTC, seven fractional digits (`2025-04-03T09:30:10.7797806Z`).
pub fn now_seven_digits() -> String {
    let t = OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A well-formed ARM api-version: `YYYY-MM-DD` with an optional `-suffix` (`-preview`, `-beta`).
pub fn is_well_formed_api_version(v: &str) -> bool {
    let (Some(date), Some(rest)) = (v.get(..10), v.get(10..)) else {
        return false;
    };
    let b = date.as_bytes();
    let date_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    let rest_ok = rest.is_empty()
        || (rest.len() > 1 && rest.starts_with('-') && rest[1..].bytes().all(|c| c.is_ascii_alphanumeric()));
    date_ok && rest_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("00000000-0000-0000-0000-000000000000"));
        assert!(is_guid("ABCDEF00-0000-0000-0000-00000000abcd"));
        assert!(!is_guid("00000000-0000-0000-0000-00000000000"));
        assert!(!is_guid("g0000000-0000-0000-0000-000000000000"));
        assert!(!is_guid(""));
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b", false).as_deref(), Some("a b"));
        assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%", false), None);
        assert_eq!(percent_decode("%ff", false), None);
    }

    #[test]
    fn seven_digit_timestamps() {
        let t = now_seven_digits();
        assert_eq!((t.len(), t.as_bytes()[19], t.ends_with('Z')), (28, b'.', true), "{t}");
    }

    #[test]
    fn api_versions() {
        assert!(is_well_formed_api_version("2018-06-01"));
        assert!(is_well_formed_api_version("2025-01-31-preview"));
        assert!(!is_well_formed_api_version("2018-6-01"));
        assert!(!is_well_formed_api_version("latest"));
        assert!(!is_well_formed_api_version("2018-06-01-"));
        assert!(!is_well_formed_api_version("ü"));
    }
}
