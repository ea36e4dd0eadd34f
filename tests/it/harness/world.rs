//! An in-process emulator on 127.0.0.1:0 and primitives pointed at it (the library-level tests).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhai::Dynamic;
use tokio::runtime::Runtime;
use vmssid::arm::{ArmClient, ClientConfig, RetryPolicy, Token, TokenProvider};
use vmssid::host::{HostContext, Session, SessionOptions};
use vmssid::identity::{ApiVersion, ResourceId};
use vmssid::interrupt::Interrupt;
use vmssid::ops::journal::Journal;
use vmssid::ops::{Primitives, ReplanPolicy, WriteMode};
use vmssid_emulator::{Control, DEMO_SUBSCRIPTION, Emulator, EmulatorConfig};

use super::cli::{self, Run, expect, text};

pub const TOKEN: &str = "test-token-7f3a";
pub const RG: &str = "myResourceGroup";
pub const SUB: &str = DEMO_SUBSCRIPTION;

/// An emulator and primitives talking to it over real HTTP.
pub struct World {
    pub rt: Runtime,
    pub emulator: Option<Emulator>,
    pub primitives: Arc<Primitives>,
    pub interrupt: Interrupt,
    /// Holds the journal.
    pub dir: tempfile::TempDir,
}

impl World {
    /// The demo fixture at `api`, writes allowed.
    pub fn new(api: &str) -> Self {
        Self::with(EmulatorConfig::default(), api, WriteMode::Allow)
    }

    pub fn with(config: EmulatorConfig, api: &str, mode: WriteMode) -> Self {
        Self::build(config, api, mode, |_| {})
    }

    /// Like [`World::with`] with another retry policy.
    pub fn with_retry(config: EmulatorConfig, api: &str, mode: WriteMode, retry: RetryPolicy) -> Self {
        Self::build(config, api, mode, move |c| c.retry = retry)
    }

    /// The demo fixture at `api` as a user sees it without `--allow-unguarded`.
    pub fn guarded_only(api: &str) -> Self {
        Self::build_with(EmulatorConfig::default(), api, WriteMode::Allow, false, |_| {})
    }

    /// Like [`World::with`], letting the test adjust the client (timeouts, retries).
    pub fn build(
        config: EmulatorConfig,
        api: &str,
        mode: WriteMode,
        tweak: impl FnOnce(&mut ClientConfig),
    ) -> Self {
        Self::build_with(config, api, mode, true, tweak)
    }

    fn build_with(
        mut config: EmulatorConfig,
        api: &str,
        mode: WriteMode,
        allow_unguarded: bool,
        tweak: impl FnOnce(&mut ClientConfig),
    ) -> Self {
        config.token = Some(TOKEN.to_string());
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let emulator = rt.block_on(Emulator::start(config)).expect("emulator starts");
        let interrupt = Interrupt::default();
        let mut client = ClientConfig::new(emulator.url().parse().unwrap(), SUB.to_string());
        client.poll_interval = Duration::from_millis(5);
        client.retry = RetryPolicy { base_delay: Duration::from_millis(5), ..RetryPolicy::default() };
        tweak(&mut client);
        let tokens = Arc::new(TokenProvider::fixed(Token::new(TOKEN)));
        let (client, writes) = ArmClient::new(client, tokens, interrupt.clone()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::new(&dir.path().join("journal.jsonl")));
        // Tests of the etag-less families exercise them as a user who passed --allow-unguarded;
        // the refusal without it has tests of its own.
        let primitives = Primitives::new(Arc::new(client), writes, ApiVersion::parse(api).unwrap(), mode)
            .with_journal(journal)
            .allow_unguarded(allow_unguarded)
            .with_replan_policy(ReplanPolicy {
                base_delay: Duration::from_millis(1),
                ..ReplanPolicy::default()
            });
        Self { rt, emulator: Some(emulator), primitives: Arc::new(primitives), interrupt, dir }
    }

    /// Another copy of the primitives on the same client and journal, with its own re-plan
    /// policy and conflict count (a second writer in the same test).
    pub fn primitives_with(&self, policy: vmssid::ops::ReplanPolicy) -> Arc<Primitives> {
        Arc::new(self.primitives.with_mode(self.primitives.mode()).with_replan_policy(policy))
    }

    pub fn control(&self) -> Control {
        self.emulator.as_ref().unwrap().control()
    }

