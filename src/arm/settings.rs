//! Which ARM to talk to and in which subscription: validated before any request is made.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use reqwest::Url;

use super::error::ArmError;
use crate::identity::resource_id::is_guid;

/// Public Azure's ARM endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";

/// Parses the endpoint, allowing plain `http://` only for loopback addresses: a bearer token
/// must never cross a network unencrypted.
pub fn parse_endpoint(raw: &str) -> Result<Url, ArmError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| ArmError::Config(format!("endpoint '{raw}' is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        "http" => {
            return Err(ArmError::Config(format!(
                "endpoint '{raw}' uses plain http on a non-loopback host; use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)"
            )));
        }
        other => {
            return Err(ArmError::Config(format!("endpoint '{raw}' has scheme '{other}'; use https")));
        }
    }
    if url.host_str().is_none() {
        return Err(ArmError::Config(format!("endpoint '{raw}' has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ArmError::Config(format!("endpoint '{raw}' must not carry a query or fragment")));
    }
    Ok(url)
}

/// The ARM endpoints of Azure's public clouds: the token goes there without further ado.
/// Azure Germany (`management.microsoftazure.de`) closed in 2021 and is left out on purpose;
/// air-gapped clouds and Azure Stack Hub have endpoints of their own, which users trust
/// explicitly (`--trust-endpoint`, or `[trust] endpoints` in the user-level config).
pub const AZURE_CLOUD_HOSTS: &[&str] =
    &["management.azure.com", "management.chinacloudapi.cn", "management.usgovcloudapi.net"];

/// Whether a bearer token may go to `endpoint` without the user's explicit trust: one of
/// Azure's clouds over https, or loopback (the emulator).
pub fn is_known_endpoint(endpoint: &Url) -> bool {
    if is_loopback_host(endpoint) {
        return true;
    }
    let host = endpoint.host_str().unwrap_or_default().trim_end_matches('.');
    endpoint.scheme() == "https" && AZURE_CLOUD_HOSTS.iter().any(|known| host.eq_ignore_ascii_case(known))
}

pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Where the subscription came from, for messages and `-v` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionSource {
    Flag,
    Environment,
    AzureCliProfile,
    EmulatorDefault,
    /// `[defaults] subscription` in a project's vmssid.toml.
    ProjectDefaults,
    /// `[defaults] subscription` in the user-level config.
    UserDefaults,
    /// The only subscription the endpoint lists.
    OnlyListed,
}

impl std::fmt::Display for SubscriptionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Flag => "--subscription",
            Self::Environment => "AZURE_SUBSCRIPTION_ID",
            Self::AzureCliProfile => "the Azure CLI profile",
            Self::EmulatorDefault => "the emulator's demo subscription",
            Self::ProjectDefaults => "[defaults] in vmssid.toml",
            Self::UserDefaults => "[defaults] in the user config",
            Self::OnlyListed => "the endpoint's only subscription",
        })
    }
}

/// Why no subscription could be chosen. Commands that call ARM report it before they start;
/// a script that calls no primitive keeps it until a call needs one, so it runs without any
/// Azure setup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("subscription '{value}' from {from} is not a GUID")]
    NotAGuid { value: String, from: String },
    #[error("cannot read {}: {reason}", path.display())]
    UnreadableProfile { path: PathBuf, reason: String },
    #[error("{} is not valid JSON: {reason}", path.display())]
    BrokenProfile { path: PathBuf, reason: String },
    #[error(
        "no subscription: pass --subscription ID, set AZURE_SUBSCRIPTION_ID or [defaults] subscription in vmssid.toml, or choose one with `az account set`"
    )]
    Missing,
    #[error(
        "no subscription: pass --subscription ID, set AZURE_SUBSCRIPTION_ID or [defaults] subscription in vmssid.toml, or choose one with `az account set` (asking {endpoint} for its subscriptions failed: {reason})"
    )]
    Unlisted { endpoint: String, reason: String },
    #[error(
        "no subscription: {endpoint} lists no subscription this identity may use\nhint: pass --subscription ID, or get access to a subscription"
    )]
    NoneListed { endpoint: String },
    #[error(
        "no subscription chosen: {endpoint} lists several ({listed})\nhint: pass --subscription ID, or set [defaults] subscription in vmssid.toml or the user config"
    )]
    Several { endpoint: String, listed: String },
    /// For clients that are built but never send (`vmssid check`).
    #[error("this command does not call ARM")]
    NotNeeded,
}

/// Picks the subscription: `--subscription`, else `AZURE_SUBSCRIPTION_ID`, else `defaults` (the
/// `[defaults] subscription` in effect), else the Azure CLI's default subscription (its
/// `azureProfile.json`), else an error that says how to set one.
pub fn resolve_subscription(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    defaults: Option<(&str, SubscriptionSource)>,
) -> Result<(String, SubscriptionSource), SubscriptionError> {
    let checked = |value: &str, from: &str| {
        let value = value.trim();
        if is_guid(value) {
            Ok(value.to_string())
        } else {
            Err(SubscriptionError::NotAGuid { value: value.to_string(), from: from.to_string() })
        }
    };
    if let Some(flag) = flag {
        return Ok((checked(flag, "--subscription")?, SubscriptionSource::Flag));
    }
    if let Some(v) = env("AZURE_SUBSCRIPTION_ID").filter(|v| !v.is_empty()) {
        return Ok((checked(&v, "AZURE_SUBSCRIPTION_ID")?, SubscriptionSource::Environment));
    }
    if let Some((id, source)) = defaults {
        return Ok((checked(id, &source.to_string())?, source));
    }
    if let Some(path) = azure_cli_profile_path(&env)
        && let Some(id) = default_subscription_from_profile(&path)?
    {
        return Ok((checked(&id, &path.display().to_string())?, SubscriptionSource::AzureCliProfile));
    }
    Err(SubscriptionError::Missing)
}

