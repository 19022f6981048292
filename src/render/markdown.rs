//! Text from PSN shown literally in Discord: markdown escaped, mentions broken.

/// Characters that Discord's markdown gives a meaning anywhere in a line.
const MARKDOWN_INLINE: &[char] = &['\\', '*', '_', '`', '~', '|', '[', ']'];
/// Characters that only mean something at the start of a line (quotes, headings, lists).
const MARKDOWN_LINE_START: &[char] = &['>', '#', '-'];
const ZERO_WIDTH_SPACE: char = '\u{200B}';

/// Makes text from PSN (names, details) show literally in Discord: markdown is escaped and
/// mentions (`@everyone`, `<@123>`) are broken with a zero-width space so they never ping.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut at_line_start = true;
    for c in s.chars() {
        if at_line_start && MARKDOWN_LINE_START.contains(&c) {
            out.push('\\');
            out.push(c);
            continue;
        }
        if c == '\n' {
            at_line_start = true;
            out.push(c);
            continue;
        }
        if !(c == ' ' || c == '\t') {
            at_line_start = false;
        }
        if MARKDOWN_INLINE.contains(&c) {
            out.push('\\');
            out.push(c);
        } else if c == '@' {
            out.push(c);
            out.push(ZERO_WIDTH_SPACE);
        } else {
            out.push(c);
        }
    }
    out
}

/// Undoes [`escape_markdown`] and drops the bold and underline markers of our own making, for
/// the text form.
pub fn unescape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| n.is_ascii_punctuation()) => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '*' | '_' if chars.peek() == Some(&c) => {
                chars.next();
            }
            ZERO_WIDTH_SPACE => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_and_mentions() {
        assert_eq!(escape_markdown("**bold** _x_"), "\\*\\*bold\\*\\* \\_x\\_");
        assert_eq!(
            escape_markdown("> quote\n# h\na-b"),
            "\\> quote\n\\# h\na-b"
        );
        assert_eq!(escape_markdown("@everyone"), "@\u{200B}everyone");
        assert_eq!(escape_markdown("<@123>"), "<@\u{200B}123>");
        assert_eq!(escape_markdown("||spoiler||"), "\\|\\|spoiler\\|\\|");
    }

    #[test]
    fn text_form_shows_names_literally() {
        let name = "**bold** __x__ @everyone";
        assert_eq!(unescape_markdown(&escape_markdown(name)), name);
        let ours = format!("**{}**", escape_markdown(name));
        assert_eq!(unescape_markdown(&ours), name);
    }
}
