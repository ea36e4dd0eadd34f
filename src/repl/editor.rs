//! The rustyline helper: completion (names, `.commands`, and ARM names inside primitive
//! arguments), signature hints, multi-line validation and hint colouring.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::Engine;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter, MatchingBracketHighlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use tokio::runtime::Handle;

use super::commands::COMMANDS;
use super::syntax::{self, StringArgument};
use crate::host::catalog::ArgKind;
use crate::host::catalog::PRIMITIVES;
use crate::ops::Primitives;

/// Rhai keywords and the built-ins people reach for, offered after the session's own names.
const KEYWORDS: &[&str] = &[
    "let",
    "const",
    "fn",
    "if",
    "else",
    "for",
    "in",
    "while",
    "loop",
    "do",
    "until",
    "break",
    "continue",
    "return",
    "throw",
    "try",
    "catch",
    "switch",
    "import",
    "export",
    "as",
    "private",
    "true",
    "false",
    "print",
    "debug",
    "type_of",
    "len",
    "to_string",
    "to_json",
    "parse_json",
];

/// How long Tab may wait for ARM before giving up on names (it then offers none).
const ARM_TIMEOUT: Duration = Duration::from_secs(10);

/// What the session defines, refreshed by the loop after every statement.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub variables: Vec<String>,
    pub functions: Vec<String>,
    /// Kept imports: alias and the names of the module's functions.
    pub modules: Vec<(String, Vec<String>)>,
}

/// Scale sets and user identities of the subscription, fetched on the first Tab that needs
/// them and kept for the session (until the subscription changes).
#[derive(Debug, Default, Clone)]
struct Inventory {
    /// (resource group, name, id)
    vmss: Vec<(String, String, String)>,
    vms: Vec<(String, String, String)>,
    identities: Vec<(String, String, String)>,
}

impl Inventory {
    fn resource_groups(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (rg, _, _) in self.vmss.iter().chain(&self.vms).chain(&self.identities) {
            if seen.insert(rg.to_ascii_lowercase()) {
                out.push(rg.clone());
            }
        }
        out.sort_by_key(|r| r.to_ascii_lowercase());
        out
    }

    fn in_group<'a>(
        list: &'a [(String, String, String)],
        rg: Option<&str>,
    ) -> impl Iterator<Item = &'a (String, String, String)> {
        list.iter().filter(move |(group, _, _)| rg.is_none_or(|rg| group.eq_ignore_ascii_case(rg)))
    }
}

/// State the helper shares with the loop.
pub struct Shared {
    pub names: Mutex<Names>,
    primitives: Mutex<Arc<Primitives>>,
    runtime: Handle,
    inventory: Mutex<Option<Inventory>>,
}

impl Shared {
    pub fn new(primitives: Arc<Primitives>, runtime: Handle) -> Self {
        Self {
            names: Mutex::default(),
            primitives: Mutex::new(primitives),
            runtime,
            inventory: Mutex::new(None),
        }
    }

    /// Points completion at new primitives; forgets ARM names when the subscription changed.
    pub fn set_primitives(&self, primitives: Arc<Primitives>) {
        if let Ok(mut current) = self.primitives.lock() {
            if current.client().subscription_label() != primitives.client().subscription_label()
                && let Ok(mut inventory) = self.inventory.lock()
            {
                *inventory = None;
            }
            *current = primitives;
        }
    }

    /// Forgets the ARM names, so the next Tab reads them again (after something was created).
    pub fn forget_arm_names(&self) {
        if let Ok(mut inventory) = self.inventory.lock() {
            *inventory = None;
        }
    }

