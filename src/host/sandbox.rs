//! Size limits checked where a value grows, at the cost of what is added.
//!
//! Rhai's own checks measure the whole value after every change (a `push` onto an array of n
//! items walks all n), which makes filling an array quadratic: 100,000 pushes took seconds and
//! the default `max_array_size` of 1,000,000 was out of reach. These replacements of Rhai's
//! growing functions check the length the value will have before growing it. They count the
//! top level of a value (items of this array, entries of this map, bytes of this string), as
//! the flags say; nesting and copying are bounded by `max_memory`, checked at every operation.
//! Functions that allocate whatever length they are given (`pad`, `blob`) are among them, so a
//! script cannot ask for terabytes in one call.

use rhai::{
    Array, Blob, Dynamic, Engine, EvalAltResult, FuncRegistration, INT, ImmutableString, Map, Module,
};

use super::convert::RhaiResult;
use super::limits::Limits;

/// The Rhai functions replaced here (`vmssid docs` covers the primitives, not these).
pub const REPLACED: &[&str] =
    &["push", "append", "insert", "pad", "+=", "+", "blob", "replace", "set", "mixin", "fill_with"];

/// The size limits; 0 is none (only the command line can say so).
#[derive(Debug, Clone, Copy)]
struct Caps {
    string: usize,
    array: usize,
    map: usize,
}

/// What grew past its limit: the words of the error, and the cap that applies.
#[derive(Debug, Clone, Copy)]
enum Grown {
    Array,
    Blob,
    Map,
    String,
}

/// The error names the limit and its value: `describe` in [`super::error`] adds how to raise it.
fn too_large(what: Grown, cap: usize) -> Box<EvalAltResult> {
    let text = match what {
        Grown::Array => format!("an array would hold more than the limit of {cap} items"),
        Grown::Blob => format!("a BLOB would hold more than the limit of {cap} bytes"),
        Grown::Map => format!("a map would hold more than the limit of {cap} entries"),
        Grown::String => format!("a string would be longer than the limit of {cap} bytes"),
    };
    EvalAltResult::ErrorDataTooLarge(text, rhai::Position::NONE).into()
}

fn check(cap: usize, len: usize, what: Grown) -> RhaiResult<()> {
    if cap > 0 && len > cap { Err(too_large(what, cap)) } else { Ok(()) }
}

impl Caps {
    fn array(self, len: usize) -> RhaiResult<()> {
        check(self.array, len, Grown::Array)
    }
    fn blob(self, len: usize) -> RhaiResult<()> {
        check(self.array, len, Grown::Blob)
    }
    fn map(self, len: usize) -> RhaiResult<()> {
        check(self.map, len, Grown::Map)
    }
    fn string(self, len: usize) -> RhaiResult<()> {
        check(self.string, len, Grown::String)
    }

    /// The length `len` asks for, where a negative one means nothing to do.
    fn wanted(self, len: INT, what: Grown) -> RhaiResult<Option<usize>> {
        if len <= 0 {
            return Ok(None);
        }
        let cap = match what {
            Grown::Array | Grown::Blob => self.array,
            Grown::Map => self.map,
            Grown::String => self.string,
        };
        usize::try_from(len).map(Some).map_err(|_| too_large(what, cap))
    }
}

/// Registers the checked functions on `engine`, ahead of Rhai's own.
pub fn register(engine: &mut Engine, limits: &Limits) {
    let caps =
        Caps { string: limits.max_string_size, array: limits.max_array_size, map: limits.max_map_size };
    let mut module = Module::new();
    arrays(&mut module, caps);
    blobs(&mut module, caps);
    strings(&mut module, caps);
    maps(&mut module, caps);
    engine.register_global_module(module.into());
    // Without this Rhai runs `+=` and `+` on arrays and strings with built-in code that
    // registered functions cannot replace.
    engine.set_fast_operators(false);
}

