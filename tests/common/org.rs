//! An AWS Organization in moto for the `--organization` tests: this account
//! (moto's default, 123456789012) is the management account; `dev` sits
//! under the root and `prod` in the OU `workloads`. A member account is
//! reached through the role Organizations creates in every account it
//! creates, as an administrator would.

use aws_config::SdkConfig;

pub const MANAGEMENT: &str = "123456789012";

/// The organization as made.
pub struct Org {
    pub id: String,
    /// (id, name) of the members, in creation order: dev, prod.
    pub members: Vec<(String, String)>,
}

pub async fn create(config: &SdkConfig) -> Org {
    let org = aws_sdk_organizations::Client::new(config);
    let id = org
        .create_organization()
        .send()
        .await
        .unwrap()
        .organization
        .unwrap()
        .id
        .unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let ou = org
        .create_organizational_unit()
        .parent_id(&root)
        .name("workloads")
        .send()
        .await
        .unwrap()
        .organizational_unit
        .unwrap()
        .id
        .unwrap();
    let mut members = Vec::new();
    for name in ["dev", "prod"] {
        let status = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap()
            .create_account_status
            .unwrap();
        members.push((status.account_id.unwrap(), name.to_string()));
    }
    org.move_account()
        .account_id(&members[1].0)
        .source_parent_id(&root)
        .destination_parent_id(&ou)
        .send()
        .await
        .unwrap();
    Org { id, members }
}

/// Credentials of the member `account`: access key, secret key, session token.
pub async fn member_credentials(config: &SdkConfig, account: &str) -> (String, String, String) {
    let creds = aws_sdk_sts::Client::new(config)
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("test")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    (
        creds.access_key_id().to_string(),
        creds.secret_access_key().to_string(),
        creds.session_token().to_string(),
    )
}

/// `config` as the member `account`, in `region`.
pub async fn as_member(config: &SdkConfig, account: &str, region: &str) -> SdkConfig {
    let (key, secret, token) = member_credentials(config, account).await;
    config
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(key, secret, Some(token), None, "test"),
            ),
        )
        .build()
}
