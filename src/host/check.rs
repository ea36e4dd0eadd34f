//! `vmssid check`, and the same check `vmssid run` and the REPL make before they run anything:
//! compile scripts and libraries without touching ARM, and find what would fail at run time for
//! reasons visible in the source: syntax errors, imports that do not resolve, calls to functions
//! that do not exist or with the wrong number of arguments.
//!
//! Nothing valid may be flagged (a flagged script does not run), so what cannot be known from the
//! source is let through: method calls (`x.f()` may call a function pointer that a map holds
//! under `f`), calls into modules imported from a computed path, and syntax the engine itself
//! will report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rhai::{AST, ASTNode, Engine, Expr, Position, Stmt};

use crate::host::call_error::LISTED;
use crate::host::docs::StdlibDoc;
use crate::host::library::{Libraries, LibraryResolver};

/// One finding, printed as `file:line:col: message`, with `; hint: ...` where one helps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// A likely fix, such as the known name closest to a misspelt one.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.strip_prefix(".").unwrap_or(&self.file);
        write!(f, "{}:{}:{}: {}", file.display(), self.line, self.col, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

/// Names Rhai treats as keywords or resolves specially; never "unknown".
const SPECIAL: &[&str] = &[
    "Fn",
    "call",
    "curry",
    "is_def_fn",
    "is_def_var",
    "is_shared",
    "type_of",
    "print",
    "debug",
    "eval",
    "this",
];

/// Functions a module offers: `name -> set of arities`.
type Signatures = HashMap<String, HashSet<usize>>;

/// What earlier inputs of the same session defined, which the next input may use.
#[derive(Debug, Default, Clone, Copy)]
pub struct Known<'a> {
    /// Functions defined so far.
    pub functions: Option<&'a AST>,
    /// Imports kept from earlier inputs: `(alias, module path)`.
    pub imports: &'a [(String, String)],
}

/// A function call (not a method call) found in a script.
struct Call {
    name: String,
    namespace: Option<String>,
    args: usize,
    pos: Position,
}

/// The functions the host registered on an engine, with their arities. Listing them takes
/// a while, so a REPL keeps them rather than list them again for every input.
#[derive(Debug, Clone)]
pub struct Natives(Arc<Signatures>);

impl Natives {
    pub fn of(engine: &Engine) -> Self {
        Self(Arc::new(signatures(&engine.gen_fn_signatures(false))))
    }
}

/// Rhai's standard library as signatures (`name(type, ...) -> type`), the same in every
/// engine. Rhai registers it lazily and listing it costs milliseconds, so it is listed once per
/// process and only when needed: a script calling a function the host does not offer, or an
/// error naming one. `vmssid run -e 'enable_system(id)'` never pays for it.
pub(crate) fn standard_signatures() -> &'static [String] {
    static LISTED: OnceLock<Vec<String>> = OnceLock::new();
    LISTED.get_or_init(|| Engine::new().gen_fn_signatures(true))
}

/// [`standard_signatures`] as names and arities.
fn standard_library() -> &'static Signatures {
    static STANDARD: OnceLock<Signatures> = OnceLock::new();
    STANDARD.get_or_init(|| signatures(standard_signatures()))
}

fn signatures(listed: &[String]) -> Signatures {
    let mut out = Signatures::new();
    for (name, arity) in listed.iter().filter_map(|sig| parse_signature(sig)) {
        out.entry(name).or_default().insert(arity);
    }
    out
}

/// Checks scripts against an engine that has every primitive registered.
pub struct Checker<'a> {
    engine: &'a Engine,
    resolver: LibraryResolver,
    native: Arc<Signatures>,
    modules: HashMap<String, Result<Signatures, String>>,
}

impl<'a> Checker<'a> {
    /// A checker using `engine`'s functions and the given libraries.
    pub fn new(engine: &'a Engine, libraries: &Libraries) -> Self {
        Self::with_natives(engine, &Natives::of(engine), libraries)
    }

    /// A checker using `engine`, whose functions `natives` lists, and the given libraries.
    pub fn with_natives(engine: &'a Engine, natives: &Natives, libraries: &Libraries) -> Self {
        let resolver = LibraryResolver::new(libraries);
        Self { engine, resolver, native: natives.0.clone(), modules: HashMap::new() }
    }

