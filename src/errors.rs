//! Turning AWS failures into one line a person can act on.
//!
//! Every AWS call goes through [`AwsResultExt::aws`], which keeps the error
//! code and message (not the SDK's Debug dump); [`friendly`] then recognises
//! the few failures a new user meets first (no credentials, expired token,
//! access denied) and says what to do.

use std::fmt;

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The user pressed Ctrl-C; main exits with 130.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// One failed AWS API call, reduced to what is worth showing.
#[derive(Debug)]
pub struct AwsCallError {
    /// IAM-style action, e.g. `cloudformation:CreateChangeSet`.
    pub action: &'static str,
    pub code: Option<String>,
    pub message: Option<String>,
    /// The SDK's own explanation when the service sent no code (network,
    /// credentials, ...).
    pub detail: String,
}

impl fmt::Display for AwsCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(code), Some(msg)) => write!(f, "{} failed: {code}: {msg}", self.action),
            (Some(code), None) => write!(f, "{} failed: {code}", self.action),
            (None, Some(msg)) => write!(f, "{} failed: {msg}", self.action),
            (None, None) => write!(f, "{} failed: {}", self.action, self.detail),
        }
    }
}

impl std::error::Error for AwsCallError {}

impl AwsCallError {
    pub fn is_code(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }

    pub fn message_contains(&self, needle: &str) -> bool {
        self.message.as_deref().is_some_and(|m| m.contains(needle))
    }
}

pub trait AwsResultExt<T> {
    /// Converts an SDK error into an [`AwsCallError`] naming `action`.
    fn aws(self, action: &'static str) -> anyhow::Result<T>;
}

impl<T, E, R> AwsResultExt<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    fn aws(self, action: &'static str) -> anyhow::Result<T> {
        self.map_err(|err| {
            anyhow::Error::new(AwsCallError {
                action,
                code: err.code().map(str::to_string),
                message: err.message().map(str::to_string),
                detail: DisplayErrorContext(&err).to_string(),
            })
        })
    }
}

/// Finds the AWS error inside an anyhow chain, if any.
pub fn aws_call_error(err: &anyhow::Error) -> Option<&AwsCallError> {
    err.chain().find_map(|e| e.downcast_ref::<AwsCallError>())
}

pub const NO_CREDENTIALS: &str = "no AWS credentials found: run `aws configure` or set AWS_PROFILE";
pub const NO_REGION: &str = "no AWS region: pass --region or set AWS_REGION";

/// A one-line explanation for well-known AWS failures, or `None` to print
/// the normal error chain.
pub fn friendly(err: &anyhow::Error) -> Option<String> {
    let call = aws_call_error(err)?;
    friendly_call(call)
}

fn friendly_call(call: &AwsCallError) -> Option<String> {
    if call.is_code(&["ExpiredToken", "ExpiredTokenException", "RequestExpired"]) {
        return Some(
            "AWS credentials have expired (ExpiredToken): refresh them (e.g. `aws sso login`) and try again"
                .to_string(),
        );
    }
    if call.is_code(&[
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    ]) {
        return Some(format!(
            "AWS rejected the credentials ({}): check the access key, secret key and profile",
            call.code.as_deref().unwrap_or_default()
        ));
    }
    if call.is_code(&[
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnauthorizedOperation",
        "AuthorizationErrorException",
    ]) {
        let action = call
            .message
            .as_deref()
            .and_then(denied_action)
            .unwrap_or_else(|| call.action.to_string());
        return Some(format!(
            "access denied: not authorized to perform: {action} (ask your AWS administrator for this permission)"
        ));
    }
    if call.code.is_none() && looks_like_missing_credentials(&call.detail) {
        return Some(NO_CREDENTIALS.to_string());
    }
    None
}

/// Pulls `service:Action` out of "... is not authorized to perform: s3:PutObject on resource ...".
pub fn denied_action(message: &str) -> Option<String> {
    const MARK: &str = "not authorized to perform: ";
    let start = message.find(MARK)? + MARK.len();
    let action: String = message[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ',' && *c != ';')
        .collect();
    (!action.is_empty()).then_some(action)
}

fn looks_like_missing_credentials(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("no providers in chain provided credentials")
        || d.contains("credentialsnotloaded")
        || d.contains("failed to load credentials")
        || d.contains("the credential provider was not enabled")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(code: Option<&str>, message: Option<&str>, detail: &str) -> anyhow::Error {
        anyhow::Error::new(AwsCallError {
            action: "cloudformation:CreateChangeSet",
            code: code.map(str::to_string),
            message: message.map(str::to_string),
            detail: detail.to_string(),
        })
        .context("creating the change set")
    }

    #[test]
    fn access_denied_names_the_action() {
        let err = call(
            Some("AccessDenied"),
            Some("User: arn:aws:iam::1:user/x is not authorized to perform: cloudformation:CreateChangeSet on resource: arn:x"),
            "",
        );
        assert_eq!(
            friendly(&err).as_deref(),
            Some("access denied: not authorized to perform: cloudformation:CreateChangeSet (ask your AWS administrator for this permission)")
        );
    }

    #[test]
    fn access_denied_without_message_uses_the_call() {
        let err = call(Some("AccessDeniedException"), None, "");
        assert_eq!(
            friendly(&err).as_deref(),
            Some("access denied: not authorized to perform: cloudformation:CreateChangeSet (ask your AWS administrator for this permission)")
        );
    }

    #[test]
    fn expired_token() {
        for code in ["ExpiredToken", "ExpiredTokenException"] {
            let err = call(
                Some(code),
                Some("The security token included in the request is expired"),
                "",
            );
            assert_eq!(
                friendly(&err).as_deref(),
                Some("AWS credentials have expired (ExpiredToken): refresh them (e.g. `aws sso login`) and try again")
            );
        }
    }

    #[test]
    fn missing_credentials() {
        let err = call(
            None,
            None,
            "dispatch failure: other: the credential provider was not enabled: no providers in chain provided credentials",
        );
        assert_eq!(friendly(&err).as_deref(), Some(NO_CREDENTIALS));
    }

    #[test]
    fn other_errors_are_not_rewritten() {
        let err = call(Some("ValidationError"), Some("bad"), "");
        assert_eq!(friendly(&err), None);
        assert_eq!(
            aws_call_error(&err).map(|c| c.to_string()).as_deref(),
            Some("cloudformation:CreateChangeSet failed: ValidationError: bad")
        );
    }
}
