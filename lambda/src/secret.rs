//! The robot's webhook and signing secret, read from Secrets Manager and
//! kept in memory for at most [`MAX_AGE`] (so that moving alerts to a new
//! robot takes effect within minutes, not when Lambda recycles the
//! containers), and read again at once when the robot says the token or
//! signature is wrong (it may have been rotated).
//!
//! The secret holds either the bare webhook URL (as the original SAR app
//! stored it) or a JSON document with the optional settings. Nothing here
//! ever prints the URL's access token or the signing secret.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::budget::DEFAULT_ROBOT;
use crate::routing::Route;
use crate::severity::Severity;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookConfig {
    pub webhook: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_mobiles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_all_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the webhook secret is empty; run `dingtalk-notifier deploy` to store the webhook")]
    Empty,
    #[error("the webhook secret is JSON but not the expected shape ({0}); it needs at least {{\"webhook\": \"https://oapi.dingtalk.com/robot/send?access_token=...\"}}")]
    BadJson(String),
    #[error("the webhook in the secret is not a URL; store the robot's https://oapi.dingtalk.com/robot/send?access_token=... URL")]
    NotAUrl,
    #[error("the webhook secret has no string value (binary secrets are not supported)")]
    NotString,
    #[error("reading the webhook secret failed: {0}")]
    Read(String),
    #[error("robot `{robot}` in the webhook secret: {error}")]
    Robot { robot: String, error: String },
    #[error("the webhook secret has no robot `{0}`; run `dingtalk-notifier deploy` to store its webhook")]
    UnknownRobot(String),
}

impl WebhookConfig {
    pub fn parse(raw: &str) -> Result<WebhookConfig, SecretError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(SecretError::Empty);
        }
        let mut cfg = if raw.starts_with('{') {
            // serde's message may quote a value; keep only its category.
            serde_json::from_str::<WebhookConfig>(raw).map_err(|e| {
                SecretError::BadJson(
                    match e.classify() {
                        serde_json::error::Category::Data => "missing or mistyped field",
                        _ => "invalid JSON",
                    }
                    .to_string(),
                )
            })?
        } else {
            WebhookConfig {
                webhook: raw.to_string(),
                secret: None,
                at_mobiles: Vec::new(),
                at_all_on: Vec::new(),
                keyword: None,
            }
        };
        cfg.webhook = cfg.webhook.trim().to_string();
        cfg.secret = cfg
            .secret
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        cfg.keyword = cfg
            .keyword
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if cfg.webhook.is_empty() {
            return Err(SecretError::Empty);
        }
        if url::Url::parse(&cfg.webhook).is_err() {
            return Err(SecretError::NotAUrl);
        }
        Ok(cfg)
    }

    /// The JSON the CLI stores; empty optional fields are left out.
    pub fn to_secret_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Should this alert @mention people? Each `at_all_on` entry is either
    /// a severity name (`critical`, `high`, `medium`, `low`), meaning "this
    /// severity or above" for any alert, or a state (`ALARM`, Health
    /// `open`), matched without regard to case. An alert of severity info
    /// (a recovery, a success, an alarm whose actions AWS suppressed) never
    /// mentions anyone, whatever the list says: a page at 3 a.m. must mean
    /// there is something to do.
    pub fn mentions_for(&self, state: Option<&str>, severity: Severity) -> bool {
        if severity == Severity::Info {
            return false;
        }
        self.at_all_on
            .iter()
            .any(|entry| match entry.parse::<Severity>() {
                Ok(at_least) => at_least != Severity::Info && severity >= at_least,
                Err(_) => state.is_some_and(|s| entry.trim().eq_ignore_ascii_case(s)),
            })
    }
}

/// The webhook with its token hidden, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.path()
        ),
        Err(_) => "<webhook>".into(),
    }
}

/// The whole secret: each robot's webhook by name, and the routes when
/// they did not fit the function's environment. The old value (a bare URL
/// or one robot's JSON) is robot `default`, so an existing install keeps
/// working unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretDoc {
    pub robots: BTreeMap<String, Arc<WebhookConfig>>,
    /// `routes` of the map form (`ROUTES=secret`).
    pub routes: Option<Vec<Route>>,
}

