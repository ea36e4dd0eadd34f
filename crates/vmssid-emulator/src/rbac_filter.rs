//! The `$filter` expressions of role-assignment and role-definition lists, and which
//! assignments each one keeps (docs/authorization.md):
//!
//! | filter | keeps assignments |
//! |---|---|
//! | (none) | at, above and below the scope |
//! | `atScope()` | at and above the scope |
//! | `principalId eq '{id}'` | of that principal, at, above and below the scope |
//! | `assignedTo('{id}')` | the same (the emulator has no groups to expand) |
//! | `atScope() and assignedTo('{id}')` | of that principal, at and above the scope |

use crate::scope::at_or_above;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentFilter {
    All,
    AtScope,
    Principal(String),
    AssignedTo { principal: String, at_scope: bool },
}

impl AssignmentFilter {
    /// `None` (no `$filter`) is [`AssignmentFilter::All`]; `Err` is a filter ARM refuses.
    pub fn parse(filter: Option<&str>) -> Result<AssignmentFilter, ()> {
        let Some(f) = filter.map(str::trim) else { return Ok(AssignmentFilter::All) };
        if let Some(rest) = keyword(f, "atScope()") {
            let rest = rest.trim_start();
            if rest.is_empty() {
                return Ok(AssignmentFilter::AtScope);
            }
            let rest = keyword(rest, "and").filter(|r| r.starts_with(char::is_whitespace)).ok_or(())?;
            let principal = assigned_to(rest.trim_start())?;
            return Ok(AssignmentFilter::AssignedTo { principal, at_scope: true });
        }
        if let Some(rest) = keyword(f, "principalId") {
            let rest = keyword(rest.trim_start(), "eq").ok_or(())?;
            let (principal, tail) = quoted(rest.trim_start()).ok_or(())?;
            return if tail.trim().is_empty() { Ok(AssignmentFilter::Principal(principal)) } else { Err(()) };
        }
        assigned_to(f).map(|principal| AssignmentFilter::AssignedTo { principal, at_scope: false })
    }

    /// Whether an assignment at `assignment_scope` of `principal` is listed for a request at
    /// `request_scope` (canonical paths).
    pub fn keeps(&self, request_scope: &str, assignment_scope: &str, principal: &str) -> bool {
        let above = at_or_above(assignment_scope, request_scope);
        let related = above || at_or_above(request_scope, assignment_scope);
        match self {
            AssignmentFilter::All => related,
            AssignmentFilter::AtScope => above,
            AssignmentFilter::Principal(p) => related && p.eq_ignore_ascii_case(principal),
            AssignmentFilter::AssignedTo { principal: p, at_scope } => {
                (if *at_scope { above } else { related }) && p.eq_ignore_ascii_case(principal)
            }
        }
    }
}

/// `roleName eq '{name}'` of a role-definition list: the name asked for; `Ok(None)` without a
/// filter, `Err` for any other filter.
pub fn role_name_filter(filter: Option<&str>) -> Result<Option<String>, ()> {
    let Some(f) = filter.map(str::trim) else { return Ok(None) };
    let rest = keyword(f, "roleName").ok_or(())?;
    let rest = keyword(rest.trim_start(), "eq").ok_or(())?;
    let (name, tail) = quoted(rest.trim_start()).ok_or(())?;
    if tail.trim().is_empty() { Ok(Some(name)) } else { Err(()) }
}

/// `assignedTo('{id}')` and nothing after it.
fn assigned_to(s: &str) -> Result<String, ()> {
    let rest = keyword(s, "assignedTo(").ok_or(())?;
    let (principal, tail) = quoted(rest.trim_start()).ok_or(())?;
    match tail.trim_start().strip_prefix(')') {
        Some(after) if after.trim().is_empty() => Ok(principal),
        _ => Err(()),
    }
}

/// `s` without a leading `word` (compared case-insensitively).
fn keyword<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    head.eq_ignore_ascii_case(word).then(|| &s[word.len()..])
}

/// A leading OData string literal `'…'` (`''` inside stands for `'`): its value and what follows.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            value.push(c);
        } else if chars.peek().is_some_and(|(_, n)| *n == '\'') {
            chars.next();
            value.push('\'');
        } else {
            return Some((value, &body[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "1d1d1d1d-0000-4000-8000-0000000000a1";

    #[test]
    fn parses_the_documented_filters() {
        let f = |s: &str| AssignmentFilter::parse(Some(s));
        assert_eq!(AssignmentFilter::parse(None), Ok(AssignmentFilter::All));
        assert_eq!(f("atScope()"), Ok(AssignmentFilter::AtScope));
        assert_eq!(f(" atscope() "), Ok(AssignmentFilter::AtScope));
        assert_eq!(f(&format!("principalId eq '{P}'")), Ok(AssignmentFilter::Principal(P.into())));
        assert_eq!(f(&format!("principalId  eq  '{P}' ")), Ok(AssignmentFilter::Principal(P.into())));
        assert_eq!(
            f(&format!("assignedTo('{P}')")),
            Ok(AssignmentFilter::AssignedTo { principal: P.into(), at_scope: false })
        );
        assert_eq!(
            f(&format!("atScope() and assignedTo('{P}')")),
            Ok(AssignmentFilter::AssignedTo { principal: P.into(), at_scope: true })
        );
        for bad in [
            "",
            "atScope",
            "atScope() or assignedTo('x')",
            "principalId eq x",
            "principalId eq 'x' and roleDefinitionId eq 'y'",
            "principalId eq 'x",
            "assignedTo('x'",
            "assignedTo('x') and atScope()",
            "roleName eq 'Reader'",
        ] {
            assert_eq!(f(bad), Err(()), "{bad:?} was accepted");
        }
    }

    #[test]
    fn keeps_at_above_and_below_as_documented() {
        let sub = "/subscriptions/s";
        let rg = "/subscriptions/s/resourceGroups/rg";
        let res = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v";
        let other = "/subscriptions/s/resourceGroups/rg2";
        let all = AssignmentFilter::All;
        assert!(all.keeps(rg, sub, P) && all.keeps(rg, rg, P) && all.keeps(rg, res, P));
        assert!(!all.keeps(rg, other, P), "a sibling is neither above nor below");
        let at = AssignmentFilter::AtScope;
        assert!(at.keeps(rg, sub, P) && at.keeps(rg, rg, P) && !at.keeps(rg, res, P));
        let p = AssignmentFilter::Principal(P.to_uppercase());
        assert!(p.keeps(sub, res, P) && !p.keeps(sub, res, "someone-else"));
        let to = AssignmentFilter::AssignedTo { principal: P.into(), at_scope: true };
        assert!(to.keeps(rg, sub, P) && !to.keeps(rg, res, P));
    }

    #[test]
    fn role_names_are_quoted_literals() {
        assert_eq!(role_name_filter(None), Ok(None));
        assert_eq!(role_name_filter(Some("roleName eq 'Reader'")), Ok(Some("Reader".into())));
        assert_eq!(
            role_name_filter(Some("rolename eq 'Virtual Machine Contributor'")),
            Ok(Some("Virtual Machine Contributor".into()))
        );
        assert_eq!(role_name_filter(Some("roleName eq 'It''s'")), Ok(Some("It's".into())));
        assert_eq!(role_name_filter(Some("type eq 'BuiltInRole'")), Err(()));
        assert_eq!(role_name_filter(Some("roleName eq Reader")), Err(()));
    }
}
