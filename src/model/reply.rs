//! A reply in the shape of Discord's message payload, and the one place that keeps every reply
//! within Discord's limits. Renderers and the error mapping build replies; the console prints them
//! (JSON or text) and the bot turns them into serenity's builders.

use serde::{Deserialize, Serialize};

/// Discord's limits on a message (https://discord.com/developers/docs/resources/message).
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const EMBEDS: usize = 10;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    pub const AUTHOR: usize = 256;
    /// Across all embeds of one message: titles, descriptions, field names and values, footers
    /// and author names.
    pub const EMBEDS_TOTAL: usize = 6000;
    pub const ACTION_ROWS: usize = 5;
    pub const BUTTONS_PER_ROW: usize = 5;
    pub const BUTTON_LABEL: usize = 80;
    pub const CUSTOM_ID: usize = 100;
    /// An autocomplete choice's name.
    pub const CHOICE_NAME: usize = 100;
    pub const ATTACHMENTS: usize = 10;
    /// Discord's default upload limit for one message, all files together.
    pub const UPLOAD_BYTES: usize = 10 * 1024 * 1024;
}

const ELLIPSIS: char = '…';

/// The serialized shape of a [`Reply`], before [`Reply::new`] checks it.
#[derive(Deserialize)]
struct StoredReply {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    embeds: Vec<Embed>,
    #[serde(default)]
    components: Vec<ActionRow>,
    #[serde(default)]
    ephemeral: bool,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

impl From<StoredReply> for Reply {
    fn from(stored: StoredReply) -> Reply {
        Reply::new(
            stored.content,
            stored.embeds,
            stored.components,
            stored.ephemeral,
        )
        .with_attachments(stored.attachments)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Read back through the constructor, so a stored payload (the outbox) is held to the limits too.
#[serde(from = "StoredReply")]
pub struct Reply {
    content: Option<String>,
    embeds: Vec<Embed>,
    components: Vec<ActionRow>,
    ephemeral: bool,
    /// Files sent with the message (image cards); an embed shows one as
    /// `attachment://{filename}`. Left out of the JSON when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
}

/// A file sent with a message. Its JSON (the console's `--json`) names it, its size and its
/// content type, never its bytes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Attachment {
    pub filename: String,
    #[serde(default)]
    pub content_type: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl Attachment {
    pub fn png(filename: &str, bytes: Vec<u8>) -> Attachment {
        Attachment {
            filename: filename.to_string(),
            content_type: "image/png".to_string(),
            bytes,
        }
    }
}

impl Serialize for Attachment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Attachment", 3)?;
        out.serialize_field("filename", &self.filename)?;
        out.serialize_field("size", &self.bytes.len())?;
        out.serialize_field("content_type", &self.content_type)?;
        out.end()
    }
}

impl Reply {
    /// The only constructor: whatever goes in, what comes out fits Discord's limits.
    pub fn new(
        content: Option<String>,
        embeds: Vec<Embed>,
        components: Vec<ActionRow>,
        ephemeral: bool,
    ) -> Reply {
        let content = content
            .map(|c| truncate(&c, limits::CONTENT))
            .filter(|c| !c.is_empty());
        Reply {
            content,
            embeds: fit_embeds(embeds),
            components: fit_components(components),
            ephemeral,
            attachments: Vec::new(),
        }
    }

    /// The same reply with `files` attached, as many as fit Discord's count and upload limits
    /// (in order; a file that does not fit is left out).
    pub fn with_attachments(mut self, files: Vec<Attachment>) -> Reply {
        let mut room = limits::UPLOAD_BYTES;
        self.attachments = files
            .into_iter()
            .filter(|file| !file.filename.is_empty())
            .filter(|file| {
                let fits = file.bytes.len() <= room;
                if fits {
                    room -= file.bytes.len();
                }
                fits
            })
            .take(limits::ATTACHMENTS)
            .collect();
        self
    }

    pub fn attachments(&self) -> &[Attachment] {
        &self.attachments
    }

