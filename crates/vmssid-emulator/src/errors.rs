//! ARM's CloudError envelope and the error bodies the emulator answers with.
//!
//! Messages that ARM is known to send are copied verbatim (see docs/arm.md §6, §10);
//! clients match on them, so they must not drift.

use std::borrow::Cow;

use serde_json::{Value, json};

use crate::compute::ComputeKind;

/// One ARM error response: status, CloudError body and any extra headers (Retry-After, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct ArmError {
    pub status: u16,
    /// Mostly a fixed code; an `error` fault names its own.
    pub code: Cow<'static, str>,
    pub message: String,
    /// Boxed so that the whole error stays small enough to return by value.
    pub target: Option<Box<str>>,
    pub details: Vec<Value>,
    pub headers: Vec<(String, String)>,
}

impl ArmError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ArmError {
        ArmError::with_code(status, Cow::Borrowed(code), message)
    }

    /// An error whose code is only known at run time (the `error` fault's).
    pub fn with_code(status: u16, code: Cow<'static, str>, message: impl Into<String>) -> ArmError {
        ArmError {
            status,
            code,
            message: message.into(),
            target: None,
            details: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_target(mut self, target: &str) -> ArmError {
        self.target = Some(target.into());
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> ArmError {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The `{"error":{...}}` body.
    pub fn body(&self) -> Value {
        let mut inner = serde_json::Map::new();
        inner.insert("code".into(), Value::String(self.code.to_string()));
        inner.insert("message".into(), Value::String(self.message.clone()));
        if let Some(t) = &self.target {
            inner.insert("target".into(), Value::String(t.to_string()));
        }
        if !self.details.is_empty() {
            inner.insert("details".into(), Value::Array(self.details.clone()));
        }
        json!({ "error": Value::Object(inner) })
    }

    /// The inner `{code,message}` object, as an operation status carries it.
    pub fn inner(&self) -> Value {
        self.body().get("error").cloned().unwrap_or_else(|| json!({}))
    }
}

pub const RESOURCE_NOT_FOUND_FIX: &str =
    "For more details please go to https://aka.ms/ARMResourceNotFoundFix";

pub fn missing_auth_header() -> ArmError {
    ArmError::new(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
    )
    .with_header(
        "WWW-Authenticate",
        "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"",
    )
}

pub fn malformed_auth_header() -> ArmError {
    ArmError::new(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
    )
    .with_header(
        "WWW-Authenticate",
        "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The authentication failed because of malformed 'Authorization' header.\"",
    )
}

pub fn invalid_token() -> ArmError {
    ArmError::new(
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid.",
    )
    .with_header(
        "WWW-Authenticate",
        "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The access token is invalid.\"",
    )
}

pub fn expired_token() -> ArmError {
    ArmError::new(
        401,
        "ExpiredAuthenticationToken",
        "The access token expiry UTC time is earlier than current UTC time.",
    )
    .with_header(
        "WWW-Authenticate",
        "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The access token has expired.\"",
    )
}

pub fn missing_api_version() -> ArmError {
    ArmError::new(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )
}

pub fn invalid_api_version(version: &str, supported: &str) -> ArmError {
    ArmError::new(
        400,
        "InvalidApiVersionParameter",
        format!("The api-version '{version}' is invalid. The supported versions are '{supported}'."),
    )
}

pub fn no_registered_provider(
    location: &str,
    version: &str,
    type_name: &str,
    versions: &[&str],
    locations: &[&str],
) -> ArmError {
    ArmError::new(
        400,
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for location '{location}' and API version '{version}' for type '{type_name}'. The supported api-versions are '{}'. The supported locations are '{}'.",
            versions.join(", "),
            locations.join(", ")
        ),
    )
}

pub fn resource_group_not_found(rg: &str) -> ArmError {
    ArmError::new(404, "ResourceGroupNotFound", format!("Resource group '{rg}' could not be found."))
}

/// `type_path` is e.g. `Microsoft.Compute/virtualMachineScaleSets`.
pub fn resource_not_found(type_path: &str, name: &str, rg: &str) -> ArmError {
    ArmError::new(
        404,
        "ResourceNotFound",
        format!(
            "The Resource '{type_path}/{name}' under resource group '{rg}' was not found. {RESOURCE_NOT_FOUND_FIX}"
        ),
    )
}

pub fn invalid_subscription_id(sub: &str) -> ArmError {
    ArmError::new(
        400,
        "InvalidSubscriptionId",
        format!("The provided subscription identifier '{sub}' is malformed or invalid."),
    )
}

pub fn invalid_resource_type(type_name: &str, namespace: &str, version: &str) -> ArmError {
    ArmError::new(
        404,
        "InvalidResourceType",
        format!(
            "The resource type '{type_name}' could not be found in the namespace '{namespace}' for api version '{version}'."
        ),
    )
}

pub fn invalid_namespace(namespace: &str) -> ArmError {
    ArmError::new(
        404,
        "InvalidResourceNamespace",
        format!("The resource namespace '{namespace}' is invalid."),
    )
}

pub fn unknown_path(path: &str) -> ArmError {
    ArmError::new(
        404,
        "InvalidResourceType",
        format!("The request path '{path}' does not name a resource type this server knows."),
    )
}

pub fn method_not_allowed(method: &str, allow: &str) -> ArmError {
    ArmError::new(
        405,
        "MethodNotAllowed",
        format!("The requested resource does not support http method '{method}'."),
    )
    .with_header("Allow", allow)
}

pub fn unsupported_media_type(ct: &str) -> ArmError {
    ArmError::new(
        415,
        "UnsupportedMediaType",
        format!("The content media type '{ct}' is not supported. Only 'application/json' is supported."),
    )
}

pub fn invalid_request_content(detail: &str) -> ArmError {
    ArmError::new(
        400,
        "InvalidRequestContent",
        format!("The request content was invalid and could not be deserialized: '{detail}'."),
    )
}

pub fn body_too_large(limit: usize) -> ArmError {
    ArmError::new(
        413,
        "RequestEntityTooLarge",
        format!("The request content size exceeds the maximum allowed size of {limit} bytes."),
    )
}

/// UNCONFIRMED wording: the request body did not arrive in time.
pub fn request_timeout() -> ArmError {
    ArmError::new(
        408,
        "RequestTimeout",
        "The request timed out: its body was not received in time. Please retry the request.",
    )
}

pub fn invalid_resource_name(name: &str, type_name: &str) -> ArmError {
    ArmError::new(
        400,
        "InvalidResourceName",
        format!("Resource name '{name}' is invalid for type '{type_name}'."),
    )
}

pub fn invalid_resource_group_name(name: &str) -> ArmError {
    ArmError::new(
        400,
        "InvalidResourceGroup",
        format!(
            "The provided resource group name '{name}' has these invalid characters or is too long. The name can be up to 90 characters and can contain letters, digits, underscores, hyphens, periods and parentheses, and cannot end in a period."
        ),
    )
}

pub fn location_required() -> ArmError {
    ArmError::new(400, "LocationRequired", "The location property is required for this definition.")
}

pub fn location_change(old: &str, new: &str) -> ArmError {
    ArmError::new(
        409,
        "PropertyChangeNotAllowed",
        format!("Changing property 'location' is not allowed (from '{old}' to '{new}')."),
    )
    .with_target("location")
}

pub fn invalid_parameter(message: impl Into<String>, target: &str) -> ArmError {
    ArmError::new(400, "InvalidParameter", message).with_target(target)
}

pub fn identity_ids_with_type(canonical_type: &str) -> ArmError {
    invalid_parameter(
        format!("ResourceIdentity identityIds should not be provided if the type is \"{canonical_type}\"."),
        "resourceIdentity.identityIds",
    )
}

pub fn duplicated_identity(id: &str) -> ArmError {
    invalid_parameter(
        format!("ResourceIdentity identityId '{id}' cannot be duplicated in the provided identityIds list."),
        "resourceIdentity.identityIds",
    )
}

pub fn invalid_identity_values(id: &str) -> ArmError {
    ArmError::new(
        400,
        "InvalidIdentityValues",
        format!(
            "Invalid value for the identities '{id}'. The 'userAssignedIdentities' property keys should only be empty json objects, null or the resource exisiting property."
        ),
    )
}

pub fn missing_identity_ids() -> ArmError {
    ArmError::new(
        400,
        "MissingIdentityIds",
        "The identity ids must not be null or empty for 'UserAssigned' identity type.",
    )
}

pub fn failed_identity_operation(resource_id: &str, identity_id: &str) -> ArmError {
    let lower = identity_id.to_lowercase();
    ArmError::new(
        400,
        "FailedIdentityOperation",
        format!(
            "Identity operation for resource '{resource_id}' failed with error 'Failed to perform resource identity operation. Status: 'BadRequest'. Response: '{{\"error\":{{\"code\":\"BadRequest\",\"message\":\"Resource '{lower}' was not found.\"}}}}'.'."
        ),
    )
}

pub fn linked_invalid_property_id(id: &str, path: &str) -> ArmError {
    ArmError::new(
        400,
        "LinkedInvalidPropertyId",
        format!(
            "Property id '{id}' at path '{path}' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{{subscriptionId}}' or '/providers/{{resourceProviderNamespace}}/'."
        ),
    )
}

pub fn precondition_failed(sent: &str, current: &str) -> ArmError {
    ArmError::new(
        412,
        "PreconditionFailed",
        format!("Etag provided in if-match header {sent} does not match etag {current} of resource."),
    )
}

pub fn precondition_exists(sent: &str) -> ArmError {
    ArmError::new(
        412,
        "PreconditionFailed",
        format!(
            "Etag provided in if-none-match header {sent} does not allow the operation: the resource already exists."
        ),
    )
}

pub fn if_none_match_unsupported(sent: &str) -> ArmError {
    invalid_parameter(
        format!("The if-none-match header value {sent} is not supported. Only '*' is supported."),
        "If-None-Match",
    )
}

/// Compute's own throttling answer (aks-engine #2295), not ARM's: `policy` is the bucket that ran
/// dry and `allowed` its size.
pub fn compute_throttled(retry_after: u64, policy: &str, allowed: u64) -> ArmError {
    let now = crate::util::now_rfc3339();
    let detail_msg = json!({
        "operationgroup": policy,
        "starttime": now,
        "endtime": now,
        "allowedrequestcount": allowed,
        "measuredrequestcount": allowed + 1,
    })
    .to_string();
    let mut e = ArmError::new(
        429,
        "OperationNotAllowed",
        "The server rejected the request because too many requests have been received for this subscription.",
    )
    .with_header("Retry-After", retry_after.to_string());
    e.details = vec![json!({"code": "TooManyRequests", "target": policy, "message": detail_msg})];
    e
}

/// ARM's own throttling answer when a subscription bucket is empty.
pub fn subscription_throttled(kind: &str, sub: &str, retry_after: u64) -> ArmError {
    ArmError::new(
        429,
        "SubscriptionRequestsThrottled",
        format!(
            "Number of '{kind}' requests for subscription '{sub}' exceeded. Please try again after '{retry_after}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling"
        ),
    )
    .with_header("Retry-After", retry_after.to_string())
}

pub fn internal_error() -> ArmError {
    ArmError::new(500, "InternalServerError", "An unexpected error occured while processing the request.")
}

pub fn server_busy(retry_after: u64) -> ArmError {
    ArmError::new(
        503,
        "ServiceUnavailable",
        "The service is temporarily unavailable. Please try again later.",
    )
    .with_header("Retry-After", retry_after.to_string())
}

/// Compute's 409 for a write on a resource whose previous operation still runs, as recorded in
/// Azure/azure-cli #15765 (no `Retry-After`).
pub fn concurrent_request() -> ArmError {
    ArmError::new(
        409,
        "Conflict",
        "The request failed due to conflict with a concurrent request. To resolve it, please refer to https://aka.ms/activitylog to get more details on the conflicting requests.",
    )
}

/// Compute's 409 for anything but a DELETE on a resource being deleted (microsoft/onefuzz #511
/// for a scale set; Compute's error table for a virtual machine).
pub fn marked_for_deletion(kind: ComputeKind, name: &str, operation: &str) -> ArmError {
    let message = match kind {
        ComputeKind::Vmss => format!(
            "Operation '{operation}' is not allowed on Virtual Machine Scale Set '{name}' since it is marked for deletion. For more information on your operations, please refer to https://aka.ms/activitylog."
        ),
        ComputeKind::Vm => format!(
            "Operation '{operation}' is not allowed on VM '{name}' since the VM is marked for deletion. You can only retry the Delete operation (or wait for an ongoing one to complete)."
        ),
    };
    ArmError::new(409, "OperationNotAllowed", message)
}

pub fn lro_failed() -> ArmError {
    ArmError::new(500, "InternalExecutionError", "An internal execution error occurred. Please retry later.")
}
