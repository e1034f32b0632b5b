//! The robots and `[[routes]]` of `dingtalk-notifier.toml`, checked the
//! way `deploy` needs them (one line naming the route by its number) and
//! turned into the function's `Routes` parameter. The matching itself is
//! the function's own (`dingtalk_notifier_lambda::routing`), so `preview`
//! routes exactly as the deployed function does.

use dingtalk_notifier_lambda::config::{environment_size, MAX_ENVIRONMENT_BYTES};
use dingtalk_notifier_lambda::routing::{self, Route, DEFAULT_ROBOT, ROUTES_IN_SECRET};
use serde::Deserialize;

use crate::config::{redact_quoted, ConfigFile};

/// The robots of the file, `default` first (it always exists).
pub fn robot_names(file: &ConfigFile) -> Vec<String> {
    let mut names = vec![DEFAULT_ROBOT.to_string()];
    names.extend(file.robots.keys().filter(|n| *n != DEFAULT_ROBOT).cloned());
    names
}

/// The routes, typed and checked: a bad robot name, an unknown key, a bad
/// severity, an unknown robot or a route after a catch-all is one line
/// naming what to fix.
pub fn read(file: &ConfigFile) -> Result<Vec<Route>, String> {
    if let Some(bad) = file.robots.keys().find(|n| !routing::valid_robot_name(n)) {
        return Err(format!(
            "[robots.{bad}]: a robot name is 1 to {} letters, digits, `-` or `_`",
            routing::MAX_ROBOT_NAME
        ));
    }
    if file
        .robots
        .get(DEFAULT_ROBOT)
        .is_some_and(|r| r.security.is_some() || r.keyword.is_some())
    {
        return Err(
            "[robots.default]: robot default's security setting and keyword are robot_security and keyword in [deploy]; leave [robots.default] empty".into(),
        );
    }
    let routes = file
        .routes
        .iter()
        .enumerate()
        .map(|(i, table)| {
            Route::deserialize(toml::Value::Table(table.clone()))
                .map_err(|e| format!("route {}: {}", i + 1, redact_quoted(e.message())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let names = robot_names(file);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    routing::check(&routes, &names)?;
    Ok(routes)
}

/// Where the routes go: the `Routes` parameter holds their JSON when it
/// fits `room` bytes of the function's environment, else `secret` and
/// the JSON goes into the webhook secret. No routes: empty.
pub fn parameter(routes: &[Route], room: usize) -> (String, Option<Vec<Route>>) {
    if routes.is_empty() {
        return (String::new(), None);
    }
    let json = serde_json::to_string(routes).unwrap_or_default();
    if json.len() <= room.min(MAX_ENVIRONMENT_BYTES) {
        (json, None)
    } else {
        (ROUTES_IN_SECRET.to_string(), Some(routes.to_vec()))
    }
}

/// Bytes left for `Routes`: the template's `MaxLength`, and what the rest
/// of the function's environment leaves of Lambda's 4 KB (`AccountNames`,
/// filled later, takes what the routes leave).
pub fn room(parameters: &[(&'static str, String)]) -> usize {
    let value = |name: &str| {
        parameters
            .iter()
            .find(|(n, _)| *n == name && !["Routes", "AccountNames"].contains(n))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let left = MAX_ENVIRONMENT_BYTES.saturating_sub(environment_size(value));
    let max = crate::template::constraints::all()
        .get("Routes")
        .and_then(|c| c.max_length)
        .unwrap_or(left);
    left.min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    const ISSUE_EXAMPLE: &str = r#"
[robots.default]
[robots.security]
keyword = "告警"

[[routes]]
source = ["aws.guardduty", "aws.securityhub", "aws.inspector2"]
min_severity = "high"
robot = "security"
at_mobiles = ["13800000000"]
at_user_ids = []
at_all = false

[[routes]]
detail_type = ["AWS Health Event"]
event_type_code = ["AWS_VPN_SINGLE_TUNNEL_NOTIFICATION", "AWS_CLOUDSHELL_*"]
drop = true

[[routes]]
accounts = ["111122223333"]
robot = "default"
"#;

    fn read_text(text: &str) -> Result<Vec<Route>, String> {
        read(&config::parse(text).map_err(|e| e.to_string())?)
    }

    #[test]
    fn the_readme_example_reads_and_survives_a_save() {
        let file = config::parse(ISSUE_EXAMPLE).unwrap();
        let routes = read(&file).unwrap();
        assert_eq!(routes.len(), 3);
        assert_eq!(routes[0].robot(), "security");
        assert!(routes[1].drop);
        assert_eq!(robot_names(&file), ["default", "security"]);
        let again = config::parse(&config::render(&file).unwrap()).unwrap();
        assert_eq!(again, file);
    }

    #[test]
    fn errors_name_the_route_by_number() {
        let unknown_key = "[[routes]]\nrobot = \"default\"\n[[routes]]\nsorce = [\"aws.health\"]\n";
        let e = read_text(unknown_key).unwrap_err();
        assert!(e.starts_with("route 2: unknown field `sorce`"), "{e}");
        let bad_severity = "[[routes]]\nmin_severity = \"urgent\"\n";
        let e = read_text(bad_severity).unwrap_err();
        assert!(e.starts_with("route 1: unknown variant `urgent`"), "{e}");
        let unknown_robot = "[[routes]]\nsource = [\"aws.health\"]\nrobot = \"ops\"\n";
        assert_eq!(
            read_text(unknown_robot).unwrap_err(),
            "route 1 sends to robot `ops`, which has no [robots.ops] section; add it or fix the name (robots: default)"
        );
        let unreachable = "[robots.ops]\n[[routes]]\nrobot = \"ops\"\n[[routes]]\nsource = [\"aws.health\"]\ndrop = true\n";
        assert_eq!(
            read_text(unreachable).unwrap_err(),
            "route 2 can never match: route 1 before it matches every alert; move it up or remove it"
        );
        let bad_name = "[robots.\"on call\"]\n";
        assert!(read_text(bad_name)
            .unwrap_err()
            .starts_with("[robots.on call]"));
        let default_settings = "[robots.default]\nkeyword = \"告警\"\n";
        assert!(read_text(default_settings)
            .unwrap_err()
            .starts_with("[robots.default]: robot default's security setting and keyword are"));
        let robot_key = "[robots.ops]\nwebhook = \"https://x\"\n";
        assert!(read_text(robot_key).is_err());
    }

    #[test]
    fn routes_go_to_the_environment_or_else_the_secret() {
        let routes = read_text(ISSUE_EXAMPLE).unwrap();
        let (value, in_secret) = parameter(&routes, 3000);
        assert!(
            value.starts_with(r#"[{"source":["aws.guardduty""#),
            "{value}"
        );
        assert_eq!(in_secret, None);
        let (value, in_secret) = parameter(&routes, 100);
        assert_eq!(value, "secret");
        assert_eq!(in_secret, Some(routes));
        assert_eq!(parameter(&[], 100), (String::new(), None));
    }
}
