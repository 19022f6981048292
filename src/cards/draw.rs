//! Drawing a card: an SVG template filled with escaped, drawable text (see `text`), rendered by
//! resvg, then the fetched icons composited into their rounded slots with tiny-skia, and encoded
//! as PNG. Pure: no I/O, the same spec and icons give the same picture.

use std::fmt::{self, Write as _};

use resvg::tiny_skia::{
    FillRule, FilterQuality, Paint, Path, PathBuilder, Pattern, Pixmap, SpreadMode, Transform,
};
use resvg::usvg;

use super::icons::Icons;
use super::text::{self, drawable, fit, wrap, xml_escape, Weight, FAMILY};
use super::{CardCounts, CardSpec, CompareCard, CompareFigures, PlatinumCard, ProfileCard};
use crate::render::{format_count, ordinal};

/// The recent titles a profile card lists.
pub const PROFILE_TITLES: usize = 5;
pub const WIDTH: u32 = 800;

const WHITE: &str = "#ffffff";
const MUTED: &str = "#a9b4cc";
const FAINT: &str = "#5c6a8a";
const PLATINUM: &str = "#c9d6e8";
const ACCENT: &str = "#0070d1";
const TRACK: &str = "#2a3454";
const TROPHY_COLORS: [(&str, &str); 4] = [
    ("Platinum", "#b8c6db"),
    ("Gold", "#e3b341"),
    ("Silver", "#c3c7cf"),
    ("Bronze", "#c9794a"),
];

/// A drawn card.
#[derive(Debug, Clone)]
pub struct Png {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the card's SVG did not parse: {0}")]
    Svg(#[from] usvg::Error),
    #[error("no pixmap of {0}×{1}")]
    Pixmap(u32, u32),
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

/// Where a fetched icon goes; the SVG draws a placeholder under it for when it is missing.
struct IconSlot {
    url: String,
    x: f32,
    y: f32,
    size: f32,
    radius: f32,
}

/// Which point of a line of text its `x` gives: SVG's `text-anchor`.
#[derive(Debug, Clone, Copy)]
enum Anchor {
    Start,
    Middle,
    End,
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        })
    }
}

/// How a line of text is drawn: its size, weight and colour, and where it stands against its
/// `x`.
#[derive(Debug, Clone, Copy)]
struct TextStyle {
    size: f32,
    weight: Weight,
    fill: &'static str,
    anchor: Anchor,
}

impl TextStyle {
    const fn bold(size: f32, fill: &'static str) -> TextStyle {
        TextStyle {
            size,
            weight: Weight::Bold,
            fill,
            anchor: Anchor::Start,
        }
    }

    const fn regular(size: f32, fill: &'static str) -> TextStyle {
        TextStyle {
            size,
            weight: Weight::Regular,
            fill,
            anchor: Anchor::Start,
        }
    }

    const fn anchored(self, anchor: Anchor) -> TextStyle {
        TextStyle { anchor, ..self }
    }

    /// `content` made drawable in this style and cut to `max_width`.
    fn fit(self, content: &str, max_width: f32) -> String {
        fit(
            &drawable(content, self.weight),
            self.size,
            self.weight,
            max_width,
        )
    }
}

struct Canvas {
    height: u32,
    svg: String,
    icons: Vec<IconSlot>,
}

