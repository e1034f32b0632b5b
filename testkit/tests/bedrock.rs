use std::time::Duration;

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::types::StopReason;
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};
use serde_json::json;
use testkit::{on_demand_refusal, BedrockMode, BedrockServer, INVALID_MODEL_ID};

const MODEL: &str = "apac.amazon.nova-lite-v1:0";

fn client(server: &BedrockServer) -> aws_sdk_bedrockruntime::Client {
    client_in(server, "ap-northeast-1")
}

fn client_in(server: &BedrockServer, region: &str) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new(
            region.to_string(),
        ))
        .endpoint_url(server.endpoint())
        .http_client(testkit::moto::https_client())
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

async fn converse(
    client: &aws_sdk_bedrockruntime::Client,
) -> Result<
    aws_sdk_bedrockruntime::operation::converse::ConverseOutput,
    aws_sdk_bedrockruntime::error::SdkError<ConverseError>,
> {
    converse_with(client, MODEL).await
}

async fn converse_with(
    client: &aws_sdk_bedrockruntime::Client,
    model: &str,
) -> Result<
    aws_sdk_bedrockruntime::operation::converse::ConverseOutput,
    aws_sdk_bedrockruntime::error::SdkError<ConverseError>,
> {
    client
        .converse()
        .model_id(model)
        .messages(
            Message::builder()
                .role(ConversationRole::User)
                .content(ContentBlock::Text("summarise".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await
}

#[tokio::test]
async fn sdk_gets_the_text_back() {
    let server = BedrockServer::start(BedrockMode::Reply("short summary".into())).unwrap();
    let out = converse(&client(&server)).await.unwrap();
    let message = out.output.unwrap().as_message().unwrap().clone();
    assert_eq!(
        message.content,
        vec![ContentBlock::Text("short summary".into())]
    );
    assert_eq!(out.usage.unwrap().total_tokens, 15);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].model_id, MODEL);
    assert!(reqs[0].signed);
    assert_eq!(
        reqs[0].body["messages"],
        json!([{"role": "user", "content": [{"text": "summarise"}]}])
    );
}

#[tokio::test]
async fn empty_content() {
    let server = BedrockServer::start(BedrockMode::Empty).unwrap();
    let out = converse(&client(&server)).await.unwrap();
    assert!(out.output.unwrap().as_message().unwrap().content.is_empty());
}

#[tokio::test]
async fn throttling_maps_to_the_sdk_variant() {
    let server = BedrockServer::start(BedrockMode::throttling()).unwrap();
    let err = converse(&client(&server)).await.unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_throttling_exception(), "{service:?}");
    assert_eq!(
        service.message(),
        Some("Too many requests, please wait before trying again.")
    );
}

#[tokio::test]
async fn other_errors_and_mode_switch() {
    let server = BedrockServer::start(BedrockMode::Error {
        status: 403,
        error_type: "AccessDeniedException".into(),
        message: "You don't have access to the model with the specified model ID.".into(),
    })
    .unwrap();
    let c = client(&server);
    let e = converse(&c).await.unwrap_err().into_service_error();
    assert!(e.is_access_denied_exception(), "{e:?}");
    server.set_mode(BedrockMode::Error {
        status: 404,
        error_type: "ResourceNotFoundException".into(),
        message: "Model not found".into(),
    });
    let e = converse(&c).await.unwrap_err().into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    server.set_mode(BedrockMode::Reply("ok".into()));
    assert!(converse(&c).await.is_ok());
}

#[tokio::test]
async fn delay_trips_a_client_timeout() {
    let server =
        BedrockServer::start(BedrockMode::Delay(Duration::from_secs(1), "late".into())).unwrap();
    let c = client(&server);
    let r = tokio::time::timeout(Duration::from_millis(200), converse(&c)).await;
    assert!(r.is_err());
}

#[tokio::test]
async fn body_without_messages_is_a_validation_error() {
    let server = BedrockServer::start(BedrockMode::Reply("x".into())).unwrap();
    let resp = crate::http()
        .build()
        .unwrap()
        .post(format!("{}/model/m/converse", server.endpoint()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["x-amzn-errortype"], "ValidationException");
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap(),
        json!({"message": "Malformed input request: messages is required"})
    );
    assert!(!server.requests()[0].signed);
}

#[tokio::test]
async fn base_model_ids_are_refused_on_demand_unless_the_test_says_otherwise() {
    let server = BedrockServer::start(BedrockMode::Reply("ok".into())).unwrap();
    let c = client_in(&server, "us-east-1");
    let e = converse_with(&c, "amazon.nova-lite-v1:0")
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_validation_exception(), "{e:?}");
    assert_eq!(
        e.message(),
        Some(
            "Invocation of model ID amazon.nova-lite-v1:0 with on-demand throughput isn\u{2019}t \
             supported. Retry your request with the ID or ARN of an inference profile that \
             contains this model."
        )
    );
    assert_eq!(
        e.message(),
        Some(on_demand_refusal("amazon.nova-lite-v1:0").as_str())
    );
    assert_eq!(server.requests()[0].region, "us-east-1");
    // The profiles of the caller's geography are served.
    assert!(converse_with(&c, "us.amazon.nova-lite-v1:0").await.is_ok());
    assert!(converse_with(&c, "global.amazon.nova-lite-v1:0")
        .await
        .is_ok());
    // A kinder world, asked for explicitly.
    server.serve_on_demand(&["amazon.nova-lite-v1:0"]);
    assert!(converse_with(&c, "amazon.nova-lite-v1:0").await.is_ok());
}

#[tokio::test]
async fn a_profile_of_another_geography_is_an_invalid_identifier() {
    let server = BedrockServer::start(BedrockMode::Reply("ok".into())).unwrap();
    for (region, model) in [
        ("us-east-1", "eu.amazon.nova-lite-v1:0"),
        ("eu-west-1", "apac.amazon.nova-lite-v1:0"),
        ("ap-southeast-1", "jp.amazon.nova-lite-v1:0"),
        ("us-gov-west-1", "us.amazon.nova-lite-v1:0"),
    ] {
        let e = converse_with(&client_in(&server, region), model)
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_validation_exception(), "{region} {model}: {e:?}");
        assert_eq!(e.message(), Some(INVALID_MODEL_ID), "{region} {model}");
    }
    for (region, model) in [
        ("ap-northeast-1", "jp.amazon.nova-lite-v1:0"),
        ("ap-southeast-2", "au.amazon.nova-lite-v1:0"),
        ("us-gov-west-1", "us-gov.amazon.nova-lite-v1:0"),
        ("eu-central-1", "eu.amazon.nova-lite-v1:0"),
    ] {
        assert!(
            converse_with(&client_in(&server, region), model)
                .await
                .is_ok(),
            "{region} {model}"
        );
    }
}

#[tokio::test]
async fn max_tokens_says_so_in_the_stop_reason() {
    let server = BedrockServer::start(BedrockMode::MaxTokens("CPU 持续过高，影响".into())).unwrap();
    let out = converse(&client(&server)).await.unwrap();
    assert_eq!(out.stop_reason, StopReason::MaxTokens);
    server.set_mode(BedrockMode::Reply("whole".into()));
    let out = converse(&client(&server)).await.unwrap();
    assert_eq!(out.stop_reason, StopReason::EndTurn);
}

#[tokio::test]
async fn hang_never_answers() {
    let server = BedrockServer::start(BedrockMode::Hang).unwrap();
    let c = client(&server);
    let r = tokio::time::timeout(Duration::from_secs(2), converse(&c)).await;
    assert!(r.is_err(), "{r:?}");
}
