//! The reviewed plan: what `vmssid run --dry-run --plan-out FILE` saves and `vmssid apply FILE`
//! sends. Readable JSON with a format version; per write the scale set, the exact body, and the
//! etag and identity it was planned against, so `apply` can refuse a scale set that changed.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use super::PlannedWrite;
use super::model::{identity_from_json, identity_json};
use crate::identity::{ApiVersion, Change, Identity, Intent, Plan, ResourceId, Users, plan as plan_intent};

/// The plan format this version writes and reads.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// [`FORMAT`] when written; a newer number is refused.
    pub format: u32,
    /// The vmssid that wrote it (for people; not checked).
    pub tool: String,
    pub created: String,
    /// The ARM endpoint and subscription the plan was made against; `apply` refuses others.
    pub endpoint: String,
    pub subscription: String,
    pub api_version: String,
    /// The script (or `-e`) that produced it.
    pub source: String,
    pub writes: Vec<PlanWrite>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanWrite {
    pub vmss: String,
    pub intent: PlanIntent,
    /// One line for reviewers: `name (intent): would change: A -> B`.
    pub summary: String,
    pub planned_against: PlannedAgainst,
    /// The index of the earlier write on the same scale set this one follows; its
    /// `planned_against` is that write's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_write: Option<usize>,
    /// The PATCH body, sent as is.
    pub body: Value,
    /// The identity the write should produce (`#{ type, system, user }`).
    pub expected: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedAgainst {
    /// The etag read when planning (`None` for api-versions without etags, and for a write
    /// that follows another in the plan).
    pub etag: Option<String>,
    /// The identity read when planning (`#{ type, system, user }`).
    pub identity: Value,
}

/// An intent as the plan spells it, so `--replan` can plan it again from a new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlanIntent {
    EnableSystem,
    DisableSystem,
    AddUser {
        user: String,
    },
    RemoveUser {
        user: String,
    },
    RemoveAllUser,
    UpdateIdentity {
        system: Option<bool>,
        add: Vec<String>,
        remove: Vec<String>,
    },
    SetIdentity {
        system: bool,
        user: Vec<String>,
    },
    /// Exactly these user identities, the system identity left as it is.
    SetUsers {
        user: Vec<String>,
    },
}

/// Why a plan file cannot be applied; nothing is sent.
#[derive(Debug, Error)]
pub enum PlanFileError {
    #[error("{file}: not a vmssid plan: {reason}")]
    Parse { file: String, reason: String },
    #[error(
        "{file}: plan format {found} is newer than this vmssid reads ({FORMAT}); hint: apply it with the vmssid that wrote it ({tool})"
    )]
    NewerFormat { file: String, found: u32, tool: String },
    #[error("{file}: write {index}: {reason}")]
    BadWrite { file: String, index: usize, reason: String },
    #[error(
        "{file}: the plan is for {what} {planned}, but this connection uses {actual}; hint: connect with {flag} {planned}"
    )]
    OtherTarget { file: String, what: &'static str, planned: String, actual: String, flag: &'static str },
}

impl PlanFile {
    /// The plan of a dry run's writes.
    pub fn new(
        writes: &[PlannedWrite],
        endpoint: &str,
        subscription: &str,
        api_version: &str,
        source: &str,
    ) -> Self {
        Self {
            format: FORMAT,
            tool: format!("vmssid {}", env!("CARGO_PKG_VERSION")),
            created: super::journal::now(),
            endpoint: endpoint.to_string(),
            subscription: subscription.to_string(),
            api_version: api_version.to_string(),
            source: source.to_string(),
            writes: writes.iter().map(PlanWrite::from_planned).collect(),
        }
    }

    /// Reads a plan, refusing a newer format, a file that does not parse, and writes that are
    /// not well formed (a bad id, an `after_write` that does not point back to the same set).
    pub fn parse(file: &str, text: &str) -> Result<Self, PlanFileError> {
        let parse_error =
            |e: serde_json::Error| PlanFileError::Parse { file: file.into(), reason: e.to_string() };
        let value: Value = serde_json::from_str(text).map_err(parse_error)?;
        // The version first: a newer plan may not parse as this version's format at all.
        let found = value
            .get("format")
            .and_then(Value::as_u64)
            .ok_or_else(|| PlanFileError::Parse { file: file.into(), reason: "no 'format' number".into() })?;
        if found > u64::from(FORMAT) {
            let tool = value.get("tool").and_then(Value::as_str).unwrap_or("unknown").to_string();
            return Err(PlanFileError::NewerFormat { file: file.into(), found: found as u32, tool });
        }
        let plan: Self = serde_json::from_value(value).map_err(parse_error)?;
        let api = ApiVersion::parse(&plan.api_version)
            .map_err(|e| PlanFileError::Parse { file: file.into(), reason: e.to_string() })?;
        for (index, write) in plan.writes.iter().enumerate() {
            let bad = |reason: String| PlanFileError::BadWrite { file: file.into(), index, reason };
            let id = write.vmss_id().map_err(bad)?;
            let intent = write.intent().map_err(bad)?;
            // The body must be what vmssid plans for the intent against the recorded state: an
            // edited plan is refused before anything is sent, and can never drop an identity.
            let against = identity_from_json(&write.planned_against.identity)
                .ok_or_else(|| bad("planned_against.identity is not an identity map".into()))?;
            write.check_body(&intent, &against, api).map_err(bad)?;
            if let Some(earlier) = write.after_write {
                let same_set = earlier < index && plan.writes[earlier].vmss_id().is_ok_and(|e| e == id);
                if !same_set {
                    return Err(bad(format!(
                        "after_write {earlier} is not an earlier write on the same scale set"
                    )));
                }
            }
            if !write.body.get("identity").is_some_and(Value::is_object) {
                return Err(bad("the body has no identity object".into()));
            }
        }
        Ok(plan)
    }
}

