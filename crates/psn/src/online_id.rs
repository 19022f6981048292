//! A PSN online ID, checked once where it enters (an option, a stored row) and passed as this
//! type from then on.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// PSN online IDs: 3–16 letters, digits, `-` or `_`, starting with a letter. PSN compares them
/// without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OnlineId(String);

impl OnlineId {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 16;

    /// Checks `text` (surrounding spaces ignored) before anything is sent to PSN.
    pub fn parse(text: &str) -> Result<OnlineId, Error> {
        let text = text.trim();
        let valid = (Self::MIN_LEN..=Self::MAX_LEN).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_alphabetic())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if valid {
            Ok(OnlineId(text.to_string()))
        } else {
            Err(Error::InvalidOnlineId(text.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form caches are keyed by (PSN ignores case).
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl FromStr for OnlineId {
    type Err = Error;

    fn from_str(text: &str) -> Result<OnlineId, Error> {
        OnlineId::parse(text)
    }
}

impl fmt::Display for OnlineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for OnlineId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_psn_ids_and_trims_spaces() {
        assert_eq!(OnlineId::parse(" ikemenzi ").unwrap().as_str(), "ikemenzi");
        assert_eq!(OnlineId::parse("a-b_c123").unwrap().as_str(), "a-b_c123");
        assert_eq!(OnlineId::parse("Abc").unwrap().key(), "abc");
    }

    #[test]
    fn refuses_what_psn_never_issues() {
        for bad in [
            "ab",
            "1abc",
            "a b c",
            "x".repeat(17).as_str(),
            "abc!",
            "",
            "_abc",
        ] {
            assert!(
                matches!(OnlineId::parse(bad), Err(Error::InvalidOnlineId(_))),
                "{bad:?}"
            );
        }
    }
}
