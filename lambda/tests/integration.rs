//! Every one of the function's integration tests, in one binary (as ripgrep
//! does): a binary per file linked the AWS SDK once per file, and that
//! linking was most of a CI run. Each module is one area; `cargo test
//! --test integration <module>::` runs one of them.

mod budget;
mod debug_logs;
mod delivery;
mod e2e;
mod format;
mod golden;
mod health_thread;
mod injection;
mod llm_limits;
mod plugins;
mod routing;
mod storm;

/// The stack's state table as the template creates it (on-demand, key
/// `pk`), for the tests whose function keeps its budget and memory there.
pub async fn create_state_table(
    config: &aws_config::SdkConfig,
    name: &str,
) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let ddb = aws_sdk_dynamodb::Client::new(config);
    ddb.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("state table");
    ddb
}
