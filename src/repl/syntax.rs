//! Just enough Rhai lexing for the REPL: whether input is unfinished, which top-level imports a
//! line made, and which primitive argument the cursor is in (for completion).
//!
//! Rhai's own tokenizer is only public with the `internals` feature, so this is a small scanner
//! that knows strings, comments and brackets, which is all these three questions need.

use rhai::{Engine, ParseError, ParseErrorType};

/// Whether `source` is a statement that continues on the next line (an open brace, bracket,
/// string or expression), rather than a finished statement or a plain mistake.
pub fn is_incomplete(engine: &Engine, source: &str) -> bool {
    if source.trim().is_empty() {
        return false;
    }
    match engine.compile(source) {
        Ok(_) => false,
        Err(err) => error_means_incomplete(&err, source),
    }
}

/// Rhai reports unfinished code as a missing token positioned at or past the end of the input
/// (docs/rhai-host.md §1); the same error inside the input is a real mistake.
pub fn error_means_incomplete(err: &ParseError, source: &str) -> bool {
    let at_end = || match (err.position().line(), err.position().position()) {
        (Some(line), Some(column)) => offset_of(source, line, column) >= source.trim_end().chars().count(),
        _ => true,
    };
    match err.err_type() {
        ParseErrorType::UnexpectedEOF => true,
        ParseErrorType::MissingToken(..)
        | ParseErrorType::MissingSymbol(..)
        | ParseErrorType::ExprExpected(..) => at_end(),
        ParseErrorType::BadInput(rhai::LexError::UnterminatedString) => open_backtick(source),
        _ => false,
    }
}

/// The character offset of a 1-based (line, column) position; past the end if it lies beyond.
fn offset_of(source: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, text) in source.split('\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += text.chars().count() + 1;
    }
    offset
}

/// A multi-line string (Rhai's back-tick literal) is still open.
fn open_backtick(source: &str) -> bool {
    matches!(tokens(source).last(), Some(Token { kind: Kind::Str { closed: false, quote: '`', .. }, .. }))
}

/// One lexical token, with its byte offset in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
}

/// What the scanner distinguishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A name, with `::` paths joined (`id::ensure`).
    Ident(String),
    /// A string literal; `value` is the raw text between the quotes.
    Str {
        value: String,
        closed: bool,
        quote: char,
    },
    Open(char),
    Close(char),
    Comma,
    Semicolon,
    /// Anything else (numbers, operators, chars).
    Other,
}

/// Scans `source` into tokens, skipping whitespace and comments.
pub fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = source.char_indices().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let next = chars.get(i + 1).map(|&(_, c)| c);
        match c {
            c if c.is_whitespace() => i += 1,
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                i += 2;
                while i < chars.len() && !(chars[i].1 == '*' && chars.get(i + 1).map(|p| p.1) == Some('/')) {
                    i += 1;
                }
                i += 2;
            }
            '"' | '`' | '\'' => {
                let quote = c;
                let mut value = String::new();
                let mut closed = false;
                i += 1;
                while i < chars.len() {
                    let ch = chars[i].1;
                    if ch == '\\' && quote != '`' {
                        value.push(ch);
                        if let Some(&(_, escaped)) = chars.get(i + 1) {
                            value.push(escaped);
                        }
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if ch == quote {
                        closed = true;
                        break;
                    }
                    value.push(ch);
                }
                let kind = if quote == '\'' { Kind::Other } else { Kind::Str { value, closed, quote } };
                out.push(Token { kind, start });
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut name = String::new();
                while i < chars.len() && (chars[i].1.is_alphanumeric() || chars[i].1 == '_') {
                    name.push(chars[i].1);
                    i += 1;
                }
                // `a::b` is one path; join it onto the name before it.
                if let Some(Token { kind: Kind::Ident(prev), .. }) = out.last_mut()
                    && prev.ends_with("::")
                {
                    prev.push_str(&name);
                    continue;
                }
                out.push(Token { kind: Kind::Ident(name), start });
            }
            ':' if next == Some(':') => {
                if let Some(Token { kind: Kind::Ident(prev), .. }) = out.last_mut() {
                    prev.push_str("::");
                } else {
                    out.push(Token { kind: Kind::Other, start });
                }
                i += 2;
            }
            '(' | '[' | '{' => {
                out.push(Token { kind: Kind::Open(c), start });
                i += 1;
            }
            ')' | ']' | '}' => {
                out.push(Token { kind: Kind::Close(c), start });
                i += 1;
            }
            ',' => {
                out.push(Token { kind: Kind::Comma, start });
                i += 1;
            }
            ';' => {
                out.push(Token { kind: Kind::Semicolon, start });
                i += 1;
            }
            _ => {
                // `#{` opens a map literal like `{`.
                if c == '#' && next == Some('{') {
                    out.push(Token { kind: Kind::Open('{'), start });
                    i += 2;
                    continue;
                }
                out.push(Token { kind: Kind::Other, start });
                i += 1;
            }
        }
    }
    out
}