fn arrays(m: &mut Module, c: Caps) {
    let push = move |a: &mut Array, item: Dynamic| -> RhaiResult<()> {
        c.array(a.len() + 1)?;
        a.push(item);
        Ok(())
    };
    FuncRegistration::new("push").set_into_module(m, push);
    FuncRegistration::new("+=").set_into_module(m, push);
    let append = move |a: &mut Array, b: Array| -> RhaiResult<()> {
        c.array(a.len() + b.len())?;
        a.extend(b);
        Ok(())
    };
    FuncRegistration::new("append").set_into_module(m, append);
    FuncRegistration::new("+=").set_into_module(m, append);
    FuncRegistration::new("+").set_into_module(m, move |mut a: Array, b: Array| -> RhaiResult<Array> {
        c.array(a.len() + b.len())?;
        a.extend(b);
        Ok(a)
    });
    FuncRegistration::new("insert").set_into_module(m, move |a: &mut Array, index: INT, item: Dynamic| {
        c.array(a.len() + 1)?;
        // As Rhai does: a negative index counts from the end, one out of range clamps.
        let at = match usize::try_from(index) {
            Ok(i) => i.min(a.len()),
            Err(_) => a.len().saturating_sub(usize::try_from(index.unsigned_abs()).unwrap_or(usize::MAX)),
        };
        a.insert(at, item);
        Ok(()) as RhaiResult<()>
    });
    FuncRegistration::new("pad").set_into_module(m, move |a: &mut Array, len: INT, item: Dynamic| {
        if let Some(len) = c.wanted(len, Grown::Array)?.filter(|len| *len > a.len()) {
            c.array(len)?;
            a.resize(len, item);
        }
        Ok(()) as RhaiResult<()>
    });
}

fn blobs(m: &mut Module, c: Caps) {
    let make = move |len: INT, byte: INT| -> RhaiResult<Blob> {
        let len = c.wanted(len, Grown::Blob)?.unwrap_or(0);
        c.blob(len)?;
        Ok(vec![(byte & 0xff) as u8; len])
    };
    FuncRegistration::new("blob").set_into_module(m, move |len: INT| make(len, 0));
    FuncRegistration::new("blob").set_into_module(m, make);
    FuncRegistration::new("pad").set_into_module(m, move |b: &mut Blob, len: INT, byte: INT| {
        if let Some(len) = c.wanted(len, Grown::Blob)?.filter(|len| *len > b.len()) {
            c.blob(len)?;
            b.resize(len, (byte & 0xff) as u8);
        }
        Ok(()) as RhaiResult<()>
    });
}

fn strings(m: &mut Module, c: Caps) {
    let append = move |s: &mut ImmutableString, t: &str| -> RhaiResult<()> {
        c.string(s.len() + t.len())?;
        *s += t;
        Ok(())
    };
    FuncRegistration::new("+=")
        .set_into_module(m, move |s: &mut ImmutableString, t: ImmutableString| append(s, &t));
    FuncRegistration::new("+=")
        .set_into_module(m, move |s: &mut ImmutableString, ch: char| append(s, ch.encode_utf8(&mut [0; 4])));
    FuncRegistration::new("+").set_into_module(m, move |s: ImmutableString, t: ImmutableString| {
        c.string(s.len() + t.len())?;
        Ok(format!("{s}{t}").into()) as RhaiResult<ImmutableString>
    });
    let pad = move |s: &mut ImmutableString, len: INT, padding: &str| -> RhaiResult<()> {
        let Some(len) = c.wanted(len, Grown::String)? else { return Ok(()) };
        let have = s.chars().count();
        if len <= have || padding.is_empty() {
            return Ok(());
        }
        let widest = padding.chars().map(char::len_utf8).max().unwrap_or(1);
        c.string((len - have).saturating_mul(widest).saturating_add(s.len()))?;
        let mut text = s.to_string();
        text.extend(padding.chars().cycle().take(len - have));
        *s = text.into();
        Ok(())
    };
    FuncRegistration::new("pad").set_into_module(m, move |s: &mut ImmutableString, len: INT, ch: char| {
        pad(s, len, ch.encode_utf8(&mut [0; 4]))
    });
    FuncRegistration::new("pad")
        .set_into_module(m, move |s: &mut ImmutableString, len: INT, padding: &str| pad(s, len, padding));
    let replace = move |s: &mut ImmutableString, find: &str, with: &str| -> RhaiResult<()> {
        if with.len() > find.len() {
            // An empty pattern matches around every character, as in Rust's `replace`.
            let hits = if find.is_empty() { s.chars().count() + 1 } else { s.matches(find).count() };
            c.string(hits.saturating_mul(with.len() - find.len()).saturating_add(s.len()))?;
        }
        *s = s.replace(find, with).into();
        Ok(())
    };
    FuncRegistration::new("replace")
        .set_into_module(m, move |s: &mut ImmutableString, find: &str, with: &str| replace(s, find, with));
    FuncRegistration::new("replace").set_into_module(
        m,
        move |s: &mut ImmutableString, find: char, with: &str| {
            replace(s, find.encode_utf8(&mut [0; 4]), with)
        },
    );
}

