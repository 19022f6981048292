/// The database URL as it may be shown to an operator: any password replaced. Of a string that
/// is not a URL, everything between `://` and the last `@` (where a password would be) is
/// hidden; with no `@` only the scheme is shown.
pub fn redact_database_url(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut url) if url.has_authority() => {
            if url.password().is_some() && url.set_password(Some("redacted")).is_err() {
                return redact_unparsable(database_url);
            }
            url.to_string()
        }
        _ => redact_unparsable(database_url),
    }
}

/// Whether `database_url` is a PostgreSQL URL with an authority (`postgres://user:password@host/…`
/// or `postgresql://`). sqlx reads more than that, and connects to a default server: it
/// ignores the scheme (`mysql://…` reaches PostgreSQL), and in `postgres:/user:password@host/db`
/// (a URL with only a path) nothing is a password to the URL parser, so it would be shown whole.
pub fn is_database_url(database_url: &str) -> bool {
    url::Url::parse(database_url)
        .is_ok_and(|url| matches!(url.scheme(), "postgres" | "postgresql") && url.has_authority())
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
    fn urls_without_an_authority_are_refused_and_not_shown() {
        for url in [
            "postgres:/bot:hunter2@db/trophybot",
            "postgres:bot:hunter2@db/trophybot",
        ] {
            assert!(url::Url::parse(url).is_ok(), "{url} parses as a path");
            assert!(!is_database_url(url));
            assert!(!redact_database_url(url).contains("hunter2"), "{url}");
        }
        assert!(!is_database_url("mysql://bot:hunter2@db/trophybot"));
        assert!(is_database_url("postgres://bot:hunter2@db/trophybot"));
        assert!(is_database_url("postgresql://bot@db/trophybot"));
        assert!(is_database_url(
            "postgres:///trophybot?host=/run/postgresql"
        ));
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
