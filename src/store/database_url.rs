/// The database URL as it may be shown to an operator: any password replaced. Of a string that
/// is not a URL, everything between `://` and the last `@` (where a password would be) is
/// hidden; with no `@` only the scheme is shown.
pub fn redact_database_url(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut url) => {
            if url.password().is_some() && url.set_password(Some("redacted")).is_err() {
                return redact_unparsable(database_url);
            }
            url.to_string()
        }
        Err(_) => redact_unparsable(database_url),
    }
}

fn redact_unparsable(database_url: &str) -> String {
    let Some((scheme, rest)) = database_url.split_once("://") else {
        return "<database URL>".to_string();
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return "<database URL>".to_string();
    }
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://<redacted>@{host}"),
        None => format!("{scheme}://<redacted>"),
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

    #[test]
    fn unparsable_urls_hide_what_may_be_a_password() {
        // `#` starts a fragment, so "hunter2#x" reads as a bad port: not a URL.
        let url = "postgres://bot:hunter2#x@db:5432/trophybot";
        assert!(url::Url::parse(url).is_err());
        assert_eq!(
            redact_database_url(url),
            "postgres://<redacted>@db:5432/trophybot"
        );
        assert_eq!(
            redact_database_url("postgres://bot:hunter2 db"),
            "postgres://<redacted>"
        );
    }
}