impl PlanWrite {
    fn from_planned(planned: &PlannedWrite) -> Self {
        let report = &planned.report;
        Self {
            vmss: report.vmss.to_string(),
            intent: PlanIntent::from(&report.intent),
            summary: report.one_line(),
            planned_against: PlannedAgainst {
                etag: planned.against_etag.clone(),
                identity: identity_json(&report.before),
            },
            after_write: planned.after_write,
            body: planned.body().clone(),
            expected: identity_json(&report.after),
        }
    }

    /// The scale set or virtual machine the write changes.
    pub fn vmss_id(&self) -> Result<ResourceId, String> {
        let id = ResourceId::parse(&self.vmss).map_err(|e| format!("vmss: {e}"))?;
        match id.compute_kind() {
            Some(_) => Ok(id),
            None => Err(format!("vmss: {} is neither a scale set nor a virtual machine", id.full_type())),
        }
    }

    pub fn intent(&self) -> Result<Intent, String> {
        self.intent.to_intent()
    }

    /// Whether the body is what vmssid plans for `intent` against `against`: an edited plan
    /// is refused, and can never send a body that drops an identity.
    pub fn check_body(&self, intent: &Intent, against: &Identity, api: ApiVersion) -> Result<(), String> {
        match plan_intent(against, intent, api.family()) {
            Ok(Plan::Patch(patch)) if patch.to_body() == self.body => Ok(()),
            Ok(_) => Err("the body is not what vmssid plans for its intent against its planned_against identity; was the plan edited?".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl From<&Intent> for PlanIntent {
    fn from(intent: &Intent) -> Self {
        let ids = |ids: &[ResourceId]| ids.iter().map(ToString::to_string).collect();
        match intent {
            Intent::EnableSystem => Self::EnableSystem,
            Intent::DisableSystem => Self::DisableSystem,
            Intent::AddUser(id) => Self::AddUser { user: id.to_string() },
            Intent::RemoveUser(id) => Self::RemoveUser { user: id.to_string() },
            Intent::RemoveAllUser => Self::RemoveAllUser,
            Intent::Update(Change { system, users: Users::Adjust { add, remove } }) => {
                Self::UpdateIdentity { system: *system, add: ids(add), remove: ids(remove) }
            }
            // Not made by any primitive; spelled as the exact set it is.
            Intent::Update(Change { system, users: Users::Exactly(users) }) => match system {
                Some(system) => Self::SetIdentity { system: *system, user: ids(users) },
                None => Self::SetUsers { user: ids(users) },
            },
            Intent::Set { system, users } => Self::SetIdentity { system: *system, user: ids(users) },
        }
    }
}

impl PlanIntent {
    fn to_intent(&self) -> Result<Intent, String> {
        let user = |raw: &str| {
            ResourceId::parse(raw)
                .and_then(|id| id.expect_type(crate::identity::USER_IDENTITY_TYPE))
                .map_err(|e| format!("user identity '{raw}': {e}"))
        };
        let users = |raw: &[String]| raw.iter().map(|r| user(r)).collect::<Result<Vec<_>, _>>();
        Ok(match self {
            Self::EnableSystem => Intent::EnableSystem,
            Self::DisableSystem => Intent::DisableSystem,
            Self::AddUser { user: u } => Intent::AddUser(user(u)?),
            Self::RemoveUser { user: u } => Intent::RemoveUser(user(u)?),
            Self::RemoveAllUser => Intent::RemoveAllUser,
            Self::UpdateIdentity { system, add, remove } => Intent::Update(Change {
                system: *system,
                users: Users::Adjust { add: users(add)?, remove: users(remove)? },
            }),
            Self::SetIdentity { system, user: list } => Intent::Set { system: *system, users: users(list)? },
            Self::SetUsers { user: list } => {
                Intent::Update(Change { system: None, users: Users::Exactly(users(list)?) })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every intent survives the plan file: `--replan` plans what was reviewed, nothing less.
    #[test]
    fn every_intent_round_trips_through_the_plan() {
        let sub = "00000000-0000-0000-0000-000000000000";
        let a = ResourceId::user_identity(sub, "rg", "a").unwrap();
        let b = ResourceId::user_identity(sub, "rg", "b").unwrap();
        let intents = [
            Intent::EnableSystem,
            Intent::DisableSystem,
            Intent::AddUser(a.clone()),
            Intent::RemoveUser(a.clone()),
            Intent::RemoveAllUser,
            Intent::Update(Change {
                system: Some(false),
                users: Users::Adjust { add: vec![a.clone()], remove: vec![b.clone()] },
            }),
            Intent::Update(Change { system: None, users: Users::Exactly(vec![a.clone()]) }),
            Intent::Set { system: true, users: vec![a, b] },
        ];
        for intent in intents {
            let spelled = serde_json::to_value(PlanIntent::from(&intent)).unwrap();
            let read: PlanIntent = serde_json::from_value(spelled.clone()).unwrap();
            assert_eq!(read.to_intent().unwrap(), intent, "{intent} was written as {spelled}");
        }
    }
}