impl Canvas {
    fn new(height: u32) -> Canvas {
        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="{FAMILY}">
<defs>
<linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#0b1020"/><stop offset="1" stop-color="#1c2848"/></linearGradient>
<radialGradient id="glow" cx="0.85" cy="0.1" r="0.6"><stop offset="0" stop-color="#9fb6cd" stop-opacity="0.35"/><stop offset="1" stop-color="#9fb6cd" stop-opacity="0"/></radialGradient>
<linearGradient id="disk" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#ffffff"/><stop offset="1" stop-color="#8797b2"/></linearGradient>
</defs>
<rect width="{WIDTH}" height="{height}" fill="url(#bg)"/>
"##
        );
        Canvas {
            height,
            svg,
            icons: Vec::new(),
        }
    }

    /// One line of text, made drawable, cut to `max_width` and escaped.
    fn text(&mut self, x: f32, y: f32, style: TextStyle, max_width: f32, content: &str) {
        self.raw_text(x, y, style, &style.fit(content, max_width));
    }

    /// One line of text drawn as given (only escaped): it is already drawable and fits.
    fn raw_text(&mut self, x: f32, y: f32, style: TextStyle, line: &str) {
        let TextStyle {
            size,
            weight,
            fill,
            anchor,
        } = style;
        let bold = match weight {
            Weight::Bold => r#" font-weight="bold""#,
            Weight::Regular => "",
        };
        let _ = writeln!(
            self.svg,
            r#"<text x="{x}" y="{y}" font-size="{size}"{bold} fill="{fill}" text-anchor="{anchor}">{}</text>"#,
            xml_escape(line)
        );
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, radius: f32, fill: &str) {
        let _ = writeln!(
            self.svg,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{radius}" fill="{fill}"/>"#
        );
    }

    fn circle(&mut self, cx: f32, cy: f32, r: f32, fill: &str) {
        let _ = writeln!(
            self.svg,
            r#"<circle cx="{cx}" cy="{cy}" r="{r}" fill="{fill}"/>"#
        );
    }

    /// A progress bar of `percent` (0–100).
    fn bar(&mut self, x: f32, y: f32, w: f32, h: f32, percent: u32, fill: &str) {
        self.rect(x, y, w, h, h / 2.0, TRACK);
        let filled = w * percent.min(100) as f32 / 100.0;
        if filled > 0.0 {
            self.rect(x, y, filled.max(h), h, h / 2.0, fill);
        }
    }

    /// An icon slot: a placeholder with `initial`, covered by the picture when it was fetched.
    fn icon(&mut self, url: Option<&str>, x: f32, y: f32, size: f32, initial: &str) {
        let radius = size / 8.0;
        self.rect(x, y, size, size, radius, "#2a3558");
        let style = TextStyle::bold(size * 0.5, MUTED).anchored(Anchor::Middle);
        let letter: String = drawable(initial, style.weight).chars().take(1).collect();
        self.raw_text(x + size / 2.0, y + size * 0.68, style, &letter);
        if let Some(url) = url {
            self.icons.push(IconSlot {
                url: url.to_string(),
                x,
                y,
                size,
                radius,
            });
        }
    }

    fn brand(&mut self) {
        let y = self.height as f32 - 18.0;
        self.raw_text(
            WIDTH as f32 - 24.0,
            y,
            TextStyle::bold(14.0, FAINT).anchored(Anchor::End),
            "TrophyBot",
        );
    }

    fn finish(mut self, icons: &Icons) -> Result<Png, RenderError> {
        self.brand();
        self.svg.push_str("</svg>\n");
        let options = usvg::Options {
            fontdb: text::font_database(),
            ..usvg::Options::default()
        };
        let tree = usvg::Tree::from_str(&self.svg, &options)?;
        let mut pixmap =
            Pixmap::new(WIDTH, self.height).ok_or(RenderError::Pixmap(WIDTH, self.height))?;
        resvg::render(&tree, Transform::identity(), &mut pixmap.as_mut());
        for slot in &self.icons {
            if let Some(icon) = icons.get(&slot.url) {
                draw_icon(&mut pixmap, icon, slot);
            }
        }
        let bytes = pixmap
            .encode_png()
            .map_err(|e| RenderError::Encode(e.to_string()))?;
        Ok(Png {
            bytes,
            width: WIDTH,
            height: self.height,
        })
    }
}

fn rounded_rect(x: f32, y: f32, w: f32, h: f32, r: f32) -> Option<Path> {
    // A cubic's control points at 0.5523 × r approximate a quarter circle.
    let k = r * 0.5523;
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.line_to(x + w - r, y);
    pb.cubic_to(x + w - r + k, y, x + w, y + r - k, x + w, y + r);
    pb.line_to(x + w, y + h - r);
    pb.cubic_to(x + w, y + h - r + k, x + w - r + k, y + h, x + w - r, y + h);
    pb.line_to(x + r, y + h);
    pb.cubic_to(x + r - k, y + h, x, y + h - r + k, x, y + h - r);
    pb.line_to(x, y + r);
    pb.cubic_to(x, y + r - k, x + r - k, y, x + r, y);
    pb.close();
    pb.finish()
}