    /// The same reply with `card` attached and shown as the first embed's picture.
    pub fn with_card(self, card: Attachment) -> Reply {
        self.with_card_on(card, 0)
    }

    /// The same reply with `card` attached and shown as the picture of embed `index` (the
    /// first when there is no such embed).
    pub fn with_card_on(mut self, card: Attachment, index: usize) -> Reply {
        let index = if index < self.embeds.len() { index } else { 0 };
        if let Some(embed) = self.embeds.get_mut(index) {
            *embed = std::mem::take(embed).attached_image(&card.filename);
        }
        self.with_attachments(vec![card])
    }

    /// The same reply without its files, and without embed pictures that pointed at them.
    pub fn without_attachments(mut self) -> Reply {
        for embed in &mut self.embeds {
            if embed
                .image
                .as_ref()
                .is_some_and(|image| image.url.starts_with("attachment://"))
            {
                embed.image = None;
            }
        }
        self.attachments.clear();
        self
    }

    pub fn embed(embed: Embed) -> Reply {
        Reply::new(None, vec![embed], Vec::new(), false)
    }

    pub fn content(&self) -> Option<&str> {
        self.content.as_deref()
    }

    pub fn embeds(&self) -> &[Embed] {
        &self.embeds
    }

    pub fn components(&self) -> &[ActionRow] {
        &self.components
    }

    pub fn ephemeral(&self) -> bool {
        self.ephemeral
    }

    /// The same reply with every button's custom_id passed through `f` (limits re-applied).
    pub fn map_custom_ids(self, f: impl Fn(&str) -> String) -> Reply {
        let components = self
            .components
            .into_iter()
            .map(|row| {
                ActionRow::new(
                    row.components
                        .into_iter()
                        .map(|b| Button {
                            custom_id: f(&b.custom_id),
                            ..b
                        })
                        .collect(),
                )
            })
            .collect();
        Reply::new(self.content, self.embeds, components, self.ephemeral)
            .with_attachments(self.attachments)
    }

    /// The characters counted against [`limits::EMBEDS_TOTAL`].
    pub fn embeds_total_chars(&self) -> usize {
        self.embeds.iter().map(Embed::counted_chars).sum()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Embed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<EmbedImage>,
    /// The big picture: an image card as `attachment://card.png`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<EmbedImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<EmbedAuthor>,
    /// ISO 8601, as Discord expects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl Embed {
    pub fn new() -> Embed {
        Embed::default()
    }

    pub fn title(mut self, title: impl Into<String>) -> Embed {
        self.title = Some(title.into());
        self
    }

    pub fn description(mut self, description: impl Into<String>) -> Embed {
        self.description = Some(description.into());
        self
    }

    pub fn url(mut self, url: impl Into<String>) -> Embed {
        self.url = Some(url.into());
        self
    }

    pub fn color(mut self, color: u32) -> Embed {
        self.color = Some(color);
        self
    }

    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Embed {
        self.fields.push(EmbedField {
            name: name.into(),
            value: value.into(),
            inline,
        });
        self
    }

    pub fn footer(mut self, text: impl Into<String>) -> Embed {
        self.footer = Some(EmbedFooter { text: text.into() });
        self
    }

    pub fn thumbnail(mut self, url: Option<impl Into<String>>) -> Embed {
        self.thumbnail = url.map(|url| EmbedImage { url: url.into() });
        self
    }

    /// The embed showing the attached file `filename` as its picture.
    pub fn attached_image(mut self, filename: &str) -> Embed {
        self.image = Some(EmbedImage {
            url: format!("attachment://{filename}"),
        });
        self
    }

    pub fn author(mut self, name: impl Into<String>) -> Embed {
        self.author = Some(EmbedAuthor { name: name.into() });
        self
    }

    pub fn timestamp(mut self, at: chrono::DateTime<chrono::Utc>) -> Embed {
        self.timestamp = Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        self
    }

    /// The characters Discord counts against [`limits::EMBEDS_TOTAL`] in this embed.
    pub fn counted_chars(&self) -> usize {
        let opt = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
        opt(&self.title)
            + opt(&self.description)
            + self.footer.as_ref().map_or(0, |f| f.text.chars().count())
            + self.author.as_ref().map_or(0, |a| a.name.chars().count())
            + self
                .fields
                .iter()
                .map(|f| f.name.chars().count() + f.value.chars().count())
                .sum::<usize>()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedField {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedFooter {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedImage {
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedAuthor {
    pub name: String,
}

/// Discord's action row (component type 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRow {
    #[serde(rename = "type")]
    kind: u8,
    pub components: Vec<Button>,
}

impl ActionRow {
    pub fn new(buttons: Vec<Button>) -> ActionRow {
        ActionRow {
            kind: 1,
            components: buttons,
        }
    }
}

/// Discord's button (component type 2) with a custom_id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    #[serde(rename = "type")]
    kind: u8,
    pub style: ButtonStyle,
    pub label: String,
    pub custom_id: String,
    pub disabled: bool,
}

impl Button {
    pub fn new(
        style: ButtonStyle,
        label: impl Into<String>,
        custom_id: impl Into<String>,
        disabled: bool,
    ) -> Button {
        Button {
            kind: 2,
            style,
            label: label.into(),
            custom_id: custom_id.into(),
            disabled,
        }
    }
}

/// Discord's button styles, serialized as their numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Primary = 1,
    Secondary = 2,
    Success = 3,
    Danger = 4,
}

impl Serialize for ButtonStyle {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*self as u8)
    }
}

impl<'de> Deserialize<'de> for ButtonStyle {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u8::deserialize(deserializer)? {
            1 => Ok(ButtonStyle::Primary),
            2 => Ok(ButtonStyle::Secondary),
            3 => Ok(ButtonStyle::Success),
            4 => Ok(ButtonStyle::Danger),
            other => Err(serde::de::Error::custom(format!(
                "unknown button style {other}"
            ))),
        }
    }
}

/// Shortens `s` to at most `max` characters, ending in "…" when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    // A cut right after a backslash would escape the ellipsis and leave a dangling escape.
    if out.ends_with('\\') {
        out.pop();
    }
    out.push(ELLIPSIS);
    out
}

