//! `.dry-run`, `.read-only` and `.allow-writes`: whether the session's writes are sent. Each
//! keeps the client, the emulator and the session's values; only the write mode changes.

use super::Repl;
use crate::ops::{ReadOnlyBy, WriteMode};

/// `on`/`off` (and their synonyms) of a toggle's argument.
fn switch(command: &str, arg: &str) -> Result<Option<bool>, String> {
    match arg {
        "" => Ok(None),
        "on" | "true" | "yes" => Ok(Some(true)),
        "off" | "false" | "no" => Ok(Some(false)),
        other => Err(format!("'{command} {other}': say {command} on or {command} off")),
    }
}

impl Repl {
    pub(super) fn dry_run(&mut self, arg: &str) -> Result<String, String> {
        let Some(on) = switch(".dry-run", arg)? else {
            let state = if self.primitives.mode() == WriteMode::DryRun { "on" } else { "off" };
            return Ok(format!("dry-run is {state}"));
        };
        let mut args = self.args.clone();
        args.dry_run = on;
        self.set_mode(args);
        Ok(if on {
            "dry-run on: writes are planned and reported, none is sent".into()
        } else {
            format!("dry-run off: {}", self.mode_text())
        })
    }

    pub(super) fn read_only(&mut self, arg: &str) -> Result<String, String> {
        let Some(on) = switch(".read-only", arg)? else { return Ok(self.mode_text()) };
        let mut args = self.args.clone();
        args.read_only = on;
        // Turning it off here must also lift vmssid.toml's read_only, or nothing would change.
        args.allow_writes = !on;
        self.read_only_here = on;
        self.set_mode(args);
        Ok(self.mode_text())
    }

    pub(super) fn allow_writes(&mut self, arg: &str) -> Result<String, String> {
        if !arg.is_empty() {
            return Err(format!("'.allow-writes {arg}': .allow-writes takes no argument"));
        }
        self.read_only("off")
    }

    fn set_mode(&mut self, args: crate::cli::ConnectArgs) {
        let mode =
            WriteMode::from_settings(args.dry_run, args.read_only, self.project.read_only, args.allow_writes);
        let mode = match mode {
            WriteMode::ReadOnly(ReadOnlyBy::Flag) if self.read_only_here => {
                WriteMode::ReadOnly(ReadOnlyBy::Repl)
            }
            other => other,
        };
        let primitives = std::sync::Arc::new(self.primitives.with_mode(mode));
        self.switch(args, primitives);
    }

    /// The mode in one line, as the prompt shows it and with what changes it.
    fn mode_text(&self) -> String {
        match self.primitives.mode() {
            WriteMode::Allow => "writes are sent".into(),
            WriteMode::DryRun => {
                "dry run: writes are planned and reported, none is sent (.dry-run off)".into()
            }
            WriteMode::ReadOnly(by) => format!("read-only: {}", by.explain()),
        }
    }
}