fn azure_cli_profile_path(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let dir = match env("AZURE_CONFIG_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env("HOME")?).join(".azure"),
    };
    Some(dir.join("azureProfile.json"))
}

/// Reads the default subscription of the Azure CLI; a missing file is no error, a broken one is.
fn default_subscription_from_profile(path: &Path) -> Result<Option<String>, SubscriptionError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(SubscriptionError::UnreadableProfile { path: path.into(), reason: e.to_string() });
        }
    };
    // The CLI writes this file with a UTF-8 byte order mark.
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
    let profile: serde_json::Value = serde_json::from_slice(text)
        .map_err(|e| SubscriptionError::BrokenProfile { path: path.into(), reason: e.to_string() })?;
    let default = profile
        .get("subscriptions")
        .and_then(|s| s.as_array())
        .and_then(|subs| subs.iter().find(|s| s.get("isDefault").and_then(|d| d.as_bool()) == Some(true)))
        .and_then(|s| s.get("id"))
        .and_then(|id| id.as_str())
        .map(str::to_string);
    Ok(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_loopback() {
        for ok in
            ["https://management.azure.com", "http://127.0.0.1:8080", "http://[::1]:1", "http://localhost:3"]
        {
            assert!(parse_endpoint(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://management.azure.com", "plain http"),
            ("http://10.0.0.1", "plain http"),
            ("ftp://x", "scheme"),
            ("not a url", "not a URL"),
            ("https://h/?x=1", "query"),
        ] {
            let err = parse_endpoint(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn only_azure_clouds_and_loopback_are_known() {
        for known in [
            "https://management.azure.com",
            "https://MANAGEMENT.usgovcloudapi.net/",
            "https://management.chinacloudapi.cn.",
            "http://127.0.0.2:8080",
            "http://[::1]:1",
            "http://localhost:3",
        ] {
            assert!(is_known_endpoint(&parse_endpoint(known).unwrap()), "{known} is known");
        }
        for unknown in [
            "https://management.azure.com.evil.example",
            "https://evil.example/management.azure.com",
            "https://management.azure.com@evil.example",
            "https://management.microsoftazure.de",
            "https://10.0.0.1",
        ] {
            assert!(!is_known_endpoint(&parse_endpoint(unknown).unwrap()), "{unknown} is not known");
        }
    }

    #[test]
    fn subscription_precedence() {
        const A: &str = "11111111-1111-1111-1111-111111111111";
        const B: &str = "22222222-2222-2222-2222-222222222222";
        let env = |n: &str| (n == "AZURE_SUBSCRIPTION_ID").then(|| B.to_string());
        assert_eq!(
            resolve_subscription(Some(A), env, None).unwrap(),
            (A.to_string(), SubscriptionSource::Flag)
        );
        assert_eq!(
            resolve_subscription(None, env, None).unwrap(),
            (B.to_string(), SubscriptionSource::Environment)
        );
        let project = Some((A, SubscriptionSource::ProjectDefaults));
        assert_eq!(resolve_subscription(None, env, project).unwrap().1, SubscriptionSource::Environment);
        assert_eq!(
            resolve_subscription(None, |_: &str| None, project).unwrap(),
            (A.to_string(), SubscriptionSource::ProjectDefaults)
        );
        let err = resolve_subscription(Some("nope"), env, None).unwrap_err().to_string();
        assert!(err.contains("not a GUID"), "{err}");
    }

    #[test]
    fn subscription_from_azure_cli_profile_or_a_helpful_error() {
        let dir = tempfile::tempdir().unwrap();
        let profile = r#"{"subscriptions":[{"id":"33333333-3333-3333-3333-333333333333","isDefault":false},{"id":"44444444-4444-4444-4444-444444444444","isDefault":true}]}"#;
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(profile.as_bytes());
        std::fs::write(dir.path().join("azureProfile.json"), bytes).unwrap();
        let d = dir.path().to_string_lossy().to_string();
        let env = |n: &str| (n == "AZURE_CONFIG_DIR").then(|| d.clone());
        let user = Some(("55555555-5555-5555-5555-555555555555", SubscriptionSource::UserDefaults));
        assert_eq!(resolve_subscription(None, env, user).unwrap().1, SubscriptionSource::UserDefaults);
        let (id, source) = resolve_subscription(None, env, None).unwrap();
        assert_eq!(
            (id.as_str(), source),
            ("44444444-4444-4444-4444-444444444444", SubscriptionSource::AzureCliProfile)
        );

        let empty = tempfile::tempdir().unwrap();
        let e = empty.path().to_string_lossy().to_string();
        let err = resolve_subscription(None, |n: &str| (n == "AZURE_CONFIG_DIR").then(|| e.clone()), None)
            .unwrap_err();
        assert!(err.to_string().contains("--subscription"), "{err}");
    }
}
