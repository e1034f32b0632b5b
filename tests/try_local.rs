//! The local try-out (`scripts/try`) end to end: this kit's moto and robot,
//! the real CLI's deploy, test-send and destroy, the function behind the
//! SNS → SQS bridge. The alert must reach the robot, signed and rendered.

use std::path::Path;

#[tokio::test(flavor = "multi_thread")]
async fn the_try_out_delivers_an_alert_and_cleans_up() {
    let cli = Path::new(env!("CARGO_BIN_EXE_dingtalk-notifier"));
    let bootstrap = testkit::bootstrap_binary().unwrap();
    let mut narration = Vec::new();
    let result = testkit::tryout::run(cli, &bootstrap, &mut narration).await;
    let shown = String::from_utf8_lossy(&narration).to_string();
    let tried = result.unwrap_or_else(|e| panic!("{e:#}\n{shown}"));
    assert_eq!(tried.delivered.len(), 1, "{shown}");
    let title = tried.delivered[0]["markdown"]["title"].as_str().unwrap();
    assert!(title.starts_with("🔴 ALARM: "), "{title}");
    for step in [
        "==> Starting the local AWS",
        "==> dingtalk-notifier deploy --yes",
        "==> dingtalk-notifier test-send",
        "Delivered: the function sent message ",
        "==> What the robot received",
        &format!("    Notification: {title}"),
        "==> dingtalk-notifier destroy --yes",
    ] {
        assert!(shown.contains(step), "missing `{step}`:\n{shown}");
    }
    // Nothing of the robot's secret or token in what the user sees.
    assert!(!shown.contains("try-local-access-token"), "{shown}");
    assert!(!shown.contains("SEC7472"), "{shown}");
}