    /// Every `.rhai` file under `paths` (files or folders), sorted; hidden folders and `target` skipped.
    pub fn collect(paths: &[PathBuf]) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for path in paths {
            walk(path, &mut files);
        }
        files.sort();
        files.dedup();
        files
    }

    /// Checks one file.
    pub fn check_file(&mut self, file: &Path) -> Vec<Diagnostic> {
        let source = match crate::host::library::read_module(file) {
            Ok(s) => s,
            Err(e) => return vec![diagnostic(file, Position::NONE, e.to_string(), None)],
        };
        let source = if source.starts_with("#!") { format!("//{source}") } else { source };
        match self.engine.compile(&source) {
            Ok(ast) => self.check_ast(&ast, file, Known::default()),
            Err(e) => vec![diagnostic(file, e.position(), format!("syntax error: {}", e.err_type()), None)],
        }
    }

    /// Checks compiled source named `file`, which may use what `known` says earlier inputs defined.
    pub fn check_ast(&mut self, ast: &AST, file: &Path, known: Known<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut own = Signatures::new();
        let earlier = known.functions.into_iter().flat_map(|f| f.iter_functions());
        for f in ast.iter_functions().chain(earlier) {
            own.entry(f.name.to_string()).or_default().insert(f.params.len());
        }
        // alias -> module path; `None` where its functions cannot be known (a computed path, or
        // a module that does not load, which is reported once, at its import).
        let mut aliases: HashMap<String, Option<String>> = HashMap::new();
        for (alias, module) in known.imports {
            let loads = self.module(module).is_ok();
            aliases.insert(alias.clone(), loads.then(|| module.clone()));
        }
        let mut imports: Vec<(String, Option<String>, Position)> = Vec::new();
        let mut calls: Vec<Call> = Vec::new();
        // Names the script asks `is_def_fn` about: it calls them only where they exist.
        let mut guarded: HashSet<String> = HashSet::new();
        ast.walk(&mut |path: &[ASTNode]| {
            match path.last() {
                Some(ASTNode::Stmt(Stmt::Import(x, pos))) => {
                    let module = match &x.0 {
                        Expr::StringConstant(module, _) => Some(module.to_string()),
                        _ => None,
                    };
                    imports.push((x.1.name.to_string(), module, *pos));
                }
                // Method calls (`Expr::MethodCall`) are not collected: see the module's comment.
                Some(ASTNode::Expr(Expr::FnCall(call, pos)) | ASTNode::Stmt(Stmt::FnCall(call, pos))) => {
                    if call.name == "is_def_fn" {
                        guarded.extend(call.args.iter().filter_map(|arg| match arg {
                            Expr::StringConstant(name, _) => Some(name.to_string()),
                            _ => None,
                        }));
                    }
                    calls.push(Call::of(call, *pos));
                }
                _ => {}
            }
            true
        });
        for (alias, module, pos) in imports {
            let module = module.filter(|module| match self.module(module) {
                Ok(_) => true,
                Err(message) => {
                    out.push(diagnostic(file, pos, message, None));
                    false
                }
            });
            if !alias.is_empty() {
                aliases.insert(alias, module);
            }
        }
        for call in calls {
            if call.operator() || SPECIAL.contains(&call.name.as_str()) {
                continue;
            }
            if call.namespace.is_none() && guarded.contains(&call.name) {
                continue;
            }
            let problem = match &call.namespace {
                Some(alias) => self.namespaced_problem(&call, alias, &aliases),
                None => self.plain_problem(&call, &own, &aliases),
            };
            if let Some((message, hint)) = problem {
                out.push(diagnostic(file, call.pos, message, hint));
            }
        }
        out
    }

    /// What is wrong with `alias::name(...)`, if anything: (message, hint).
    fn namespaced_problem(
        &self,
        call: &Call,
        alias: &str,
        aliases: &HashMap<String, Option<String>>,
    ) -> Option<(String, Option<String>)> {
        let shown = format!("{alias}::{}", call.name);
        let module = match aliases.get(alias) {
            Some(Some(module)) => module,
            Some(None) => return None,
            None => {
                // `global::` and modules the host registered are not imports.
                let prefix = format!("{alias}::");
                if alias == "global" || self.native.keys().any(|k| k.starts_with(&prefix)) {
                    return None;
                }
                let names = aliases.keys().map(|a| (a.as_str(), format!("{a}::{}", call.name)));
                let hint = did_you_mean(alias, names)
                    .or_else(|| stdlib_hint(Some(alias), &call.name))
                    .unwrap_or_else(|| format!("import a module as '{alias}' first; {LISTED}"));
                return Some((format!("'{shown}': no module is imported as '{alias}'"), Some(hint)));
            }
        };
        let functions = self.modules.get(module)?.as_ref().ok()?;
        let Some(arities) = functions.get(&call.name) else {
            let names = functions.keys().map(|f| (f.as_str(), format!("{alias}::{f}")));
            let hint = did_you_mean(&call.name, names)
                .unwrap_or_else(|| format!("`vmssid docs` lists what '{module}' has"));
            return Some((
                format!("unknown function '{shown}' (module '{module}' has no such function)"),
                Some(hint),
            ));
        };
        (!arities.contains(&call.args)).then(|| (arity_message(&shown, arities, call.args), None))
    }

    /// What is wrong with a call without a namespace, if anything: (message, hint).
    fn plain_problem(
        &self,
        call: &Call,
        own: &Signatures,
        aliases: &HashMap<String, Option<String>>,
    ) -> Option<(String, Option<String>)> {
        let name = call.name.as_str();
        let known = |set: &Signatures| set.get(name).is_some_and(|a| a.contains(&call.args));
        if known(&self.native) || known(own) || known(standard_library()) {
            return None;
        }
        let declared = [&*self.native, own, standard_library()];
        let offered: HashSet<usize> =
            declared.iter().filter_map(|set| set.get(name)).flatten().copied().collect();
        if !offered.is_empty() {
            return Some((arity_message(name, &offered, call.args), None));
        }
        // Rhai's and the host's functions, the script's own, and those of imported modules.
        let plain =
            declared.iter().flat_map(|set| set.keys()).map(String::as_str).chain(SPECIAL.iter().copied());
        let mut names: Vec<(&str, String)> = plain.map(|n| (n, n.to_string())).collect();
        for (alias, module) in aliases {
            let functions = module.as_ref().and_then(|m| self.modules.get(m)).and_then(|f| f.as_ref().ok());
            names.extend(
                functions.into_iter().flat_map(|f| f.keys()).map(|f| (f.as_str(), format!("{alias}::{f}"))),
            );
        }
        let hint = did_you_mean(name, names)
            .or_else(|| stdlib_hint(None, name))
            .unwrap_or_else(|| LISTED.to_string());
        Some((format!("unknown function '{name}'"), Some(hint)))
    }

    /// The functions of an imported module, compiling it once.
    fn module(&mut self, module: &str) -> Result<Signatures, String> {
        if let Some(known) = self.modules.get(module) {
            return known.clone();
        }
        let result = self.load_module(module);
        self.modules.insert(module.to_string(), result.clone());
        result
    }

    fn load_module(&self, module: &str) -> Result<Signatures, String> {
        let (file, source) = self
            .resolver
            .source(module)
            .map_err(|e| format!("import '{module}': {e}"))?
            .ok_or_else(|| self.resolver.not_found(module))?;
        let ast = self.engine.compile(&source).map_err(|e| {
            let (line, col) = position(e.position());
            format!("import '{module}' does not compile: {file}:{line}:{col}: syntax error: {}", e.err_type())
        })?;
        let mut functions = Signatures::new();
        for f in ast.iter_functions() {
            if f.access != rhai::FnAccess::Private {
                functions.entry(f.name.to_string()).or_default().insert(f.params.len());
            }
        }
        Ok(functions)
    }
}

