//! The client (`vmssid::identity::wire`) and the emulator (`vmssid_emulator`) each keep their
//! own list of api-versions, on purpose: the emulator shares no code with the client, so that a
//! mistake in one cannot hide in tests against the other. These tests are where the two meet.

use vmssid::identity::{VMSS_API_VERSIONS as CLIENT_VMSS, wire};
use vmssid_emulator::{UAI_API_VERSIONS as EMULATOR_UAI, VMSS_API_VERSIONS as EMULATOR_VMSS};

/// The entries of `a` missing from `b`.
fn missing<'a>(a: &[&'a str], b: &[&str]) -> Vec<&'a str> {
    a.iter().copied().filter(|v| !b.contains(v)).collect()
}

#[test]
fn client_and_emulator_speak_the_same_vmss_api_versions() {
    assert!(
        CLIENT_VMSS == EMULATOR_VMSS,
        "the VMSS api-version lists differ (src/identity/wire.rs vs crates/vmssid-emulator/src/apiver.rs): \
         only the client has {:?}, only the emulator has {:?}{}",
        missing(CLIENT_VMSS, EMULATOR_VMSS),
        missing(EMULATOR_VMSS, CLIENT_VMSS),
        if missing(CLIENT_VMSS, EMULATOR_VMSS).is_empty() && missing(EMULATOR_VMSS, CLIENT_VMSS).is_empty() {
            " (same versions, different order or repeats; both lists are oldest first)"
        } else {
            ""
        },
    );
}

#[test]
fn the_emulator_serves_the_clients_default_versions() {
    assert!(
        EMULATOR_VMSS.contains(&wire::DEFAULT_VMSS_API_VERSION),
        "the client's default VMSS api-version {} is not among the emulator's {EMULATOR_VMSS:?}",
        wire::DEFAULT_VMSS_API_VERSION
    );
    assert!(
        EMULATOR_UAI.contains(&wire::USER_IDENTITY_API_VERSION),
        "the client's user-assigned identity api-version {} is not among the emulator's {EMULATOR_UAI:?}",
        wire::USER_IDENTITY_API_VERSION
    );
}
