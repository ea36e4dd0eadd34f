//! `vmssid check`: compile scripts and libraries without touching ARM, and find what would fail
//! at run time for reasons visible in the source: syntax errors, imports that do not resolve,
//! calls to functions that do not exist or with the wrong number of arguments.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use rhai::{ASTNode, Engine, Expr, Position, Stmt};

use crate::host::library::{LibraryResolver, STDLIB, STDLIB_PREFIX};

/// One finding, printed as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.strip_prefix(".").unwrap_or(&self.file);
        write!(f, "{}:{}:{}: {}", file.display(), self.line, self.col, self.message)
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

/// Checks scripts against an engine that has every primitive registered.
pub struct Checker<'a> {
    engine: &'a Engine,
    resolver: LibraryResolver,
    native: Signatures,
    modules: HashMap<String, Result<Signatures, String>>,
}

impl<'a> Checker<'a> {
    /// A checker using `engine`'s functions and the given library roots.
    pub fn new(engine: &'a Engine, library_paths: &[PathBuf]) -> Self {
        let mut native = Signatures::new();
        for sig in engine.gen_fn_signatures(true) {
            if let Some((name, arity)) = parse_signature(&sig) {
                native.entry(name).or_default().insert(arity);
            }
        }
        Self { engine, resolver: LibraryResolver::new(library_paths), native, modules: HashMap::new() }
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
        let diag = |line: usize, col: usize, message: String| Diagnostic {
            file: file.to_path_buf(),
            line,
            col,
            message,
        };
        let source = match crate::host::library::read_module(file) {
            Ok(s) => s,
            Err(e) => return vec![diag(0, 0, e.to_string())],
        };
        let source = if source.starts_with("#!") { format!("//{source}") } else { source };
        let ast = match self.engine.compile(&source) {
            Ok(ast) => ast,
            Err(e) => {
                let (line, col) = position(e.position());
                return vec![diag(line, col, format!("syntax error: {}", e.err_type()))];
            }
        };
        let mut out = Vec::new();
        let mut own = Signatures::new();
        for f in ast.iter_functions() {
            own.entry(f.name.to_string()).or_default().insert(f.params.len());
        }
        // First pass: imports (alias -> module functions).
        let mut imports: Vec<(String, String, Position)> = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Stmt(Stmt::Import(x, pos))) = path.last()
                && let (Expr::StringConstant(module, _), alias) = (&x.0, &x.1)
            {
                imports.push((alias.name.to_string(), module.to_string(), *pos));
            }
            true
        });
        let mut aliases: HashMap<String, String> = HashMap::new();
        for (alias, module, pos) in imports {
            let (line, col) = position(pos);
            match self.module(&module) {
                Ok(_) => {
                    aliases.insert(alias, module);
                }
                Err(message) => out.push(diag(line, col, message)),
            }
        }
        // Second pass: calls.
        let mut calls: Vec<(String, Option<String>, usize, bool, Position)> = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            let (call, pos, method) = match path.last() {
                Some(ASTNode::Expr(Expr::FnCall(call, pos))) => (call, *pos, false),
                Some(ASTNode::Expr(Expr::MethodCall(call, pos))) => (call, *pos, true),
                Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => (call, *pos, false),
                _ => return true,
            };
            if call.op_token.is_some() {
                return true;
            }
            let namespace = (!call.namespace.is_empty()).then(|| call.namespace.root().to_string());
            calls.push((call.name.to_string(), namespace, call.args.len(), method, pos));
            true
        });
        for (name, namespace, args, method, pos) in calls {
            if SPECIAL.contains(&name.as_str())
                || !name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            {
                continue;
            }
            let (line, col) = position(pos);
            if let Some(alias) = namespace {
                let Some(module) = aliases.get(&alias) else { continue };
                let Some(Ok(functions)) = self.modules.get(module) else { continue };
                if let Some(message) =
                    arity_problem(functions, &name, args, &format!("{alias}::{name}"), module)
                {
                    out.push(diag(line, col, message));
                }
                continue;
            }
            // A method call `x.f(a)` passes `x` as the first argument.
            let arity = if method { args + 1 } else { args };
            let known = |set: &Signatures| set.get(&name).is_some_and(|a| a.contains(&arity));
            if known(&self.native) || known(&own) || (method && self.native.contains_key(&name)) {
                continue;
            }
            let mut offered: Vec<usize> =
                self.native.get(&name).into_iter().chain(own.get(&name)).flatten().copied().collect();
            offered.sort_unstable();
            offered.dedup();
            let message = if offered.is_empty() {
                format!("unknown function '{name}'")
            } else {
                let counts: Vec<String> = offered.iter().map(ToString::to_string).collect();
                format!("'{name}' takes {} argument(s), not {arity}", counts.join(" or "))
            };
            out.push(diag(line, col, message));
        }
        out
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
        let source = if module.starts_with(STDLIB_PREFIX) {
            if let Ok(Some(clash)) = self.resolver.locate(module) {
                return Err(format!(
                    "import '{module}': {} clashes with the embedded stdlib module; the 'vmssid/' prefix is reserved",
                    clash.display()
                ));
            }
            STDLIB
                .iter()
                .find(|(name, _)| *name == module)
                .map(|(_, s)| (*s).to_string())
                .ok_or_else(|| format!("import '{module}' not found: the stdlib has no such module"))?
        } else {
            let path =
                self.resolver.locate(module).map_err(|e| format!("import '{module}': {e}"))?.ok_or_else(
                    || format!("import '{module}' not found in the library path{}", roots(&self.resolver)),
                )?;
            crate::host::library::read_module(&path).map_err(|e| format!("import '{module}': {e}"))?
        };
        let ast = self.engine.compile(&source).map_err(|e| {
            let (line, col) = position(e.position());
            format!("import '{module}' does not compile: {line}:{col}: {}", e.err_type())
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

fn roots(resolver: &LibraryResolver) -> String {
    if resolver.roots().is_empty() {
        " (no library folders: use --lib DIR, VMSSID_PATH or vmssid.toml)".into()
    } else {
        format!(
            " ({})",
            resolver.roots().iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    }
}

fn arity_problem(
    functions: &Signatures,
    name: &str,
    args: usize,
    shown: &str,
    module: &str,
) -> Option<String> {
    match functions.get(name) {
        None => Some(format!("unknown function '{shown}' (module '{module}' has no such function)")),
        Some(arities) if !arities.contains(&args) => {
            let mut counts: Vec<usize> = arities.iter().copied().collect();
            counts.sort_unstable();
            let counts: Vec<String> = counts.iter().map(ToString::to_string).collect();
            Some(format!("'{shown}' takes {} argument(s), not {args}", counts.join(" or ")))
        }
        Some(_) => None,
    }
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

/// Checks every file under `paths` and returns the findings sorted by place.
pub fn check_all(engine: &Engine, paths: &[PathBuf], library_paths: &[PathBuf]) -> (usize, Vec<Diagnostic>) {
    let mut checker = Checker::new(engine, library_paths);
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
}
