//! A small PDF 1.4 writer: pages of text, lines, filled rectangles and link
//! annotations in the standard Helvetica fonts (PDF 32000-1 §9.6.2.2: every viewer
//! has them, nothing is embedded). Text is encoded in WinAnsiEncoding (Annex D.2);
//! a character it lacks (CJK, emoji…) is written as `?`, so no input can break the
//! file. Widths come from Adobe's public AFM metrics of Helvetica and
//! Helvetica-Bold, so text can be measured, wrapped and right-aligned.

use std::fmt::Write as _;

pub use crate::platform::pdf_image::Image;

/// Paper sizes in points (1/72 in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 8.5 × 11 in: 612 × 792.
    Letter,
    /// 210 × 297 mm: 595 × 842.
    A4,
}

impl Paper {
    pub fn size(self) -> (f32, f32) {
        match self {
            Paper::Letter => (612.0, 792.0),
            Paper::A4 => (595.0, 842.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    fn widths(self) -> &'static [u16; 224] {
        match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        }
    }

    /// Width of `text` at `size` points, as the viewer will lay it out.
    pub fn width(self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .map(|c| u32::from(self.glyph_width(win_ansi(c))))
            .sum();
        units as f32 * size / 1000.0
    }

    fn glyph_width(self, code: u8) -> u16 {
        code.checked_sub(32)
            .and_then(|i| self.widths().get(usize::from(i)))
            .copied()
            .unwrap_or(278)
    }
}

/// An RGB colour, each channel 0.0–1.0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

pub const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);

/// One page being drawn. Coordinates are points from the bottom-left corner.
#[derive(Debug, Default)]
pub struct Page {
    content: String,
    links: Vec<([f32; 4], String)>,
}

impl Page {
    pub fn text(&mut self, x: f32, y: f32, font: Font, size: f32, color: Rgb, text: &str) {
        let _ = writeln!(
            self.content,
            "BT /{} {} Tf {} {} {} rg {} {} Td <{}> Tj ET",
            font.resource(),
            num(size),
            num(color.0),
            num(color.1),
            num(color.2),
            num(x),
            num(y),
            hex(text)
        );
    }

    /// Text whose right edge is at `right`.
    pub fn text_right(
        &mut self,
        right: f32,
        y: f32,
        font: Font,
        size: f32,
        color: Rgb,
        text: &str,
    ) {
        let x = right - font.width(text, size);
        self.text(x, y, font, size, color, text);
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, color: Rgb) {
        let _ = writeln!(
            self.content,
            "{} {} {} RG {} w {} {} m {} {} l S",
            num(color.0),
            num(color.1),
            num(color.2),
            num(width),
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    pub fn fill_rect(&mut self, x: f32, y: f32, width: f32, height: f32, color: Rgb) {
        let _ = writeln!(
            self.content,
            "{} {} {} rg {} {} {} {} re f",
            num(color.0),
            num(color.1),
            num(color.2),
            num(x),
            num(y),
            num(width),
            num(height)
        );
    }

    /// Image number `index` of those given to [`write`], scaled into the box.
    pub fn image(&mut self, index: usize, x: f32, y: f32, width: f32, height: f32) {
        let _ = writeln!(
            self.content,
            "q {} 0 0 {} {} {} cm /Im{index} Do Q",
            num(width),
            num(height),
            num(x),
            num(y)
        );
    }

    /// A clickable area opening `uri` (PDF 32000-1 §12.5.6.5).
    pub fn link(&mut self, rect: [f32; 4], uri: &str) {
        self.links.push((rect, uri.to_string()));
    }
}

/// Assemble the pages into a PDF file; `images` are drawn by [`Page::image`].
pub fn write(paper: Paper, title: &str, pages: &[Page], images: &[Image]) -> Vec<u8> {
    let (width, height) = paper.size();
    let mut objects: Vec<Vec<u8>> = Vec::new();
    // 1 catalog, 2 page tree, 3 and 4 fonts, 5 info; then each image and its soft
    // mask; then per page: page, content, and one object per link.
    let mut next = 6;
    let mut image_objects: Vec<Vec<u8>> = Vec::new();
    let mut xobjects = Vec::new();
    for (index, image) in images.iter().enumerate() {
        let id = next;
        let smask = match &image.alpha {
            Some(alpha) => {
                let mask_id = id + 1;
                next += 2;
                Some((mask_id, alpha))
            }
            None => {
                next += 1;
                None
            }
        };
        let smask_ref = smask.map_or(String::new(), |(mask_id, _)| {
            format!(" /SMask {mask_id} 0 R")
        });
        let mut object = format!(
            "<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {} /BitsPerComponent 8 {}{smask_ref} /Length {} >>\nstream\n",
            image.width, image.height, image.color_space, image.filter, image.data.len()
        )
        .into_bytes();
        object.extend_from_slice(&image.data);
        object.extend_from_slice(b"\nendstream");
        image_objects.push(object);
        if let Some((_, alpha)) = smask {
            let mut mask = format!(
                "<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length {} >>\nstream\n",
                image.width, image.height, alpha.len()
            )
            .into_bytes();
            mask.extend_from_slice(alpha);
            mask.extend_from_slice(b"\nendstream");
            image_objects.push(mask);
        }
        xobjects.push(format!("/Im{index} {id} 0 R"));
    }
    let xobject_resource = if xobjects.is_empty() {
        String::new()
    } else {
        format!(" /XObject << {} >>", xobjects.join(" "))
    };
    let mut kids = Vec::new();
    let mut page_objects = Vec::new();
    for page in pages {
        let page_id = next;
        let content_id = next + 1;
        let link_ids: Vec<usize> = (0..page.links.len()).map(|i| next + 2 + i).collect();
        next += 2 + page.links.len();
        kids.push(format!("{page_id} 0 R"));
        let annots = if link_ids.is_empty() {
            String::new()
        } else {
            let refs: Vec<String> = link_ids.iter().map(|id| format!("{id} 0 R")).collect();
            format!(" /Annots [{}]", refs.join(" "))
        };
        page_objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >>{xobject_resource} >> /Contents {content_id} 0 R{annots} >>",
            num(width),
            num(height)
        ).into_bytes());
        let mut stream = format!("<< /Length {} >>\nstream\n", page.content.len()).into_bytes();
        stream.extend_from_slice(page.content.as_bytes());
        stream.extend_from_slice(b"\nendstream");
        page_objects.push(stream);
        for (rect, uri) in &page.links {
            page_objects.push(
                format!(
                    "<< /Type /Annot /Subtype /Link /Rect [{} {} {} {}] /Border [0 0 0] /A << /S /URI /URI {} >> >>",
                    num(rect[0]),
                    num(rect[1]),
                    num(rect[2]),
                    num(rect[3]),
                    literal_ascii(uri)
                )
                .into_bytes(),
            );
        }
    }
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    for base in ["Helvetica", "Helvetica-Bold"] {
        objects.push(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
            )
            .into_bytes(),
        );
    }
    objects.push(format!("<< /Title <{}> /Producer (jobber) >>", utf16_hex(title)).into_bytes());
    objects.extend(image_objects);
    objects.extend(page_objects);

    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

