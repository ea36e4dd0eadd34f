//! azure_identity (the Rust SDK) gets tokens from the emulator's managed-identity endpoint, and
//! the emulator accepts them.
//!
//! A test binary of its own, outside tests/it, because of process-global state: azure_identity
//! reads `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` from the process environment, so this test sets
//! them with `std::env::set_var`. That is only sound while no other thread runs; inside the one
//! `it` binary, `cargo test` would run the other tests on threads beside it (and the variables
//! would leak into every child process they start).

use azure_core::credentials::TokenCredential;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use vmssid_emulator::{Emulator, EmulatorConfig};

#[test]
fn azure_identity_for_rust_uses_the_managed_identity_endpoint() {
    // Current-thread runtime: no other thread exists while the environment is changed.
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let emu =
            Emulator::start(EmulatorConfig { token: Some("not-the-mi-token".into()), ..Default::default() })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: the only test in this binary, and no other thread has started yet.
        unsafe {
            std::env::set_var("IDENTITY_ENDPOINT", emu.identity_endpoint());
            std::env::set_var("IDENTITY_HEADER", emu.identity_header());
            std::env::remove_var("IDENTITY_SERVER_THUMBPRINT");
            std::env::remove_var("MSI_ENDPOINT");
        }
        // vmssid's one crypto provider, which reqwest and azure_core's clients need first.
        vmssid::arm::transport::install_crypto_provider();
        let http = reqwest::Client::builder().no_proxy().build().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("{}/subscriptions?api-version=2022-12-01", emu.url());

        let system = ManagedIdentityCredential::new(None).unwrap_or_else(|e| panic!("{e}"));
        let tok = system
            .get_token(&["https://management.azure.com/.default"], None)
            .await
            .unwrap_or_else(|e| panic!("system-assigned token: {e}"));
        let secret = tok.token.secret().to_string();
        assert_eq!(secret.split('.').count(), 3, "JWT-shaped");
        let r = http.get(&url).bearer_auth(&secret).send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 200, "the emulator accepts its own MI tokens");

        let user = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            user_assigned_id: Some(UserAssignedId::ClientId("c1c1c1c1-0000-4000-8000-0000000000a1".into())),
            ..Default::default()
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let tok = user
            .get_token(&["https://management.azure.com/.default"], None)
            .await
            .unwrap_or_else(|e| panic!("user-assigned token: {e}"));
        let r = http.get(&url).bearer_auth(tok.token.secret()).send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 200);

        let unknown = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            user_assigned_id: Some(UserAssignedId::ClientId("99999999-0000-4000-8000-000000000000".into())),
            ..Default::default()
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            unknown.get_token(&["https://management.azure.com/.default"], None).await.is_err(),
            "an identity the emulator does not know gets no token"
        );
        emu.shutdown().await;
    });
}