/// The characters left for the message's embeds ([`limits::EMBEDS_TOTAL`]).
struct Budget(usize);

impl Budget {
    /// What fits of `s`, within its own limit and what is left of the message's budget.
    fn take(&mut self, s: &str, own_limit: usize) -> String {
        let kept = truncate(s, own_limit.min(self.0));
        self.0 -= kept.chars().count();
        kept
    }
}

fn fit_embeds(embeds: Vec<Embed>) -> Vec<Embed> {
    let mut budget = Budget(limits::EMBEDS_TOTAL);
    let mut out = Vec::new();
    for embed in embeds.into_iter().take(limits::EMBEDS) {
        let title = embed
            .title
            .map(|t| budget.take(&t, limits::TITLE))
            .filter(|t| !t.is_empty());
        let author = embed
            .author
            .map(|a| EmbedAuthor {
                name: budget.take(&a.name, limits::AUTHOR),
            })
            .filter(|a| !a.name.is_empty());
        let footer = embed
            .footer
            .map(|f| EmbedFooter {
                text: budget.take(&f.text, limits::FOOTER),
            })
            .filter(|f| !f.text.is_empty());
        let description = embed
            .description
            .map(|d| budget.take(&d, limits::DESCRIPTION))
            .filter(|d| !d.is_empty());
        let mut fields = Vec::new();
        for field in embed.fields.into_iter().take(limits::FIELDS) {
            // Discord rejects empty field names and values: keep a field only if both fit.
            if field.name.is_empty() || field.value.is_empty() {
                continue;
            }
            if budget.0 < 2 {
                break;
            }
            let name_limit = limits::FIELD_NAME.min(budget.0 - 1);
            let name = budget.take(&field.name, name_limit);
            let value = budget.take(&field.value, limits::FIELD_VALUE);
            fields.push(EmbedField {
                name,
                value,
                inline: field.inline,
            });
        }
        out.push(Embed {
            title,
            description,
            url: embed.url,
            color: embed.color,
            fields,
            footer,
            thumbnail: embed.thumbnail,
            image: embed.image,
            author,
            timestamp: embed.timestamp,
        });
    }
    out
}

