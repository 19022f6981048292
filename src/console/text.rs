//! The console's plain-text form of a reply.

use crate::model::reply::Reply;
use crate::render::markdown::unescape_markdown;

/// The reply as readable plain text (the console without `--json`).
pub fn reply_text(reply: &Reply) -> String {
    let mut out = Vec::new();
    if let Some(content) = reply.content() {
        out.push(unescape_markdown(content));
    }
    for embed in reply.embeds() {
        let mut lines = Vec::new();
        if let Some(author) = &embed.author {
            lines.push(unescape_markdown(&author.name));
        }
        if let Some(title) = &embed.title {
            let title = unescape_markdown(title);
            lines.push(format!(
                "{title}\n{}",
                "=".repeat(title.chars().count().min(60))
            ));
        }
        if let Some(url) = &embed.url {
            lines.push(url.clone());
        }
        if let Some(description) = &embed.description {
            lines.push(unescape_markdown(description));
        }
        for field in &embed.fields {
            lines.push(format!(
                "-- {} --\n{}",
                unescape_markdown(&field.name),
                unescape_markdown(&field.value)
            ));
        }
        if let Some(footer) = &embed.footer {
            lines.push(format!("({})", unescape_markdown(&footer.text)));
        }
        out.push(lines.join("\n"));
    }
    for file in reply.attachments() {
        out.push(format!(
            "[attached: {} ({}, {} bytes)]",
            file.filename,
            file.content_type,
            file.bytes.len()
        ));
    }
    for row in reply.components() {
        let labels: Vec<String> = row
            .components
            .iter()
            .map(|b| {
                if b.disabled {
                    format!("[{}]", b.label)
                } else {
                    format!("<{}>", b.label)
                }
            })
            .collect();
        out.push(labels.join(" "));
    }
    out.join("\n\n")
}