/// The icon scaled into its slot, corners rounded.
fn draw_icon(pixmap: &mut Pixmap, icon: &Pixmap, slot: &IconSlot) {
    let Some(path) = rounded_rect(slot.x, slot.y, slot.size, slot.size, slot.radius) else {
        return;
    };
    let scale_x = slot.size / icon.width() as f32;
    let scale_y = slot.size / icon.height() as f32;
    let paint = Paint {
        shader: Pattern::new(
            icon.as_ref(),
            SpreadMode::Pad,
            FilterQuality::Bicubic,
            1.0,
            Transform::from_row(scale_x, 0.0, 0.0, scale_y, slot.x, slot.y),
        ),
        anti_alias: true,
        ..Paint::default()
    };
    pixmap.fill_path(
        &path,
        &paint,
        FillRule::Winding,
        Transform::identity(),
        None,
    );
}

/// The card `spec` describes, with whichever of its pictures are in `icons` (a missing one
/// leaves its placeholder).
pub fn render(spec: &CardSpec, icons: &Icons) -> Result<Png, RenderError> {
    match spec {
        CardSpec::Platinum(card) => platinum(card).finish(icons),
        CardSpec::Profile(card) => profile(card).finish(icons),
        CardSpec::Compare(card) => compare(card).finish(icons),
    }
}

fn platinum(card: &PlatinumCard) -> Canvas {
    let mut c = Canvas::new(400);
    c.rect(0.0, 0.0, WIDTH as f32, 400.0, 0.0, "url(#glow)");
    c.icon(card.art_url.as_deref(), 40.0, 72.0, 256.0, &card.game);
    let x = 330.0;
    let width = WIDTH as f32 - x - 40.0;
    c.circle(x + 12.0, 86.0, 12.0, "url(#disk)");
    c.raw_text(x + 34.0, 93.0, TextStyle::bold(18.0, PLATINUM), "PLATINUM");
    let mut y = 140.0;
    let title = TextStyle::bold(32.0, WHITE);
    for line in wrap(
        &drawable(&card.game, title.weight),
        title.size,
        title.weight,
        width,
        2,
    ) {
        c.raw_text(x, y, title, &line);
        y += 40.0;
    }
    c.text(
        x,
        y - 6.0,
        TextStyle::regular(18.0, MUTED),
        width,
        &card.trophy,
    );
    y += 40.0;
    c.text(x, y, TextStyle::bold(26.0, WHITE), width, &card.player);
    y += 32.0;
    let mut line = match card.nth {
        Some(n) => format!("{} platinum", ordinal(n)),
        None => "Platinum earned".to_string(),
    };
    if let Some(date) = &card.earned_on {
        line = format!("{line} · {date}");
    }
    c.text(x, y, TextStyle::regular(20.0, PLATINUM), width, &line);
    y += 22.0;
    let rarity_style = TextStyle::bold(18.0, WHITE);
    let rarity = rarity_style.fit(&card.rarity, width - 32.0);
    let pill = text::width(&rarity, rarity_style.size, rarity_style.weight) + 32.0;
    let ultra = card.rarity.contains("Ultra");
    c.rect(
        x,
        y,
        pill,
        34.0,
        17.0,
        if ultra { "#b8892a" } else { ACCENT },
    );
    c.raw_text(x + 16.0, y + 23.0, rarity_style, &rarity);
    c
}

fn counts_row(c: &mut Canvas, y: f32, counts: &CardCounts) {
    let values = [counts.platinum, counts.gold, counts.silver, counts.bronze];
    for (i, ((label, color), value)) in TROPHY_COLORS.iter().zip(values).enumerate() {
        let x = 40.0 + i as f32 * 180.0;
        c.circle(x + 18.0, y + 18.0, 18.0, color);
        c.text(
            x + 46.0,
            y + 20.0,
            TextStyle::bold(24.0, WHITE),
            130.0,
            &format_count(value),
        );
        c.raw_text(x + 46.0, y + 40.0, TextStyle::regular(13.0, MUTED), label);
    }
}

fn level_text(level: Option<u32>) -> String {
    level.map_or_else(
        || "Level ?".to_string(),
        |l| format!("Level {}", format_count(l)),
    )
}

