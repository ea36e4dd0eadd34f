//! Rhai definition files (`.d.rhai`) for editors, from Rhai's own metadata: the primitives as
//! the engine registers them (with the catalog's summaries as doc comments), and every public
//! function of the stdlib and of the configured libraries, one file per module, named by its
//! import path (`vmssid/identity.d.rhai`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rhai::Engine;

use crate::host::library::{Libraries, STDLIB};

/// Writes the definition files under `dir` (created if missing) and returns them, sorted.
/// Modules that do not compile are left out, as `vmssid docs` leaves them out.
pub fn write(engine: &Engine, libraries: &Libraries, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<(String, String)> = engine
        .definitions()
        .include_standard_packages(false)
        .iter_files()
        .map(|(file, content)| (file, tidy(&content)))
        .collect();
    let modules = STDLIB
        .iter()
        .map(|(name, source)| (name.to_string(), source.to_string()))
        .chain(libraries.modules().into_iter().map(|(name, _, source)| (name, source)));
    for (name, source) in modules {
        if let Some(content) = module_definitions(engine, &name, &source) {
            files.push((format!("{name}.d.rhai"), content));
        }
    }
    let mut written = Vec::new();
    for (file, content) in files {
        // Import paths hold `/`: their files go to matching folders.
        let path = dir.join(&file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

/// Rhai names the return type of a fallible native function by the last `::` segment of
/// `Result<T, Box<EvalAltResult>>`, which reads `EvalAltResult>>`, and leaves some empty; both
/// mean "any value", which Rhai's definition syntax writes `?`.
fn tidy(content: &str) -> String {
    content.replace("-> EvalAltResult>>;", "-> ?;").replace(") -> ;", ") -> ?;")
}

/// The public functions of one module, with their `///` comments, in Rhai's definition syntax.
/// Script functions are untyped, so every parameter and result is `?`.
fn module_definitions(engine: &Engine, name: &str, source: &str) -> Option<String> {
    let ast = engine.compile(source).ok()?;
    let mut functions: Vec<_> = ast
        .iter_functions()
        .filter(|f| f.access != rhai::FnAccess::Private && !f.name.starts_with("anon$"))
        .collect();
    functions.sort_by(|a, b| (a.name, a.params.len()).cmp(&(b.name, b.params.len())));
    let mut out = format!("module {name};\n");
    for f in functions {
        out.push('\n');
        for comment in &f.comments {
            let _ = writeln!(out, "{}", comment.trim());
        }
        let params: Vec<String> = f.params.iter().map(|p| format!("{p}: ?")).collect();
        let _ = writeln!(out, "fn {}({}) -> ?;", f.name, params.join(", "));
    }
    Some(out)
}
