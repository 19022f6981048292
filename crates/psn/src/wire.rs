//! Lenient readers for the values both APIs send in more than one form: the seed document's tables
//! show `02/09/2017 22:14:52` and `"False"`, its examples ISO 8601 and JSON booleans.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

/// ISO 8601 / RFC 3339, or the legacy tables' `MM/DD/YYYY HH:MM:SS` (UTC).
pub(crate) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%m/%d/%Y %H:%M:%S")
                .ok()
                .map(|d| d.and_utc())
        })
}

/// An optional date; an unreadable one is treated as absent rather than failing the whole answer.
pub(crate) fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    Ok(raw.as_deref().and_then(parse_date))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolForm {
    Bool(bool),
    Text(String),
}

/// `true`, or `"True"` / `"true"` as the legacy tables show; anything else is false.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<BoolForm>::deserialize(d)? {
        Some(BoolForm::Bool(b)) => b,
        Some(BoolForm::Text(s)) => s.trim().eq_ignore_ascii_case("true"),
        None => false,
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberForm {
    Number(f64),
    Text(String),
}

/// `trophyEarnedRate` is a string such as `"83.3"`; a number is accepted too.
pub(crate) fn opt_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Option::<NumberForm>::deserialize(d)? {
        Some(NumberForm::Number(n)) => Some(n),
        Some(NumberForm::Text(s)) => s.trim().parse().ok(),
        None => None,
    })
}

/// A trophy grade; an unknown one is `None` so the caller can skip that trophy.
pub(crate) fn trophy_type(s: &str) -> Option<crate::model::TrophyType> {
    use crate::model::TrophyType;
    match s.to_ascii_lowercase().as_str() {
        "platinum" => Some(TrophyType::Platinum),
        "gold" => Some(TrophyType::Gold),
        "silver" => Some(TrophyType::Silver),
        "bronze" => Some(TrophyType::Bronze),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn reads_both_date_forms() {
        let expected = Utc.with_ymd_and_hms(2017, 2, 9, 22, 14, 52).unwrap();
        assert_eq!(parse_date("02/09/2017 22:14:52"), Some(expected));
        assert_eq!(parse_date("2017-02-09T22:14:52Z"), Some(expected));
        assert_eq!(
            parse_date("2025-05-04T18:19:05.288Z").map(|d| d.timestamp()),
            Some(1746382745)
        );
        assert_eq!(parse_date("yesterday"), None);
    }

    #[derive(Deserialize)]
    struct Flags {
        #[serde(deserialize_with = "lenient_bool", default)]
        flag: bool,
        #[serde(deserialize_with = "opt_rate", default)]
        rate: Option<f64>,
    }

    #[test]
    fn reads_both_boolean_forms_and_rates() {
        let read = |json: &str| serde_json::from_str::<Flags>(json).unwrap();
        assert!(!read(r#"{"flag":"False"}"#).flag);
        assert!(read(r#"{"flag":"True"}"#).flag);
        assert!(read(r#"{"flag":true}"#).flag);
        assert!(!read(r#"{}"#).flag);
        assert_eq!(read(r#"{"rate":"83.3"}"#).rate, Some(83.3));
        assert_eq!(read(r#"{"rate":4.5}"#).rate, Some(4.5));
        assert_eq!(read(r#"{"rate":"n/a"}"#).rate, None);
    }
}
