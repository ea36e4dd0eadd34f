//! One test's world: an in-process emulator of its own, and primitives that talk to it.
//!
//! Every test starts one, so tests share nothing and can run at once. The emulator records the
//! requests it receives, for `requests()`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::runtime::Handle;
use vmssid_emulator::{Control, DEMO_SUBSCRIPTION, Emulator, Fixture};

use crate::arm::settings::parse_endpoint;
use crate::arm::{ArmClient, ClientConfig, RetryPolicy, Token, TokenProvider};
use crate::host::HostContext;
use crate::identity::ApiVersion;
use crate::interrupt::Interrupt;
use crate::ops::{Primitives, WriteMode};

/// The token a test's emulator accepts, and its client sends.
const TOKEN: &str = "vmssid-test";

/// A running emulator and the host context whose primitives use it.
pub struct World {
    emulator: Emulator,
    pub context: HostContext,
}

impl World {
    /// Starts an emulator with `fixture` on 127.0.0.1:0 and connects primitives (writes
    /// allowed, no journal: the world ends with the test) to it.
    pub fn start(runtime: &Handle, fixture: Fixture, interrupt: &Interrupt) -> anyhow::Result<World> {
        let emulator = runtime
            .block_on(Emulator::builder().token(TOKEN).fixture(fixture).start())
            .context("cannot start the test's emulator")?;
        emulator.control().record_requests(true);
        let mut config = ClientConfig::with_subscription(
            parse_endpoint(emulator.url())?,
            Ok(DEMO_SUBSCRIPTION.to_string()),
        );
        // Faults a test injects are retried as against Azure, but a test never waits minutes.
        config.retry = RetryPolicy { max_elapsed: Duration::from_secs(30), ..RetryPolicy::default() };
        config.operation_timeout = Duration::from_secs(60);
        config.poll_interval = Duration::from_millis(20);
        let tokens = Arc::new(TokenProvider::fixed(Token::new(TOKEN)));
        let (client, writes) = ArmClient::new(config, tokens, interrupt.clone())?;
        let api = ApiVersion::parse(crate::identity::wire::DEFAULT_VMSS_API_VERSION)?;
        let primitives = Arc::new(Primitives::new(Arc::new(client), writes, api, WriteMode::Allow));
        let context = HostContext { primitives, runtime: runtime.clone(), interrupt: interrupt.clone() };
        Ok(World { emulator, context })
    }

    /// The emulator's control handle: its state, faults and request log.
    pub fn control(&self) -> Control {
        self.emulator.control()
    }

    /// Stops the emulator.
    pub fn stop(self, runtime: &Handle) {
        runtime.block_on(self.emulator.shutdown());
    }
}