/// `import "path" as alias;` at the top level of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub path: String,
    pub alias: String,
}

/// The imports with a literal path and an alias at the top level of `source` (not inside a
/// block or function, where they are meant to stay local).
pub fn top_level_imports(source: &str) -> Vec<Import> {
    let toks = tokens(source);
    let mut depth = 0usize;
    let mut found = Vec::new();
    for (i, tok) in toks.iter().enumerate() {
        match &tok.kind {
            Kind::Open(_) => depth += 1,
            Kind::Close(_) => depth = depth.saturating_sub(1),
            Kind::Ident(word) if word == "import" && depth == 0 => {
                let statement_start =
                    i == 0 || matches!(toks[i - 1].kind, Kind::Semicolon | Kind::Close('}'));
                let rest = toks.get(i + 1..i + 4).map(|r| r.iter().map(|t| &t.kind).collect::<Vec<_>>());
                if let (true, Some(rest)) = (statement_start, rest)
                    && let [Kind::Str { value, closed: true, .. }, Kind::Ident(as_kw), Kind::Ident(alias)] =
                        rest.as_slice()
                    && as_kw == "as"
                    && !alias.contains("::")
                {
                    found.push(Import { path: value.clone(), alias: alias.clone() });
                }
            }
            _ => {}
        }
    }
    found
}

/// The cursor is inside a string literal that is an argument of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringArgument {
    /// The function called, with its module path if any (`get_vmss`, `id::ensure`).
    pub function: String,
    /// Which argument, from 0.
    pub index: usize,
    /// The arguments before it that are plain string literals.
    pub previous: Vec<Option<String>>,
    /// Byte offset where the string's text starts (just after the quote).
    pub text_start: usize,
    /// What has been typed of the string so far.
    pub typed: String,
}

/// If the text before the cursor ends inside an unclosed string argument of a call, which one.
pub fn string_argument(before_cursor: &str) -> Option<StringArgument> {
    struct Frame {
        function: Option<String>,
        index: usize,
        args: Vec<Option<String>>,
        /// Tokens in the current argument, and its string value when it is one literal.
        tokens_in_arg: usize,
        literal: Option<String>,
    }
    let toks = tokens(before_cursor);
    let (last, body) = toks.split_last()?;
    let Kind::Str { value, closed: false, quote: '"' } = &last.kind else { return None };
    let mut stack: Vec<Frame> = Vec::new();
    for (i, tok) in body.iter().enumerate() {
        if let Some(frame) = stack.last_mut()
            && !matches!(tok.kind, Kind::Comma | Kind::Close(_))
        {
            frame.tokens_in_arg += 1;
            frame.literal = match &tok.kind {
                Kind::Str { value, closed: true, .. } if frame.tokens_in_arg == 1 => Some(value.clone()),
                _ => None,
            };
        }
        match &tok.kind {
            Kind::Open(c) => {
                let function = match (c, i.checked_sub(1).map(|p| &body[p].kind)) {
                    ('(', Some(Kind::Ident(name))) => Some(name.clone()),
                    _ => None,
                };
                stack.push(Frame { function, index: 0, args: Vec::new(), tokens_in_arg: 0, literal: None });
            }
            Kind::Close(_) => {
                stack.pop();
            }
            Kind::Comma => {
                if let Some(frame) = stack.last_mut() {
                    frame.args.push(frame.literal.take());
                    frame.index += 1;
                    frame.tokens_in_arg = 0;
                }
            }
            _ => {}
        }
    }
    let frame = stack.pop()?;
    // The string must be the whole argument so far: `f(x + "a` is not a name.
    if frame.tokens_in_arg != 0 {
        return None;
    }
    Some(StringArgument {
        function: frame.function?,
        index: frame.index,
        previous: frame.args,
        text_start: last.start + 1,
        typed: value.clone(),
    })
}

