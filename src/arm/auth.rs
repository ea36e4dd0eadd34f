//! Where bearer tokens come from, and how they are kept out of every output.
//!
//! Order (first that is configured and works wins, and is remembered):
//! 1. `VMSSID_ACCESS_TOKEN`: a token you already have (the article's `az account get-access-token`);
//! 2. environment service principal: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`;
//! 3. workload identity: `AZURE_FEDERATED_TOKEN_FILE` with `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`;
//! 4. managed identity: when `IDENTITY_ENDPOINT` is set (App Service, Arc, the emulator) or
//!    `VMSSID_MANAGED_IDENTITY=1` (a VM's IMDS; not probed by default because off Azure it hangs);
//! 5. the Azure CLI (`az account get-access-token`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, WorkloadIdentityCredential,
};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::error::ArmError;

/// The OAuth scope of Azure Resource Manager.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// Environment variable holding a ready bearer token.
pub const TOKEN_ENV: &str = "VMSSID_ACCESS_TOKEN";
/// A token is refreshed this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A bearer token. It has no `Display`, and `Debug` hides it, so it cannot reach output by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token string.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The raw token, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// One named source of tokens in the chain.
struct Source {
    name: &'static str,
    credential: Arc<dyn TokenCredential>,
}

enum Kind {
    Fixed(Token),
    Chain { sources: Vec<Source>, skipped: Vec<String> },
}

/// Hands out bearer tokens for ARM, caching them until shortly before they expire.
pub struct TokenProvider {
    kind: Kind,
    cache: Mutex<Option<(Token, OffsetDateTime)>>,
    /// Index of the chain source that worked last, tried first next time.
    chosen: Mutex<Option<usize>>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Fixed(_) => f.write_str("TokenProvider(fixed token)"),
            Kind::Chain { sources, .. } => {
                let names: Vec<&str> = sources.iter().map(|s| s.name).collect();
                write!(f, "TokenProvider(chain: {})", names.join(", "))
            }
        }
    }
}

impl TokenProvider {
    /// Always the same token (for `VMSSID_ACCESS_TOKEN` and the embedded emulator).
    pub fn fixed(token: Token) -> Self {
        Self { kind: Kind::Fixed(token), cache: Mutex::new(None), chosen: Mutex::new(None) }
    }

    /// The documented order, read from the process environment.
    pub fn from_environment() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// The documented order, with `env` standing in for the environment (testable).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Self {
        // The credentials build azure_core's HTTPS clients, which need the provider first.
        super::transport::install_crypto_provider();
        if let Some(token) = env(TOKEN_ENV) {
            return Self::fixed(Token::new(token));
        }
        let mut sources = Vec::new();
        let mut skipped = Vec::new();
        let mut add = |name: &'static str, made: azure_core::Result<Arc<dyn TokenCredential>>| match made {
            Ok(credential) => sources.push(Source { name, credential }),
            Err(e) => skipped.push(format!("{name}: {}", super::error::one_line(&e.to_string()))),
        };
        if let (Some(tenant), Some(client), Some(secret)) =
            (env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET"))
        {
            add(
                "environment service principal",
                ClientSecretCredential::new(
                    &tenant,
                    client,
                    Secret::new(secret),
                    Some(ClientSecretCredentialOptions { client_options: token_client_options() }),
                )
                .map(|c| c as Arc<dyn TokenCredential>),
            );
        }
        if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
            add(
                "workload identity",
                WorkloadIdentityCredential::new(None).map(|c| c as Arc<dyn TokenCredential>),
            );
        }
        if env("IDENTITY_ENDPOINT").is_some() || env("VMSSID_MANAGED_IDENTITY").is_some_and(|v| v == "1") {
            let options = ManagedIdentityCredentialOptions {
                client_options: token_client_options(),
                ..ManagedIdentityCredentialOptions::default()
            };
            add(
                "managed identity",
                ManagedIdentityCredential::new(Some(options)).map(|c| c as Arc<dyn TokenCredential>),
            );
        }
        add("Azure CLI", AzureCliCredential::new(None).map(|c| c as Arc<dyn TokenCredential>));
        Self { kind: Kind::Chain { sources, skipped }, cache: Mutex::new(None), chosen: Mutex::new(None) }
    }

    /// A valid token, from the cache when it is fresh.
    pub async fn token(&self) -> Result<Token, ArmError> {
        let sources = match &self.kind {
            Kind::Fixed(token) => return usable(token.clone(), TOKEN_ENV),
            Kind::Chain { sources, skipped } => (sources, skipped),
        };
        let mut cache = self.cache.lock().await;
        if let Some((token, expires)) = cache.as_ref()
            && OffsetDateTime::now_utc() + REFRESH_MARGIN < *expires
        {
            return Ok(token.clone());
        }
        let (token, expires) = self.query_chain(sources.0, sources.1).await?;
        *cache = Some((token.clone(), expires));
        Ok(token)
    }

    async fn query_chain(
        &self,
        sources: &[Source],
        skipped: &[String],
    ) -> Result<(Token, OffsetDateTime), ArmError> {
        let mut chosen = self.chosen.lock().await;
        let mut order: Vec<usize> = (0..sources.len()).collect();
        if let Some(first) = *chosen {
            order.retain(|i| *i != first);
            order.insert(0, first);
        }
        let mut failures: Vec<String> = skipped.to_vec();
        for i in order {
            let source = &sources[i];
            match source.credential.get_token(&[ARM_SCOPE], None).await {
                Ok(access) => {
                    tracing::debug!(source = source.name, "obtained an access token");
                    *chosen = Some(i);
                    let token = usable(Token::new(access.token.secret()), source.name)?;
                    return Ok((token, access.expires_on));
                }
                Err(e) => {
                    tracing::debug!(source = source.name, "credential source failed");
                    failures.push(format!("{}: {}", source.name, short(&e.to_string())));
                }
            }
        }
        Err(ArmError::Auth(format!(
            "no credential worked ({}); set {TOKEN_ENV}, sign in with `az login`, or configure a service principal",
            failures.join("; ")
        )))
    }
}

