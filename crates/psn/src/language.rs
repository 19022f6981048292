//! The languages PSN serves trophy and game names in (`Accept-Language` on the modern API,
//! `npLanguage` on the legacy one).

/// Every language a client may ask for, as (code, label). At most 25: a bot offers them as
/// Discord choices, and Discord allows 25.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("en-US", "English (US)"),
    ("en-GB", "English (UK)"),
    ("fr-FR", "Français"),
    ("fr-CA", "Français (Canada)"),
    ("de-DE", "Deutsch"),
    ("es-ES", "Español (España)"),
    ("es-419", "Español (Latinoamérica)"),
    ("it-IT", "Italiano"),
    ("nl-NL", "Nederlands"),
    ("pt-PT", "Português (Portugal)"),
    ("pt-BR", "Português (Brasil)"),
    ("pl-PL", "Polski"),
    ("ru-RU", "Русский"),
    ("uk-UA", "Українська"),
    ("tr-TR", "Türkçe"),
    ("ar-AE", "العربية"),
    ("sv-SE", "Svenska"),
    ("da-DK", "Dansk"),
    ("fi-FI", "Suomi"),
    ("no-NO", "Norsk"),
    ("cs-CZ", "Čeština"),
    ("ja-JP", "日本語"),
    ("ko-KR", "한국어"),
    ("zh-CN", "简体中文"),
    ("zh-TW", "繁體中文"),
];

/// The listed language `code` names (any case), spelled as listed; `None` when PSN does not
/// serve it.
pub fn language(code: &str) -> Option<&'static str> {
    LANGUAGES
        .iter()
        .find(|(listed, _)| listed.eq_ignore_ascii_case(code.trim()))
        .map(|(listed, _)| *listed)
}

/// The label of a listed language (`Français` for `fr-FR`).
pub fn language_label(code: &str) -> Option<&'static str> {
    LANGUAGES
        .iter()
        .find(|(listed, _)| listed.eq_ignore_ascii_case(code.trim()))
        .map(|(_, label)| *label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_fits_discord_and_lookups_ignore_case() {
        assert!(LANGUAGES.len() <= 25);
        let mut codes: Vec<&str> = LANGUAGES.iter().map(|(code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LANGUAGES.len(), "no code twice");
        assert_eq!(language("FR-fr"), Some("fr-FR"));
        assert_eq!(language_label("fr-FR"), Some("Français"));
        assert_eq!(language("xx-XX"), None);
        assert!(language(
            &crate::Config::new(
                crate::ApiKind::Modern,
                crate::Credential::Bearer(crate::Secret::new(""))
            )
            .language
        )
        .is_some());
    }
}
