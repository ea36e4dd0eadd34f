//! The scope of a role assignment: a subscription, a resource group, or a resource the emulator
//! serves. Scopes are compared by their canonical path (`/subscriptions/{sub}[/resourceGroups/
//! {rg}[/providers/{namespace}/{type}/{name}]]`), case-insensitively, and one scope is "above"
//! another when its path is a whole-segment prefix of the other's.

use crate::errors::{self, ArmError};
use crate::router::{self, ResType};
use crate::store::{self, Store};
use crate::util::is_guid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub sub: String,
    pub rg: Option<String>,
    /// A resource in `rg` (only with `rg`).
    pub resource: Option<(ResType, String)>,
}

impl Scope {
    /// From the decoded segments before `/providers/Microsoft.Authorization`.
    pub fn from_segments(segs: &[String], raw_path: &str, api_version: &str) -> Result<Scope, ArmError> {
        let s: Vec<&str> = segs.iter().map(|x| x.as_str()).collect();
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let (sub, rest) = match s.as_slice() {
            [subs, sub, rest @ ..] if eq(subs, "subscriptions") => (*sub, rest),
            _ => return Err(errors::unknown_path(raw_path)),
        };
        if !is_guid(sub) {
            return Err(errors::invalid_subscription_id(sub));
        }
        let scope = |rg: Option<&str>, resource| Scope {
            sub: sub.to_lowercase(),
            rg: rg.map(str::to_string),
            resource,
        };
        match rest {
            [] => Ok(scope(None, None)),
            [rgs, rg] if eq(rgs, "resourceGroups") => Ok(scope(Some(rg), None)),
            [rgs, rg, p, ns, ty, name] if eq(rgs, "resourceGroups") && eq(p, "providers") => {
                match router::provider_type(ns, ty) {
                    Some(t) => Ok(scope(Some(rg), Some((t, name.to_string())))),
                    None => Err(router::unknown_provider_path(ns, &segs[6..], api_version)),
                }
            }
            [rgs, _, p, ns, more @ ..]
                if eq(rgs, "resourceGroups") && eq(p, "providers") && !more.is_empty() =>
            {
                Err(router::unknown_provider_path(ns, &segs[6..], api_version))
            }
            _ => Err(errors::unknown_path(raw_path)),
        }
    }

    /// Parses a scope written as an id (state files).
    pub fn parse(id: &str) -> Option<Scope> {
        let trimmed = id.strip_prefix('/')?;
        let segs: Vec<String> = trimmed.split('/').map(str::to_string).collect();
        if segs.iter().any(|s| s.is_empty()) {
            return None;
        }
        Scope::from_segments(&segs, id, "").ok()
    }

    /// The canonical path with the names as given.
    pub fn path(&self) -> String {
        let mut p = format!("/subscriptions/{}", self.sub);
        if let Some(rg) = &self.rg {
            p.push_str(&format!("/resourceGroups/{rg}"));
            if let Some((ty, name)) = &self.resource {
                p.push_str(&format!("/providers/{}/{name}", ty.type_path()));
            }
        }
        p
    }

    /// The canonical path with the names spelled as the stored resources spell them.
    pub fn canonical(&self, store: &Store) -> String {
        let mut s = self.clone();
        if let Some(rg) = &self.rg {
            if let Some(g) = store.groups.get(&store::group_key(&self.sub, rg)) {
                s.rg = Some(g.name.clone());
            }
            if let Some((ty, name)) = &self.resource {
                let key = store::res_key(&self.sub, rg, name);
                let stored = match ty.compute() {
                    Some(kind) => store.compute(kind).get(&key).map(|v| v.name.clone()),
                    None => store.uais.get(&key).map(|u| u.name.clone()),
                };
                s.resource = Some((*ty, stored.unwrap_or_else(|| name.clone())));
            }
        }
        s.path()
    }

    /// ARM's answer when the scope does not exist (a subscription always does).
    pub fn check_exists(&self, store: &Store) -> Result<(), ArmError> {
        let Some(rg) = &self.rg else { return Ok(()) };
        if !store.groups.contains_key(&store::group_key(&self.sub, rg)) {
            return Err(errors::resource_group_not_found(rg));
        }
        let Some((ty, name)) = &self.resource else { return Ok(()) };
        let key = store::res_key(&self.sub, rg, name);
        let exists = match ty.compute() {
            Some(kind) => store.compute(kind).contains_key(&key),
            None => store.uais.contains_key(&key),
        };
        if exists { Ok(()) } else { Err(errors::resource_not_found(ty.type_path(), name, rg)) }
    }
}

/// Whether scope path `outer` is `inner` or above it (both canonical paths).
pub fn at_or_above(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.to_lowercase(), inner.to_lowercase());
    i == o || i.strip_prefix(&o).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000000";

    #[test]
    fn parses_the_three_kinds_case_insensitively() {
        let s = Scope::parse(&format!(
            "{SUB}/RESOURCEGROUPS/rg/providers/microsoft.compute/virtualmachinescalesets/v"
        ));
        assert_eq!(
            s.map(|s| s.path()),
            Some(format!("{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v"))
        );
        assert_eq!(Scope::parse(SUB).map(|s| s.path()), Some(SUB.to_string()));
        assert_eq!(
            Scope::parse(&format!("{SUB}/resourcegroups/rg")).map(|s| s.path()),
            Some(format!("{SUB}/resourceGroups/rg"))
        );
        for bad in [
            "",
            "/",
            "/subscriptions/x",
            &format!("{SUB}/resourceGroups"),
            &format!("{SUB}//rg"),
            &format!("{SUB}/resourceGroups/rg/providers/Foo.Bar/things/x"),
        ] {
            assert_eq!(Scope::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn above_means_a_whole_segment_prefix() {
        let rg = format!("{SUB}/resourceGroups/rg");
        assert!(at_or_above(SUB, &rg));
        assert!(at_or_above(&rg, &rg.to_uppercase()));
        assert!(!at_or_above(&rg, SUB));
        assert!(!at_or_above(&rg, &format!("{SUB}/resourceGroups/rg2")), "rg is no prefix of rg2");
    }
}