/// The map form as stored: `{"robots": {"NAME": {...}}, "routes": [...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredDoc {
    robots: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    routes: Option<Vec<Route>>,
}

impl SecretDoc {
    /// One robot, `default`: the form of today's installs.
    pub fn single(config: WebhookConfig) -> SecretDoc {
        SecretDoc {
            robots: BTreeMap::from([(DEFAULT_ROBOT.to_string(), Arc::new(config))]),
            routes: None,
        }
    }

    /// The map form when the value is JSON with `robots`, else the old
    /// single-robot form as robot `default`. Errors name the robot, never a
    /// value.
    pub fn parse(raw: &str) -> Result<SecretDoc, SecretError> {
        let trimmed = raw.trim();
        let is_map = trimmed.starts_with('{')
            && serde_json::from_str::<serde_json::Value>(trimmed)
                .ok()
                .is_some_and(|v| v.get("robots").is_some());
        if !is_map {
            return WebhookConfig::parse(raw).map(SecretDoc::single);
        }
        let stored: StoredDoc = serde_json::from_str(trimmed)
            .map_err(|_| SecretError::BadJson("robots map of the wrong shape".into()))?;
        let mut robots = BTreeMap::new();
        for (name, value) in stored.robots {
            let config =
                WebhookConfig::parse(&value.to_string()).map_err(|e| SecretError::Robot {
                    robot: name.clone(),
                    error: e.to_string(),
                })?;
            robots.insert(name, Arc::new(config));
        }
        Ok(SecretDoc {
            robots,
            routes: stored.routes,
        })
    }

    /// What the CLI stores: the old single-robot form while there is only
    /// `default` and no routes (older CLIs and functions read it), the map
    /// form otherwise.
    pub fn to_secret_string(&self) -> String {
        if self.routes.is_none() && self.robots.len() == 1 {
            if let Some(only) = self.robots.get(DEFAULT_ROBOT) {
                return only.to_secret_string();
            }
        }
        #[derive(Serialize)]
        struct Out<'a> {
            robots: BTreeMap<&'a str, &'a WebhookConfig>,
            #[serde(skip_serializing_if = "Option::is_none")]
            routes: Option<&'a Vec<Route>>,
        }
        let out = Out {
            robots: self
                .robots
                .iter()
                .map(|(k, v)| (k.as_str(), &**v))
                .collect(),
            routes: self.routes.as_ref(),
        };
        serde_json::to_string(&out).unwrap_or_default()
    }

    pub fn robot(&self, name: &str) -> Result<Arc<WebhookConfig>, SecretError> {
        self.robots
            .get(name)
            .cloned()
            .ok_or_else(|| SecretError::UnknownRobot(name.to_string()))
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("webhook", &redact_url(&self.webhook))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("at_mobiles", &self.at_mobiles.len())
            .field("at_all_on", &self.at_all_on)
            .field("keyword", &self.keyword)
            .finish()
    }
}

/// A re-read that found the same secret is not repeated for this long: a
/// robot that keeps refusing a token should not cost a Secrets Manager call
/// per alert.
const REREAD_INTERVAL: Duration = Duration::from_secs(60);

/// How long a container keeps the secret before it reads it again: the
/// README's promise that a changed webhook takes effect "within minutes".
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// Pure: is a secret read at `read_at` too old at `now`?
pub fn is_stale(read_at: Instant, now: Instant, max_age: Duration) -> bool {
    now.saturating_duration_since(read_at) >= max_age
}

/// Reads the secret and keeps it for `max_age`; a failed read is not
/// cached, so the next invocation tries again, and a failed re-read of a
/// stale secret keeps the one it has (logged) rather than fail the alert. When the robot refuses the
/// token or signature, [`SecretStore::reread`] reads it again, because
/// someone may have rotated it.
pub struct SecretStore {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
    cached: Mutex<Option<Cached>>,
    max_age: Duration,
    /// When a re-read last found nothing new.
    unchanged_at: Mutex<Option<Instant>>,
}

/// The secret as last read, and when.
struct Cached {
    config: Arc<SecretDoc>,
    read_at: Instant,
}

impl Cached {
    fn new(config: Arc<SecretDoc>) -> Option<Cached> {
        Some(Cached {
            config,
            read_at: Instant::now(),
        })
    }
}