fn profile(card: &ProfileCard) -> Canvas {
    let shown = &card.recent[..card.recent.len().min(PROFILE_TITLES)];
    let rows_top = 236.0;
    let height = rows_top as u32 + 46 * shown.len().max(1) as u32 + 40;
    let mut c = Canvas::new(height);
    c.text(
        40.0,
        66.0,
        TextStyle::bold(34.0, WHITE),
        460.0,
        &card.player,
    );
    c.raw_text(
        760.0,
        60.0,
        TextStyle::bold(26.0, PLATINUM).anchored(Anchor::End),
        &level_text(card.level),
    );
    if let Some(progress) = card.level_progress {
        c.bar(560.0, 76.0, 200.0, 8.0, progress, ACCENT);
    }
    counts_row(&mut c, 112.0, &card.counts);
    let total = card.counts.platinum as u64
        + card.counts.gold as u64
        + card.counts.silver as u64
        + card.counts.bronze as u64;
    c.raw_text(
        40.0,
        196.0,
        TextStyle::regular(18.0, MUTED),
        &format!(
            "{} trophies · {} points",
            format_count(total),
            format_count(card.points)
        ),
    );
    if shown.is_empty() {
        c.raw_text(
            40.0,
            rows_top + 28.0,
            TextStyle::regular(18.0, MUTED),
            "No trophies yet.",
        );
    }
    for (i, title) in shown.iter().enumerate() {
        let y = rows_top + i as f32 * 46.0;
        c.icon(title.icon_url.as_deref(), 40.0, y, 38.0, &title.name);
        c.text(
            92.0,
            y + 25.0,
            TextStyle::bold(18.0, WHITE),
            450.0,
            &title.name,
        );
        c.bar(560.0, y + 14.0, 140.0, 10.0, title.progress, ACCENT);
        c.raw_text(
            760.0,
            y + 25.0,
            TextStyle::regular(16.0, MUTED).anchored(Anchor::End),
            &format!("{}%", title.progress.min(100)),
        );
    }
    c
}

