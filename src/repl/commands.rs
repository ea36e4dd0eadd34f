//! Dot-commands: things about the session rather than statements in it.

use std::fmt::Write as _;
use std::path::Path;

use super::{Flow, Repl, display};
use crate::cli::OutputFormat;
use crate::connect::connect_reusing;
use crate::host::catalog::{self, PRIMITIVES};

/// A dot-command, for `.help` and completion.
pub struct DotCommand {
    pub name: &'static str,
    pub args: &'static str,
    pub summary: &'static str,
}

/// Every dot-command.
pub const COMMANDS: &[DotCommand] = &[
    DotCommand {
        name: ".help",
        args: "[NAME]",
        summary: "list primitives and commands, or show one primitive",
    },
    DotCommand { name: ".vars", args: "", summary: "show the variables of the session" },
    DotCommand {
        name: ".dry-run",
        args: "[on|off]",
        summary: "plan writes without sending them, or send them again",
    },
    DotCommand {
        name: ".read-only",
        args: "[on|off]",
        summary: "refuse every write before it is sent, or allow writes again",
    },
    DotCommand {
        name: ".allow-writes",
        args: "",
        summary: "send writes (ends .read-only and vmssid.toml's read_only)",
    },
    DotCommand {
        name: ".subscription",
        args: "[ID]",
        summary: "show the subscription, or switch to another",
    },
    DotCommand {
        name: ".output",
        args: "[FORMAT]",
        summary: "show how results are printed, or change it: text, json, table, tsv",
    },
    DotCommand { name: ".load", args: "FILE", summary: "run a script file into the session" },
    DotCommand { name: ".history", args: "[N]", summary: "show the last N (default all) history entries" },
    DotCommand { name: ".quit", args: "", summary: "leave (also .exit, Ctrl-D)" },
];

impl Repl {
    /// Runs a dot-command line such as `.help get_vmss`.
    pub(super) fn command(&mut self, line: &str) -> Flow {
        let (name, arg) = match line.split_once(char::is_whitespace) {
            Some((name, arg)) => (name, arg.trim()),
            None => (line, ""),
        };
        let result = match name {
            ".help" | ".h" | ".?" => self.help(arg),
            ".vars" => Ok(self.vars()),
            ".dry-run" => self.dry_run(arg),
            ".read-only" => self.read_only(arg),
            ".allow-writes" => self.allow_writes(arg),
            ".subscription" => self.subscription(arg),
            ".output" => self.output(arg),
            ".load" => self.load(arg),
            ".history" => self.history(arg),
            ".quit" | ".exit" | ".q" => return Flow::Quit,
            _ => Err(format!("unknown command {name}; .help lists the commands")),
        };
        match result {
            Ok(text) if text.is_empty() => {}
            Ok(text) => println!("{}", text.trim_end()),
            Err(e) => {
                eprintln!("error: {e}");
                self.failed = true;
            }
        }
        Flow::Continue
    }

    fn help(&self, name: &str) -> Result<String, String> {
        let mut s = String::new();
        if name.is_empty() {
            s.push_str("Primitives (.help NAME for one):\n");
            let width = PRIMITIVES.iter().map(|d| d.name.len()).max().unwrap_or(0);
            for doc in PRIMITIVES {
                let _ = writeln!(s, "  {:width$}  {}", doc.name, doc.summary);
            }
            s.push_str("\nStdlib (import \"vmssid/identity\" as id; then id::NAME(...)):\n");
            for f in crate::host::docs::stdlib_functions() {
                let _ = writeln!(s, "  {}::{}({})", f.module, f.name, f.params.join(", "));
            }
            s.push_str("\nCommands:\n");
            for c in COMMANDS {
                let _ = writeln!(s, "  {:24}  {}", format!("{} {}", c.name, c.args).trim_end(), c.summary);
            }
            s.push_str(
                "\nKeys: Tab completes names (also resource groups, scale sets and identities inside\n\
                 primitive arguments), Up/Down walk history, Ctrl-C stops a statement or clears the line,\n\
                 Ctrl-D quits. An unfinished statement continues on the next line.",
            );
            return Ok(s);
        }
        let bare = name.trim_start_matches('.');
        if let Some(doc) = catalog::find(name) {
            return Ok(crate::host::docs::primitive_text(doc));
        }
        // `alias::name` of an import names `module::name`.
        let imported = name.split_once("::").and_then(|(alias, function)| {
            self.imports.iter().find(|(a, _)| a == alias).map(|(_, module)| format!("{module}::{function}"))
        });
        let wanted = imported.as_deref().unwrap_or(name);
        if let Some(f) = self
            .script_functions()
            .iter()
            .find(|f| f.name == wanted || format!("{}::{}", f.module, f.name) == wanted)
        {
            return Ok(f.text().trim_end().to_string());
        }
        if let Some(c) = COMMANDS.iter().find(|c| c.name.trim_start_matches('.') == bare) {
            return Ok(format!("{} {}\n  {}", c.name, c.args, c.summary));
        }
        Err(format!("no primitive, stdlib function or command named '{name}'; .help lists them"))
    }

