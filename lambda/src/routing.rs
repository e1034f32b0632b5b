//! Which robot an alert goes to, whom it @mentions, or whether it is dropped
//! (the deny-list): the `[[routes]]` of `dingtalk-notifier.toml`, checked by
//! `deploy` and passed to the function as JSON (`ROUTES`).
//!
//! Everything here is pure: the facts an alert carries ([`Facts`], read
//! once from the payload and its rendering) against the routes in order;
//! the first route that matches wins, and no match goes to robot
//! [`DEFAULT_ROBOT`] with the secret's own mention settings (so an install
//! without routes behaves as before).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rendered::{AlertKind, Rendered};
use crate::severity::Severity;

/// The robot of today's installs, and of every alert no route takes.
pub const DEFAULT_ROBOT: &str = crate::budget::DEFAULT_ROBOT;

/// The function's environment variable holding the routes as JSON, or
/// [`ROUTES_IN_SECRET`] when they did not fit the 4 KB environment.
pub const ROUTES_ENV: &str = "ROUTES";

/// `ROUTES` value meaning "read the routes from the secret's `routes`".
pub const ROUTES_IN_SECRET: &str = "secret";

/// Longest robot name: it becomes a key of the state table (`robot#NAME`)
/// and a log field.
pub const MAX_ROBOT_NAME: usize = 64;

/// One `[[routes]]` entry. Every matching key is a list (any entry may
/// match; a trailing `*` is a prefix match); an empty or absent list
/// matches everything. A route without matching keys is a catch-all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Route {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detail_type: Vec<String>,
    /// Health's `eventTypeCode`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub event_type_code: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// The alarm, pipeline, job, state machine ... name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name_prefix: Vec<String>,
    /// The robot the alert goes to (`default` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robot: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub at_mobiles: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub at_user_ids: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub at_all: bool,
    /// Mentions only at or above this severity (default high).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mention_min_severity: Option<Severity>,
    /// The deny-list: the alert is delivered nowhere (and logged).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
}

impl Route {
    /// No matching key: every alert matches, so no later route ever does.
    pub fn is_catch_all(&self) -> bool {
        self.source.is_empty()
            && self.detail_type.is_empty()
            && self.event_type_code.is_empty()
            && self.min_severity.is_none()
            && self.accounts.is_empty()
            && self.regions.is_empty()
            && self.name_prefix.is_empty()
    }

    pub fn robot(&self) -> &str {
        self.robot.as_deref().unwrap_or(DEFAULT_ROBOT)
    }

    fn has_mentions(&self) -> bool {
        self.at_all || !self.at_mobiles.is_empty() || !self.at_user_ids.is_empty()
    }

    /// Pure: does the alert with these facts match every key of the route?
    pub fn matches(&self, f: &Facts) -> bool {
        any_matches(&self.source, f.source.as_deref())
            && any_matches(&self.detail_type, f.detail_type.as_deref())
            && any_matches(&self.event_type_code, f.event_type_code.as_deref())
            && any_matches(&self.accounts, f.account.as_deref())
            && any_matches(&self.regions, f.region.as_deref())
            && any_prefix(&self.name_prefix, f.name.as_deref())
            && self.min_severity.is_none_or(|floor| f.severity >= floor)
    }
}

/// An empty list matches anything; otherwise the value must equal an entry,
/// or start with an entry's text before its trailing `*`.
fn any_matches(patterns: &[String], value: Option<&str>) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let Some(value) = value else {
        return false;
    };
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => p == value,
    })
}

/// `name_prefix` entries are prefixes, with or without a trailing `*`.
fn any_prefix(prefixes: &[String], value: Option<&str>) -> bool {
    if prefixes.is_empty() {
        return true;
    }
    let Some(value) = value else {
        return false;
    };
    prefixes
        .iter()
        .any(|p| value.starts_with(p.strip_suffix('*').unwrap_or(p)))
}

/// What routing reads of one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub source: Option<String>,
    pub detail_type: Option<String>,
    pub event_type_code: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The alarm, pipeline, job, state machine, project ... name.
    pub name: Option<String>,
    pub severity: Severity,
    /// For the mention rule: an alarm mentions only on entering ALARM.
    pub kind: Option<AlertKind>,
    pub state: Option<String>,
}

/// The `detail` fields that name the thing an event is about, in order.
const NAME_FIELDS: &[&str] = &[
    "alarmName",
    "pipeline",
    "jobName",
    "project-name",
    "name",
    "stateMachineName",
    "functionName",
    "clusterName",
];

