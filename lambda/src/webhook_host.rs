//! Where a webhook may point: DingTalk's robot host, or a relay the user
//! named at deploy (`--webhook-any-host`), over https. The CLI checks the URL
//! it is given; the function checks the secret as it reads it, so a secret
//! rewritten to another host stops delivery instead of sending the group's
//! alerts (and the signing secret's signatures) there.
//!
//! The one exception to https: a relay on a loopback address (`127.0.0.0/8`,
//! `::1`, `localhost`) may use http. Such a request never leaves the machine
//! (a Lambda extension, a local relay), so there is nothing in between to
//! read it; it must still be on the relay list.

use std::net::IpAddr;

/// DingTalk's custom robot endpoint host (`/robot/send`).
pub const DINGTALK_HOST: &str = "oapi.dingtalk.com";

/// The function's variable with the relay hosts (comma-separated; empty:
/// DingTalk's host only), set from the stack parameter `WebhookRelayHosts`.
pub const RELAY_HOSTS_ENV: &str = "DINGTALK_WEBHOOK_HOSTS";

/// The function's log line (`"message"`) when it refuses the secret's host;
/// the stack's metric filter counts it for an ops alarm.
pub const REFUSED_LOG_MESSAGE: &str = "webhook host refused";

/// Why a webhook may not be used. Names the host, never the URL: its query
/// holds the access token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostRefusal {
    #[error("the webhook is not a URL")]
    NotAUrl,
    #[error("the webhook must use https")]
    NotHttps,
    #[error("the webhook's host {host} is neither DingTalk's ({DINGTALK_HOST}) nor a relay allowed at deploy")]
    NotAllowed { host: String },
}

/// DingTalk's host plus the relays allowed at deploy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    relays: Vec<String>,
}

impl AllowedHosts {
    /// From a comma-separated list (spaces and empty entries ignored, case
    /// folded).
    pub fn parse(list: &str) -> AllowedHosts {
        AllowedHosts {
            relays: list
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// DingTalk's host, or a listed relay; https, or http to a loopback relay.
    pub fn check(&self, webhook: &str) -> Result<(), HostRefusal> {
        let url = url::Url::parse(webhook.trim()).map_err(|_| HostRefusal::NotAUrl)?;
        let host = url
            .host_str()
            .ok_or(HostRefusal::NotAUrl)?
            .to_ascii_lowercase();
        let listed = host == DINGTALK_HOST || self.relays.contains(&host);
        if !listed {
            return Err(HostRefusal::NotAllowed { host });
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if host != DINGTALK_HOST && is_loopback(&host) => Ok(()),
            _ => Err(HostRefusal::NotHttps),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The relay list a webhook given at deploy needs: its host unless it is
/// DingTalk's.
pub fn relay_hosts_for(webhook: &str) -> String {
    url::Url::parse(webhook.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .filter(|h| h != DINGTALK_HOST)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROBOT: &str = "https://oapi.dingtalk.com/robot/send?access_token=t0k3n";

    #[test]
    fn dingtalk_over_https_always_passes() {
        assert_eq!(AllowedHosts::default().check(ROBOT), Ok(()));
        assert_eq!(
            AllowedHosts::parse("relay.example.com").check(ROBOT),
            Ok(())
        );
        assert_eq!(
            AllowedHosts::default().check("http://oapi.dingtalk.com/robot/send?access_token=t"),
            Err(HostRefusal::NotHttps)
        );
    }

    #[test]
    fn a_secret_rewritten_to_another_host_is_refused_naming_the_host_not_the_token() {
        let err = AllowedHosts::parse("relay.example.com")
            .check("https://collector.attacker.example/robot/send?access_token=t0k3n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the webhook's host collector.attacker.example is neither DingTalk's (oapi.dingtalk.com) nor a relay allowed at deploy"
        );
        assert!(!err.to_string().contains("t0k3n"));
        // Look-alikes are other hosts.
        for url in [
            "https://oapi.dingtalk.com.attacker.example/robot/send?access_token=t",
            "https://xoapi.dingtalk.com/robot/send?access_token=t",
            "https://oapi.dingtalk.com@attacker.example/robot/send?access_token=t",
        ] {
            assert!(
                matches!(
                    AllowedHosts::default().check(url),
                    Err(HostRefusal::NotAllowed { .. })
                ),
                "{url}"
            );
        }
        assert_eq!(
            AllowedHosts::default().check("not a url"),
            Err(HostRefusal::NotAUrl)
        );
    }

    #[test]
    fn a_listed_relay_needs_https_unless_it_is_on_loopback() {
        let hosts = AllowedHosts::parse(" Relay.Example.com , 127.0.0.1,,[::1]");
        assert_eq!(
            hosts.check("https://relay.example.com/robot/send?access_token=t"),
            Ok(())
        );
        assert_eq!(
            hosts.check("http://relay.example.com/robot/send?access_token=t"),
            Err(HostRefusal::NotHttps)
        );
        assert_eq!(
            hosts.check("http://127.0.0.1:8080/robot/send?access_token=t"),
            Ok(())
        );
        assert_eq!(
            hosts.check("http://[::1]:8080/robot/send?access_token=t"),
            Ok(())
        );
        // Loopback is not a pass by itself: it must be listed.
        assert_eq!(
            AllowedHosts::default().check("http://127.0.0.1:8080/robot/send?access_token=t"),
            Err(HostRefusal::NotAllowed {
                host: "127.0.0.1".into()
            })
        );
    }

    #[test]
    fn the_relay_list_for_a_webhook_is_its_host_unless_dingtalks() {
        assert_eq!(relay_hosts_for(ROBOT), "");
        assert_eq!(
            relay_hosts_for("https://Relay.Example.com/robot/send?access_token=t"),
            "relay.example.com"
        );
        assert_eq!(
            relay_hosts_for("http://127.0.0.1:9/robot/send?access_token=t"),
            "127.0.0.1"
        );
    }
}
