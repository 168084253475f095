//! Time as the wire shows it: ISO-8601 UTC with milliseconds (`2015-01-08T15:07:53.495Z`).
//! Stored timestamps use the same fixed-width text so that they sort correctly as strings on
//! both database backends.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Formats an instant as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&fmt).expect("a UTC timestamp always formats")
}

/// The current instant, formatted.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Parses a stored or client-supplied RFC 3339 timestamp.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// An expiry given by a client: a date (`YYYY-MM-DD`, meaning 00:00 UTC of that day) or a
/// full RFC 3339 timestamp, honoured exactly.
pub fn parse_expiry(s: &str) -> Option<OffsetDateTime> {
    let date_fmt = format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, &date_fmt) {
        return Some(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc());
    }
    parse(s)
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    let fmt = format_description!("[year]-[month]-[day]");
    OffsetDateTime::now_utc()
        .date()
        .format(&fmt)
        .expect("a date always formats")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_expire_at_utc_midnight_and_datetimes_exactly() {
        let d = parse_expiry("2030-05-01").unwrap();
        assert_eq!(format(d), "2030-05-01T00:00:00.000Z");
        let t = parse_expiry("2030-05-01T12:30:00+02:00").unwrap();
        assert_eq!(format(t), "2030-05-01T10:30:00.000Z");
        assert!(parse_expiry("tomorrow").is_none());
        assert!(parse_expiry("2030-13-01").is_none());
    }

    #[test]
    fn formatted_times_sort_as_strings() {
        let a = format(parse("2020-01-01T00:00:00Z").unwrap());
        let b = format(parse("2020-01-01T00:00:00.5Z").unwrap());
        assert!(a < b);
    }
}
