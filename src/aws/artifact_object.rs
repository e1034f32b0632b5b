//! The function zip in the artifact bucket, checked by its SHA-256 before
//! CloudFormation may use it.
//!
//! The key is the zip's own hash, so anyone in the account who may write to
//! the bucket can put another file there under the key of the next version
//! before it is deployed. Each upload therefore carries
//! `ChecksumAlgorithm=SHA256` with the checksum of our zip (S3 refuses a
//! body that does not match it, `BadDigest`), and the object's stored
//! checksum (`HeadObject` with `ChecksumMode=ENABLED`) must equal it before
//! the change set is created: a pre-seeded zip is refused before it is live.

use anyhow::{bail, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ServerSideEncryption};

use crate::aws::function_code::lambda_code_sha256;
use crate::aws::Aws;
use crate::errors::AwsResultExt;
use crate::function::build::Artifact;

/// What the bucket holds under the zip's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Missing,
    /// The object's SHA-256 checksum (base64), if it was stored with one.
    Object {
        sha256: Option<String>,
    },
}

/// What to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Upload,
    /// Our zip, checked.
    Keep,
}

/// Pure: an object without a checksum (an upload by an earlier version) is
/// uploaded again with one; an object with another checksum is not ours.
pub fn decide(stored: &Stored, want: &str, location: &str) -> Result<Action> {
    match stored {
        Stored::Missing | Stored::Object { sha256: None } => Ok(Action::Upload),
        Stored::Object { sha256: Some(s) } if s == want => Ok(Action::Keep),
        Stored::Object { sha256: Some(_) } => bail!(
            "{location} is not this function's zip: its SHA-256 checksum differs, so someone else put it there; \
             nothing was deployed. Find out who (CloudTrail PutObject), delete the object, then deploy again"
        ),
    }
}

/// Uploads the zip unless the same zip is there, then checks the stored
/// checksum; returns whether it uploaded.
pub async fn ensure(
    aws: &Aws,
    artifact: &Artifact,
    bucket: &str,
    key: &str,
    account: &str,
) -> Result<bool> {
    let want = lambda_code_sha256(&artifact.sha256)?;
    let location = format!("s3://{bucket}/{key}");
    let uploaded = match decide(&stored(aws, bucket, key, account).await?, &want, &location)? {
        Action::Keep => false,
        Action::Upload => {
            upload(aws, artifact, bucket, key, account, &want).await?;
            true
        }
    };
    // Read back: what CloudFormation will fetch must be what we built.
    match stored(aws, bucket, key, account).await? {
        Stored::Object { sha256: Some(s) } if s == want => Ok(uploaded),
        _ => bail!(
            "{location} does not hold this function's zip after the upload (its SHA-256 checksum differs or is missing); \
             nothing was deployed: deploy again"
        ),
    }
}

async fn stored(aws: &Aws, bucket: &str, key: &str, account: &str) -> Result<Stored> {
    let head = aws
        .s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(account)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await;
    match head {
        Ok(out) => Ok(Stored::Object {
            sha256: out.checksum_sha256().map(str::to_string),
        }),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(Stored::Missing),
        Err(e) => Err(e)
            .aws("s3:GetObject")
            .with_context(|| format!("checking s3://{bucket}/{key}")),
    }
}

async fn upload(
    aws: &Aws,
    artifact: &Artifact,
    bucket: &str,
    key: &str,
    account: &str,
    sha256: &str,
) -> Result<()> {
    let body = ByteStream::from_path(&artifact.zip_path)
        .await
        .with_context(|| format!("reading {}", artifact.zip_path.display()))?;
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(account)
        .body(body)
        .content_type("application/zip")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(sha256)
        .send()
        .await
        .aws("s3:PutObject")
        .with_context(|| format!("uploading the function to s3://{bucket}/{key}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const AT: &str = "s3://b/lambda/e3b0.zip";

    #[test]
    fn our_zip_is_kept_a_missing_or_unchecked_one_uploaded() {
        assert_eq!(decide(&Stored::Missing, OURS, AT).unwrap(), Action::Upload);
        assert_eq!(
            decide(&Stored::Object { sha256: None }, OURS, AT).unwrap(),
            Action::Upload
        );
        assert_eq!(
            decide(
                &Stored::Object {
                    sha256: Some(OURS.into())
                },
                OURS,
                AT
            )
            .unwrap(),
            Action::Keep
        );
    }

    #[test]
    fn another_zip_under_our_key_is_refused_before_anything_is_deployed() {
        let other = Stored::Object {
            sha256: Some("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=".into()),
        };
        assert_eq!(
            decide(&other, OURS, AT).unwrap_err().to_string(),
            "s3://b/lambda/e3b0.zip is not this function's zip: its SHA-256 checksum differs, so someone else put it there; \
             nothing was deployed. Find out who (CloudTrail PutObject), delete the object, then deploy again"
        );
    }
}