    fn vars(&self) -> String {
        let mut s = String::new();
        // ARGS is always there and always empty at the prompt; it is noise here.
        let variables = self.session.scope().iter_raw().filter(|(name, _, _)| *name != "ARGS");
        for (name, constant, value) in variables {
            let _ = writeln!(s, "{}", display::variable_line(name, constant, value));
        }
        if s.is_empty() {
            s.push_str("(no variables)\n");
        }
        let functions: Vec<String> = self
            .session
            .functions()
            .iter_functions()
            .filter(|f| !f.name.starts_with("anon$"))
            .map(|f| format!("{}({})", f.name, f.params.join(", ")))
            .collect();
        if !functions.is_empty() {
            let _ = writeln!(s, "functions: {}", functions.join(", "));
        }
        if !self.imports.is_empty() {
            let list: Vec<String> =
                self.imports.iter().map(|(alias, path)| format!("{alias} = \"{path}\"")).collect();
            let _ = writeln!(s, "imports: {}", list.join(", "));
        }
        s
    }

    fn subscription(&mut self, arg: &str) -> Result<String, String> {
        if arg.is_empty() {
            return Ok(self.primitives.client().subscription_label().to_string());
        }
        let mut args = self.args.clone();
        args.subscription = Some(arg.to_string());
        let connection = connect_reusing(
            &args,
            &self.project,
            &self.runtime,
            self.interrupt.clone(),
            self.connection.emulator.as_ref(),
            crate::connect::SubscriptionNeed::AtStart,
        )
        .map_err(|e| format!("{e:#}"))?;
        let primitives = connection.primitives.clone();
        if let Some(run) = self.primitives.run() {
            primitives.set_run(run);
        }
        self.switch(args, primitives);
        Ok(format!("subscription {}", self.primitives.client().subscription_label()))
    }

    fn load(&mut self, arg: &str) -> Result<String, String> {
        if arg.is_empty() {
            return Err("say which file: .load FILE".into());
        }
        let path = Path::new(arg);
        if !path.is_file() {
            return Err(format!("{} is not a file", path.display()));
        }
        let source = crate::host::read_script(path).map_err(|e| e.to_string())?;
        let name = path.display().to_string();
        self.check(&source, &name).map_err(|problems| {
            // `command` puts the first `error: `.
            problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: ")
        })?;
        let result = self.session.eval(&source, &name);
        self.keep_imports(&source);
        self.refresh_names();
        let value = result.map_err(|e| e.to_string())?;
        self.rendered(&value)
    }

    fn output(&mut self, arg: &str) -> Result<String, String> {
        if arg.is_empty() {
            return Ok(format!("output is {}", self.output.name()));
        }
        self.output = OutputFormat::named(arg)
            .ok_or_else(|| format!("'.output {arg}': say .output text, json, table or tsv"))?;
        Ok(format!("output {}", self.output.name()))
    }

    fn history(&self, arg: &str) -> Result<String, String> {
        let entries: Vec<&String> = self.editor.history().iter().collect();
        let count = match arg {
            "" => entries.len(),
            n => n.parse::<usize>().map_err(|_| format!("'.history {n}': give a number of entries"))?,
        };
        let mut s = String::new();
        let first = entries.len().saturating_sub(count);
        for (i, entry) in entries.iter().enumerate().skip(first) {
            let _ = writeln!(s, "{:5}  {}", i + 1, entry.replace('\n', "\n       "));
        }
        if s.is_empty() {
            s.push_str("(no history)");
        }
        Ok(s)
    }
}
