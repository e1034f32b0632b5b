//! Turning AWS failures into one line a person can act on.
//!
//! Every AWS call goes through [`AwsResultExt::aws`], which keeps the error
//! code and message (not the SDK's Debug dump); [`friendly`] then recognises
//! the few failures a new user meets first (no credentials, expired token,
//! access denied) and says what to do.

use std::fmt;

use aws_sdk_cloudformation::config::http::HttpResponse;
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

/// The one wording for a stack that is not in the region asked: `status`,
/// `redrive` and `test-send` fail with it; `destroy` states its
/// [`fact`](NoSuchStack::fact) and succeeds (nothing to destroy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSuchStack {
    pub stack: String,
    pub region: String,
}

impl NoSuchStack {
    pub fn new(stack: &str, region: &str) -> NoSuchStack {
        NoSuchStack {
            stack: stack.to_string(),
            region: region.to_string(),
        }
    }

    /// `no stack named NAME in REGION`, without what to do about it.
    pub fn fact(&self) -> String {
        format!("no stack named {} in {}", self.stack, self.region)
    }
}

impl fmt::Display for NoSuchStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: run `dingtalk-notifier deploy` first (or pass --stack-name / --region)",
            self.fact()
        )
    }
}

impl std::error::Error for NoSuchStack {}

/// One failed AWS API call, reduced to what is worth showing: the service's
/// code and message, or, when AWS gave no code, a few words on what failed.
/// Never the raw HTTP response: the body of an answer the SDK could not read
/// may hold a secret (a GetSecretValue answer does).
#[derive(Debug)]
pub struct AwsCallError {
    /// IAM-style action, e.g. `cloudformation:CreateChangeSet`.
    pub action: &'static str,
    pub code: Option<String>,
    pub message: Option<String>,
    /// What failed when the service sent no code.
    pub failure: Failure,
    /// Only kept when there is no code, to quote to AWS support.
    pub request_id: Option<String>,
}

/// Why a call without an AWS error code failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The service answered with an error code (see `code`).
    Service,
    NoCredentials,
    Network,
    Timeout,
    /// The SDK could not build the request (a bad region or parameter).
    Construction,
    /// An answer came back that the SDK could not read.
    Unreadable {
        status: u16,
    },
    /// An error answer without a code.
    Uncoded {
        status: u16,
    },
    Other,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Service => f.write_str("the service refused the request"),
            Failure::NoCredentials => f.write_str(NO_CREDENTIALS),
            Failure::Network => f.write_str(
                "could not reach the AWS endpoint (network error); check the connection, proxy and AWS_ENDPOINT_URL",
            ),
            Failure::Timeout => f.write_str("AWS did not answer in time; try again"),
            Failure::Construction => {
                f.write_str("the request could not be built; check --region and the profile's settings")
            }
            Failure::Unreadable { status } => {
                write!(f, "AWS sent an answer that could not be read (HTTP {status})")
            }
            Failure::Uncoded { status } => {
                write!(f, "AWS answered HTTP {status} without an error code")
            }
            Failure::Other => f.write_str("the request could not be sent"),
        }
    }
}

impl fmt::Display for AwsCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(code), Some(msg)) => write!(f, "{} failed: {code}: {msg}", self.action),
            (Some(code), None) => write!(f, "{} failed: {code}", self.action),
            (None, _) => {
                write!(f, "{} failed: {}", self.action, self.failure)?;
                match &self.request_id {
                    Some(id) => write!(f, " (request id {id})"),
                    None => Ok(()),
                }
            }
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

    /// Reduces an SDK error to an [`AwsCallError`]. The SDK's own rendering
    /// (`DisplayErrorContext`) is read only to classify, never kept.
    pub fn from_sdk<E>(action: &'static str, err: &SdkError<E, HttpResponse>) -> AwsCallError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = err.code().map(str::to_string);
        let failure = if code.is_some() {
            Failure::Service
        } else {
            classify(err)
        };
        let request_id = match &code {
            Some(_) => None,
            None => err.raw_response().and_then(request_id),
        };
        AwsCallError {
            action,
            message: code.as_ref().and(err.message().map(str::to_string)),
            code,
            failure,
            request_id,
        }
    }
}

