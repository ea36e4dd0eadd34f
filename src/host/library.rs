//! `import` for scripts: the embedded stdlib under `vmssid/`, and team library folders.
//!
//! This is a sandbox boundary: an import names a module *relative to a library root*; absolute
//! paths, `..`, and symlinks that lead out of a root are refused. Rhai's own file resolver
//! allows all three, so it is not used.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use rhai::module_resolvers::ModuleResolver;
use rhai::{Engine, EvalAltResult, Module, Position, Scope};

/// A compiled module (`Arc` under the `sync` feature).
type SharedModule = std::sync::Arc<Module>;

/// The stdlib, compiled into the binary: `(import path, source)`.
pub const STDLIB: &[(&str, &str)] = &[
    ("vmssid/identity", include_str!("../../stdlib/identity.rhai")),
    ("vmssid/fleet", include_str!("../../stdlib/fleet.rhai")),
    ("vmssid/roles", include_str!("../../stdlib/roles.rhai")),
];

/// Prefix reserved for the stdlib.
pub const STDLIB_PREFIX: &str = "vmssid/";

/// Where imports are looked up: library folders searched in order, and named libraries
/// (`vmssid.toml`'s `[libraries] team = { … }`), each of which owns the first component of an
/// import path (`import "team/greet"`).
#[derive(Debug, Clone, Default)]
pub struct Libraries {
    pub paths: Vec<PathBuf>,
    pub named: Vec<NamedLibrary>,
}

impl From<Vec<PathBuf>> for Libraries {
    fn from(paths: Vec<PathBuf>) -> Self {
        Self { paths, named: Vec::new() }
    }
}

/// A library imported under its own name.
#[derive(Debug, Clone)]
pub struct NamedLibrary {
    pub name: String,
    /// Where its files are: a folder of the project, the cache or the vendor folder.
    pub origin: PathBuf,
    pub content: LibraryContent,
}

/// How a named library's modules are read.
#[derive(Debug, Clone)]
pub enum LibraryContent {
    /// From the folder `origin`, as imports ask for them (`{ path = "DIR" }`).
    Folder,
    /// From memory: the modules (relative path with `/`, source) read when the library's files
    /// were checked against `vmssid.lock`, so what runs is exactly what was checked.
    Verified(std::sync::Arc<std::collections::BTreeMap<String, String>>),
}

impl Libraries {
    /// The named library that owns `import`, and the rest of the path.
    fn owner<'i>(&self, import: &'i str) -> Option<(&NamedLibrary, &'i str)> {
        let (first, rest) = import.split_once('/')?;
        self.named.iter().find(|l| l.name == first).map(|l| (l, rest))
    }

    /// Every module the libraries hold, as `(import path, file shown, source)`, sorted by import
    /// path; what `vmssid docs` documents. Unreadable files are left out.
    pub fn modules(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for library in &self.named {
            match &library.content {
                LibraryContent::Verified(modules) => {
                    for (path, source) in modules.iter() {
                        if let Some(stem) = path.strip_suffix(".rhai") {
                            let shown = library.origin.join(path).display().to_string();
                            out.push((format!("{}/{stem}", library.name), shown, source.clone()));
                        }
                    }
                }
                LibraryContent::Folder => folder_modules(&library.origin, Some(&library.name), &mut out),
            }
        }
        for root in &self.paths {
            folder_modules(root, None, &mut out);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

/// The `.rhai` files under `root` (hidden folders skipped, at most 1,000), named as imports
/// name them.
fn folder_modules(root: &Path, prefix: Option<&str>, out: &mut Vec<(String, String, String)>) {
    let mut pending = vec![root.to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let Ok(kind) = entry.file_type() else { continue };
            if hidden || seen >= 1000 {
                continue;
            }
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "rhai") {
                seen += 1;
                let Ok(relative) = path.with_extension("").strip_prefix(root).map(Path::to_path_buf) else {
                    continue;
                };
                let Some(relative) = relative.to_str().map(|r| r.replace('\\', "/")) else { continue };
                let Ok(source) = read_module(&path) else { continue };
                let import = prefix.map_or_else(|| relative.clone(), |p| format!("{p}/{relative}"));
                out.push((import, path.display().to_string(), source));
            }
        }
    }
}

/// Resolves imports against the embedded stdlib and the libraries, caching each module per run.
pub struct LibraryResolver {
    roots: Vec<PathBuf>,
    /// Configured folders that do not exist, named when an import finds nothing.
    missing: Vec<PathBuf>,
    named: Libraries,
    cache: Mutex<HashMap<String, SharedModule>>,
}

impl LibraryResolver {
    /// A resolver over `libraries`; folders that do not exist are skipped.
    pub fn new(libraries: &Libraries) -> Self {
        let (mut roots, mut missing) = (Vec::new(), Vec::new());
        for path in &libraries.paths {
            match path.canonicalize() {
                Ok(real) => roots.push(real),
                Err(_) => missing.push(path.clone()),
            }
        }
        let mut named = Libraries { paths: Vec::new(), named: libraries.named.clone() };
        for library in &mut named.named {
            if matches!(library.content, LibraryContent::Folder)
                && let Ok(real) = library.origin.canonicalize()
            {
                library.origin = real;
            }
        }
        Self { roots, missing, named, cache: Mutex::new(HashMap::new()) }
    }

