/// The database URL as it may be shown to an operator: any password replaced. A string that is
/// not a URL is not shown at all, since where a password would be cannot be told.
pub fn redact_database_url(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut url) => {
            if url.password().is_some() && url.set_password(Some("redacted")).is_err() {
                return "<database URL>".to_string();
            }
            url.to_string()
        }
        Err(_) => "<database URL>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_replaced() {
        let shown = redact_database_url("postgres://bot:hunter2@db:5432/trophybot");
        assert_eq!(shown, "postgres://bot:redacted@db:5432/trophybot");
    }

    #[test]
    fn urls_without_password_are_shown_as_is() {
        let url = "postgres://postgres@localhost:5432/trophybot";
        assert_eq!(redact_database_url(url), url);
    }

    #[test]
    fn unparsable_urls_are_not_shown() {
        assert_eq!(redact_database_url("hunter2 not a url"), "<database URL>");
    }
}
