//! Embedding the vmssid script host in another Rust program, with one extra primitive.
//!
//!     cargo run --release --example embed
//!
//! It starts the ARM emulator in-process (point `ClientConfig` at Azure instead, with
//! `TokenProvider::from_environment()`), registers `count_user_identities(rg, name)` next to the
//! built-in primitives, and runs a script that uses both.

use std::sync::Arc;

use rhai::{EvalAltResult, FuncRegistration};
use vmssid::arm::{ArmClient, ClientConfig, Token, TokenProvider};
use vmssid::host::{HostContext, Session, SessionOptions};
use vmssid::identity::ApiVersion;
use vmssid::interrupt::Interrupt;
use vmssid::ops::{Primitives, WriteMode};
use vmssid_emulator::{DEMO_SUBSCRIPTION, Emulator, EmulatorConfig};

fn main() -> anyhow::Result<()> {
    // Scripts run on this thread; the primitives' HTTP runs on the runtime's threads.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let emulator = runtime.block_on(Emulator::start(EmulatorConfig::default()))?;

    let interrupt = Interrupt::default();
    let config = ClientConfig::new(emulator.url().parse()?, DEMO_SUBSCRIPTION.to_string());
    let tokens = Arc::new(TokenProvider::fixed(Token::new("any-token-the-emulator-accepts")));
    let (client, writes) = ArmClient::new(config, tokens, interrupt.clone())?;
    let primitives =
        Arc::new(Primitives::new(Arc::new(client), writes, ApiVersion::latest(), WriteMode::Allow));
    let context = HostContext { primitives, runtime: runtime.handle().clone(), interrupt };

    let mut session = Session::new(context.clone(), SessionOptions::default());
    // The extra primitive: volatile, like every function that talks to ARM, so Rhai's optimizer
    // never calls it at compile time.
    FuncRegistration::new("count_user_identities").with_volatility(true).register_into_engine(
        session.engine_mut(),
        move |rg: &str, name: &str| -> Result<rhai::INT, Box<EvalAltResult>> {
            let id = context.primitives.vmss_id(rg, name).map_err(vmssid::host::convert::op_error)?;
            let vmss = context.block(context.primitives.get_vmss(&id))?;
            Ok(vmss.identity.users.len() as rhai::INT)
        },
    );

    let script = r#"
        let before = count_user_identities("myResourceGroup", "myVMSS");
        add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"));
        `user identities: ${before} -> ${count_user_identities("myResourceGroup", "myVMSS")}`
    "#;
    let result = session.eval(script, "embedded").map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{result}");
    runtime.block_on(emulator.shutdown());
    Ok(())
}
