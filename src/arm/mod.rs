//! The ARM client: endpoint and subscription settings, tokens, retries, throttling and
//! long-running operations. It speaks HTTP and JSON and knows nothing about identities.

pub mod auth;
pub mod client;
pub mod error;
mod listing;
mod operations;
pub mod retry;
pub mod settings;
pub mod subscriptions;
pub mod throttle;
mod throttle_bucket;
mod throttle_policy;
pub mod transport;

pub use auth::{Token, TokenProvider};
pub use client::{ArmClient, ArmResponse, ClientConfig, RequestStats, WriteCapability, WriteRequest};
pub use error::{ArmError, CloudError, RequestIds};
pub use listing::NextPage;
pub use retry::RetryPolicy;