    pub fn session(&self) -> Session {
        self.session_with(SessionOptions::default())
    }

    pub fn session_with(&self, options: SessionOptions) -> Session {
        let context = HostContext {
            primitives: self.primitives.clone(),
            runtime: self.rt.handle().clone(),
            interrupt: self.interrupt.clone(),
        };
        Session::new(context, options)
    }

    /// A session whose `parallel` runs `concurrency` items at once.
    pub fn session_running(&self, concurrency: usize) -> Session {
        self.session_with(SessionOptions {
            limits: vmssid::host::Limits { concurrency, ..Default::default() },
            ..SessionOptions::default()
        })
    }

    /// Evaluates a script, panicking with the script error if it fails.
    pub fn eval(&self, session: &mut Session, source: &str) -> Dynamic {
        session
            .eval(source, "<test>")
            .unwrap_or_else(|e| panic!("script failed: {e}\n--- script ---\n{source}"))
    }

    pub fn vmss(&self, name: &str) -> ResourceId {
        ResourceId::vmss(SUB, RG, name).unwrap()
    }

    pub fn uai(&self, name: &str) -> ResourceId {
        ResourceId::user_identity(SUB, RG, name).unwrap()
    }

    /// The journal's entries so far.
    pub fn journal(&self) -> Vec<vmssid::ops::journal::Entry> {
        vmssid::ops::journal::read(&self.dir.path().join("journal.jsonl")).unwrap()
    }

    /// The identity of resource `name` (a `full_type` in the demo group) as ARM reports it at
    /// the newest api-version, read with a plain HTTP client and parsed by hand (not with
    /// vmssid's codec): `(system, sorted lower-case user names)`.
    pub fn observed(&self, full_type: &str, name: &str) -> (bool, Vec<String>) {
        self.observed_in(RG, full_type, name)
    }

    /// [`World::observed`] for a resource of group `rg`.
    pub fn observed_in(&self, rg: &str, full_type: &str, name: &str) -> (bool, Vec<String>) {
        let url = format!(
            "{}/subscriptions/{SUB}/resourceGroups/{rg}/providers/{full_type}/{name}?api-version=2026-04-01",
            self.emulator.as_ref().unwrap().url()
        );
        let body: serde_json::Value = self.rt.block_on(async {
            crate::harness::http()
                .build()
                .unwrap()
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let identity = &body["identity"];
        let mut users: Vec<String> = identity["userAssignedIdentities"]
            .as_object()
            .map(|m| m.keys().map(|k| k.rsplit('/').next().unwrap().to_ascii_lowercase()).collect())
            .unwrap_or_default();
        users.sort();
        (identity["type"].as_str().unwrap_or("None").starts_with("SystemAssigned"), users)
    }

    /// Requests the emulator has answered, by method.
    pub fn count(&self, method: &str) -> u64 {
        self.control().counters().by_method.get(method).copied().unwrap_or(0)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            self.rt.block_on(e.shutdown());
        }
    }
}

/// The binary against `world`'s emulator with its own journal.
pub struct Cli<'w> {
    pub world: &'w World,
    pub journal: PathBuf,
}

impl<'w> Cli<'w> {
    pub fn new(world: &'w World) -> Self {
        Self { world, journal: world.dir.path().join("cli-journal.jsonl") }
    }

    /// `vmssid COMMAND --endpoint URL --journal FILE ARGS...`
    pub fn vmssid(&self, command: &str, args: &[&str]) -> Run {
        let url = self.world.emulator.as_ref().unwrap().url().to_string();
        let journal = self.journal.to_string_lossy().into_owned();
        let mut full = vec![command];
        if command != "journal" {
            full.extend(["--endpoint", &url]);
        }
        full.extend(["--journal", &journal]);
        full.extend(args);
        cli::run(
            self.world.dir.path(),
            &full,
            &[("VMSSID_ACCESS_TOKEN", TOKEN), ("AZURE_SUBSCRIPTION_ID", SUB)],
        )
    }

    /// Runs `script`, expects success, and returns the run id its closing line names.
    pub fn run_script(&self, script: &str) -> String {
        let out = self.vmssid("run", &["-e", script]);
        expect(&out, 0, "", "undo with: vmssid undo --run ");
        let stderr = text(&out.stderr);
        let tail = stderr.split("undo with: vmssid undo --run ").nth(1).unwrap_or_default();
        tail.split_whitespace().next().unwrap_or_default().to_string()
    }
}