fn fit_components(rows: Vec<ActionRow>) -> Vec<ActionRow> {
    rows.into_iter()
        .take(limits::ACTION_ROWS)
        .map(|row| {
            ActionRow::new(
                row.components
                    .into_iter()
                    .take(limits::BUTTONS_PER_ROW)
                    // A cut custom_id could not be parsed back: such a button is dropped.
                    .filter(|b| b.custom_id.len() <= limits::CUSTOM_ID && !b.custom_id.is_empty())
                    .map(|b| Button {
                        label: truncate(&b.label, limits::BUTTON_LABEL),
                        ..b
                    })
                    .collect(),
            )
        })
        .filter(|row| !row.components.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("ab\\*cd", 4), "ab…");
    }

    #[test]
    fn a_reply_survives_a_json_round_trip() {
        let reply = Reply::new(
            Some("hello".into()),
            vec![
                Embed::new()
                    .title("t")
                    .description("d")
                    .url("https://example.com")
                    .color(0x0070D1)
                    .field("n", "v", true)
                    .footer("f")
                    .thumbnail(Some("https://example.com/i.png"))
                    .author("a")
                    .timestamp(chrono::DateTime::UNIX_EPOCH),
                Embed::new().description("only a description"),
            ],
            vec![ActionRow::new(vec![Button::new(
                ButtonStyle::Danger,
                "label",
                "id",
                true,
            )])],
            true,
        );
        let json = serde_json::to_string(&reply).expect("serializes");
        let back: Reply = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, reply);
    }

    #[test]
    fn a_stored_reply_is_held_to_the_limits() {
        let json = serde_json::json!({
            "content": null,
            "embeds": [{"title": "x".repeat(300)}],
            "components": [],
            "ephemeral": false,
        });
        let reply: Reply = serde_json::from_value(json).expect("deserializes");
        assert_eq!(
            reply.embeds()[0]
                .title
                .as_deref()
                .map(|t| t.chars().count()),
            Some(limits::TITLE)
        );
    }

    #[test]
    fn attachments_are_held_to_discords_count_and_upload_limits() {
        let file = |name: &str, size: usize| Attachment::png(name, vec![0; size]);
        let reply = Reply::embed(Embed::new().title("t")).with_attachments(vec![
            file("big.png", limits::UPLOAD_BYTES - 10),
            file("too-much.png", 11),
            file("small.png", 10),
            file("", 1),
        ]);
        let names: Vec<&str> = reply
            .attachments()
            .iter()
            .map(|a| a.filename.as_str())
            .collect();
        assert_eq!(names, ["big.png", "small.png"]);
        let many = (0..12).map(|i| file(&format!("{i}.png"), 1)).collect();
        assert_eq!(
            Reply::embed(Embed::new())
                .with_attachments(many)
                .attachments()
                .len(),
            limits::ATTACHMENTS
        );
        // No attachments: the JSON keeps the contract's four keys.
        let json = serde_json::to_value(Reply::embed(Embed::new().title("t"))).unwrap();
        assert!(json.get("attachments").is_none());
        // With one: its name, size and type, never its bytes.
        let json = serde_json::to_value(
            Reply::embed(Embed::new()).with_attachments(vec![file("card.png", 3)]),
        )
        .unwrap();
        assert_eq!(
            json["attachments"],
            serde_json::json!([{"filename": "card.png", "size": 3, "content_type": "image/png"}])
        );
    }

    #[test]
    fn empty_fields_are_dropped_and_oversized_ones_cut() {
        let embed = Embed::new()
            .field("", "value", false)
            .field("name", "x".repeat(2000), false);
        let reply = Reply::embed(embed);
        assert_eq!(reply.embeds()[0].fields.len(), 1);
        assert_eq!(
            reply.embeds()[0].fields[0].value.chars().count(),
            limits::FIELD_VALUE
        );
    }
}