/// Break `text` into lines no wider than `max` (words first, then characters for a
/// word longer than a line, such as a URL). Explicit newlines are kept.
pub fn wrap(text: &str, font: Font, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if font.width(&candidate, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: split it if it is wider than a line.
            for c in word.chars() {
                line.push(c);
                if font.width(&line, size) > max && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// Shorten `text` with an ellipsis so it fits in `max`.
pub fn fit(text: &str, font: Font, size: f32, max: f32) -> String {
    if font.width(text, size) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if font.width(&format!("{out}…"), size) > max {
            out.pop();
            break;
        }
    }
    format!("{}…", out.trim_end())
}

/// The WinAnsiEncoding code of `c`, or `?` when it has none.
pub fn win_ansi(c: char) -> u8 {
    let code = u32::from(c);
    match code {
        0x20..=0x7E | 0xA0..=0xFF => u8::try_from(code).unwrap_or(b'?'),
        // Tabs and other whitespace read as a space.
        0x09 | 0x0A | 0x0D => b' ',
        _ => match c {
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201C}' => 0x93,
            '\u{201D}' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            '\u{2212}' => b'-',
            _ => b'?',
        },
    }
}

/// A string as a PDF hex string body in WinAnsiEncoding: no escaping pitfalls.
fn hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        let _ = write!(out, "{:02X}", win_ansi(c));
    }
    out
}

/// Document metadata strings are text strings (§7.9.2.2): UTF-16BE with a BOM.
fn utf16_hex(text: &str) -> String {
    let mut out = String::from("FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out
}

/// A URI as a literal string: ASCII only, with `(`, `)` and `\` escaped.
fn literal_ascii(text: &str) -> String {
    let mut out = String::from("(");
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{byte:02X}");
                }
            }
        }
    }
    out.push(')');
    out
}

/// A number as PDF writes it: at most two decimals, no exponent.
fn num(value: f32) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".into()
    } else {
        text.to_string()
    }
}

