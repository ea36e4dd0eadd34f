//! The command line: every flag of every subcommand, with its help text.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

pub use crate::frontend::output::OutputFormat;
use crate::host::Limits;

/// Manage the managed identities of Azure VM scale sets safely, from Rhai scripts.
///
/// Every write reads first, changes only what it was asked to, writes with If-Match where ARM
/// offers it, waits for the operation, and verifies that no other identity was lost.
#[derive(Debug, Parser)]
#[command(name = "vmssid", version, about, long_about = None, propagate_version = true)]
#[command(after_help = AFTER_HELP)]
pub struct Cli {
    /// Log to stderr: -v requests and retries, -vv also timings and bodies (never tokens).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

const AFTER_HELP: &str = "\
Start here:  vmssid run --emulator scripts/tour.rhai
Reference:   vmssid docs
Test:        vmssid test  (test_* functions of tests/*_test.rhai, each on a fresh emulator)
Exit codes:  0 done, 1 failed (script, ARM or check), 2 usage error,
             130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (writes in flight are finished first)";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Rhai script (a file, or -e TEXT) with the primitives, once it passes `check`.
    Run(RunArgs),
    /// Explore interactively: a Rhai prompt with the primitives, completion and history.
    Repl(ReplArgs),
    /// Start the ARM emulator (for demos and tests: real HTTP, ARM's behaviour, no Azure).
    Emulator(vmssid_emulator::cli::EmulatorArgs),
    /// List the journal of writes by run (what vmssid changed, and what it may have changed).
    #[command(after_help = JOURNAL_EXAMPLES)]
    Journal(JournalArgs),
    /// Restore the identities journaled writes replaced (one write, the last N, or a whole run),
    /// where nobody has changed them since.
    #[command(after_help = UNDO_EXAMPLES)]
    Undo(UndoArgs),
    /// Send the writes of a reviewed plan (from `run --plan-out`) exactly, or not at all.
    Apply(ApplyArgs),
    /// Compile scripts and libraries without touching ARM: syntax, imports, function names and arity.
    Check(CheckArgs),
    /// Print the reference of every primitive, stdlib and library function, or of one.
    Docs(DocsArgs),
    /// Pin the git libraries of vmssid.toml: lock them, update them, vendor them.
    #[command(after_help = crate::commands::lib::EXAMPLES)]
    Lib(crate::commands::lib::LibArgs),
    /// Run the test_* functions of *_test.rhai files, each against a fresh in-process emulator.
    Test(crate::commands::test::TestArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    #[command(after_help = crate::commands::shell::COMPLETIONS_EXAMPLES)]
    Completions(crate::commands::shell::CompletionsArgs),
    /// Print the manual page (roff) of vmssid, or of one subcommand: `vmssid man | man -l -`.
    Man(crate::commands::shell::ManArgs),
}

const JOURNAL_EXAMPLES: &str = "Examples:
  vmssid journal                      the runs: id, start, script, changes, failed, unknown, undone
  vmssid journal --run RUN_ID         the writes of one run
  vmssid journal --entries --last 20  the last 20 writes, whatever their run";

const UNDO_EXAMPLES: &str = "Examples:
  vmssid undo                         the last write
  vmssid undo --last-run --dry-run    what undoing the latest run would send, nothing sent
  vmssid undo --run RUN_ID            every write of a run (`vmssid journal` lists runs)";

/// Which ARM to use and how to treat writes; shared by `run`, `repl` and `undo`.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Start the ARM emulator in-process with its demo fixture and use it (no Azure, no token).
    #[arg(long, conflicts_with_all = ["endpoint", "ca_cert"])]
    pub emulator: bool,

    /// With --emulator: start from this state file instead of the demo fixture.
    #[arg(long, value_name = "FILE", requires = "emulator")]
    pub state: Option<PathBuf>,

    /// With --emulator: its request budgets, `generous` or `azure` (see `vmssid emulator --help`).
    #[arg(long, value_name = "PROFILE", default_value = "generous", requires = "emulator",
          value_parser = vmssid_emulator::cli::parse_profile)]
    pub throttle: vmssid_emulator::ThrottleProfile,

    /// With --emulator: its buckets refill N times faster than Azure's.
    #[arg(long, value_name = "N", default_value_t = 1.0, requires = "emulator",
          value_parser = vmssid_emulator::cli::parse_time_scale)]
    pub time_scale: f64,

    /// ARM endpoint; plain http:// is accepted only for loopback addresses [default: [defaults]
    /// endpoint in vmssid.toml or the user config, else https://management.azure.com].
    #[arg(long, value_name = "URL", env = "VMSSID_ENDPOINT")]
    pub endpoint: Option<String>,

    /// Send the token to this --endpoint although it is neither an Azure cloud nor loopback
    /// (or list it under [trust] endpoints in ~/.config/vmssid/config.toml).
    #[arg(long, conflicts_with = "emulator")]
    pub trust_endpoint: bool,

    /// Subscription id [default: AZURE_SUBSCRIPTION_ID, else [defaults] subscription, else the
    /// Azure CLI's default subscription, else the endpoint's only subscription].
    #[arg(long, value_name = "ID")]
    pub subscription: Option<String>,

    /// Trust only the certificates in this PEM file instead of the system's roots, as curl's
    /// --cacert (e.g. the emulator's --cert-out, or a TLS-inspecting proxy's CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    #[arg(long, value_name = "V", help = api_version_help())]
    pub api_version: Option<String>,

    /// Plan writes and report them, send none.
    #[arg(long, conflicts_with = "read_only")]
    pub dry_run: bool,

    /// Fail every write primitive before it sends anything (for audits and untrusted scripts).
    #[arg(long)]
    pub read_only: bool,

    /// Allow writes even where vmssid.toml says `read_only = true`.
    #[arg(long, conflicts_with = "read_only")]
    pub allow_writes: bool,

    /// Journal of writes [default: $XDG_STATE_HOME/vmssid/journal.jsonl; with --emulator,
    /// emulator-journal.jsonl beside it].
    #[arg(long, value_name = "FILE", env = "VMSSID_JOURNAL")]
    pub journal: Option<PathBuf>,

    /// Attempts per request, the first included, for throttling and transient failures.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub max_attempts: u32,

    /// Stop retrying a request after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub max_retry_seconds: u64,

    /// Give up waiting for one long-running operation after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub operation_timeout: u64,

    /// Wait between operation status polls when ARM sends no Retry-After.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub poll_interval_ms: u64,

    /// Re-plans of one write after another writer got there first (412) or another operation
    /// was still running on the scale set (409), before giving up.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_replans: u32,

    /// Allow writes with api-versions before 2023-09-01, which have no etag: a change another
    /// writer makes between vmssid's read and its write can then be overwritten.
    #[arg(long)]
    pub allow_unguarded: bool,

    /// Items `parallel` works on at once, and scale sets `undo` and `apply` write at once
    /// [default: [defaults] concurrency, else 16].
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=crate::defaults::MAX_CONCURRENCY as u64))]
    pub concurrency: Option<usize>,
}

fn api_version_help() -> String {
    format!(
        "VMSS api-version; selects the identity wire format (2017-12-01 family: identityIds) [default: [defaults] api_version, else {}]",
        crate::identity::wire::DEFAULT_VMSS_API_VERSION
    )
}

/// What only commands that run scripts take: library folders and script limits.
#[derive(Debug, Clone, Args)]
pub struct ScriptArgs {
    /// Library folder for `import` (repeatable; searched before VMSSID_PATH, vmssid.toml's
    /// [libraries] paths, and the stdlib).
    #[arg(long = "lib", value_name = "DIR")]
    pub libs: Vec<PathBuf>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

impl ScriptArgs {
    /// The limits in effect: `base` (vmssid.toml's, and the defaults' concurrency) under the flags.
    pub fn limits(&self, connect: &ConnectArgs, base: Limits) -> Limits {
        let limits = self.limits.over(base);
        Limits { concurrency: connect.concurrency.unwrap_or(limits.concurrency), ..limits }
    }
}

/// How the libraries pinned in vmssid.lock are loaded; shared by every command that loads
/// libraries. Without these flags a library not locked yet is locked (and vmssid.lock written).
#[derive(Debug, Clone, Default, Args)]
pub struct LockArgs {
    /// Fail unless vmssid.lock exists and matches vmssid.toml, and never write it (for CI).
    #[arg(long)]
    pub locked: bool,

    /// Never touch the network: git libraries come from the cache or the vendor folder.
    #[arg(long)]
    pub offline: bool,
}

/// Script limits; defaults are generous for real work and stop runaway scripts.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Rhai operations a script may run (stops `loop {}`), and 4 allocations for each (stops
    /// copying without end); 0 lifts both for this run.
    #[arg(long, value_name = "N")]
    pub max_operations: Option<u64>,
    /// Depth of nested function calls.
    #[arg(long, value_name = "N")]
    pub max_call_levels: Option<usize>,
    /// Length of one string, in bytes.
    #[arg(long, value_name = "N")]
    pub max_string_size: Option<usize>,
    /// Items in one array.
    #[arg(long, value_name = "N")]
    pub max_array_size: Option<usize>,
    /// Entries in one map.
    #[arg(long, value_name = "N")]
    pub max_map_size: Option<usize>,
    /// Modules one run may load.
    #[arg(long, value_name = "N")]
    pub max_modules: Option<usize>,
    /// Heap the whole process may hold, in MiB [default: 256; at most 2048].
    #[arg(long, value_name = "MIB", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=crate::host::limits::HARD_MAX_MEMORY as u64))]
    pub max_memory: Option<usize>,
}

impl LimitArgs {
    /// `base` with the flags given applied over it.
    pub fn over(&self, base: Limits) -> Limits {
        Limits {
            max_operations: self.max_operations.unwrap_or(base.max_operations),
            max_call_levels: self.max_call_levels.unwrap_or(base.max_call_levels),
            max_string_size: self.max_string_size.unwrap_or(base.max_string_size),
            max_array_size: self.max_array_size.unwrap_or(base.max_array_size),
            max_map_size: self.max_map_size.unwrap_or(base.max_map_size),
            max_modules: self.max_modules.unwrap_or(base.max_modules),
            max_memory: self.max_memory.unwrap_or(base.max_memory),
            ..base
        }
    }
}

/// `vmssid run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The script file to run.
    #[arg(value_name = "FILE", required_unless_present = "eval", conflicts_with = "eval")]
    pub file: Option<PathBuf>,

    /// Run this script text instead of a file.
    #[arg(short = 'e', long = "eval", value_name = "SCRIPT")]
    pub eval: Option<String>,

    /// Define a string variable for the script (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    pub vars: Vec<(String, String)>,

    /// How to print the result.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Save the writes the run plans as a plan for `vmssid apply` (implies --dry-run).
    #[arg(long, value_name = "FILE", conflicts_with = "read_only")]
    pub plan_out: Option<PathBuf>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub script: ScriptArgs,

    #[command(flatten)]
    pub lock: LockArgs,

    /// Arguments for the script, available as ARGS (after `--`).
    #[arg(last = true, value_name = "ARG")]
    pub args: Vec<String>,
}

/// `vmssid apply`.
#[derive(Debug, Args)]
// A plan is applied to the ARM it was made against, for real: apply refuses these flags.
#[command(mut_arg("emulator", |a| a.hide(true)), mut_arg("state", |a| a.hide(true)))]
#[command(mut_arg("throttle", |a| a.hide(true)), mut_arg("time_scale", |a| a.hide(true)))]
#[command(mut_arg("dry_run", |a| a.hide(true)), mut_arg("read_only", |a| a.hide(true)))]
#[command(mut_arg("journal", |a| a.help("Journal of writes [default: $XDG_STATE_HOME/vmssid/journal.jsonl]")))]
pub struct ApplyArgs {
    /// The plan file `vmssid run --dry-run --plan-out FILE` wrote.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// Re-plan the writes of scale sets that changed since planning from their current state,
    /// instead of leaving them untouched.
    #[arg(long)]
    pub replan: bool,

    /// Scale sets are written at once up to --concurrency; each one's writes go in plan order.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `vmssid journal`.
#[derive(Debug, Args)]
pub struct JournalArgs {
    /// Only the last N runs (N entries when entries are listed).
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,

    /// List entries, one line per write, instead of runs.
    #[arg(long)]
    pub entries: bool,

    /// List the entries of this run.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,

    /// List the entries for this scale set (full id or name).
    #[arg(long, value_name = "ID")]
    pub vmss: Option<String>,

    /// The journal to read [default: $XDG_STATE_HOME/vmssid/journal.jsonl; with --emulator,
    /// emulator-journal.jsonl beside it].
    #[arg(long, value_name = "FILE", env = "VMSSID_JOURNAL")]
    pub journal: Option<PathBuf>,

    /// Read the journal of --emulator runs.
    #[arg(long)]
    pub emulator: bool,

    /// One JSON object per run (or entry) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `vmssid undo`. `--emulator` only finds the journal of `--emulator` runs, to say why their
/// writes cannot be undone (undo.rs); `--state` is hidden for the same reason.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").args(["last", "entry", "run", "last_run"])))]
#[command(mut_arg("state", |a| a.hide(true)))]
#[command(mut_arg("throttle", |a| a.hide(true)), mut_arg("time_scale", |a| a.hide(true)))]
#[command(mut_arg("emulator", |a| a.help("Use the journal of --emulator runs (their writes cannot be undone: each emulator's state ended with its run)")))]
pub struct UndoArgs {
    /// Undo the last N writes (newest first) [default: 1].
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,

    /// Undo this journal entry.
    #[arg(long, value_name = "ID")]
    pub entry: Option<String>,

    /// Undo every write of this run: per scale set newest first, scale sets in parallel
    /// (--concurrency).
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,

    /// Undo every write of the run that started last (undo runs left out).
    #[arg(long)]
    pub last_run: bool,

    /// Restore even where the scale set changed since the write (prints the plan first).
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `vmssid check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Library folder for `import` (repeatable), as for `run`.
    #[arg(long = "lib", value_name = "DIR")]
    pub libs: Vec<PathBuf>,

    /// Files or folders to check [default: the current directory].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub lock: LockArgs,
}

/// `vmssid repl`.
#[derive(Debug, Args)]
pub struct ReplArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    #[command(flatten)]
    pub script: ScriptArgs,

    #[command(flatten)]
    pub lock: LockArgs,

    /// History file [default: $XDG_STATE_HOME/vmssid/history, else ~/.local/state/vmssid/history].
    #[arg(long, value_name = "FILE", env = "VMSSID_HISTORY")]
    pub history: Option<PathBuf>,

    /// Keep no history file for this session.
    #[arg(long)]
    pub no_history: bool,

    /// How to print each result (`.output` changes it in the session).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `vmssid docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Print only this entry: a primitive (`ensure_user`), a stdlib function
    /// (`vmssid/identity::ensure` or `ensure`) or a library function (`team/greet::hello`).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// Print Markdown (what docs/reference.md holds).
    #[arg(long, conflicts_with = "name")]
    pub markdown: bool,

    /// Write Rhai definition files (`.d.rhai`, for editors) of the primitives, the stdlib and
    /// the libraries to DIR, and list them.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["name", "markdown"])]
    pub definitions: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub lock: LockArgs,
}

fn parse_assignment(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once('=').ok_or_else(|| format!("'{s}' is not NAME=VALUE"))?;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("'{name}' is not a valid variable name"));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn assignments() {
        assert_eq!(parse_assignment("rg=my=rg"), Ok(("rg".into(), "my=rg".into())));
        assert!(parse_assignment("1x=a").is_err());
        assert!(parse_assignment("novalue").is_err());
    }
}
