//! After a deploy, the function must run exactly the zip this CLI built or
//! was given: Lambda's `CodeSha256` (base64 of the SHA-256 of the deployed
//! zip) is compared with the zip's own hash. A mismatch means the code came
//! from somewhere else (a planted artifact, a change outside this tool).

use anyhow::{bail, Context, Result};

use crate::aws::stack::{self, StackInfo};
use crate::aws::Aws;
use crate::errors::AwsResultExt;

/// The `FunctionName` output, else the stack's Lambda function resource (an
/// engine may report resources before outputs, or an older template may lack
/// the output).
pub async fn function_name(aws: &Aws, info: &StackInfo) -> Result<Option<String>> {
    if let Some(name) = info.outputs.get("FunctionName") {
        return Ok(Some(name.clone()));
    }
    Ok(stack::resources_of_type(aws, info, "AWS::Lambda::Function")
        .await?
        .into_iter()
        .next()
        .map(|(_, name)| name))
}

/// Lambda's form of a hex SHA-256: base64 of the digest bytes.
pub fn lambda_code_sha256(hex_sha256: &str) -> Result<String> {
    let bytes = hex::decode(hex_sha256).context("the zip's SHA-256 is not hex")?;
    Ok(aws_smithy_types::base64::encode(bytes))
}

/// Lambda's `CodeSha256` in the one form this CLI shows a hash in: hex, as
/// `sha256sum` prints it and as `deploy` reports the zip. A value that is
/// not base64 of 32 bytes is shown as it is.
pub fn hex_code_sha256(lambda_base64: &str) -> String {
    match aws_smithy_types::base64::decode(lambda_base64) {
        Ok(bytes) if bytes.len() == 32 => hex::encode(bytes),
        _ => lambda_base64.to_string(),
    }
}

/// The function's configuration (`status` shows it, `verify` checks its hash).
pub async fn configuration(
    aws: &Aws,
    name: &str,
) -> Result<aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput> {
    aws.lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .aws("lambda:GetFunctionConfiguration")
        .with_context(|| format!("reading the function {name}"))
}

/// Fails unless the function `name` runs the zip with `hex_sha256`.
pub async fn verify(aws: &Aws, name: &str, hex_sha256: &str) -> Result<()> {
    let deployed = configuration(aws, name).await?;
    let deployed = deployed.code_sha256().unwrap_or_default();
    let expected = lambda_code_sha256(hex_sha256)?;
    if deployed != expected {
        bail!(
            "the function {name} runs code with SHA-256 {}, not the zip this deploy uploaded \
             ({hex_sha256}): its code was changed outside dingtalk-notifier or planted; find out \
             who changed it before trusting the function",
            hex_code_sha256(deployed)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_becomes_lambdas_base64() {
        // SHA-256 of the empty string.
        assert_eq!(
            lambda_code_sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                .unwrap(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert!(lambda_code_sha256("not hex").is_err());
        assert_eq!(
            hex_code_sha256("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex_code_sha256("abc="), "abc=");
    }
}
