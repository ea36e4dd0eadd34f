//! As `az login` does: when nothing names a subscription, ask the endpoint which ones the caller
//! may use (`GET /subscriptions`) and take the only one; several or none is an error that says
//! what to do.

use serde_json::Value;

use super::client::ArmClient;
use super::settings::SubscriptionError;
use crate::identity::resource_id::is_guid;

/// The api-version of the subscriptions list (the one the Azure CLI uses for it).
pub const LIST_API_VERSION: &str = "2022-12-01";

/// The endpoint's only subscription, or why there is none to take.
pub async fn only_subscription(client: &ArmClient) -> Result<String, SubscriptionError> {
    let endpoint = client.endpoint().origin().ascii_serialization();
    match client.list("/subscriptions", LIST_API_VERSION).await {
        Ok(items) => choose(&endpoint, &items),
        Err(e) => Err(SubscriptionError::Unlisted { endpoint, reason: e.to_string() }),
    }
}

/// Picks the only subscription of a list in ARM's shape (`subscriptionId`, `displayName`).
pub fn choose(endpoint: &str, items: &[Value]) -> Result<String, SubscriptionError> {
    let listed: Vec<(&str, &str)> = items
        .iter()
        .filter_map(|item| {
            let id = item.get("subscriptionId")?.as_str().filter(|id| is_guid(id))?;
            Some((id, item.get("displayName").and_then(Value::as_str).unwrap_or("")))
        })
        .collect();
    match listed.as_slice() {
        [] => Err(SubscriptionError::NoneListed { endpoint: endpoint.to_string() }),
        [(id, _)] => Ok((*id).to_string()),
        several => {
            let shown: Vec<String> = several
                .iter()
                .map(|(id, name)| if name.is_empty() { id.to_string() } else { format!("{id} ({name})") })
                .collect();
            Err(SubscriptionError::Several { endpoint: endpoint.to_string(), listed: shown.join(", ") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "11111111-1111-1111-1111-111111111111";
    const B: &str = "22222222-2222-2222-2222-222222222222";

    #[test]
    fn one_is_taken_several_or_none_say_what_to_do() {
        let one = [json!({"subscriptionId": A, "displayName": "Prod"})];
        assert_eq!(choose("https://arm", &one), Ok(A.to_string()));
        let two = [json!({"subscriptionId": A, "displayName": "Prod"}), json!({"subscriptionId": B})];
        let err = choose("https://arm", &two).unwrap_err().to_string();
        assert!(err.contains(&format!("{A} (Prod), {B}")) && err.contains("--subscription"), "{err}");
        let none = choose("https://arm", &[json!({"subscriptionId": "not-a-guid"})]).unwrap_err();
        assert!(none.to_string().contains("lists no subscription"), "{none}");
    }
}
