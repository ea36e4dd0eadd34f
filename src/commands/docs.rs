//! `vmssid docs`: the reference of every primitive, stdlib and library function, or one entry.

use std::process::ExitCode;

use crate::cli::DocsArgs;
use crate::frontend::exit::UsageError;
use crate::host::catalog::{self, PRIMITIVES};
use crate::host::check::did_you_mean;
use crate::host::docs::{StdlibDoc, library_functions, markdown, primitive_text, stdlib_functions, text};

/// Prints the reference as text or Markdown, or the entry `NAME`.
pub fn run(args: DocsArgs) -> anyhow::Result<ExitCode> {
    let project = crate::config::discover(&std::env::current_dir()?)?;
    let libraries = crate::libraries::load(&[], &project, &args.lock)?;
    if let Some(dir) = &args.definitions {
        return definitions(dir, &libraries);
    }
    let library = library_functions(&libraries);
    match &args.name {
        None => print!("{}", if args.markdown { markdown(&library) } else { text(&library) }),
        Some(name) => print!("{}", entry(name, &library)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// The entry for `name`: a primitive, or the script functions of that name (every arity),
/// `module::name` or bare.
fn entry(name: &str, library: &[StdlibDoc]) -> Result<String, UsageError> {
    if let Some(doc) = catalog::find(name) {
        return Ok(primitive_text(doc));
    }
    let functions: Vec<StdlibDoc> = stdlib_functions().into_iter().chain(library.iter().cloned()).collect();
    let qualified = name.rsplit_once("::");
    let found: Vec<String> = functions
        .iter()
        .filter(|f| match qualified {
            Some((module, function)) => f.module == module && f.name == function,
            None => f.name == name,
        })
        .map(StdlibDoc::text)
        .collect();
    if !found.is_empty() {
        return Ok(found.join("\n"));
    }
    let wanted = qualified.map_or(name, |(_, function)| function);
    let candidates =
        PRIMITIVES.iter().map(|d| (d.name, d.name.to_string())).chain(functions.iter().map(|f| {
            let shown =
                if qualified.is_some() { format!("{}::{}", f.module, f.name) } else { f.name.clone() };
            (f.name.as_str(), shown)
        }));
    let hint = match did_you_mean(wanted, candidates) {
        Some(suggestion) => format!("{suggestion} (`vmssid docs` lists every entry)"),
        None => "`vmssid docs` lists every entry".to_string(),
    };
    Err(UsageError(format!("no primitive, stdlib or library function named '{name}'\nhint: {hint}")))
}

/// Writes the `.d.rhai` files for editors and lists them.
fn definitions(
    dir: &std::path::Path,
    libraries: &crate::host::library::Libraries,
) -> anyhow::Result<ExitCode> {
    let runtime = crate::frontend::signals::runtime()?;
    let context = crate::commands::check::offline_context(&runtime)?;
    let engine = crate::host::build_engine(&context, &crate::host::SessionOptions::default());
    let written = crate::host::definitions::write(&engine, libraries, dir)
        .map_err(|e| anyhow::anyhow!("cannot write definitions to {}: {e}", dir.display()))?;
    for path in &written {
        println!("{}", path.display());
    }
    eprintln!("wrote {} definition file(s) to {}", written.len(), dir.display());
    Ok(ExitCode::SUCCESS)
}