    /// Finds the file an import path names, or says why it may not be used.
    pub fn locate(&self, import: &str) -> Result<Option<PathBuf>, String> {
        let relative = check_import_path(import)?;
        for root in &self.roots {
            if let Some(found) = locate_in(root, &relative, import)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The text of the module `import` names and the name its errors carry (its file); `None`
    /// when there is no such module, `Err` when it may not be used. Imports at run time and
    /// `vmssid check` read modules through this.
    pub fn source(&self, import: &str) -> Result<Option<(String, String)>, String> {
        if import.starts_with(STDLIB_PREFIX) {
            if let Ok(Some(clash)) = self.locate(import) {
                return Err(format!(
                    "{} clashes with the embedded stdlib module '{import}'; the 'vmssid/' prefix is reserved, rename the library folder",
                    clash.display()
                ));
            }
            let found = STDLIB.iter().find(|(name, _)| *name == import);
            return Ok(found.map(|(_, source)| (format!("{import}.rhai"), (*source).to_string())));
        }
        if let Some((library, rest)) = self.named.owner(import) {
            let relative = check_import_path(rest)?;
            return match &library.content {
                LibraryContent::Folder => {
                    let Some(path) = locate_in(&library.origin, &relative, import)? else { return Ok(None) };
                    let source = read_module(&path).map_err(|e| e.to_string())?;
                    Ok(Some((path.display().to_string(), source)))
                }
                LibraryContent::Verified(modules) => {
                    let key = relative.to_string_lossy().replace('\\', "/");
                    let shown = library.origin.join(&key).display().to_string();
                    Ok(modules.get(&key).map(|source| (shown, source.clone())))
                }
            };
        }
        let Some(path) = self.locate(import)? else { return Ok(None) };
        let source = read_module(&path).map_err(|e| e.to_string())?;
        Ok(Some((path.display().to_string(), source)))
    }

    /// Why `import` names no module, and where it was looked for.
    pub fn not_found(&self, import: &str) -> String {
        match self.named.owner(import) {
            Some((library, _)) => {
                format!(
                    "module '{import}' not found: library '{}' ({}) has no such module",
                    library.name,
                    library.origin.display()
                )
            }
            None => not_found_message(import, &self.roots, &self.missing),
        }
    }

    fn compile(
        &self,
        engine: &Engine,
        import: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let in_module =
            |e: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(import.to_string(), e, pos));
        let refuse = |message: String| in_module(EvalAltResult::ErrorRuntime(message.into(), pos).into());
        let (source_name, source) = self
            .source(import)
            .map_err(refuse)?
            .ok_or_else(|| not_found(&self.not_found(import), import, pos))?;
        let mut ast = engine.compile(&source).map_err(|e| in_module(with_source(e.into(), &source_name)))?;
        ast.set_source(source_name);
        let module = Module::eval_ast_as_new(Scope::new(), &ast, engine).map_err(in_module)?;
        Ok(module.into())
    }
}

/// The largest script or library file read.
const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a script, library or config file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} is larger than {} MiB", path.display(), MAX_SOURCE_BYTES >> 20)]
    TooLarge { path: PathBuf },
}

/// Reads a script, library or config file, refusing whatever is not a regular file: a FIFO
/// would block the run forever and a device might never end. The file is opened without
/// blocking and its type checked on the open handle, so it cannot be swapped in between.
pub fn read_module(path: &Path) -> Result<String, SourceError> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let cannot = |error: std::io::Error| SourceError::Io { path: path.to_path_buf(), error };
    let file = options.open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(SourceError::NotAFile { path: path.to_path_buf() });
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(SourceError::TooLarge { path: path.to_path_buf() });
    }
    let mut source = String::new();
    file.take(MAX_SOURCE_BYTES).read_to_string(&mut source).map_err(cannot)?;
    Ok(source)
}

/// Attaches a file name to a parse error, which Rhai reports without one.
fn with_source(err: EvalAltResult, source: &str) -> Box<EvalAltResult> {
    match err {
        EvalAltResult::ErrorParsing(p, pos) => {
            let at = match (pos.line(), pos.position()) {
                (Some(line), Some(col)) => format!("{source}:{line}:{col}"),
                _ => source.to_string(),
            };
            EvalAltResult::ErrorRuntime(format!("{at}: syntax error: {p}").into(), Position::NONE).into()
        }
        other => other.into(),
    }
}

fn not_found(message: &str, import: &str, pos: Position) -> Box<EvalAltResult> {
    // Rhai replaces the text of a resolver's ErrorModuleNotFound with the bare path, so the
    // search list travels as the inner error of an ErrorInModule.
    let inner = EvalAltResult::ErrorRuntime(message.into(), Position::NONE);
    EvalAltResult::ErrorInModule(import.to_string(), inner.into(), pos).into()
}