fn arity_message(shown: &str, arities: &HashSet<usize>, args: usize) -> String {
    let mut counts: Vec<usize> = arities.iter().copied().collect();
    counts.sort_unstable();
    let mut counts: Vec<String> = counts.iter().map(ToString::to_string).collect();
    let last = counts.pop().unwrap_or_default();
    let counts = if counts.is_empty() { last } else { format!("{} or {last}", counts.join(", ")) };
    format!("'{shown}' takes {counts} argument(s), not {args}")
}

impl Call {
    fn of(call: &rhai::FnCallExpr, pos: Position) -> Self {
        Self {
            name: call.name.to_string(),
            namespace: (!call.namespace.is_empty()).then(|| call.namespace.root().to_string()),
            args: call.args.len(),
            pos,
        }
    }

    /// Operators (`a + b`, `x in list`) compile to calls too.
    fn operator(&self) -> bool {
        !self.name.starts_with(|c: char| c.is_alphabetic() || c == '_')
    }
}

/// `did you mean 'x'?` for the candidate closest to `name`, if one is close enough to be a
/// likely typo. Candidates are (name compared, name shown).
pub(crate) fn did_you_mean<'n>(
    name: &str,
    candidates: impl IntoIterator<Item = (&'n str, String)>,
) -> Option<String> {
    nearest(name, candidates).map(|shown| format!("did you mean '{shown}'?"))
}

