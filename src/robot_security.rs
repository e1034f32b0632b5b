//! The robot's security setting, asked the way DingTalk's robot settings
//! show it: a custom robot has at least one of signature (加签), custom
//! keywords, or an IP allow-list. `deploy` asks which one and then only what
//! that setting needs; `test-send --direct` turns a `310000` refusal into
//! which setting failed and what to change.

use std::fmt;
use std::str::FromStr;

use dingtalk_notifier_lambda::secret::WebhookConfig;

/// In dingtalk-notifier.toml as its [`RobotSecurity::key`], read as the
/// flag is (`FromStr`: `加签`, `sign` and the other spellings too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RobotSecurity {
    /// 加签: every request carries a timestamp and an HMAC of the `SEC…` secret.
    Signature,
    /// 自定义关键词: every message must contain one of the robot's keywords.
    Keywords,
    /// IP 地址（段）: requests must come from listed addresses.
    IpAllowList,
}

impl RobotSecurity {
    pub const ALL: [RobotSecurity; 3] = [
        RobotSecurity::Signature,
        RobotSecurity::Keywords,
        RobotSecurity::IpAllowList,
    ];

    /// The value of `--robot-security` and of the config file.
    pub fn key(self) -> &'static str {
        match self {
            RobotSecurity::Signature => "signature",
            RobotSecurity::Keywords => "keywords",
            RobotSecurity::IpAllowList => "ip-allow-list",
        }
    }

    /// How DingTalk's robot settings name it.
    pub fn label(self) -> &'static str {
        match self {
            RobotSecurity::Signature => "加签 (signature, a SEC… secret) — recommended",
            RobotSecurity::Keywords => "自定义关键词 (custom keywords)",
            RobotSecurity::IpAllowList => "IP 地址（段）(IP allow-list)",
        }
    }

    /// What the setting is in a sentence, for errors.
    fn name(self) -> &'static str {
        match self {
            RobotSecurity::Signature => "signature (加签)",
            RobotSecurity::Keywords => "custom keywords (自定义关键词)",
            RobotSecurity::IpAllowList => "IP allow-list (IP 地址段)",
        }
    }
}

impl fmt::Display for RobotSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl TryFrom<String> for RobotSecurity {
    type Error = String;
    /// Without the value: a webhook pasted on the wrong line of the toml
    /// must not reach stderr.
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
            .map_err(|_| "robot_security must be signature, keywords or ip-allow-list".to_string())
    }
}

impl From<RobotSecurity> for String {
    fn from(s: RobotSecurity) -> String {
        s.key().to_string()
    }
}

impl FromStr for RobotSecurity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "signature" | "sign" | "加签" => Ok(RobotSecurity::Signature),
            "keywords" | "keyword" | "关键词" => Ok(RobotSecurity::Keywords),
            "ip-allow-list" | "ip" | "ip-allowlist" => Ok(RobotSecurity::IpAllowList),
            other => Err(format!(
                "unknown robot security setting `{other}`: use signature, keywords or ip-allow-list"
            )),
        }
    }
}

/// The warning `deploy` prints for an IP allow-list: a Lambda function
/// outside a VPC sends from changing AWS addresses.
pub const IP_ALLOW_LIST_WARNING: &str = "the function posts from AWS Lambda, whose outgoing IP \
     addresses change unless it runs in a VPC behind a NAT gateway with an Elastic IP; with an \
     IP allow-list alone DingTalk will refuse its messages (errcode 310000). Add 加签 \
     (signature) to the robot and choose it here instead";

/// Which security setting a `310000` answer names, by DingTalk's `errmsg`.
pub fn failed_setting(errmsg: &str) -> Option<RobotSecurity> {
    let m = errmsg.to_ascii_lowercase();
    if m.contains("sign") || m.contains("timestamp") || errmsg.contains("签名") {
        Some(RobotSecurity::Signature)
    } else if m.contains("keyword") || errmsg.contains("关键词") {
        Some(RobotSecurity::Keywords)
    } else if m.contains("whitelist") || m.contains("ip ") || errmsg.contains("白名单") {
        Some(RobotSecurity::IpAllowList)
    } else {
        None
    }
}

