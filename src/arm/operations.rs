//! Long-running operations (docs/arm.md §5): following the status URL a write's answer names
//! until the operation ends, within `--operation-timeout`.

use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::Value;

use super::client::{ArmClient, ArmResponse, Precondition};
use super::error::ArmError;
use super::retry::parse_retry_after;
use super::transport::redact_query;

impl ArmClient {
    /// Waits for the long-running operation a write started, if any (docs/arm.md §5): polls
    /// `Azure-AsyncOperation` until a terminal status, or `Location` until it stops answering 202.
    pub async fn wait_for_operation(&self, started: &ArmResponse) -> Result<(), ArmError> {
        let started_at = Instant::now();
        if let Some(status_url) = started.header("azure-asyncoperation") {
            let url = self.same_origin(status_url)?;
            let mut delay = Duration::ZERO;
            loop {
                self.pause(delay).await?;
                self.check_operation_deadline(started_at, &url)?;
                let poll = self.send(Method::GET, url.clone(), None, Precondition::None, None).await?;
                let status = poll.body.get("status").and_then(Value::as_str).unwrap_or("InProgress");
                match status.to_ascii_lowercase().as_str() {
                    "succeeded" => return Ok(()),
                    "failed" | "canceled" | "cancelled" => return Err(operation_failed(status, &poll)),
                    _ => {}
                }
                delay = self.poll_delay(&poll);
            }
        }
        if started.status == 202
            && let Some(location) = started.header("location")
        {
            let url = self.same_origin(location)?;
            let mut delay = self.poll_delay(started);
            loop {
                self.pause(delay).await?;
                self.check_operation_deadline(started_at, &url)?;
                let poll = self.send(Method::GET, url.clone(), None, Precondition::None, None).await?;
                if poll.status != 202 {
                    return Ok(());
                }
                delay = self.poll_delay(&poll);
            }
        }
        Ok(())
    }

    /// The wait before the next status poll: the answer's `Retry-After`, else `--poll-interval-ms`.
    fn poll_delay(&self, answer: &ArmResponse) -> Duration {
        parse_retry_after(answer.header("retry-after")).unwrap_or(self.config().poll_interval)
    }

    fn check_operation_deadline(&self, started_at: Instant, url: &Url) -> Result<(), ArmError> {
        if started_at.elapsed() > self.config().operation_timeout {
            return Err(ArmError::OperationTimeout {
                seconds: self.config().operation_timeout.as_secs(),
                url: redact_query(url),
            });
        }
        Ok(())
    }
}

fn operation_failed(status: &str, poll: &ArmResponse) -> ArmError {
    let error = poll.body.get("error");
    let field =
        |name| error.and_then(|e| e.get(name)).and_then(Value::as_str).unwrap_or_default().to_string();
    let code = Some(field("code")).filter(|c| !c.is_empty()).unwrap_or_else(|| format!("Operation{status}"));
    ArmError::OperationFailed {
        status: status.to_string(),
        code,
        message: super::error::one_line(&field("message")),
        ids: poll.ids(),
    }
}