fn compare(card: &CompareCard) -> Canvas {
    let mut c = Canvas::new(420);
    let name_width = 320.0;
    c.text(
        40.0,
        62.0,
        TextStyle::bold(28.0, WHITE),
        name_width,
        &card.a.player,
    );
    c.raw_text(
        400.0,
        62.0,
        TextStyle::bold(22.0, FAINT).anchored(Anchor::Middle),
        "vs",
    );
    c.text(
        760.0,
        62.0,
        TextStyle::bold(28.0, WHITE).anchored(Anchor::End),
        name_width,
        &card.b.player,
    );
    let figures = |f: &CompareFigures| -> [u64; 6] {
        [
            f.level.unwrap_or(0) as u64,
            f.counts.platinum as u64,
            f.counts.gold as u64,
            f.counts.silver as u64,
            f.counts.bronze as u64,
            f.points,
        ]
    };
    let (a, b) = (figures(&card.a), figures(&card.b));
    let labels = ["Level", "Platinum", "Gold", "Silver", "Bronze", "Points"];
    let half = 280.0;
    for (i, label) in labels.iter().enumerate() {
        let y = 100.0 + i as f32 * 44.0;
        let most = a[i].max(b[i]).max(1) as f32;
        let (len_a, len_b) = (half * a[i] as f32 / most, half * b[i] as f32 / most);
        let color = |mine: u64, theirs: u64| if mine > theirs { ACCENT } else { TRACK };
        if len_a > 0.0 {
            c.rect(340.0 - len_a, y, len_a, 30.0, 6.0, color(a[i], b[i]));
        }
        if len_b > 0.0 {
            c.rect(460.0, y, len_b, 30.0, 6.0, color(b[i], a[i]));
        }
        let shown = |value: u64, level: Option<u32>| match (i, level) {
            (0, None) => "?".to_string(),
            _ => format_count(value),
        };
        c.raw_text(
            330.0,
            y + 22.0,
            TextStyle::bold(18.0, WHITE).anchored(Anchor::End),
            &shown(a[i], card.a.level),
        );
        c.raw_text(
            400.0,
            y + 21.0,
            TextStyle::regular(14.0, MUTED).anchored(Anchor::Middle),
            label,
        );
        c.raw_text(
            470.0,
            y + 22.0,
            TextStyle::bold(18.0, WHITE),
            &shown(b[i], card.b.level),
        );
    }
    let shared = match card.shared_titles {
        1 => "1 title in common".to_string(),
        n => format!("{} titles in common", format_count(n)),
    };
    c.raw_text(
        400.0,
        386.0,
        TextStyle::regular(16.0, MUTED).anchored(Anchor::Middle),
        &shared,
    );
    c
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cards::{CardTitle, CompareFigures};

    fn decode(png: &Png) -> Pixmap {
        assert_eq!(&png.bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG signature");
        Pixmap::decode_png(&png.bytes).expect("a PNG that decodes")
    }

    fn platinum_card(player: &str, game: &str) -> CardSpec {
        CardSpec::Platinum(PlatinumCard {
            player: player.to_string(),
            game: game.to_string(),
            trophy: "Ascendant".to_string(),
            earned_on: Some("2026-11-29".to_string()),
            rarity: "4.6% · Ultra Rare".to_string(),
            nth: Some(12),
            art_url: Some("http://icons/art.png".to_string()),
        })
    }

    fn solid_icon(size: u32) -> Arc<Pixmap> {
        let mut icon = Pixmap::new(size, size).expect("pixmap");
        icon.fill(resvg::tiny_skia::Color::from_rgba8(255, 0, 0, 255));
        Arc::new(icon)
    }

    #[test]
    fn a_platinum_card_is_a_png_of_its_size_with_its_art() {
        let spec = platinum_card("sim_hunter", "Astro's Playroom");
        let without = decode(&render(&spec, &Icons::new()).expect("renders"));
        assert_eq!((without.width(), without.height()), (WIDTH, 400));
        let mut icons = Icons::new();
        icons.insert("http://icons/art.png".to_string(), solid_icon(64));
        let png = render(&spec, &icons).expect("renders");
        let with = decode(&png);
        // The art's slot (40,72)+256 shows the red icon, not the placeholder.
        let pixel = with.pixel(168, 200).expect("inside");
        assert_eq!((pixel.red(), pixel.green(), pixel.blue()), (255, 0, 0));
        let pixel = without.pixel(168, 200).expect("inside");
        assert_ne!((pixel.red(), pixel.green(), pixel.blue()), (255, 0, 0));
    }

    #[test]
    fn odd_text_still_renders() {
        let odd = [
            "ゼルダの伝説 ティアーズ オブ ザ キングダム",
            "🎮🔥 emoji 👨‍👩‍👧 family",
            &"A very long game name that goes on ".repeat(30),
            r#"<script>&amp; "quotes" 'x' ]]></svg>"#,
            "",
            "\u{202E}reversed\u{0000}control",
        ];
        for text in odd {
            for spec in [
                platinum_card(text, text),
                CardSpec::Profile(ProfileCard {
                    player: text.to_string(),
                    level: Some(999),
                    level_progress: Some(150),
                    counts: CardCounts {
                        platinum: u32::MAX,
                        gold: 1,
                        silver: 0,
                        bronze: 12345,
                    },
                    points: u64::MAX,
                    recent: vec![CardTitle {
                        name: text.to_string(),
                        progress: 42,
                        icon_url: None,
                    }],
                }),
                CardSpec::Compare(CompareCard {
                    a: CompareFigures {
                        player: text.to_string(),
                        level: None,
                        counts: CardCounts::default(),
                        points: 0,
                    },
                    b: CompareFigures {
                        player: "b".to_string(),
                        level: Some(3),
                        counts: CardCounts {
                            platinum: 1,
                            ..CardCounts::default()
                        },
                        points: 90,
                    },
                    shared_titles: 1,
                }),
            ] {
                let png = render(&spec, &Icons::new()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
                let pixmap = decode(&png);
                assert_eq!(pixmap.width(), WIDTH);
            }
        }
    }

    #[test]
    fn a_profile_card_grows_with_its_titles_up_to_its_cap() {
        let profile = |n: usize| {
            CardSpec::Profile(ProfileCard {
                player: "sim_hunter".to_string(),
                level: Some(12),
                level_progress: Some(40),
                counts: CardCounts {
                    platinum: 1,
                    gold: 2,
                    silver: 3,
                    bronze: 4,
                },
                points: 1234,
                recent: (0..n)
                    .map(|i| CardTitle {
                        name: format!("Game {i}"),
                        progress: 10 * i as u32,
                        icon_url: Some(format!("http://icons/{i}.png")),
                    })
                    .collect(),
            })
        };
        let height = |n| decode(&render(&profile(n), &Icons::new()).expect("renders")).height();
        assert!(height(1) < height(3));
        assert_eq!(height(PROFILE_TITLES), height(PROFILE_TITLES + 4));
        assert_eq!(profile(9).icon_urls().len(), PROFILE_TITLES);
    }
}