impl Facts {
    /// The facts of an alert: the payload's EventBridge envelope (an SNS
    /// CloudWatch alarm notification gives its account and alarm name),
    /// the rendering's severity, kind and state.
    pub fn of(payload: &str, rendered: &Rendered) -> Facts {
        let json: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let detail = json.get("detail").unwrap_or(&Value::Null);
        let name = NAME_FIELDS
            .iter()
            .find_map(|k| text(detail, k))
            .or_else(|| text(&json, "AlarmName"));
        Facts {
            source: text(&json, "source").or_else(|| Some(rendered.source.clone())),
            detail_type: text(&json, "detail-type"),
            event_type_code: text(detail, "eventTypeCode"),
            account: text(&json, "account").or_else(|| text(&json, "AWSAccountId")),
            region: text(&json, "region"),
            name,
            severity: rendered.severity,
            kind: Some(rendered.kind),
            state: rendered.state.clone(),
        }
    }
}

/// Who is @mentioned: the route's people, or (no route, or a route without
/// people) the secret's own `at_mobiles` / `at_all_on` rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    pub mobiles: Vec<String>,
    pub user_ids: Vec<String>,
    pub all: bool,
}

impl Mentions {
    pub fn is_empty(&self) -> bool {
        !self.all && self.mobiles.is_empty() && self.user_ids.is_empty()
    }
}

/// Where one alert goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Send {
        robot: String,
        /// The matching route's number (1-based), `None` for no match.
        route: Option<usize>,
        /// The route's mentions when it has people and the alert is
        /// worth a page; `None`: the secret's own rule decides.
        mentions: Option<Mentions>,
    },
    /// A `drop = true` route (1-based number) took it.
    Drop { route: usize },
}

impl Decision {
    pub fn robot(&self) -> Option<&str> {
        match self {
            Decision::Send { robot, .. } => Some(robot),
            Decision::Drop { .. } => None,
        }
    }
}

/// Pure: the first route that matches decides; none goes to `default`.
pub fn decide(routes: &[Route], facts: &Facts) -> Decision {
    let Some((n, route)) = routes.iter().enumerate().find(|(_, r)| r.matches(facts)) else {
        return Decision::Send {
            robot: DEFAULT_ROBOT.to_string(),
            route: None,
            mentions: None,
        };
    };
    if route.drop {
        return Decision::Drop { route: n + 1 };
    }
    let mentions = route.has_mentions().then(|| {
        if should_mention(route, facts) {
            Mentions {
                mobiles: route.at_mobiles.clone(),
                user_ids: route.at_user_ids.clone(),
                all: route.at_all,
            }
        } else {
            Mentions::default()
        }
    });
    Decision::Send {
        robot: route.robot().to_string(),
        route: Some(n + 1),
        mentions,
    }
}

/// A route's people are paged at or above its `mention_min_severity`
/// (default high), never for info (OK, a success, a suppressed alarm), and
/// for an alarm only when it enters ALARM.
pub fn should_mention(route: &Route, f: &Facts) -> bool {
    let floor = route.mention_min_severity.unwrap_or(Severity::High);
    if f.severity == Severity::Info || f.severity < floor {
        return false;
    }
    match f.kind {
        Some(AlertKind::AlarmStateChange) => f
            .state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("ALARM")),
        _ => true,
    }
}

/// The routes from the `ROUTES` value (JSON array); empty or absent: none.
pub fn parse_routes(raw: &str) -> Result<Vec<Route>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(raw).map_err(|e| format!("ROUTES is not a list of routes: {e}"))
}

/// Pure: is `name` usable as a robot name (`[A-Za-z0-9_-]`, 1–64)?
pub fn valid_robot_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ROBOT_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Pure: the first problem of a set of routes, as one line naming the route
/// by its number: an unknown robot, a route after a catch-all (it can never
/// match), a route that neither sends nor drops sensibly.
pub fn check(routes: &[Route], robots: &[&str]) -> Result<(), String> {
    let mut catch_all: Option<usize> = None;
    for (i, r) in routes.iter().enumerate() {
        let n = i + 1;
        if let Some(c) = catch_all {
            return Err(format!(
                "route {n} can never match: route {c} before it matches every alert; move it up or remove it"
            ));
        }
        if r.drop && (r.robot.is_some() || r.has_mentions()) {
            return Err(format!(
                "route {n} drops its alerts but also names a robot or people; remove `drop` or those keys"
            ));
        }
        if !r.drop && !robots.contains(&r.robot()) {
            return Err(format!(
                "route {n} sends to robot `{}`, which has no [robots.{}] section; add it or fix the name (robots: {})",
                r.robot(),
                r.robot(),
                robots.join(", ")
            ));
        }
        if let Some(m) = r.at_mobiles.iter().find(|m| !valid_mobile(m)) {
            return Err(format!(
                "route {n}: at_mobiles entry {m:?} is not a phone number (digits, optionally +country-)"
            ));
        }
        if r.is_catch_all() {
            catch_all = Some(n);
        }
    }
    Ok(())
}

fn valid_mobile(m: &str) -> bool {
    let digits = m.strip_prefix('+').unwrap_or(m);
    !digits.is_empty()
        && digits.len() <= 20
        && digits.chars().all(|c| c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests;
