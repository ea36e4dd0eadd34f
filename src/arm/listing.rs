//! Collections: a GET answers one page and names the next in `nextLink` (docs/arm.md §7 shows
//! the shape), so a listing is a chain of requests, followed to the end or handed over page by page.

use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::Value;

use super::client::{ArmClient, Precondition};
use super::error::ArmError;

/// Whether a paged listing may request its next page ([`ArmClient::list_pages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextPage {
    Fetch,
    /// Not yet: asked again shortly.
    Wait,
    Stop,
}

/// How often a listing told to wait asks again.
const PAGE_GATE_POLL: Duration = Duration::from_millis(10);

impl ArmClient {
    /// GETs a collection and follows `nextLink` until the end.
    pub async fn list(&self, path: &str, api_version: &str) -> Result<Vec<Value>, ArmError> {
        self.list_url(self.url(path, api_version), path).await
    }

    /// Like [`ArmClient::list`], with an OData `$filter`.
    pub async fn list_filtered(
        &self,
        path: &str,
        api_version: &str,
        filter: &str,
    ) -> Result<Vec<Value>, ArmError> {
        let mut url = self.url(path, api_version);
        url.query_pairs_mut().append_pair("$filter", filter);
        self.list_url(url, path).await
    }

    async fn list_url(&self, first: Url, path: &str) -> Result<Vec<Value>, ArmError> {
        let mut items = Vec::new();
        self.pages(first, path, &|| NextPage::Fetch, &mut |page| {
            items.extend(page);
            true
        })
        .await?;
        Ok(items)
    }

    /// Like [`ArmClient::list`], handing each page to `sink` as it arrives, so work on the first
    /// items can start while the rest are listed. `gate` is asked before each page's request
    /// (waiting happens here, with no request in flight); `sink` returning false stops.
    pub async fn list_pages(
        &self,
        path: &str,
        api_version: &str,
        gate: &(dyn Fn() -> NextPage + Sync),
        sink: &mut (dyn FnMut(Vec<Value>) -> bool + Send),
    ) -> Result<(), ArmError> {
        self.pages(self.url(path, api_version), path, gate, sink).await
    }

    async fn pages(
        &self,
        first: Url,
        path: &str,
        gate: &(dyn Fn() -> NextPage + Sync),
        sink: &mut (dyn FnMut(Vec<Value>) -> bool + Send),
    ) -> Result<(), ArmError> {
        let mut url = first;
        for _page in 0..10_000 {
            loop {
                match gate() {
                    NextPage::Fetch => break,
                    NextPage::Wait => self.pause(PAGE_GATE_POLL).await?,
                    NextPage::Stop => return Ok(()),
                }
            }
            let mut page = self.send(Method::GET, url, None, Precondition::None, None).await?;
            // Moved out, not cloned: a page of a large fleet is megabytes of JSON values.
            let values = match page.body.get_mut("value").map(Value::take) {
                Some(Value::Array(values)) => values,
                _ => Vec::new(),
            };
            if !sink(values) {
                return Ok(());
            }
            match page.body.get("nextLink").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                Some(next) => url = self.same_origin(next)?,
                None => return Ok(()),
            }
        }
        Err(ArmError::BadResponse(format!("listing {path} did not end after 10000 pages")))
    }
}