    /// The ARM names, fetching them once. A failure is not cached, so a later Tab retries.
    fn inventory(&self) -> Option<Inventory> {
        if let Some(cached) = self.inventory.lock().ok()?.clone() {
            return Some(cached);
        }
        let primitives = self.primitives.lock().ok()?.clone();
        // A Ctrl-C of the last statement must not cancel these reads.
        primitives.client().interrupt().reset();
        let fetched = self.runtime.block_on(async {
            let all = async {
                tokio::join!(
                    primitives.list_vmss(None),
                    primitives.list_vms(None),
                    primitives.list_user_identities(None)
                )
            };
            tokio::time::timeout(ARM_TIMEOUT, all).await
        });
        let (Ok(vmss), vms, Ok(identities)) = fetched.ok()? else { return None };
        let names = |list: &[crate::ops::Vmss]| -> Vec<(String, String, String)> {
            list.iter()
                .map(|v| {
                    (v.id.resource_group().to_string(), v.id.name().to_string(), v.id.as_str().to_string())
                })
                .collect()
        };
        let inventory = Inventory {
            vmss: names(&vmss),
            // An endpoint without virtual machines still completes scale sets.
            vms: vms.map(|vms| names(&vms)).unwrap_or_default(),
            identities: identities
                .iter()
                .map(|i| (i.resource_group.clone(), i.name.clone(), i.id.clone()))
                .collect(),
        };
        if let Ok(mut cache) = self.inventory.lock() {
            *cache = Some(inventory.clone());
        }
        Some(inventory)
    }
}

fn argument_kind(arg: &StringArgument) -> Option<ArgKind> {
    if let Some(doc) = crate::host::catalog::find(&arg.function) {
        return doc.arguments.get(arg.index).copied();
    }
    // Library functions follow the primitives' convention: `(rg, name, ...)` names a scale set.
    if arg.function.contains("::") {
        return match arg.index {
            0 => Some(ArgKind::ResourceGroup),
            1 => Some(ArgKind::Vmss),
            _ => None,
        };
    }
    None
}

/// The REPL's rustyline helper.
pub struct ReplHelper {
    shared: Arc<Shared>,
    /// Parses only, to tell an unfinished statement from a finished one.
    syntax: Engine,
    files: FilenameCompleter,
    brackets: MatchingBracketHighlighter,
}

impl ReplHelper {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            syntax: Engine::new_raw(),
            files: FilenameCompleter::new(),
            brackets: MatchingBracketHighlighter::new(),
        }
    }

    fn complete_argument(&self, arg: &StringArgument) -> Vec<Pair> {
        let Some(kind) = argument_kind(arg) else { return Vec::new() };
        let Some(inventory) = self.shared.inventory() else { return Vec::new() };
        let rg = arg.previous.first().cloned().flatten();
        let rg = rg.as_deref();
        let names: Vec<String> = match kind {
            // A scale set id may stand where the resource group would (`get_vmss(id)`).
            ArgKind::ResourceGroup if arg.typed.starts_with('/') => {
                let ids = if arg.function.ends_with("_vm") { &inventory.vms } else { &inventory.vmss };
                ids.iter().map(|(_, _, id)| id.clone()).collect()
            }
            ArgKind::ResourceGroup => inventory.resource_groups(),
            ArgKind::Vmss => Inventory::in_group(&inventory.vmss, rg).map(|(_, n, _)| n.clone()).collect(),
            ArgKind::Vm => Inventory::in_group(&inventory.vms, rg).map(|(_, n, _)| n.clone()).collect(),
            ArgKind::Identity => {
                Inventory::in_group(&inventory.identities, rg).map(|(_, n, _)| n.clone()).collect()
            }
            ArgKind::IdentityId => {
                Inventory::in_group(&inventory.identities, rg).map(|(_, _, id)| id.clone()).collect()
            }
        };
        let typed = arg.typed.to_ascii_lowercase();
        let mut seen = BTreeSet::new();
        names
            .into_iter()
            .filter(|n| n.to_ascii_lowercase().starts_with(&typed) && seen.insert(n.to_ascii_lowercase()))
            .map(|n| Pair { display: n.clone(), replacement: n })
            .collect()
    }

    fn complete_word(&self, word: &str) -> Vec<Pair> {
        if word.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<Pair> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut push = |name: &str, suffix: &str| {
            if name.starts_with(word) && seen.insert(name.to_string()) {
                out.push(Pair { display: name.to_string(), replacement: format!("{name}{suffix}") });
            }
        };
        let names = self.shared.names.lock().map(|n| n.clone()).unwrap_or_default();
        for doc in PRIMITIVES {
            push(doc.name, "(");
        }
        for f in &names.functions {
            push(f, "(");
        }
        for (alias, functions) in &names.modules {
            for f in functions {
                push(&format!("{alias}::{f}"), "(");
            }
        }
        for v in &names.variables {
            push(v, "");
        }
        for k in KEYWORDS {
            push(k, "");
        }
        out
    }

    fn complete_command(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let Some((command, rest)) = head.split_once(char::is_whitespace) else {
            let pairs = COMMANDS
                .iter()
                .filter(|c| c.name.starts_with(head))
                .map(|c| Pair { display: c.name.to_string(), replacement: format!("{} ", c.name) })
                .collect();
            return Ok((0, pairs));
        };
        let start = pos - rest.trim_start().len();
        let typed = rest.trim_start();
        let options: Vec<String> = match command {
            ".load" => return self.files.complete(line, pos, ctx),
            ".help" => PRIMITIVES
                .iter()
                .map(|d| d.name.to_string())
                .chain(crate::host::docs::stdlib_functions().into_iter().map(|f| f.name))
                .chain(COMMANDS.iter().map(|c| c.name.to_string()))
                .collect(),
            ".dry-run" => vec!["on".into(), "off".into()],
            _ => Vec::new(),
        };
        let pairs = options
            .into_iter()
            .filter(|o| o.starts_with(typed))
            .map(|o| Pair { display: o.clone(), replacement: o })
            .collect();
        Ok((start, pairs))
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        if line.trim_start().starts_with('.') && !line.contains('\n') {
            return self.complete_command(line, pos, ctx);
        }
        if let Some(arg) = syntax::string_argument(&line[..pos]) {
            return Ok((arg.text_start, self.complete_argument(&arg)));
        }
        let (start, word) = syntax::word_before(line, pos);
        Ok((start, self.complete_word(word)))
    }
}