fn classify<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ConstructionFailure(_) => Failure::Construction,
        SdkError::TimeoutError(_) => Failure::Timeout,
        SdkError::DispatchFailure(d) => {
            if looks_like_missing_credentials(&DisplayErrorContext(err).to_string()) {
                Failure::NoCredentials
            } else if d.is_timeout() {
                Failure::Timeout
            } else if d.is_io() {
                Failure::Network
            } else {
                Failure::Other
            }
        }
        SdkError::ResponseError(r) => Failure::Unreadable {
            status: r.raw().status().as_u16(),
        },
        // A success status the SDK could not read comes back as an unhandled
        // service error: say it was unreadable.
        SdkError::ServiceError(s) if s.raw().status().is_success() => Failure::Unreadable {
            status: s.raw().status().as_u16(),
        },
        SdkError::ServiceError(s) => Failure::Uncoded {
            status: s.raw().status().as_u16(),
        },
        _ => Failure::Other,
    }
}

/// The request id AWS put in the answer's headers, if any.
fn request_id(raw: &HttpResponse) -> Option<String> {
    ["x-amzn-requestid", "x-amzn-request-id", "x-amz-request-id"]
        .iter()
        .find_map(|h| raw.headers().get(*h))
        .filter(|id| id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
}

pub trait AwsResultExt<T> {
    /// Converts an SDK error into an [`AwsCallError`] naming `action`.
    fn aws(self, action: &'static str) -> anyhow::Result<T>;
}

impl<T, E> AwsResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn aws(self, action: &'static str) -> anyhow::Result<T> {
        self.map_err(|err| anyhow::Error::new(AwsCallError::from_sdk(action, &err)))
    }
}

/// Finds the AWS error inside an anyhow chain, if any.
pub fn aws_call_error(err: &anyhow::Error) -> Option<&AwsCallError> {
    err.chain().find_map(|e| e.downcast_ref::<AwsCallError>())
}

/// The AWS call behind `err` failed with one of `codes`: the answers a
/// caller handles (not found, not allowed) rather than reports.
pub fn has_code(err: &anyhow::Error, codes: &[&str]) -> bool {
    aws_call_error(err).is_some_and(|c| c.is_code(codes))
}

pub const NO_CREDENTIALS: &str =
    "no AWS credentials found: run `aws configure`, set AWS_PROFILE, or run `aws sso login` for an SSO profile";
pub const NO_REGION: &str = "no AWS region: pass --region or set AWS_REGION";

/// A profile named by `named_by` (`--profile` or AWS_PROFILE) that no AWS
/// config file defines.
pub fn missing_profile(name: &str, named_by: &str) -> String {
    format!(
        "the AWS profile `{name}` ({named_by}) is not in ~/.aws/config or ~/.aws/credentials \
         (or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE): `aws configure list-profiles` \
         lists the profiles there; `aws configure --profile {name}` or `aws configure sso` \
         creates it"
    )
}

/// The one line shown when the credential chain fails before any call. The
/// provider's own error is not shown: an instance-metadata 403, for one,
/// renders as a raw HTTP response of about 900 characters.
pub fn credentials_line(
    err: &aws_credential_types::provider::error::CredentialsError,
    profile: Option<&str>,
) -> String {
    use aws_credential_types::provider::error::CredentialsError;
    match (err, profile) {
        (CredentialsError::InvalidConfiguration(_), Some(p)) => format!(
            "the AWS profile `{p}` cannot provide credentials: check ~/.aws/config and \
             ~/.aws/credentials (`aws configure list-profiles` lists the profiles)"
        ),
        (CredentialsError::InvalidConfiguration(_), None) => {
            "the AWS configuration cannot provide credentials: check ~/.aws/config, \
             ~/.aws/credentials and AWS_PROFILE, or run `aws configure`"
                .to_string()
        }
        _ => NO_CREDENTIALS.to_string(),
    }
}

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
    if call.failure == Failure::NoCredentials {
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

    use aws_sdk_cloudformation::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

    #[test]
    fn no_such_stack_names_stack_and_region_and_what_to_do() {
        let e = NoSuchStack::new("alerts", "ap-southeast-1");
        assert_eq!(e.fact(), "no stack named alerts in ap-southeast-1");
        assert_eq!(
            e.to_string(),
            "no stack named alerts in ap-southeast-1: run `dingtalk-notifier deploy` first \
             (or pass --stack-name / --region)"
        );
    }
    use aws_smithy_types::body::SdkBody;

    fn call(code: Option<&str>, message: Option<&str>, _unused: &str) -> anyhow::Error {
        anyhow::Error::new(AwsCallError {
            action: "cloudformation:CreateChangeSet",
            code: code.map(str::to_string),
            message: message.map(str::to_string),
            failure: Failure::Service,
            request_id: None,
        })
        .context("creating the change set")
    }

    const SECRET_BODY: &str = r#"{"ARN":"arn:x","SecretString":"{\"webhook\":\"https://oapi.dingtalk.com/robot/send?access_token=tok3n5ecret\"#;

    fn answer(status: u16, body: &str) -> HttpResponse {
        let mut raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body));
        raw.headers_mut()
            .insert("x-amzn-RequestId", "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
        raw
    }

    fn rendered(err: SdkError<GetSecretValueError, HttpResponse>) -> String {
        let err = Err::<(), _>(err)
            .aws("secretsmanager:GetSecretValue")
            .unwrap_err()
            .context("reading the webhook secret");
        format!("{err:#}")
    }

    #[test]
    fn an_unreadable_answer_never_shows_its_body() {
        let err = SdkError::response_error(
            "failed to parse the response: unexpected end of input",
            answer(200, SECRET_BODY),
        );
        let text = rendered(err);
        assert_eq!(
            text,
            "reading the webhook secret: secretsmanager:GetSecretValue failed: AWS sent an answer \
             that could not be read (HTTP 200) (request id 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE)"
        );
        assert!(!text.contains("tok3n5ecret"));
    }

    #[test]
    fn an_error_answer_without_a_code_is_one_line() {
        let err = SdkError::service_error(
            GetSecretValueError::unhandled("no code in this body"),
            answer(502, "<html>Bad Gateway tok3n5ecret</html>"),
        );
        assert_eq!(
            rendered(err),
            "reading the webhook secret: secretsmanager:GetSecretValue failed: AWS answered HTTP 502 \
             without an error code (request id 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE)"
        );
    }

    #[test]
    fn network_and_credential_failures_are_named() {
        let io = SdkError::dispatch_failure(ConnectorError::io(
            "connection refused (os error 111) to http://127.0.0.1:9".into(),
        ));
        assert_eq!(
            rendered(io),
            "reading the webhook secret: secretsmanager:GetSecretValue failed: could not reach the \
             AWS endpoint (network error); check the connection, proxy and AWS_ENDPOINT_URL"
        );
        let creds: SdkError<GetSecretValueError, HttpResponse> = SdkError::dispatch_failure(ConnectorError::other(
            "the credential provider was not enabled: no providers in chain provided credentials"
                .into(),
            None,
        ));
        let err = Err::<(), _>(creds)
            .aws("secretsmanager:GetSecretValue")
            .unwrap_err();
        assert_eq!(friendly(&err).as_deref(), Some(NO_CREDENTIALS));
    }

    #[test]
    fn a_service_error_keeps_code_and_message_only() {
        let err = SdkError::service_error(
            GetSecretValueError::generic(
                ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .message("Secrets Manager can't find the specified secret.")
                    .build(),
            ),
            answer(400, "{}"),
        );
        assert_eq!(
            rendered(err),
            "reading the webhook secret: secretsmanager:GetSecretValue failed: \
             ResourceNotFoundException: Secrets Manager can't find the specified secret."
        );
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
    fn credential_chain_failures_are_one_line() {
        use aws_credential_types::provider::error::CredentialsError;
        let imds = CredentialsError::provider_error(
            "failed to load IMDS session token: raw: Response { status: 403, headers: {..}, body: SdkBody }",
        );
        assert_eq!(credentials_line(&imds, None), NO_CREDENTIALS);
        assert_eq!(
            credentials_line(&CredentialsError::not_loaded("no providers"), None),
            NO_CREDENTIALS
        );
        assert_eq!(
            credentials_line(
                &CredentialsError::invalid_configuration("profile `x` was not defined"),
                Some("x")
            ),
            "the AWS profile `x` cannot provide credentials: check ~/.aws/config and \
             ~/.aws/credentials (`aws configure list-profiles` lists the profiles)"
        );
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
