//! Rhai's `Function not found: NAME (TYPES)` in words: the argument types as a script author
//! knows them, and as a hint the function's call forms, or the known name nearest to an unknown
//! one, or where the functions are listed.

use rhai::Engine;

use super::catalog::PRIMITIVES;
use super::check::{did_you_mean, standard_signatures};
use super::convert::{plain_type, plain_types_in, with_article};

/// Call forms shown in a hint; more are left to `vmssid docs` and Rhai's book.
const MAX_FORMS: usize = 4;

/// Where every function is listed, for a name nothing known is near.
pub const LISTED: &str = "`vmssid docs` lists the primitives and the stdlib (`.help` in the REPL)";

/// The message for Rhai's `signature` (`name (type, type)`), the engine's functions at hand.
pub fn not_found(signature: &str, engine: &Engine) -> String {
    let (name, types) = match signature.split_once(" (") {
        Some((name, types)) => (name.trim(), types.strip_suffix(')').unwrap_or(types)),
        None => (signature.trim(), ""),
    };
    let types: Vec<&str> = if types.trim().is_empty() {
        Vec::new()
    } else {
        split_types(types).into_iter().map(plain_type).collect()
    };
    if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return match types.as_slice() {
            [one] => format!("'{name}' does not apply to {}", with_article(one)),
            [a, b] => format!("'{name}' does not apply to {} and {}", with_article(a), with_article(b)),
            _ => format!("'{name}' does not apply to ({})", types.join(", ")),
        };
    }
    let given = format!("({})", types.join(", "));
    // The host's functions listed once for this error, Rhai's once per process.
    let host = engine.gen_fn_signatures(false);
    let listed = || host.iter().chain(standard_signatures()).map(String::as_str);
    let forms = call_forms(name, listed());
    if !forms.is_empty() {
        return format!("{name} does not take {given}; hint: {}", forms.join(" or "));
    }
    let names = known_names(listed());
    let hint = did_you_mean(name, names.iter().map(|n| (n.as_str(), n.clone())))
        .unwrap_or_else(|| LISTED.to_string());
    format!("unknown function '{name}' (called with {given}); hint: {hint}")
}

/// `&str | ImmutableString | String, i64` → its parts; the string union is one type.
fn split_types(types: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = types;
    while !rest.is_empty() {
        let union = "&str | ImmutableString | String";
        let (part, tail) = if rest.trim_start().starts_with(union) {
            let at = rest.find(union).unwrap_or(0) + union.len();
            (&rest[..at], &rest[at..])
        } else {
            rest.split_once(',').map_or((rest, ""), |(part, tail)| (part, tail))
        };
        out.push(part.trim());
        rest = tail.trim_start().strip_prefix(',').unwrap_or(tail).trim_start();
    }
    out
}

/// The ways `name` can be called: a primitive's documented forms, else the engine's signatures
/// of that name in plain types.
fn call_forms<'s>(name: &str, listed: impl Iterator<Item = &'s str>) -> Vec<String> {
    if let Some(doc) = PRIMITIVES.iter().find(|d| d.name == name) {
        return doc.signatures.iter().map(ToString::to_string).collect();
    }
    let prefix = format!("{name}(");
    let mut forms: Vec<String> = listed
        .filter(|s| s.starts_with(&prefix))
        // Rhai's return types are Rust's (`Result<array, Box<EvalAltResult>>`): left out.
        // An inclusive range (`range=`) is a range to a script author.
        .map(|s| plain_types_in(s.split(" -> ").next().unwrap_or(s)).replace("range=", "range"))
        .collect();
    forms.sort();
    forms.dedup();
    if forms.len() > MAX_FORMS {
        let more = forms.len() - MAX_FORMS;
        forms.truncate(MAX_FORMS);
        forms.push(format!("{more} more forms (the Rhai book lists them)"));
    }
    forms
}

/// Every function name listed, and the primitives.
fn known_names<'s>(listed: impl Iterator<Item = &'s str>) -> Vec<String> {
    let mut names: Vec<String> = listed
        .filter_map(|s| s.split_once('(').map(|(name, _)| name.trim().to_string()))
        .chain(PRIMITIVES.iter().map(|d| d.name.to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_union_is_one_type() {
        assert_eq!(
            split_types("&str | ImmutableString | String, i64, &str | ImmutableString | String"),
            ["&str | ImmutableString | String", "i64", "&str | ImmutableString | String"]
        );
        assert_eq!(split_types("map"), ["map"]);
    }

    #[test]
    fn messages_name_plain_types_and_a_way_on() {
        let engine = Engine::new();
        assert_eq!(
            not_found("- (&str | ImmutableString | String, i64)", &engine),
            "'-' does not apply to a string and an integer"
        );
        let unknown = not_found("lenn (array)", &engine);
        assert_eq!(unknown, "unknown function 'lenn' (called with (array)); hint: did you mean 'len'?");
        let far = not_found("frobnicate ()", &engine);
        assert!(far.ends_with(LISTED), "{far}");
        let wrong = not_found("sub_string (&str | ImmutableString | String, array)", &engine);
        assert!(wrong.starts_with("sub_string does not take (string, array); hint: sub_string("), "{wrong}");
    }
}
