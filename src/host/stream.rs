//! `stream_vmss(...)` and friends: a listing that `parallel` works on while it is still being
//! listed. ARM lists a collection a page at a time, each page found from the last one's
//! `nextLink`, so a 2,000-set listing is 20 round trips in a row; with a stream the first
//! items are at work after the first page, and no list of the whole fleet is ever held.

use std::fmt;

use futures::StreamExt;
use rhai::{Dynamic, Engine};

use super::catalog::registration;
use super::convert::{RhaiResult, bad_argument, op_error, resource_maps};
use super::primitives::HostContext;
use crate::arm::NextPage;
use crate::identity::ComputeKind;
use crate::ops::{OpError, Primitives, collection_path};

/// Subscriptions (or resource groups) listed at the same time by one stream.
const SOURCES_AT_ONCE: usize = 4;

/// Scale sets or virtual machines of one or more subscriptions (or a resource group in each),
/// not listed yet: `parallel` lists them as it goes.
#[derive(Debug, Clone)]
pub struct Stream {
    kind: ComputeKind,
    /// Subscription and optional resource group, in the order their items are returned.
    sources: Vec<(String, Option<String>)>,
}

/// What a stream hands over while it lists.
pub enum Listed {
    /// A page of source `source`: its items as script maps, in order.
    Page { source: usize, items: Vec<Dynamic> },
    /// Source `source` could not be listed (further).
    Failed { source: usize, error: OpError },
}

impl Stream {
    fn new(kind: ComputeKind, subscriptions: Vec<String>, rg: Option<&str>) -> RhaiResult<Stream> {
        let mut sources = Vec::with_capacity(subscriptions.len());
        for subscription in subscriptions {
            // Checked now, so a typo fails at this call rather than as an item of the run.
            collection_path(kind, &subscription, rg).map_err(op_error)?;
            sources.push((subscription, rg.map(str::to_string)));
        }
        Ok(Stream { kind, sources })
    }

    /// Lists every source (a few at a time), handing each page to `sink` as it arrives; a
    /// source that fails is reported and the others go on. `gate` is asked before each page
    /// is requested (so a listing that must wait holds no request open); `sink` returning
    /// false stops that source.
    pub async fn list(
        &self,
        primitives: &Primitives,
        gate: &(dyn Fn() -> NextPage + Sync),
        sink: &mut (dyn FnMut(Listed) -> bool + Send),
    ) {
        let sink = std::sync::Mutex::new(sink);
        let hand = |listed: Listed| sink.lock().map(|mut sink| sink(listed)).unwrap_or(false);
        let listings = self.sources.iter().enumerate().map(|(source, (subscription, rg))| {
            let hand = &hand;
            async move {
                let mut page =
                    |sets: Vec<crate::ops::Vmss>| hand(Listed::Page { source, items: resource_maps(&sets) });
                let listed = primitives
                    .list_compute_pages(self.kind, subscription, rg.as_deref(), gate, &mut page)
                    .await;
                if let Err(error) = listed {
                    hand(Listed::Failed { source, error });
                }
            }
        });
        futures::stream::iter(listings).buffer_unordered(SOURCES_AT_ONCE).collect::<()>().await;
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ComputeKind::ScaleSet => "scale sets",
            ComputeKind::VirtualMachine => "virtual machines",
        };
        match self.sources.as_slice() {
            [(subscription, Some(rg))] => write!(f, "stream of the {what} in {subscription}/{rg}"),
            [(subscription, None)] => write!(f, "stream of the {what} in {subscription}"),
            [(_, Some(rg)), ..] => {
                write!(f, "stream of the {what} in {rg} of {} subscriptions", self.sources.len())
            }
            sources => write!(f, "stream of the {what} in {} subscriptions", sources.len()),
        }
    }
}

/// Registers the `stream` type and `stream_vmss`, `stream_vmss_in`, `stream_vms`, `stream_vms_in`.
pub fn register(engine: &mut Engine, ctx: &HostContext) {
    engine.register_type_with_name::<Stream>("stream");
    engine.register_fn("to_string", |s: &mut Stream| s.to_string());
    engine.register_fn("to_debug", |s: &mut Stream| s.to_string());
    for (name, kind) in [("stream_vmss", ComputeKind::ScaleSet), ("stream_vms", ComputeKind::VirtualMachine)]
    {
        let c = ctx.clone();
        registration(name).register_into_engine(engine, move || -> RhaiResult<Stream> {
            Stream::new(kind, vec![current_subscription(&c)?], None)
        });
        let c = ctx.clone();
        registration(name).register_into_engine(engine, move |rg: &str| -> RhaiResult<Stream> {
            Stream::new(kind, vec![current_subscription(&c)?], Some(rg))
        });
    }
    for (name, kind) in
        [("stream_vmss_in", ComputeKind::ScaleSet), ("stream_vms_in", ComputeKind::VirtualMachine)]
    {
        registration(name).register_into_engine(
            engine,
            move |subscriptions: Dynamic| -> RhaiResult<Stream> {
                Stream::new(kind, subscription_list(name, subscriptions)?, None)
            },
        );
        registration(name).register_into_engine(
            engine,
            move |subscriptions: Dynamic, rg: &str| -> RhaiResult<Stream> {
                Stream::new(kind, subscription_list(name, subscriptions)?, Some(rg))
            },
        );
    }
}

fn current_subscription(ctx: &HostContext) -> RhaiResult<String> {
    Ok(ctx.primitives.client().subscription().map_err(|e| op_error(e.into()))?.to_string())
}

/// One subscription id, or an array of them.
fn subscription_list(function: &str, value: Dynamic) -> RhaiResult<Vec<String>> {
    let wrong = |got: &str| {
        let got = super::convert::friendly_type(got);
        bad_argument(function, &format!("give a subscription id or an array of them, not {got}"))
    };
    if value.is_string() {
        return Ok(vec![value.to_string()]);
    }
    let type_name = value.type_name();
    let Some(items) = value.try_cast::<rhai::Array>() else { return Err(wrong(type_name)) };
    items
        .into_iter()
        .map(|item| if item.is_string() { Ok(item.to_string()) } else { Err(wrong(item.type_name())) })
        .collect()
}
