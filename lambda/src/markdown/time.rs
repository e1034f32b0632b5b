//! Times are shown in the team's zone, with the zone named, because "12:30"
//! without a zone at 3 a.m. is a guess.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// `2026-11-25 12:30:00 (Asia/Shanghai)`; an unparsable time is shown as given.
pub fn show(raw: &str, tz: Tz) -> String {
    match parse(raw) {
        Some(t) => format!(
            "{} ({})",
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
            tz.name()
        ),
        None => raw.trim().to_string(),
    }
}

/// `MM-DD HH:MM:SS` in `tz`, for one line of a digest whose heading names
/// the zone once.
pub fn short(raw: &str, tz: Tz) -> String {
    match parse(raw) {
        Some(t) => t.with_timezone(&tz).format("%m-%d %H:%M:%S").to_string(),
        None => raw.trim().to_string(),
    }
}

/// RFC 3339 (EventBridge) and the RFC 2822-like form AWS Health uses
/// (`Fri, 27 Jan 2023 06:02:51 GMT`).
pub fn parse(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(raw) {
        return Some(t.with_timezone(&Utc));
    }
    // AWS's own Health samples carry a weekday that does not match the
    // date (`Sat, 05 Jun 2016`): the date is what counts.
    if let Some((_, rest)) = raw.split_once(", ") {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(rest, "%d %b %Y %H:%M:%S GMT") {
            return Some(t.and_utc());
        }
    }
    // CloudWatch alarm timestamps: 2026-11-25T04:30:00.123+0000
    DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_all_aws_time_shapes_in_zone() {
        let sh = chrono_tz::Asia::Shanghai;
        assert_eq!(
            show("2026-11-25T04:30:00Z", sh),
            "2026-11-25 12:30:00 (Asia/Shanghai)"
        );
        assert_eq!(
            show("Fri, 27 Jan 2023 06:02:51 GMT", sh),
            "2023-01-27 14:02:51 (Asia/Shanghai)"
        );
        assert_eq!(
            show("2026-11-25T04:30:00.123+0000", chrono_tz::UTC),
            "2026-11-25 04:30:00 (UTC)"
        );
        assert_eq!(
            show("Sat, 05 Jun 2016 15:10:09 GMT", chrono_tz::UTC),
            "2016-06-05 15:10:09 (UTC)"
        );
        assert_eq!(show("soon", sh), "soon");
    }
}