/// The candidate closest to `name` (as shown), if one is close enough to be a likely typo.
pub(crate) fn nearest<'n>(
    name: &str,
    candidates: impl IntoIterator<Item = (&'n str, String)>,
) -> Option<String> {
    let wanted = name.to_lowercase();
    // About one edit in three characters; a swap of two neighbours is one edit.
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|(compared, shown)| shown != name && is_plain_name(compared))
        .map(|(compared, shown)| (strsim::damerau_levenshtein(&wanted, &compared.to_lowercase()), shown))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, shown)| shown)
}

/// For a call of `name` (as `alias::name` when `alias` is given) that nothing imported offers:
/// the stdlib module that has it, or a name near it, and how to import it.
fn stdlib_hint(alias: Option<&str>, name: &str) -> Option<String> {
    // The stdlib is part of the binary: compiled for its functions once, not per finding.
    static FUNCTIONS: OnceLock<Vec<StdlibDoc>> = OnceLock::new();
    let functions = FUNCTIONS.get_or_init(crate::host::docs::stdlib_functions);
    let short = |module: &str| module.rsplit('/').next().unwrap_or(module).to_string();
    let offered: Vec<&StdlibDoc> =
        functions.iter().filter(|f| alias.is_none_or(|a| short(&f.module) == a)).collect();
    let found = match offered.iter().find(|f| f.name == name) {
        Some(f) => f,
        None => {
            let near = nearest(name, offered.iter().map(|f| (f.name.as_str(), f.name.clone())))?;
            offered.iter().find(|f| f.name == near)?
        }
    };
    let (module, found) = (&found.module, &found.name);
    let alias = alias.map_or_else(|| short(module), str::to_string);
    Some(format!(
        "the stdlib's {module} has {found}(): import \"{module}\" as {alias}; then call {alias}::{found}(…)"
    ))
}

/// A name a person types: not an operator, and not Rhai's generated names (`anon$…`, `get$…`).
fn is_plain_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn diagnostic(file: &Path, pos: Position, message: String, hint: Option<String>) -> Diagnostic {
    let (line, col) = position(pos);
    Diagnostic { file: file.to_path_buf(), line, col, message, hint }
}

fn position(pos: Position) -> (usize, usize) {
    (pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

/// `name(a: T, b: U) -> R` → (`name`, 2).
fn parse_signature(sig: &str) -> Option<(String, usize)> {
    let (name, rest) = sig.split_once('(')?;
    let params = rest.rsplit_once(')')?.0;
    let mut depth = 0i32;
    let mut count = usize::from(!params.trim().is_empty());
    for c in params.chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' => depth -= 1,
            ',' if depth == 0 => count += 1,
            _ => {}
        }
    }
    let name = name.trim().rsplit(' ').next()?.to_string();
    Some((name, count))
}

fn walk(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "rhai") {
            files.push(path.to_path_buf());
        }
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for entry in entries {
        let name = entry.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if entry.is_dir() && (name.starts_with('.') || name == "target" || name == "node_modules") {
            continue;
        }
        walk(&entry, files);
    }
}

/// The check `vmssid run` and the REPL make before running `source` (named `file`) in
/// `session`, which may use what the session defined and the imports it kept: the findings,
/// sorted. Source that does not compile passes: running it reports the syntax error.
/// `natives` lists the session engine's functions ([`Natives::of`]).
pub fn before_run(
    session: &crate::host::Session,
    natives: &Natives,
    libraries: &Libraries,
    source: &str,
    file: &Path,
    imports: &[(String, String)],
) -> Vec<Diagnostic> {
    let Ok(ast) = session.compile(source) else { return Vec::new() };
    let known = Known { functions: Some(session.functions()), imports };
    let mut checker = Checker::with_natives(session.engine(), natives, libraries);
    let mut found = checker.check_ast(&ast, file, known);
    found.sort();
    found
}