/// Helvetica glyph widths (1/1000 em) for WinAnsi codes 32–255, from Adobe's AFM
/// (codes without a glyph, such as 0x81, take the bullet's 350 as viewers do).
#[rustfmt::skip]
static HELVETICA: [u16; 224] = [
    // 32: space ! " # $ % & ' ( ) * + , - . /
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    // 48: 0-9 : ; < = > ?
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    // 64: @ A-O
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    // 80: P-Z [ \ ] ^ _
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    // 96: ` a-o
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    // 112: p-z { | } ~ DEL
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350,
    // 128: € _ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ _ Ž _
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    // 144: _ ‘ ’ “ ” • – — ˜ ™ š › œ _ ž Ÿ
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667,
    // 160: nbsp ¡ ¢ £ ¤ ¥ ¦ § ¨ © ª « ¬ shy ® ¯
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // 176: ° ± ² ³ ´ µ ¶ · ¸ ¹ º » ¼ ½ ¾ ¿
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // 192: À Á Â Ã Ä Å Æ Ç È É Ê Ë Ì Í Î Ï
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // 208: Ð Ñ Ò Ó Ô Õ Ö × Ø Ù Ú Û Ü Ý Þ ß
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // 224: à á â ã ä å æ ç è é ê ë ì í î ï
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    // 240: ð ñ ò ó ô õ ö ÷ ø ù ú û ü ý þ ÿ
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// Helvetica-Bold glyph widths for WinAnsi codes 32–255, from Adobe's AFM.
#[rustfmt::skip]
static HELVETICA_BOLD: [u16; 224] = [
    // 32: space ! " # $ % & ' ( ) * + , - . /
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    // 48: 0-9 : ; < = > ?
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    // 64: @ A-O
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    // 80: P-Z [ \ ] ^ _
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    // 96: ` a-o
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    // 112: p-z { | } ~ DEL
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350,
    // 128: € _ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ _ Ž _
    556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    // 144: _ ‘ ’ “ ” • – — ˜ ™ š › œ _ ž Ÿ
    350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667,
    // 160: nbsp ¡ ¢ £ ¤ ¥ ¦ § ¨ © ª « ¬ shy ® ¯
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // 176: ° ± ² ³ ´ µ ¶ · ¸ ¹ º » ¼ ½ ¾ ¿
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // 192: À Á Â Ã Ä Å Æ Ç È É Ê Ë Ì Í Î Ï
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // 208: Ð Ñ Ò Ó Ô Õ Ö × Ø Ù Ú Û Ü Ý Þ ß
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // 224: à á â ã ä å æ ç è é ê ë ì í î ï
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    // 240: ð ñ ò ó ô õ ö ÷ ø ù ú û ü ý þ ÿ
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_latin_and_replaces_what_win_ansi_lacks() {
        assert_eq!(win_ansi('A'), b'A');
        assert_eq!(win_ansi('é'), 0xE9);
        assert_eq!(win_ansi('ñ'), 0xF1);
        assert_eq!(win_ansi('ü'), 0xFC);
        assert_eq!(win_ansi('€'), 0x80);
        assert_eq!(win_ansi('—'), 0x97);
        assert_eq!(win_ansi('東'), b'?');
        assert_eq!(win_ansi('😀'), b'?');
        assert_eq!(hex("é東"), "E93F");
    }

    #[test]
    fn measures_with_the_afm_widths() {
        // "Total" in Helvetica: T 611 + o 556 + t 278 + a 556 + l 222 = 2223.
        assert!((Font::Regular.width("Total", 10.0) - 22.23).abs() < 0.001);
        // Digits are all 556 wide in both fonts, so amounts line up.
        assert_eq!(
            Font::Bold.width("1,234.50", 10.0),
            Font::Regular.width("1,234.50", 10.0)
        );
    }

    #[test]
    fn wraps_words_and_splits_long_ones() {
        let lines = wrap("one two three", Font::Regular, 10.0, 40.0);
        assert_eq!(lines, vec!["one two", "three"]);
        let url = "https://example.com/".repeat(5);
        for line in wrap(&url, Font::Regular, 10.0, 100.0) {
            assert!(Font::Regular.width(&line, 10.0) <= 100.0);
        }
        assert_eq!(wrap("a\nb", Font::Regular, 10.0, 100.0), vec!["a", "b"]);
    }

    #[test]
    fn writes_a_well_formed_file() {
        let mut page = Page::default();
        page.text(72.0, 700.0, Font::Bold, 12.0, BLACK, "Hello (world) \\ 東");
        page.link([0.0, 0.0, 10.0, 10.0], "https://x.test/a?b=(c)");
        let pdf = write(Paper::A4, "Test é", &[page], &[]);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.contains("/MediaBox [0 0 595 842]"));
        assert!(text.ends_with("%%EOF\n"));
        // The xref offset points at the table.
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pdf[start..].starts_with(b"xref"));
        assert_eq!(num(612.0), "612");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(-0.001), "0");
    }
}
