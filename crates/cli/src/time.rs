//! Timestamps for people: UTC calendar dates and "in 42 min" / "3 h ago".

/// `2026-11-30 09:44:52 UTC` for a Unix time in seconds (years beyond
/// ±9999 are shown as the number they are).
pub fn utc(unix_seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix_seconds) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        Err(_) => format!("{unix_seconds} s after 1970 (beyond the calendar)"),
    }
}

/// How a time-valued claim relates to `now`, in words: `expires in 42 min`,
/// `expired 3 h ago`, `issued 18 min ago`.
pub fn relative(claim: &str, at: i64, now: i64) -> String {
    let delta = at.saturating_sub(now);
    let span = span(delta.unsigned_abs());
    let future = delta > 0 || (delta == 0 && claim == "exp");
    match (claim, future) {
        ("exp", true) => format!("expires in {span}"),
        ("exp", false) => format!("expired {span} ago"),
        ("nbf", true) => format!("not valid for another {span}"),
        ("nbf", false) => format!("valid since {span} ago"),
        ("iat", true) => format!("issued in {span}, in the future"),
        ("iat", false) => format!("issued {span} ago"),
        (_, true) => format!("in {span}"),
        (_, false) => format!("{span} ago"),
    }
}

/// A rounded-down span: `42 s`, `42 min`, `3 h`, `12 days`.
fn span(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 120 * 60 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_718_000_000), "2024-06-10 06:13:20 UTC");
        assert_eq!(utc(1_795_945_492), "2026-11-29 09:44:52 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(utc(4_102_444_800), "2100-01-01 00:00:00 UTC");
        assert_eq!(
            utc(i64::MAX),
            "9223372036854775807 s after 1970 (beyond the calendar)"
        );
    }

    #[test]
    fn relative_times() {
        assert_eq!(relative("exp", 1000 + 42 * 60, 1000), "expires in 42 min");
        assert_eq!(
            relative("exp", 1000, 1000 + 3 * 3600 + 5),
            "expired 3 h ago"
        );
        assert_eq!(relative("iat", 1000, 1030), "issued 30 s ago");
        assert_eq!(relative("nbf", 1000, 1000), "valid since 0 s ago");
        assert_eq!(relative("exp", 1000, 1000), "expires in 0 s");
        assert_eq!(relative("exp", 0, 5 * 86_400), "expired 5 days ago");
        assert_eq!(relative("auth_time", 0, 60), "60 s ago");
    }
}