/// Checks every file under `paths` and returns the findings sorted by place.
pub fn check_all(engine: &Engine, paths: &[PathBuf], libraries: &Libraries) -> (usize, Vec<Diagnostic>) {
    let mut checker = Checker::new(engine, libraries);
    let files = Checker::collect(paths);
    let mut by_file: BTreeMap<PathBuf, Vec<Diagnostic>> = BTreeMap::new();
    for file in &files {
        let mut found = checker.check_file(file);
        found.sort();
        by_file.insert(file.clone(), found);
    }
    (files.len(), by_file.into_values().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_parsed() {
        assert_eq!(
            parse_signature("get_vmss(rg: &str, name: &str) -> Dynamic"),
            Some(("get_vmss".into(), 2))
        );
        assert_eq!(parse_signature("list_vmss() -> Array"), Some(("list_vmss".into(), 0)));
        assert_eq!(parse_signature("map(array: Array, f: FnPtr) -> Array"), Some(("map".into(), 2)));
        assert_eq!(parse_signature("f(x: Result<A, B>)"), Some(("f".into(), 1)));
    }

    /// A library folder holding `m.rhai` with `fn foo(a)`.
    fn library() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("m.rhai"), "fn foo(a) { a }\n").expect("module written");
        dir
    }

    /// The findings for `source`, checked with a plain Rhai engine and `library()`.
    fn findings(source: &str, known: Known<'_>) -> Vec<String> {
        let (engine, lib) = (Engine::new(), library());
        let ast = engine.compile(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        let mut checker = Checker::new(&engine, &vec![lib.path().to_path_buf()].into());
        checker.check_ast(&ast, Path::new("t"), known).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn what_only_a_run_can_tell_is_let_through() {
        let valid = [
            // A function pointer a map holds, called as a method.
            "let m = #{ f: |x| x * 2 }; m.f(3)",
            // A script function bound to `this` takes no argument for the receiver.
            "fn z() { this } let x = 1; x.z()",
            "let f = |x| x + 1; f.call(1) + call(f, 2) + f.curry(1).call()",
            "let f = Fn(\"g\"); fn g() { 1 } f.call()",
            "let s = \"abc\"; s.len() + s.to_upper().len()",
            "let o = #{ a: #{ b: 1 } }; o.a.b = 2; o.a.b",
            "1 in [1, 2] && `${1 + 1}` == \"2\"",
            // A hook called only where the script defines it.
            "if is_def_fn(\"hook\", 0) { hook() }",
            // A computed import path: its functions cannot be known.
            "let p = \"m\"; import p as q; q::anything(1, 2)",
            "import \"m\" as m; m::foo(1)",
        ];
        for source in valid {
            assert_eq!(findings(source, Known::default()), Vec::<String>::new(), "flagged: {source}");
        }
    }

    #[test]
    fn what_earlier_inputs_defined_and_imported_is_known() {
        let earlier = Engine::new().compile("fn double(x) { x * 2 }").expect("compiles");
        let imports = [("m".to_string(), "m".to_string())];
        let known = Known { functions: Some(&earlier), imports: &imports };
        assert_eq!(findings("double(2) + m::foo(1)", known), Vec::<String>::new());
        assert_eq!(
            findings("double(1, 2); m::foo()", known),
            ["t:1:1: 'double' takes 1 argument(s), not 2", "t:1:18: 'm::foo' takes 1 argument(s), not 0"]
        );
    }

    #[test]
    fn a_typo_gets_the_closest_known_name() {
        let cases = [
            (
                "fn enable_system(t) { t } enable_sytem(1)",
                "unknown function 'enable_sytem'; hint: did you mean 'enable_system'?",
            ),
            ("lenn([1])", "unknown function 'lenn'; hint: did you mean 'len'?"),
            ("pritn(1)", "unknown function 'pritn'; hint: did you mean 'print'?"),
            (
                "frobnicate(1)",
                "unknown function 'frobnicate'; hint: `vmssid docs` lists the primitives and the stdlib (`.help` in the REPL)",
            ),
            (
                "repot([])",
                "unknown function 'repot'; hint: the stdlib's vmssid/identity has report(): import \"vmssid/identity\" as identity; then call identity::report(…)",
            ),
            (
                "identity::repot([])",
                "'identity::repot': no module is imported as 'identity'; hint: the stdlib's vmssid/identity has report(): import \"vmssid/identity\" as identity; then call identity::report(…)",
            ),
            (
                "import \"m\" as m; m::fo(1)",
                "unknown function 'm::fo' (module 'm' has no such function); hint: did you mean 'm::foo'?",
            ),
            ("import \"m\" as m; foo(1)", "unknown function 'foo'; hint: did you mean 'm::foo'?"),
            (
                "import \"m\" as m; mm::foo(1)",
                "'mm::foo': no module is imported as 'mm'; hint: did you mean 'm::foo'?",
            ),
        ];
        for (source, expected) in cases {
            let found = findings(source, Known::default());
            assert!(
                found.len() == 1 && found[0].ends_with(expected),
                "{source}: expected one finding ending {expected:?}, got {found:?}"
            );
        }
    }
}
