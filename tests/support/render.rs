//! Shared by the rendering tests: Discord's limits as assertions, and proptest strategies.

use proptest::prelude::*;
use psn::TrophyType;
use trophybot::model::reply::{limits, Reply};

/// Every Discord limit a reply can break (the fake Discord checks the same on the wire).
pub fn assert_within_limits(reply: &Reply) {
    let chars = |s: &str| s.chars().count();
    if let Some(content) = reply.content() {
        assert!(chars(content) <= limits::CONTENT);
    }
    assert!(reply.embeds().len() <= limits::EMBEDS);
    for embed in reply.embeds() {
        if let Some(title) = &embed.title {
            assert!(chars(title) <= limits::TITLE);
        }
        if let Some(description) = &embed.description {
            assert!(chars(description) <= limits::DESCRIPTION);
        }
        assert!(embed.fields.len() <= limits::FIELDS);
        for field in &embed.fields {
            assert!(!field.name.is_empty() && chars(&field.name) <= limits::FIELD_NAME);
            assert!(!field.value.is_empty() && chars(&field.value) <= limits::FIELD_VALUE);
        }
        if let Some(footer) = &embed.footer {
            assert!(chars(&footer.text) <= limits::FOOTER);
        }
        if let Some(author) = &embed.author {
            assert!(chars(&author.name) <= limits::AUTHOR);
        }
    }
    assert!(reply.embeds_total_chars() <= limits::EMBEDS_TOTAL);
    assert!(reply.components().len() <= limits::ACTION_ROWS);
    for row in reply.components() {
        assert!(row.components.len() <= limits::BUTTONS_PER_ROW);
        for button in &row.components {
            assert!(button.custom_id.len() <= limits::CUSTOM_ID);
            assert!(chars(&button.label) <= limits::BUTTON_LABEL);
        }
    }
}

/// Any text, often long, with markdown and mentions mixed in.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[*_`~|>#@<\\-\\[\\]\\\\ a-zé✨\n]{0,40}",
        ("[a-z*_@ ]{0,20}", 0usize..400).prop_map(|(s, n)| s.repeat(n)),
    ]
}

/// A trophy type from a generated index 0–3.
pub fn trophy_kind(index: u8) -> TrophyType {
    [
        TrophyType::Platinum,
        TrophyType::Gold,
        TrophyType::Silver,
        TrophyType::Bronze,
    ][usize::from(index % 4)]
}
