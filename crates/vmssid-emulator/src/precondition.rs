//! `If-Match` / `If-None-Match` on scale-set and virtual-machine writes (docs/arm.md §4), honoured from 2023-09-01 only.

use hyper::HeaderMap;

use crate::apiver::ComputeVersion;
use crate::compute::Compute;
use crate::errors::{self, ArmError};

/// Whether one `If-Match` value matches the current etag: ARM compares strongly, so only `*`
/// or the exact quoted etag (`"N"`) match. A weak tag (`W/"N"`), an unquoted `N` and a list of
/// tags do not.
fn if_match_accepts(sent: &str, current: &str) -> bool {
    sent == "*" || sent == current
}

/// Checks the preconditions of a write against the resource as it is now.
pub fn check(
    headers: &HeaderMap,
    version: ComputeVersion,
    current: Option<&Compute>,
) -> Result<(), ArmError> {
    if !version.has_etag() {
        return Ok(());
    }
    let current_tag = current.map(|v| format!("\"{}\"", v.etag));
    let sent: Vec<&str> =
        headers.get_all("if-match").iter().map(|v| v.to_str().unwrap_or("").trim()).collect();
    if !sent.is_empty() {
        let shown = sent.join(", ");
        // Several If-Match headers are a list too.
        let ok = match (&current_tag, sent.as_slice()) {
            (Some(cur), [one]) => if_match_accepts(one, cur),
            _ => false,
        };
        if !ok {
            return Err(errors::precondition_failed(&shown, current_tag.as_deref().unwrap_or("\"\"")));
        }
    }
    if let Some(sent) = headers.get("if-none-match") {
        let sent = sent.to_str().unwrap_or("").trim();
        if sent != "*" {
            return Err(errors::if_none_match_unsupported(sent));
        }
        if current.is_some() {
            return Err(errors::precondition_exists(sent));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_star_and_the_exact_quoted_etag_match() {
        for (sent, want) in [
            ("*", true),
            ("\"3\"", true),
            ("W/\"3\"", false),
            ("3", false),
            ("\"3\", \"4\"", false),
            ("\"4\", \"3\"", false),
            ("\"3\",\"3\"", false),
            ("\"03\"", false),
            ("\"\"", false),
            ("", false),
        ] {
            assert_eq!(if_match_accepts(sent, "\"3\""), want, "If-Match {sent:?} against \"3\"");
        }
    }
}