/// Why `import` names no module, where it was looked for, and which configured folders do not
/// exist (`vmssid check` says it too).
pub fn not_found_message(import: &str, roots: &[PathBuf], missing: &[PathBuf]) -> String {
    let shown =
        |paths: &[PathBuf]| paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if import.starts_with(STDLIB_PREFIX) {
        let names: Vec<&str> = STDLIB.iter().map(|(n, _)| *n).collect();
        return format!("module '{import}' not found: the stdlib has {}", names.join(", "));
    }
    let searched = if roots.is_empty() { String::new() } else { format!("searched {}", shown(roots)) };
    match (searched.is_empty(), missing.is_empty()) {
        (true, true) => format!(
            "module '{import}' not found: no library folders are configured (use --lib DIR, VMSSID_PATH or vmssid.toml)"
        ),
        (false, true) => format!("module '{import}' not found: {searched}"),
        (_, false) => format!(
            "module '{import}' not found: {searched}{}the library folder(s) {} do not exist; hint: create them, or fix --lib, VMSSID_PATH or [libraries] paths in vmssid.toml",
            if searched.is_empty() { "" } else { "; " },
            shown(missing)
        ),
    }
}

/// The file `relative` names under `root`, if there is one; `Err` when it leads out of `root`.
fn locate_in(root: &Path, relative: &Path, import: &str) -> Result<Option<PathBuf>, String> {
    let candidate = root.join(relative);
    if !candidate.exists() {
        return Ok(None);
    }
    let real = candidate.canonicalize().map_err(|e| format!("cannot read {}: {e}", candidate.display()))?;
    if !real.starts_with(root) {
        return Err(format!(
            "'{import}' resolves to {} which is outside the library root {} (symlinks may not leave a root)",
            real.display(),
            root.display()
        ));
    }
    Ok(Some(real))
}

/// An import path must be relative, plain, and free of `..`; `.rhai` is implied.
pub fn check_import_path(import: &str) -> Result<PathBuf, String> {
    if import.is_empty() {
        return Err("empty import path".into());
    }
    if import.contains('\\') || import.chars().any(char::is_control) {
        return Err(format!("import path '{import}' may only use '/' as separator"));
    }
    let path = Path::new(import);
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(format!("import path '{import}' may not contain '..'")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("import path '{import}' must be relative to a library folder"));
            }
        }
    }
    if relative.extension().is_none() {
        relative.set_extension("rhai");
    }
    Ok(relative)
}

thread_local! {
    /// Modules being loaded on this thread, outermost first: an import cycle would otherwise
    /// recurse until the stack overflows.
    static LOADING: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks a module as loading for as long as it lives.
struct Loading;

impl Loading {
    fn enter(path: &str, pos: Position) -> Result<Self, Box<EvalAltResult>> {
        LOADING.with(|stack| {
            let mut stack = stack.borrow_mut();
            if stack.iter().any(|p| p == path) {
                let mut cycle = stack.clone();
                cycle.push(path.to_string());
                let message = format!("import cycle: {}", cycle.join(" -> "));
                return Err(Box::new(EvalAltResult::ErrorInModule(
                    path.to_string(),
                    EvalAltResult::ErrorRuntime(message.into(), Position::NONE).into(),
                    pos,
                )));
            }
            stack.push(path.to_string());
            Ok(Loading)
        })
    }
}

impl Drop for Loading {
    fn drop(&mut self) {
        LOADING.with(|stack| {
            stack.borrow_mut().pop();
        });
    }
}

impl ModuleResolver for LibraryResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        if let Some(module) = self.cache.lock().ok().and_then(|c| c.get(path).cloned()) {
            return Ok(module);
        }
        let _loading = Loading::enter(path, pos)?;
        let module = self.compile(engine, path, pos)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(path.to_string(), module.clone());
        }
        Ok(module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_paths_stay_inside_roots() {
        assert_eq!(check_import_path("team/rotate").unwrap(), PathBuf::from("team/rotate.rhai"));
        assert_eq!(check_import_path("./a.rhai").unwrap(), PathBuf::from("a.rhai"));
        for bad in ["../x", "team/../../x", "/etc/passwd", "a\\b", ""] {
            assert!(check_import_path(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.rhai");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success(), "mkfifo");
        // Blocked forever before the fix: nobody ever writes to the FIFO.
        let err = read_module(&fifo).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "expected a refusal, got {err}");
        let err = read_module(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "a folder: {err}");
        std::fs::write(dir.path().join("ok.rhai"), "1").unwrap();
        assert_eq!(read_module(&dir.path().join("ok.rhai")).unwrap(), "1");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_a_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.rhai"), "export const X = 1;").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.rhai"), root.path().join("evil.rhai"))
            .unwrap();
        let resolver = LibraryResolver::new(&vec![root.path().to_path_buf()].into());
        let err = resolver.locate("evil").unwrap_err();
        assert!(err.contains("outside the library root"), "{err}");
    }
}
