//! The cards' fonts (DejaVu Sans, regular and bold, for Latin, Greek and Cyrillic; Droid Sans
//! Fallback for Chinese, Japanese and Korean, which usvg falls back to glyph by glyph; all
//! embedded) and what text needs before it goes into a card: characters neither font can draw
//! replaced, widths measured for wrapping and cutting, and XML escaping for the SVG template.

use std::sync::{Arc, OnceLock};

use resvg::usvg::fontdb;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
/// CJK names (many PSN titles and online IDs are Japanese, Chinese or Korean). One weight only:
/// bold text in these scripts is drawn regular.
const CJK_FALLBACK: &[u8] = include_bytes!("../../assets/fonts/DroidSansFallback.ttf");
/// The family name both faces carry; the SVG templates ask for it by name.
pub const FAMILY: &str = "DejaVu Sans";
/// What stands for a character the font has no glyph for (an empty box would say less).
const REPLACEMENT: char = '?';
const ELLIPSIS: char = '…';

/// The font database usvg shapes with: the embedded faces, nothing from the system. A character
/// DejaVu Sans lacks is drawn from the fallback face (usvg's default fallback selector).
pub fn font_database() -> Arc<fontdb::Database> {
    static DATABASE: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    DATABASE
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_font_data(REGULAR.to_vec());
            db.load_font_data(BOLD.to_vec());
            db.load_font_data(CJK_FALLBACK.to_vec());
            db.set_sans_serif_family(FAMILY);
            Arc::new(db)
        })
        .clone()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// The faces a character of `weight` is looked for in, in order.
fn faces(weight: Weight) -> [FontRef<'static>; 2] {
    // The embedded files are fonts by construction; a failure here is a build mistake that every
    // renderer test catches.
    #[allow(clippy::expect_used)]
    let parse = |data: &'static [u8]| FontRef::new(data).expect("the embedded font parses");
    [
        parse(match weight {
            Weight::Regular => REGULAR,
            Weight::Bold => BOLD,
        }),
        parse(CJK_FALLBACK),
    ]
}

/// Characters that take no room and need no glyph (variation selectors, joiners, marks of
/// direction): dropped rather than shown as a replacement.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xFE00..=0xFE0F
            | 0xFEFF | 0xE0000..=0xE007F)
}

/// `text` as the fonts can draw it: every character without a glyph in `weight`'s face or the
/// fallback becomes `?`, invisible ones are dropped, whitespace runs become one space.
pub fn drawable(text: &str, weight: Weight) -> String {
    let charmaps = faces(weight).map(|face| face.charmap());
    let mut out = String::with_capacity(text.len());
    let mut last_space = true;
    for c in text.chars() {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        out.push(if charmaps.iter().any(|charmap| charmap.map(c).is_some()) {
            c
        } else {
            REPLACEMENT
        });
        last_space = false;
    }
    out.trim_end().to_string()
}

/// The width of `text` (already [`drawable`]) at `size` pixels, from the glyphs' advances, each
/// from the face usvg draws it with.
pub fn width(text: &str, size: f32, weight: Weight) -> f32 {
    let faces = faces(weight);
    let measured = faces.map(|face| {
        (
            face.charmap(),
            face.glyph_metrics(Size::new(size), LocationRef::default()),
        )
    });
    text.chars()
        .filter_map(|c| {
            measured.iter().find_map(|(charmap, metrics)| {
                charmap
                    .map(c)
                    .and_then(|glyph| metrics.advance_width(glyph))
            })
        })
        .sum()
}

/// `text` cut to fit `max_width`, with an ellipsis when cut.
pub fn fit(text: &str, size: f32, weight: Weight, max_width: f32) -> String {
    if width(text, size, weight) <= max_width {
        return text.to_string();
    }
    let room = max_width - width(&ELLIPSIS.to_string(), size, weight);
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if width(&out, size, weight) > room {
            out.pop();
            break;
        }
    }
    format!("{}{ELLIPSIS}", out.trim_end())
}

/// `text` in at most `max_lines` lines of `max_width`, broken between words (inside a word only
/// when it alone is too wide), the last line cut with an ellipsis when text is left over.
pub fn wrap(
    text: &str,
    size: f32,
    weight: Weight,
    max_width: f32,
    max_lines: usize,
) -> Vec<String> {
    let fits = |s: &str| width(s, size, weight) <= max_width;
    let mut lines = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() && lines.len() < max_lines {
        if lines.len() + 1 == max_lines || fits(rest) {
            lines.push(fit(rest, size, weight, max_width));
            break;
        }
        // The longest run of whole words that fits, else the longest run of characters.
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            if c == ' ' {
                if !fits(&rest[..i]) {
                    break;
                }
                end = i;
            }
        }
        if end == 0 {
            end = rest
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .take_while(|&i| fits(&rest[..i]))
                .last()
                .unwrap_or_else(|| rest.chars().next().map_or(0, char::len_utf8));
        }
        lines.push(rest[..end].trim_end().to_string());
        rest = rest[end..].trim_start();
    }
    lines
}

/// Text made safe inside an SVG element or attribute.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_the_font_lacks_are_replaced_and_invisible_ones_dropped() {
        // DejaVu Sans has Latin, Greek and Cyrillic; the fallback Chinese, Japanese and Korean;
        // neither has colour emoji.
        assert_eq!(
            drawable("Ünïcødé Ωμέγα Жук", Weight::Regular),
            "Ünïcødé Ωμέγα Жук"
        );
        assert_eq!(
            drawable("ゼルダの伝説 원신 塞尔达 🎮", Weight::Bold),
            "ゼルダの伝説 원신 塞尔达 ?"
        );
        assert_eq!(
            drawable("a\u{FE0F}b\u{200D}c\n\t d", Weight::Regular),
            "abc d"
        );
    }

    #[test]
    fn cjk_text_is_measured_from_the_fallback_face() {
        // Ideographs are full width: about one em each, where '?' would be about half.
        let name = drawable("塞尔达传说", Weight::Regular);
        let measured = width(&name, 20.0, Weight::Regular);
        assert!((90.0..=110.0).contains(&measured), "{measured}");
        let cut = fit(
            &drawable(&"伝説".repeat(40), Weight::Bold),
            20.0,
            Weight::Bold,
            200.0,
        );
        assert!(cut.ends_with('…'));
        assert!(width(&cut, 20.0, Weight::Bold) <= 200.0);
    }

    #[test]
    fn long_text_is_cut_and_wrapped_within_the_width() {
        let long = "Supercalifragilistic ".repeat(20);
        let text = drawable(&long, Weight::Bold);
        let cut = fit(&text, 30.0, Weight::Bold, 300.0);
        assert!(cut.ends_with('…'));
        assert!(width(&cut, 30.0, Weight::Bold) <= 300.0);
        let lines = wrap(&text, 30.0, Weight::Bold, 300.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| width(l, 30.0, Weight::Bold) <= 300.0));
        assert!(lines[1].ends_with('…'));
        let one_word = "W".repeat(200);
        let lines = wrap(&one_word, 30.0, Weight::Bold, 300.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| width(l, 30.0, Weight::Bold) <= 300.0));
        assert_eq!(
            wrap("Short name", 30.0, Weight::Bold, 300.0, 2),
            ["Short name"]
        );
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            xml_escape(r#"<b>&"x'</b>"#),
            "&lt;b&gt;&amp;&quot;x&apos;&lt;/b&gt;"
        );
    }
}