fn maps(m: &mut Module, c: Caps) {
    let grown = |a: &Map, b: &Map| a.len() + b.keys().filter(|k| !a.contains_key(*k)).count();
    FuncRegistration::new("set").set_into_module(m, move |map: &mut Map, key: &str, value: Dynamic| {
        match map.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                c.map(map.len() + 1)?;
                map.insert(key.into(), value);
            }
        }
        Ok(()) as RhaiResult<()>
    });
    let mixin = move |map: &mut Map, other: Map| -> RhaiResult<()> {
        c.map(grown(map, &other))?;
        map.extend(other);
        Ok(())
    };
    FuncRegistration::new("mixin").set_into_module(m, mixin);
    FuncRegistration::new("+=").set_into_module(m, mixin);
    FuncRegistration::new("+").set_into_module(m, move |mut map: Map, other: Map| -> RhaiResult<Map> {
        c.map(grown(&map, &other))?;
        map.extend(other);
        Ok(map)
    });
    FuncRegistration::new("fill_with").set_into_module(m, move |map: &mut Map, other: Map| {
        c.map(grown(map, &other))?;
        for (key, value) in other {
            map.entry(key).or_insert(value);
        }
        Ok(()) as RhaiResult<()>
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(limits: Limits) -> Engine {
        let mut engine = Engine::new();
        limits.apply(&mut engine);
        register(&mut engine, &limits);
        engine
    }

    #[test]
    fn the_replacements_behave_like_rhai() {
        let ours = engine(Limits::default());
        let rhai = Engine::new();
        for script in [
            "let a = [1]; a.push(2); a += 3; a += [4, 5]; a.append([6]); a + [7]",
            "let a = [1, 2, 3]; a.insert(-1, 9); a.insert(99, 8); a.insert(-99, 7); a.insert(1, 6); a",
            "let a = [1]; a.pad(3, 0); a.pad(-1, 5); a.pad(2, 5); a",
            "let b = blob(3, 0x1ff); b.pad(5, 2); [b.len(), b[0], b[4], blob(2).len(), blob(-1).len()]",
            "let s = \"ab\"; s += \"c\"; s += 'd'; s.pad(6, '-'); s.pad(9, \"xy\"); s + \"!\"",
            "let s = \"aXbX\"; s.replace(\"X\", \"yy\"); s.replace('a', \"AA\"); s.replace(\"\", \"-\"); s",
            "let m = #{a: 1}; m.set(\"b\", 2); m.set(\"a\", 3); m += #{c: 4}; m.mixin(#{d: 5}); m.fill_with(#{a: 9, e: 6}); m + #{f: 7}",
        ] {
            let expected = rhai.eval::<Dynamic>(script).map(|v| format!("{v:?}"));
            let seen = ours.eval::<Dynamic>(script).map(|v| format!("{v:?}"));
            assert_eq!(
                seen.as_ref().map_err(|e| e.to_string()),
                expected.as_ref().map_err(|e| e.to_string()),
                "{script}"
            );
        }
    }

    #[test]
    fn growth_past_a_limit_is_stopped_before_it_happens() {
        let small =
            engine(Limits { max_array_size: 3, max_map_size: 2, max_string_size: 4, ..Limits::default() });
        for (script, what) in [
            ("let a = [1, 2, 3]; a.push(4)", "array"),
            ("let a = [1, 2, 3]; a += 4", "array"),
            ("let a = [1, 2]; a += [3, 4]", "array"),
            ("[1, 2] + [3, 4]", "array"),
            ("let a = []; a.pad(1000000000000, 0)", "array"),
            ("blob(1000000000000)", "BLOB"),
            ("let s = \"abcd\"; s += \"e\"", "string"),
            ("\"abc\" + \"de\"", "string"),
            ("let s = \"\"; s.pad(1000000000000, 'x')", "string"),
            ("let s = \"xx\"; s.replace(\"x\", \"yyy\")", "string"),
            ("let m = #{a: 1, b: 2}; m.set(\"c\", 3)", "map"),
            ("let m = #{a: 1}; m += #{b: 2, c: 3}", "map"),
        ] {
            let err = small.eval::<Dynamic>(script).unwrap_err();
            assert!(
                matches!(*err, EvalAltResult::ErrorDataTooLarge(ref w, _) if w.contains(what)),
                "{script}: expected a {what} size error, got {err}"
            );
        }
    }
}
