//! `[defaults]`: the subscription, endpoint, api-version and concurrency a command uses when its
//! flags do not say, from a project's `vmssid.toml` or the user-level config file.
//!
//! ```toml
//! [defaults]
//! subscription = "00000000-0000-0000-0000-000000000000"
//! endpoint = "https://management.usgovcloudapi.net"
//! api_version = "2024-07-01"
//! concurrency = 8
//! ```
//!
//! Precedence, first wins: the flag, its environment variable (`VMSSID_ENDPOINT`,
//! `AZURE_SUBSCRIPTION_ID`), the project's `[defaults]`, the user's `[defaults]`, the built-in
//! default. A project's endpoint still has to pass the endpoint-trust rule (see `connect.rs`).

use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::config::ConfigError;

/// The keys `[defaults]` knows.
const KEYS: &[&str] = &["subscription", "endpoint", "api_version", "concurrency"];

/// The most `concurrency` may be, as for `--concurrency`.
pub const MAX_CONCURRENCY: usize = 1024;

/// Which file a default comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A project's `vmssid.toml`: its endpoint must pass the endpoint-trust rule.
    Project(PathBuf),
    /// The user-level config: the user's own word.
    User(PathBuf),
}

impl Origin {
    pub fn file(&self) -> &Path {
        match self {
            Self::Project(file) | Self::User(file) => file,
        }
    }
}

/// One default and the file it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// The `[defaults]` of one file, or of the project's file over the user's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    pub subscription: Option<Sourced<String>>,
    pub endpoint: Option<Sourced<Url>>,
    pub api_version: Option<Sourced<String>>,
    pub concurrency: Option<Sourced<usize>>,
}

impl Defaults {
    /// Reads a `[defaults]` table; `origin` names the file for errors and the trust rule.
    /// Unknown keys and values of the wrong type or shape are errors naming the key.
    pub fn from_table(table: &toml::Table, origin: &Origin) -> Result<Self, ConfigError> {
        let file = origin.file();
        let mut defaults = Self::default();
        for (key, value) in table {
            let wrong = |expected: &str| {
                ConfigError::value(
                    file,
                    format!("[defaults] {key} must be {expected}, not {}", describe(value)),
                )
            };
            let sourced = |value| Sourced { value, origin: origin.clone() };
            match key.as_str() {
                "subscription" => {
                    let id = value.as_str().ok_or_else(|| wrong("a subscription id (a string)"))?.trim();
                    if !crate::identity::resource_id::is_guid(id) {
                        return Err(ConfigError::value(
                            file,
                            format!(
                                "[defaults] subscription '{id}' is not a GUID (like 00000000-0000-0000-0000-000000000000)"
                            ),
                        ));
                    }
                    defaults.subscription = Some(sourced(id.to_string()));
                }
                "endpoint" => {
                    let raw = value.as_str().ok_or_else(|| wrong("a URL (a string)"))?;
                    let url = crate::arm::settings::parse_endpoint(raw)
                        .map_err(|e| ConfigError::value(file, format!("[defaults] {e}")))?;
                    defaults.endpoint = Some(Sourced { value: url, origin: origin.clone() });
                }
                "api_version" => {
                    let raw = value.as_str().ok_or_else(|| wrong("an api-version (a string)"))?;
                    crate::identity::ApiVersion::parse(raw)
                        .map_err(|e| ConfigError::value(file, format!("[defaults] api_version: {e}")))?;
                    defaults.api_version = Some(sourced(raw.to_string()));
                }
                "concurrency" => {
                    let expected = format!("an integer from 1 to {MAX_CONCURRENCY}");
                    let n = value
                        .as_integer()
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|n| (1..=MAX_CONCURRENCY).contains(n))
                        .ok_or_else(|| wrong(&expected))?;
                    defaults.concurrency = Some(Sourced { value: n, origin: origin.clone() });
                }
                unknown => {
                    let hint =
                        crate::host::check::did_you_mean(unknown, KEYS.iter().map(|k| (*k, k.to_string())));
                    let hint = hint.map(|h| format!("; {h}")).unwrap_or_default();
                    return Err(ConfigError::value(
                        file,
                        format!("[defaults] has no key '{unknown}'{hint} (known: {})", KEYS.join(", ")),
                    ));
                }
            }
        }
        Ok(defaults)
    }

    /// `self` (a project's) with what it leaves unset taken from `under` (the user's).
    pub fn over(self, under: &Defaults) -> Defaults {
        Defaults {
            subscription: self.subscription.or_else(|| under.subscription.clone()),
            endpoint: self.endpoint.or_else(|| under.endpoint.clone()),
            api_version: self.api_version.or_else(|| under.api_version.clone()),
            concurrency: self.concurrency.or_else(|| under.concurrency.clone()),
        }
    }
}

/// A TOML value as a person would name it in "must be X, not Y".
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Integer(n) => format!("the integer {n}"),
        toml::Value::Float(x) => format!("the number {x}"),
        toml::Value::Boolean(b) => format!("{b}"),
        toml::Value::Datetime(d) => format!("the date {d}"),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Defaults, String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        Defaults::from_table(&table, &Origin::Project(PathBuf::from("/p/vmssid.toml")))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_key_is_read() {
        let d = parse(
            "subscription = \"11111111-1111-1111-1111-111111111111\"\nendpoint = \"http://127.0.0.1:8080\"\napi_version = \"2024-07-01\"\nconcurrency = 3\n",
        )
        .unwrap();
        assert_eq!(d.subscription.unwrap().value, "11111111-1111-1111-1111-111111111111");
        assert_eq!(d.endpoint.unwrap().value.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(d.api_version.unwrap().value, "2024-07-01");
        assert_eq!(d.concurrency.unwrap().value, 3);
    }

    #[test]
    fn mistakes_name_the_key_and_what_was_expected() {
        for (text, expected) in [
            ("api-version = \"2024-07-01\"", "no key 'api-version'; did you mean 'api_version'?"),
            ("subscripton = \"x\"", "did you mean 'subscription'?"),
            ("colour = 1", "no key 'colour' (known: subscription, endpoint, api_version, concurrency)"),
            ("concurrency = \"8\"", "concurrency must be an integer from 1 to 1024, not the string \"8\""),
            ("concurrency = 0", "concurrency must be an integer from 1 to 1024, not the integer 0"),
            ("endpoint = 5", "endpoint must be a URL (a string), not the integer 5"),
            ("endpoint = \"http://10.0.0.1\"", "plain http"),
            ("subscription = \"mine\"", "subscription 'mine' is not a GUID"),
            ("api_version = \"2001-01-01\"", "[defaults] api_version: "),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with("/p/vmssid.toml: ") && err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn the_project_wins_key_by_key() {
        let project = parse("concurrency = 2").unwrap();
        let user = Defaults::from_table(
            &toml::from_str("concurrency = 9\napi_version = \"2024-07-01\"").unwrap(),
            &Origin::User(PathBuf::from("/u/config.toml")),
        )
        .unwrap();
        let merged = project.over(&user);
        assert_eq!(merged.concurrency.map(|c| c.value), Some(2));
        let api = merged.api_version.unwrap();
        assert_eq!((api.value.as_str(), api.origin.file()), ("2024-07-01", Path::new("/u/config.toml")));
    }
}