/// The identifier (or `module::name` path) that ends at `pos`: its start and text.
pub fn word_before(line: &str, pos: usize) -> (usize, &str) {
    let head = &line[..pos];
    let start = head
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_alphanumeric() || c == '_' || c == ':')
        .last()
        .map_or(pos, |(i, _)| i);
    (start, &head[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_input_continues_and_mistakes_do_not() {
        let engine = Engine::new_raw();
        let incomplete = [
            "fn f() {",
            "let v = [1,",
            "if x {\n  1",
            "let m = #{ a: 1,",
            "let x = 1 +",
            "get_vmss(\"rg\",",
            "let s = `multi",
            "for v in list {\n  print(v);",
        ];
        for source in incomplete {
            assert!(is_incomplete(&engine, source), "{source:?} should continue on the next line");
        }
        let finished_or_wrong =
            ["let x = 1", "let x = 1;", "1 +* 2", "fn f() { 1 }", "", "  ", "let x = 1 }", "let s = \"abc"];
        for source in finished_or_wrong {
            assert!(!is_incomplete(&engine, source), "{source:?} should be evaluated (or reported) now");
        }
    }

    #[test]
    fn imports_at_the_top_level_only() {
        let found = top_level_imports(
            "import \"vmssid/identity\" as id; fn f() { import \"x\" as y; } import \"team/a\" as a\n// import \"c\" as c;",
        );
        assert_eq!(
            found,
            vec![
                Import { path: "vmssid/identity".into(), alias: "id".into() },
                Import { path: "team/a".into(), alias: "a".into() }
            ]
        );
        assert!(top_level_imports("let s = \"import \\\"x\\\" as y\";").is_empty());
    }

    #[test]
    fn string_arguments_are_found() {
        let arg = string_argument("get_vmss(\"myRes").unwrap();
        assert_eq!(
            (arg.function.as_str(), arg.index, arg.typed.as_str(), arg.text_start),
            ("get_vmss", 0, "myRes", 10)
        );
        let arg = string_argument("let v = get_vmss(\"myResourceGroup\", \"my").unwrap();
        assert_eq!(arg.index, 1);
        assert_eq!(arg.previous, vec![Some("myResourceGroup".to_string())]);
        let arg = string_argument("add_user(\"rg\", \"v\", user_identity(\"rg\", \"I").unwrap();
        assert_eq!((arg.function.as_str(), arg.index), ("user_identity", 1));
        let arg = string_argument("id::ensure(\"r").unwrap();
        assert_eq!(arg.function, "id::ensure");
        assert!(string_argument("print(\"a\" + \"b").is_none());
        assert!(string_argument("let s = \"abc").is_none());
        assert!(string_argument("get_vmss(\"rg\")").is_none());
    }

    #[test]
    fn words_before_the_cursor() {
        assert_eq!(word_before("let v = get_v", 13), (8, "get_v"));
        assert_eq!(word_before("id::en", 6), (0, "id::en"));
        assert_eq!(word_before("x + ", 4), (4, ""));
    }
}
