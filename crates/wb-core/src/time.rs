//! [`Timestamp`]: an instant in UTC as the workbench's records store it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant in UTC to the millisecond, written in records as RFC 3339 with milliseconds and
/// `Z` (`2026-12-06T07:05:09.123Z`), so a record reads back equal to what was written. Reading accepts any RFC 3339 form (other precisions, other
/// offsets, which are converted to UTC), so records written by earlier versions open unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Now.
    #[must_use]
    pub fn now() -> Self {
        Self::from(Utc::now())
    }

    /// The instant.
    #[must_use]
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t.trunc_subsecs(3))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl FromStr for Timestamp {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self::from(t.with_timezone(&Utc)))
            .map_err(|e| crate::Error::InvalidTime { value: s.to_owned(), reason: e.to_string() })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_with_milliseconds_and_read_in_any_rfc3339_form() {
        let t: Timestamp = "2026-12-06T07:05:09.123Z".parse().expect("millis");
        assert_eq!(t.to_string(), "2026-12-06T07:05:09.123Z");
        assert_eq!(serde_json::to_string(&t).expect("json"), "\"2026-12-06T07:05:09.123Z\"");
        let offset: Timestamp = "2026-12-06T08:05:09.123+01:00".parse().expect("offset");
        assert_eq!(offset, t, "other offsets become UTC");
        let nanos: Timestamp = serde_json::from_str("\"2026-12-06T07:05:09.123456789Z\"").expect("nanos");
        assert_eq!(nanos, t, "kept to the millisecond, as written");
        let now = Timestamp::now();
        assert_eq!(serde_json::from_str::<Timestamp>(&serde_json::to_string(&now).expect("json")).expect("read"), now);
        let err = serde_json::from_str::<Timestamp>("\"yesterday\"").expect_err("not a time").to_string();
        assert!(err.contains("\"yesterday\"") && err.contains("RFC 3339"), "{err}");
    }
}
