//! The alert rules the template can switch on, by the names people use
//! (`--rules`, dingtalk-notifier.toml) and by their template parameters.
//! Shared by `deploy` (which sets them) and `status` (which reads them back).

/// The alert rules the template can enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Health,
    HealthAbuse,
    Ec2StateChange,
    Alarm,
}

impl Rule {
    pub const ALL: [Rule; 4] = [
        Rule::Health,
        Rule::HealthAbuse,
        Rule::Ec2StateChange,
        Rule::Alarm,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Rule::Health => "health",
            Rule::HealthAbuse => "health-abuse",
            Rule::Ec2StateChange => "ec2",
            Rule::Alarm => "alarm",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Rule::Health => "AWS Health events",
            Rule::HealthAbuse => "AWS Health abuse events",
            Rule::Ec2StateChange => "EC2 instance state changes",
            Rule::Alarm => "CloudWatch alarm state changes",
        }
    }

    /// The template parameter that switches the rule on.
    pub fn parameter(self) -> &'static str {
        match self {
            Rule::Health => "EnableHealthRule",
            Rule::HealthAbuse => "EnableHealthAbuseRule",
            Rule::Ec2StateChange => "EnableEc2StateChangeRule",
            Rule::Alarm => "EnableAlarmRule",
        }
    }

    fn parse(s: &str) -> Option<Rule> {
        match s.trim().to_ascii_lowercase().as_str() {
            "health" => Some(Rule::Health),
            "health-abuse" | "abuse" => Some(Rule::HealthAbuse),
            "ec2" | "ec2-state-change" => Some(Rule::Ec2StateChange),
            "alarm" | "alarms" | "cloudwatch-alarm" => Some(Rule::Alarm),
            _ => None,
        }
    }
}

/// `health,alarm`, `all` or `none` → rules, in template order.
pub fn parse_rules(s: &str) -> Result<Vec<Rule>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("all") {
        return Ok(Rule::ALL.to_vec());
    }
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut rules = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let rule = Rule::parse(part).ok_or_else(|| {
            format!(
                "unknown rule `{}` (use health, health-abuse, ec2, alarm, all or none)",
                part.trim()
            )
        })?;
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    Ok(Rule::ALL
        .into_iter()
        .filter(|r| rules.contains(r))
        .collect())
}
