//! Which tests there are: `*_test.rhai` files under the given paths (or the project's `tests/`),
//! the functions named `test_*` in each, and the state each file's tests start from.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::frontend::exit::UsageError;
use crate::host::check::Checker;

/// What a test's emulator starts with.
#[derive(Debug, Clone, PartialEq)]
pub enum Seed {
    /// The demo world (`vmssid emulator`'s default).
    Demo,
    /// Nothing but the demo subscription: the test builds what it needs with the primitives.
    Empty,
    /// A state file (docs/emulator-state.md).
    State(PathBuf),
}

impl Seed {
    /// `"demo"`, `"empty"`, or a state file relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Seed {
        match text {
            "demo" => Seed::Demo,
            "empty" => Seed::Empty,
            file => Seed::State(base.join(file)),
        }
    }
}

/// One test file, read and looked into.
#[derive(Debug)]
pub struct TestFile {
    /// Where it is read from.
    pub path: PathBuf,
    /// How results name it: relative to the current directory where it lies below it.
    pub shown: String,
    pub source: String,
    pub seed: Seed,
    /// The `test_*` functions, sorted by name.
    pub tests: Vec<String>,
    /// Why none of its tests can run (unreadable, a syntax error, a bad header), if so.
    pub problem: Option<String>,
}

/// The `// vmssid-test: KEY = VALUE` lines at the top of a test file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    state: Option<String>,
}

/// The test files under `paths`, or under `tests/` of `root` when none are given.
pub fn files(paths: &[PathBuf], root: &Path) -> Result<Vec<PathBuf>, UsageError> {
    let searched: Vec<PathBuf> = if paths.is_empty() {
        let tests = root.join("tests");
        if !tests.is_dir() {
            return Err(UsageError(format!(
                "no tests found: {} is not a folder\nhint: put NAME_test.rhai files under tests/ of the project (the folder holding vmssid.toml), or name the files or folders to run: vmssid test PATH",
                tests.display()
            )));
        }
        vec![tests]
    } else {
        paths.to_vec()
    };
    let mut found = Vec::new();
    for path in &searched {
        if path.is_file() {
            if path.extension().is_none_or(|e| e != "rhai") {
                return Err(UsageError(format!("{} is not a .rhai file", path.display())));
            }
            found.push(path.clone());
        } else if path.is_dir() {
            let all = Checker::collect(std::slice::from_ref(path));
            found.extend(all.into_iter().filter(|f| is_test_file(f)));
        } else {
            return Err(UsageError(format!("{} does not exist", path.display())));
        }
    }
    found.sort();
    found.dedup();
    if found.is_empty() {
        let names: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
        return Err(UsageError(format!(
            "no tests found: no *_test.rhai file under {}\nhint: name test files NAME_test.rhai and their tests fn test_NAME()",
            names.join(", ")
        )));
    }
    Ok(found)
}

pub fn is_test_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_test.rhai"))
}

/// Reads one test file: its tests, and what they start from (`project_state`: `[test] state`
/// of vmssid.toml, with the folder it is relative to).
pub fn read(path: &Path, cwd: &Path, project_state: Option<(&str, &Path)>) -> TestFile {
    let shown = path.strip_prefix(cwd).unwrap_or(path).display().to_string();
    let mut file = TestFile {
        path: path.to_path_buf(),
        shown: shown.clone(),
        source: String::new(),
        seed: project_state.map_or(Seed::Demo, |(text, base)| Seed::parse(text, base)),
        tests: Vec::new(),
        problem: None,
    };
    match crate::host::read_script(path) {
        Ok(source) => file.source = source,
        Err(e) => {
            file.problem = Some(e.to_string());
            return file;
        }
    }
    match header(&file.source) {
        Ok(Header { state: Some(state) }) => {
            file.seed = Seed::parse(&state, path.parent().unwrap_or(Path::new(".")));
        }
        Ok(Header { state: None }) => {}
        Err(e) => {
            file.problem = Some(format!("{shown}: {e}"));
            return file;
        }
    }
    // Any engine finds the functions; running them uses the test engine.
    let engine = rhai::Engine::new_raw();
    match engine.compile(&file.source) {
        Ok(ast) => {
            let mut names: Vec<String> = ast
                .iter_functions()
                .filter(|f| f.name.starts_with("test_"))
                .map(|f| f.name.to_string())
                .collect();
            names.sort();
            names.dedup();
            if let Some(f) =
                ast.iter_functions().find(|f| f.name.starts_with("test_") && !f.params.is_empty())
            {
                file.problem = Some(format!(
                    "{shown}: test function {}() takes parameters; hint: a test takes none (set up inside it, or in a helper without the test_ prefix)",
                    f.name
                ));
            }
            file.tests = names;
        }
        Err(e) => file.problem = Some(crate::host::ScriptError::parse(&shown, &e, &engine).to_string()),
    }
    file
}

/// The `// vmssid-test: state = "FILE"` lines of the comment block a file starts with.
fn header(source: &str) -> Result<Header, String> {
    let mut text = String::new();
    for line in source.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("#!") {
            continue;
        }
        let Some(comment) = line.strip_prefix("//") else { break };
        if let Some(setting) = comment.trim().strip_prefix("vmssid-test:") {
            text.push_str(setting.trim());
            text.push('\n');
        }
    }
    toml::from_str(&text).map_err(|e| {
        let reason = e.message().replace('\n', " ");
        format!("bad `// vmssid-test:` line: {reason}; hint: the one setting is `// vmssid-test: state = \"FILE\"` (or \"demo\", \"empty\")")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_the_state() {
        let h = header(
            "#!/usr/bin/env vmssid\n// About.\n// vmssid-test: state = \"s.json\"\nfn test_a() {}\n// vmssid-test: state = \"ignored\"\n",
        );
        assert_eq!(h.ok().and_then(|h| h.state).as_deref(), Some("s.json"));
        assert!(header("// vmssid-test: stat = \"x\"\n").is_err());
        assert!(header("fn test_a() {}").is_ok_and(|h| h.state.is_none()));
        assert_eq!(Seed::parse("empty", Path::new("/p")), Seed::Empty);
        assert_eq!(Seed::parse("s.json", Path::new("/p")), Seed::State(PathBuf::from("/p/s.json")));
    }
}