/// A token that fits in an `Authorization` header, or an error naming where it came from (never
/// the token): a line break pasted along with it would otherwise fail every request, retried.
fn usable(token: Token, from: &str) -> Result<Token, ArmError> {
    // Visible ASCII only: what access tokens are made of, and always a valid header value.
    if !token.expose().is_empty() && token.expose().bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(token);
    }
    let what = if token.expose().is_empty() {
        "is empty".to_string()
    } else if token.expose().contains(['\n', '\r']) {
        "contains a line break".to_string()
    } else {
        "contains characters a token cannot have (spaces or control characters)".to_string()
    };
    Err(ArmError::Auth(format!(
        "the token from {from} {what}; hint: set it to the bare token, e.g. {TOKEN_ENV}=$(az account get-access-token --query accessToken -o tsv)"
    )))
}

/// Token endpoints get a short retry budget: a misconfigured credential should fail in seconds
/// (and fall through to the next source), not after azure_core's default minute.
fn token_client_options() -> ClientOptions {
    ClientOptions {
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            ..ExponentialRetryOptions::default()
        }),
        ..ClientOptions::default()
    }
}

fn short(message: &str) -> String {
    let line = super::error::one_line(message);
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(200).collect::<String>())
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        let t = Token::new("super-secret-value");
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }

    #[test]
    fn a_token_that_cannot_be_a_header_fails_at_once_without_showing_it() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for (raw, why) in [
            ("abc.def\n", "line break"),
            ("abc\r\ndef", "line break"),
            ("abc def", "characters"),
            ("", "empty"),
        ] {
            let p = TokenProvider::fixed(Token::new(raw));
            let err = rt.block_on(p.token()).unwrap_err().to_string();
            assert!(err.contains(TOKEN_ENV) && err.contains(why), "{raw:?}: expected {why:?}, got {err}");
            assert!(raw.is_empty() || !err.contains(raw.trim()), "the token leaked: {err}");
        }
        assert!(rt.block_on(TokenProvider::fixed(Token::new("eyJ0.e30.sig-_~+/=")).token()).is_ok());
    }

    #[test]
    fn access_token_env_wins() {
        let p = TokenProvider::from_lookup(|n| (n == TOKEN_ENV).then(|| "abc".to_string()));
        assert!(matches!(p.kind, Kind::Fixed(_)));
    }

    #[test]
    fn chain_order_follows_the_environment() {
        let env = |n: &str| match n {
            "AZURE_TENANT_ID" => Some("72f988bf-86f1-41af-91ab-2d7cd011db47".to_string()),
            "AZURE_CLIENT_ID" => Some("client".to_string()),
            "AZURE_CLIENT_SECRET" => Some("s3cret".to_string()),
            "IDENTITY_ENDPOINT" => Some("http://127.0.0.1:1/msi/token".to_string()),
            "IDENTITY_HEADER" => Some("h".to_string()),
            _ => None,
        };
        let p = TokenProvider::from_lookup(env);
        assert_eq!(
            format!("{p:?}"),
            "TokenProvider(chain: environment service principal, managed identity, Azure CLI)"
        );
    }
}