/// A `310000` refusal of `test-send --direct` in words: which setting
/// failed and what to change in what was sent (`cfg`: the webhook settings
/// from `DINGTALK_SECRET`, `--keyword` or the stored secret). Nothing is
/// retried, so nothing is promised.
pub fn explain_refusal(errmsg: &str, cfg: &WebhookConfig) -> String {
    let fix = match failed_setting(errmsg) {
        Some(RobotSecurity::Signature) if cfg.secret.is_none() => {
            "the robot uses 加签 but no signing secret was sent: set DINGTALK_SECRET to the SEC… \
             secret in the robot's security settings"
                .to_string()
        }
        Some(RobotSecurity::Signature) => {
            "the signing secret does not match the robot's (or this machine's clock is off by \
             more than an hour): set DINGTALK_SECRET to the SEC… secret in the robot's security \
             settings"
                .to_string()
        }
        Some(RobotSecurity::Keywords) => match &cfg.keyword {
            Some(k) => format!(
                "the message carries the keyword `{k}`, which is not one of the robot's: pass \
                 --keyword with one of the keywords in the robot's security settings"
            ),
            None => "no keyword was sent: pass --keyword with one of the keywords in the \
                     robot's security settings"
                .to_string(),
        },
        Some(RobotSecurity::IpAllowList) => format!(
            "this machine's IP address is not in the robot's allow-list: add it in the robot's \
             security settings to test from here; for the deployed function, note that \
             {IP_ALLOW_LIST_WARNING}"
        ),
        None => format!("DingTalk gave no detail ({errmsg}); check the robot's security settings"),
    };
    match failed_setting(errmsg) {
        Some(s) => format!(
            "DingTalk refused the message: the robot's {} check failed (errcode 310000): {fix}",
            s.name()
        ),
        None => format!("DingTalk refused the message (errcode 310000, a security check): {fix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(secret: Option<&str>, keyword: Option<&str>) -> WebhookConfig {
        let mut v =
            serde_json::json!({"webhook": "https://oapi.dingtalk.com/robot/send?access_token=t"});
        if let Some(s) = secret {
            v["secret"] = s.into();
        }
        if let Some(k) = keyword {
            v["keyword"] = k.into();
        }
        WebhookConfig::parse(&v.to_string()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keys_round_trip_and_bad_values_say_what_to_use() {
        for s in RobotSecurity::ALL {
            assert_eq!(s.key().parse::<RobotSecurity>(), Ok(s));
        }
        assert_eq!(
            "token".parse::<RobotSecurity>(),
            Err(
                "unknown robot security setting `token`: use signature, keywords or ip-allow-list"
                    .into()
            )
        );
    }

    #[test]
    fn dingtalk_errmsgs_name_the_setting() {
        let more = "more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]";
        assert_eq!(
            failed_setting(&format!("sign not match, {more}")),
            Some(RobotSecurity::Signature)
        );
        assert_eq!(
            failed_setting(&format!("invalid timestamp 1, {more}")),
            Some(RobotSecurity::Signature)
        );
        assert_eq!(
            failed_setting(&format!("keywords not in content, {more}")),
            Some(RobotSecurity::Keywords)
        );
        assert_eq!(
            failed_setting("ip 203.0.113.9 not in whitelist"),
            Some(RobotSecurity::IpAllowList)
        );
        assert_eq!(failed_setting("other"), None);
    }

    #[test]
    fn refusals_say_which_setting_failed_and_what_to_change() {
        assert_eq!(
            explain_refusal("keywords not in content", &cfg(None, Some("告警"))),
            "DingTalk refused the message: the robot's custom keywords (自定义关键词) check failed \
             (errcode 310000): the message carries the keyword `告警`, which is not one of the \
             robot's: pass --keyword with one of the keywords in the robot's security settings"
        );
        assert_eq!(
            explain_refusal("sign not match", &cfg(None, None)),
            "DingTalk refused the message: the robot's signature (加签) check failed (errcode \
             310000): the robot uses 加签 but no signing secret was sent: set DINGTALK_SECRET \
             to the SEC… secret in the robot's security settings"
        );
        assert!(explain_refusal("sign not match", &cfg(Some("SECx"), None))
            .contains("the signing secret does not match the robot's"));
        let ip = explain_refusal("ip 1.2.3.4 not in whitelist", &cfg(None, None));
        assert!(ip.starts_with(
            "DingTalk refused the message: the robot's IP allow-list (IP 地址段) check failed"
        ));
        for text in [ip, explain_refusal("other", &cfg(None, None))] {
            assert!(
                !text.contains("retry") && !text.contains("deploy`"),
                "{text}"
            );
        }
    }
}