/// A hint that is only shown: Right-arrow must not type a signature into the line.
pub struct SignatureHint(String);

impl Hint for SignatureHint {
    fn display(&self) -> &str {
        &self.0
    }

    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Hinter for ReplHelper {
    type Hint = SignatureHint;

    /// After `name(`, the call forms of a primitive; after a `.command`, its arguments.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<SignatureHint> {
        if pos < line.len() {
            return None;
        }
        if let Some(command) = COMMANDS.iter().find(|c| line.trim_end() == c.name && !c.args.is_empty()) {
            let gap = if line.ends_with(' ') { "" } else { " " };
            return Some(SignatureHint(format!("{gap}{}", command.args)));
        }
        let name = line.strip_suffix('(')?;
        let (_, name) = syntax::word_before(name, name.len());
        let doc = PRIMITIVES.iter().find(|d| d.name == name)?;
        let mut forms = doc.signatures.iter();
        let first = forms.next()?;
        let mut text = first.split_once('(').map_or(first.to_string(), |(_, tail)| tail.to_string());
        for other in forms {
            text.push_str("   or ");
            text.push_str(other);
        }
        Some(SignatureHint(text))
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        self.brackets.highlight(line, pos)
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }

    fn highlight_char(&self, line: &str, pos: usize, kind: CmdKind) -> bool {
        self.brackets.highlight_char(line, pos, kind)
    }
}

impl Validator for ReplHelper {
    /// A pasted or recalled multi-line statement that is still open keeps editing in place; a
    /// single unfinished line is accepted and continued by the loop under a continuation prompt.
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.contains('\n')
            && !input.trim_start().starts_with('.')
            && syntax::is_incomplete(&self.syntax, input)
        {
            return Ok(ValidationResult::Incomplete);
        }
        Ok(ValidationResult::Valid(None))
    }
}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> Option<ArgKind> {
        syntax::string_argument(line).and_then(|arg| argument_kind(&arg))
    }

    #[test]
    fn string_arguments_name_arm_resources() {
        assert_eq!(kind(r#"get_vmss("my"#), Some(ArgKind::ResourceGroup));
        assert_eq!(kind(r#"get_vmss("myResourceGroup", "my"#), Some(ArgKind::Vmss));
        assert_eq!(kind(r#"get_vm("myResourceGroup", "my"#), Some(ArgKind::Vm));
        assert_eq!(kind(r#"add_user("rg", "v", "/sub"#), Some(ArgKind::IdentityId));
        assert_eq!(kind(r#"add_user("rg", "v", user_identity("rg", "I"#), Some(ArgKind::Identity));
        assert_eq!(kind(r#"id::ensure("rg", "my"#), Some(ArgKind::Vmss));
        assert_eq!(kind(r#"print("my"#), None);
        assert_eq!(kind(r#"create_vmss("rg", "new"#), None);
    }
}