impl SecretStore {
    pub fn new(client: aws_sdk_secretsmanager::Client, arn: String) -> Self {
        SecretStore::with_max_age(client, arn, MAX_AGE)
    }

    /// `max_age`: how long the secret is kept before it is read again
    /// (`SECRET_MAX_AGE_MS`, for tests; [`MAX_AGE`] in the stack).
    pub fn with_max_age(
        client: aws_sdk_secretsmanager::Client,
        arn: String,
        max_age: Duration,
    ) -> Self {
        SecretStore {
            client,
            arn,
            cached: Mutex::new(None),
            max_age,
            unchanged_at: Mutex::new(None),
        }
    }

    /// The webhook of robot `name`.
    pub async fn get(&self, name: &str) -> Result<Arc<WebhookConfig>, SecretError> {
        self.doc().await?.robot(name)
    }

    /// The whole secret, cached.
    pub async fn doc(&self) -> Result<Arc<SecretDoc>, SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if !is_stale(c.read_at, Instant::now(), self.max_age) {
                return Ok(c.config.clone());
            }
        }
        match self.read().await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *cached = Cached::new(fresh.clone());
                Ok(fresh)
            }
            Err(e) => match cached.as_mut() {
                Some(c) => {
                    tracing::warn!(error = %e, "reading the webhook secret again failed; keeping the one read before");
                    c.read_at = Instant::now();
                    Ok(c.config.clone())
                }
                None => Err(e),
            },
        }
    }

    /// Reads the secret again after the robot refused `used`. `Some` when it
    /// changed (and is now the cached one); `None` when it is the same, could
    /// not be read, or was found unchanged less than a minute ago.
    pub async fn reread(&self, name: &str, used: &WebhookConfig) -> Option<Arc<WebhookConfig>> {
        let mut cached = self.cached.lock().await;
        let robot = |doc: &SecretDoc| doc.robots.get(name).cloned();
        if let Some(current) = cached.as_ref().and_then(|c| robot(&c.config)) {
            if *current != *used {
                // Another alert already picked up the new value.
                return Some(current);
            }
        }
        let mut unchanged_at = self.unchanged_at.lock().await;
        if unchanged_at.is_some_and(|t| t.elapsed() < REREAD_INTERVAL) {
            return None;
        }
        match self.read().await {
            Ok(fresh) if robot(&fresh).is_some_and(|r| *r != *used) => {
                let fresh = Arc::new(fresh);
                *cached = Cached::new(fresh.clone());
                *unchanged_at = None;
                robot(&fresh)
            }
            Ok(_) => {
                *unchanged_at = Some(Instant::now());
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the webhook secret again failed");
                None
            }
        }
    }

    async fn read(&self) -> Result<SecretDoc, SecretError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.arn)
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
                SecretError::Read(format!(
                    "{}: {}",
                    e.code().unwrap_or("error"),
                    e.message().unwrap_or("no message")
                ))
            })?;
        let value = out.secret_string().ok_or(SecretError::NotString)?;
        SecretDoc::parse(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://oapi.dingtalk.com/robot/send?access_token=tok123secret";

    #[test]
    fn the_secret_is_read_again_after_five_minutes() {
        let t = Instant::now();
        assert!(!is_stale(t, t, MAX_AGE));
        assert!(!is_stale(t, t + Duration::from_secs(299), MAX_AGE));
        assert!(is_stale(t, t + Duration::from_secs(300), MAX_AGE));
        // A clock that seems to go back never makes it stale.
        assert!(!is_stale(t + Duration::from_secs(1), t, MAX_AGE));
    }

    #[test]
    fn bare_url_and_json_both_parse() {
        let bare = WebhookConfig::parse(&format!("  {URL}\n")).unwrap();
        assert_eq!(bare.webhook, URL);
        assert_eq!(bare.secret, None);
        let json = WebhookConfig::parse(&format!(
            r#"{{"webhook":"{URL}","secret":"SECabc","at_mobiles":["13800000000"],"at_all_on":["ALARM"],"keyword":"告警"}}"#
        ))
        .unwrap();
        assert_eq!(json.secret.as_deref(), Some("SECabc"));
        assert_eq!(json.at_mobiles, vec!["13800000000"]);
        assert!(json.mentions_for(Some("alarm"), Severity::High));
        assert!(!json.mentions_for(Some("OK"), Severity::Low));
        assert!(!json.mentions_for(None, Severity::Critical));
        assert_eq!(
            WebhookConfig::parse(&json.to_secret_string()).unwrap(),
            json
        );
    }

    #[test]
    fn severity_names_mean_at_or_above_and_info_never_mentions() {
        let cfg = |on: &[&str]| WebhookConfig {
            at_all_on: on.iter().map(|s| s.to_string()).collect(),
            ..WebhookConfig::parse(URL).unwrap()
        };
        let high = cfg(&["high"]);
        assert!(high.mentions_for(None, Severity::Critical));
        assert!(high.mentions_for(Some("FAILED"), Severity::High));
        assert!(!high.mentions_for(Some("high"), Severity::Medium));
        // States keep working as before, next to severities.
        let mixed = cfg(&["ALARM", "critical", "open"]);
        assert!(mixed.mentions_for(Some("ALARM"), Severity::High));
        assert!(mixed.mentions_for(Some("open"), Severity::Medium));
        assert!(mixed.mentions_for(None, Severity::Critical));
        assert!(!mixed.mentions_for(Some("closed"), Severity::Medium));
        // Never for info: a recovery, a success, suppressed actions.
        let everything = cfg(&["OK", "ALARM", "info", "low"]);
        assert!(!everything.mentions_for(Some("OK"), Severity::Info));
        assert!(!everything.mentions_for(Some("ALARM"), Severity::Info));
        assert!(everything.mentions_for(Some("x"), Severity::Low));
    }

    #[test]
    fn an_old_secret_is_robot_default_and_stays_in_the_old_form() {
        for old in [
            URL.to_string(),
            format!(r#"{{"webhook":"{URL}","secret":"SECabc"}}"#),
        ] {
            let doc = SecretDoc::parse(&old).unwrap();
            assert_eq!(doc.robots.len(), 1);
            assert_eq!(doc.robot("default").unwrap().webhook, URL);
            assert_eq!(doc.routes, None);
            assert_eq!(
                doc.to_secret_string(),
                doc.robot("default").unwrap().to_secret_string()
            );
        }
    }

    #[test]
    fn the_map_form_holds_robots_and_routes() {
        let raw = format!(
            r#"{{"robots":{{"default":{{"webhook":"{URL}"}},"security":{{"webhook":"{URL}2","secret":"SECx","keyword":"告警"}}}},"routes":[{{"source":["aws.guardduty"],"robot":"security"}}]}}"#
        );
        let doc = SecretDoc::parse(&raw).unwrap();
        assert_eq!(
            doc.robot("security").unwrap().keyword.as_deref(),
            Some("告警")
        );
        assert_eq!(doc.routes.as_ref().map(Vec::len), Some(1));
        assert_eq!(doc.to_secret_string(), raw);
        assert_eq!(
            doc.robot("ops").unwrap_err().to_string(),
            "the webhook secret has no robot `ops`; run `dingtalk-notifier deploy` to store its webhook"
        );
        let bad = r#"{"robots":{"security":{"webhook":"tok123secret"}}}"#;
        let err = SecretDoc::parse(bad).unwrap_err().to_string();
        assert!(
            err.starts_with("robot `security` in the webhook secret: "),
            "{err}"
        );
        assert!(!err.contains("tok123secret"), "{err}");
    }

    #[test]
    fn to_secret_string_leaves_out_empty_fields() {
        let c = WebhookConfig::parse(URL).unwrap();
        assert_eq!(c.to_secret_string(), format!(r#"{{"webhook":"{URL}"}}"#));
    }

    #[test]
    fn errors_never_echo_the_value() {
        for bad in [
            "",
            "{\"hook\":\"tok123secret\"}",
            "{not json tok123secret",
            "tok123secret",
        ] {
            let err = WebhookConfig::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("tok123secret"), "{err}");
        }
    }

    #[test]
    fn debug_redacts_token_and_secret() {
        let c =
            WebhookConfig::parse(&format!(r#"{{"webhook":"{URL}","secret":"SECabc"}}"#)).unwrap();
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("tok123secret") && !dbg.contains("SECabc"),
            "{dbg}"
        );
        assert!(dbg.contains("https://oapi.dingtalk.com/robot/send"));
    }
}
