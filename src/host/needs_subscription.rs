//! Whether a script needs a subscription before it starts: it calls a primitive that reads,
//! writes or builds an id in one, itself, through its own functions, or through the functions
//! of a module it imports that do (or the module's top level does). `vmssid run` then reports
//! a missing subscription before the script runs instead of at that first call; a script that
//! needs none (arithmetic, a library's pure helpers) still runs without any Azure setup.
//!
//! Found from the source, so calls the source does not show (`eval`, `call("get_vmss", …)`,
//! method calls on modules) are missed; those still fail at the call, as every call without a
//! subscription does. Source or a module that does not compile or resolve counts as needing
//! none: the check before the run reports it, which matters more.

use std::collections::{HashMap, HashSet};

use rhai::{AST, ASTNode, Engine, Expr, FnCallExpr, Stmt};

use super::library::{Libraries, LibraryResolver};

/// Primitives that work without a subscription (the rest read, write or build ids in one).
const WITHOUT_SUBSCRIPTION: &[&str] = &["api_version", "ended_principals", "is_dry_run", "parallel", "sleep"];

/// Whether `source` needs a subscription before it runs (see the module's comment).
pub fn script_needs_subscription(source: &str, libraries: &Libraries) -> bool {
    let mut analysis = Analysis {
        // Parsing only: a bare engine parses what the host's engine does, and knows no functions.
        engine: Engine::new_raw(),
        resolver: LibraryResolver::new(libraries),
        modules: HashMap::new(),
    };
    let Ok(ast) = analysis.engine.compile(source) else { return false };
    analysis.of(&ast).is_some_and(|needs| needs.top_level)
}

/// What of one script or module needs a subscription.
#[derive(Debug, Clone, Default)]
struct Needs {
    /// Running it (importing a module runs its top level).
    top_level: bool,
    /// Its functions that need one when called.
    functions: HashSet<String>,
}

struct Analysis {
    engine: Engine,
    resolver: LibraryResolver,
    /// By import path; `None` while being analysed (an import cycle) or when it does not load.
    modules: HashMap<String, Option<Needs>>,
}

/// A call as the analysis sees it: `namespace::name`.
struct Call {
    namespace: Option<String>,
    name: String,
}

impl Analysis {
    /// `None` when an import does not resolve or compile.
    fn of(&mut self, ast: &AST) -> Option<Needs> {
        let mut aliases: HashMap<String, Needs> = HashMap::new();
        for (alias, path) in imports(ast) {
            let module = self.module(&path)?;
            aliases.insert(alias, module);
        }
        let mut top = ast.clone();
        top.clear_functions();
        let top_calls = calls(&top);
        let functions: Vec<(String, Vec<Call>)> = ast
            .iter_functions()
            .map(|f| {
                let mut one = ast.clone();
                one.clear_statements();
                let (name, arity) = (f.name.to_string(), f.params.len());
                one.retain_functions(|_, _, n, a| n == name && a == arity);
                (name, calls(&one))
            })
            .collect();
        let mut needs = Needs::default();
        let needed = |call: &Call, own: &HashSet<String>| match &call.namespace {
            None => is_primitive_needing(&call.name) || own.contains(&call.name),
            Some(alias) => aliases.get(alias).is_some_and(|m| m.functions.contains(&call.name)),
        };
        // Until nothing changes: a function needs one when something it calls does.
        loop {
            let before = needs.functions.len();
            for (name, calls) in &functions {
                if !needs.functions.contains(name) && calls.iter().any(|c| needed(c, &needs.functions)) {
                    needs.functions.insert(name.clone());
                }
            }
            if needs.functions.len() == before {
                break;
            }
        }
        // A closure (`|x| …`, compiled to an anonymous function) is counted as run: where it
        // is passed to is not followed.
        let closure = needs.functions.iter().any(|name| name.starts_with("anon$"));
        needs.top_level = closure
            || aliases.values().any(|m| m.top_level)
            || top_calls.iter().any(|c| needed(c, &needs.functions));
        Some(needs)
    }

    fn module(&mut self, path: &str) -> Option<Needs> {
        if let Some(known) = self.modules.get(path) {
            return known.clone();
        }
        self.modules.insert(path.to_string(), None);
        let (_, source) = self.resolver.source(path).ok()??;
        let ast = self.engine.compile(&source).ok()?;
        let needs = self.of(&ast)?;
        self.modules.insert(path.to_string(), Some(needs.clone()));
        Some(needs)
    }
}

/// Whether `name` is a primitive that needs a subscription.
fn is_primitive_needing(name: &str) -> bool {
    super::catalog::find(name).is_some() && !WITHOUT_SUBSCRIPTION.contains(&name)
}

/// `import "path" as alias` with a literal path, anywhere in `ast`.
fn imports(ast: &AST) -> Vec<(String, String)> {
    let mut found = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::Import(x, _))) = path.last()
            && let Expr::StringConstant(module, _) = &x.0
        {
            found.push((x.1.name.to_string(), module.to_string()));
        }
        true
    });
    found
}

/// The function and method calls in `ast`.
fn calls(ast: &AST) -> Vec<Call> {
    let mut found = Vec::new();
    let mut push = |call: &FnCallExpr| {
        let namespace = (!call.namespace.is_empty()).then(|| call.namespace.root().to_string());
        found.push(Call { namespace, name: call.name.to_string() });
    };
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, _) | Expr::MethodCall(call, _))) => push(call),
            Some(ASTNode::Stmt(Stmt::FnCall(call, _))) => push(call),
            _ => {}
        }
        true
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_that_need_a_subscription_are_found_where_the_source_shows_them() {
        let none = Libraries::default();
        for script in [
            r#"get_vmss("rg", "x")"#,
            r#"fn f() { list_vmss() } fn g() { f() } g()"#,
            r#""rg".user_identity("id")"#,
            r#"parallel([1], |x| enable_system("rg", "v"))"#,
            r#"import "vmssid/identity" as id; id::ensure(#{}, [])"#,
        ] {
            assert!(script_needs_subscription(script, &none), "{script}");
        }
        for script in [
            "1 + 1",
            "sleep(0); api_version()",
            "let get_vmss = 1; get_vmss",
            "fn f() { list_vmss() } 1",
            r#"import "vmssid/identity" as id; 1"#,
            r#"import "no/such/module" as m; get_vmss("rg", "x")"#,
            "syntax error (",
        ] {
            assert!(!script_needs_subscription(script, &none), "{script}");
        }
    }

    #[test]
    fn every_exception_is_a_primitive() {
        for name in WITHOUT_SUBSCRIPTION {
            assert!(super::super::catalog::find(name).is_some(), "{name} is no longer a primitive");
        }
    }
}
