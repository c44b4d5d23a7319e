//! The look of a quote or invoice: a pure function from [`Document`] (everything
//! printed, already formatted) to PDF bytes. No database, no I/O: unit-testable.
//!
//! Layout: business block and the document's name, number and dates; bill-to and
//! service address; title; the lines table (its header repeated on every page);
//! totals; terms, message and the client-hub link; a footer with page numbers.

use super::pdf::{self, BLACK, Font, Page, Paper, Rgb};

/// Everything a document shows, as text ready to print (amounts formatted).
#[derive(Debug, Clone)]
pub struct Document {
    pub paper: Paper,
    /// `INVOICE` or `QUOTE`.
    pub heading: String,
    pub business_name: String,
    /// The business's logo, drawn above its name.
    pub logo: Option<pdf::Image>,
    /// Street, city lines, then phone, email, website.
    pub business_lines: Vec<String>,
    /// `("Invoice #", "INV-12")`, `("Issued", "2026-01-05")`, …
    pub facts: Vec<(String, String)>,
    pub bill_to: Block,
    pub service_address: Option<Block>,
    pub title: String,
    pub lines: Vec<Line>,
    pub totals: Vec<Total>,
    /// Terms, deposit notes and the like, one per line under the totals.
    pub notes: Vec<String>,
    pub message: Option<String>,
    /// The client-hub link and the words to show on it.
    pub link: Option<(String, String)>,
    /// Shown in the footer of every page.
    pub footer: String,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub label: String,
    pub name: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub name: String,
    pub description: Option<String>,
    /// `(optional)`, `(optional, not selected)`…
    pub note: Option<String>,
    /// Greyed: an optional line the client did not choose.
    pub muted: bool,
    pub quantity: String,
    pub unit_price: String,
    pub total: String,
}

#[derive(Debug, Clone)]
pub struct Total {
    pub label: String,
    pub amount: String,
    pub strong: bool,
}

const MARGIN: f32 = 48.0;
const ACCENT: Rgb = Rgb(0.11, 0.33, 0.45);
const GREY: Rgb = Rgb(0.42, 0.45, 0.49);
const RULE: Rgb = Rgb(0.85, 0.87, 0.89);
const BAND: Rgb = Rgb(0.93, 0.95, 0.96);
const HIGHLIGHT: Rgb = Rgb(0.90, 0.94, 0.96);
const FOOTER_SPACE: f32 = 40.0;

/// Column right edges and widths of the lines table.
struct Columns {
    left: f32,
    right: f32,
    qty_right: f32,
    price_right: f32,
    description_width: f32,
}

impl Columns {
    fn new(width: f32) -> Self {
        let right = width - MARGIN;
        let price_right = right - 90.0;
        let qty_right = price_right - 90.0;
        Columns {
            left: MARGIN,
            right,
            qty_right,
            price_right,
            description_width: qty_right - 50.0 - MARGIN,
        }
    }
}

struct Writer {
    paper: Paper,
    pages: Vec<Page>,
    y: f32,
}

impl Writer {
    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn top(&self) -> f32 {
        self.paper.size().1 - MARGIN
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = self.top();
    }

    /// Start a new page unless `height` fits above the footer.
    fn ensure(&mut self, height: f32) -> bool {
        if self.y - height < MARGIN + FOOTER_SPACE {
            self.new_page();
            true
        } else {
            false
        }
    }
}

pub fn render(doc: &Document) -> Vec<u8> {
    let (width, _) = doc.paper.size();
    let columns = Columns::new(width);
    let mut w = Writer {
        paper: doc.paper,
        pages: vec![Page::default()],
        y: 0.0,
    };
    w.y = w.top();
    header(&mut w, doc, width);
    parties(&mut w, doc, width);

    // Title.
    w.ensure(40.0);
    for line in pdf::wrap(&doc.title, Font::Bold, 13.0, width - 2.0 * MARGIN) {
        w.y -= 16.0;
        let y = w.y;
        w.page().text(MARGIN, y, Font::Bold, 13.0, BLACK, &line);
    }
    w.y -= 14.0;

    table(&mut w, doc, &columns);
    totals(&mut w, doc, &columns);
    closing(&mut w, doc, width);

    let count = w.pages.len();
    for (i, page) in w.pages.iter_mut().enumerate() {
        page.line(
            MARGIN,
            MARGIN + 14.0,
            width - MARGIN,
            MARGIN + 14.0,
            0.5,
            RULE,
        );
        page.text(MARGIN, MARGIN, Font::Regular, 8.0, GREY, &doc.footer);
        page.text_right(
            width - MARGIN,
            MARGIN,
            Font::Regular,
            8.0,
            GREY,
            &format!("Page {} of {count}", i + 1),
        );
    }
    let title = format!("{} {}", doc.heading, doc.title);
    let images: Vec<pdf::Image> = doc.logo.iter().cloned().collect();
    pdf::write(doc.paper, &title, &w.pages, &images)
}

fn header(w: &mut Writer, doc: &Document, width: f32) {
    let right = width - MARGIN;
    let top = w.y;
    // Left: the business.
    let name_width = width / 2.0 - MARGIN;
    let mut y = top - 18.0;
    if let Some(logo) = &doc.logo {
        // At most 44 pt high and half the header wide, keeping its proportions.
        let (lw, lh) = (logo.width as f32, logo.height as f32);
        let scale = (44.0 / lh).min(name_width / lw);
        let (dw, dh) = (lw * scale, lh * scale);
        w.page().image(0, MARGIN, top - dh, dw, dh);
        y = top - dh - 20.0;
    }
    for line in pdf::wrap(&doc.business_name, Font::Bold, 18.0, name_width) {
        w.page().text(MARGIN, y, Font::Bold, 18.0, ACCENT, &line);
        y -= 20.0;
    }
    y += 4.0;
    for line in &doc.business_lines {
        for part in pdf::wrap(line, Font::Regular, 9.0, name_width) {
            w.page().text(MARGIN, y, Font::Regular, 9.0, GREY, &part);
            y -= 12.0;
        }
    }
    // Right: what this is, its number and dates.
    let mut ry = top - 22.0;
    w.page()
        .text_right(right, ry, Font::Bold, 24.0, ACCENT, &doc.heading);
    ry -= 22.0;
    for (label, value) in &doc.facts {
        let value_width = Font::Bold.width(value, 9.5).max(70.0);
        w.page()
            .text_right(right, ry, Font::Bold, 9.5, BLACK, value);
        w.page().text_right(
            right - value_width - 10.0,
            ry,
            Font::Regular,
            9.5,
            GREY,
            label,
        );
        ry -= 14.0;
    }
    w.y = y.min(ry) - 6.0;
    let y = w.y;
    w.page().line(MARGIN, y, right, y, 1.5, ACCENT);
    w.y -= 8.0;
}

fn parties(w: &mut Writer, doc: &Document, width: f32) {
    let column = (width - 2.0 * MARGIN) / 2.0;
    let top = w.y;
    let mut bottom = top;
    let blocks = std::iter::once(&doc.bill_to).chain(doc.service_address.as_ref());
    for (i, block) in blocks.enumerate() {
        let x = MARGIN + column * i as f32;
        let mut y = top - 14.0;
        let page = w.page();
        page.text(x, y, Font::Bold, 8.0, GREY, &block.label.to_uppercase());
        y -= 14.0;
        page.text(
            x,
            y,
            Font::Bold,
            11.0,
            BLACK,
            &pdf::fit(&block.name, Font::Bold, 11.0, column - 12.0),
        );
        for line in &block.lines {
            y -= 12.5;
            page.text(
                x,
                y,
                Font::Regular,
                9.5,
                BLACK,
                &pdf::fit(line, Font::Regular, 9.5, column - 12.0),
            );
        }
        bottom = bottom.min(y);
    }
    w.y = bottom - 18.0;
}

fn table_header(w: &mut Writer, c: &Columns) {
    w.y -= 20.0;
    let y = w.y;
    let page = w.page();
    page.fill_rect(c.left, y - 6.0, c.right - c.left, 20.0, BAND);
    let label = |page: &mut Page, x: f32, right: bool, text: &str| {
        if right {
            page.text_right(x, y, Font::Bold, 8.5, GREY, text);
        } else {
            page.text(x, y, Font::Bold, 8.5, GREY, text);
        }
    };
    label(page, c.left + 6.0, false, "DESCRIPTION");
    label(page, c.qty_right, true, "QTY");
    label(page, c.price_right, true, "UNIT PRICE");
    label(page, c.right - 6.0, true, "AMOUNT");
    w.y -= 10.0;
}

fn table(w: &mut Writer, doc: &Document, c: &Columns) {
    w.ensure(60.0);
    table_header(w, c);
    for line in &doc.lines {
        let name = match &line.note {
            Some(note) => format!("{} {note}", line.name),
            None => line.name.clone(),
        };
        let name_lines = pdf::wrap(&name, Font::Bold, 10.0, c.description_width);
        let description_lines = line
            .description
            .as_deref()
            .map(|d| pdf::wrap(d, Font::Regular, 8.5, c.description_width))
            .unwrap_or_default();
        let height = 8.0 + 13.0 * name_lines.len() as f32 + 11.0 * description_lines.len() as f32;
        if w.ensure(height + 4.0) {
            table_header(w, c);
        }
        let color = if line.muted { GREY } else { BLACK };
        let mut y = w.y - 13.0;
        let first = y;
        let page = w.page();
        for text in &name_lines {
            page.text(c.left + 6.0, y, Font::Bold, 10.0, color, text);
            y -= 13.0;
        }
        for text in &description_lines {
            y += 1.5;
            page.text(c.left + 6.0, y, Font::Regular, 8.5, GREY, text);
            y -= 11.0 - 1.5;
        }
        page.text_right(
            c.qty_right,
            first,
            Font::Regular,
            10.0,
            color,
            &line.quantity,
        );
        page.text_right(
            c.price_right,
            first,
            Font::Regular,
            10.0,
            color,
            &line.unit_price,
        );
        page.text_right(
            c.right - 6.0,
            first,
            Font::Regular,
            10.0,
            color,
            &line.total,
        );
        w.y -= height;
        let y = w.y;
        w.page().line(c.left, y, c.right, y, 0.5, RULE);
    }
}

fn totals(w: &mut Writer, doc: &Document, c: &Columns) {
    let height = 10.0 + 18.0 * doc.totals.len() as f32;
    w.ensure(height);
    w.y -= 6.0;
    let label_right = c.price_right;
    let box_left = c.qty_right - 60.0;
    for total in &doc.totals {
        w.y -= 18.0;
        let y = w.y;
        let page = w.page();
        if total.strong {
            page.fill_rect(box_left, y - 6.0, c.right - box_left, 19.0, HIGHLIGHT);
            page.text_right(label_right, y, Font::Bold, 10.5, BLACK, &total.label);
            page.text_right(c.right - 6.0, y, Font::Bold, 10.5, BLACK, &total.amount);
        } else {
            page.text_right(label_right, y, Font::Regular, 10.0, GREY, &total.label);
            page.text_right(c.right - 6.0, y, Font::Regular, 10.0, BLACK, &total.amount);
        }
    }
    w.y -= 16.0;
}

fn closing(w: &mut Writer, doc: &Document, width: f32) {
    let text_width = width - 2.0 * MARGIN;
    for note in &doc.notes {
        for line in pdf::wrap(note, Font::Regular, 9.5, text_width) {
            w.ensure(14.0);
            w.y -= 13.0;
            let y = w.y;
            w.page().text(MARGIN, y, Font::Regular, 9.5, BLACK, &line);
        }
    }
    if let Some(message) = &doc.message {
        w.ensure(40.0);
        w.y -= 20.0;
        let y = w.y;
        w.page().text(MARGIN, y, Font::Bold, 8.0, GREY, "MESSAGE");
        for line in pdf::wrap(message, Font::Regular, 9.5, text_width) {
            w.ensure(14.0);
            w.y -= 13.0;
            let y = w.y;
            w.page().text(MARGIN, y, Font::Regular, 9.5, BLACK, &line);
        }
    }
    if let Some((words, url)) = &doc.link {
        let url_lines = pdf::wrap(url, Font::Regular, 7.0, text_width);
        w.ensure(30.0 + 9.0 * url_lines.len() as f32);
        w.y -= 24.0;
        let y = w.y;
        let page = w.page();
        page.text(MARGIN, y, Font::Bold, 10.5, ACCENT, words);
        let words_width = Font::Bold.width(words, 10.5);
        page.link([MARGIN, y - 3.0, MARGIN + words_width, y + 11.0], url);
        for line in url_lines {
            w.y -= 9.0;
            let y = w.y;
            w.page().text(MARGIN, y, Font::Regular, 7.0, GREY, &line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(lines: usize) -> Document {
        Document {
            paper: Paper::Letter,
            heading: "INVOICE".into(),
            business_name: "Green Thumb".into(),
            logo: None,
            business_lines: vec!["1 Main St".into()],
            facts: vec![("Invoice #".into(), "INV-1".into())],
            bill_to: Block {
                label: "Bill to".into(),
                name: "José Núñez".into(),
                lines: vec![],
            },
            service_address: None,
            title: "Mowing".into(),
            lines: (0..lines)
                .map(|i| Line {
                    name: format!("Line {i}"),
                    description: Some("A description".into()),
                    note: None,
                    muted: false,
                    quantity: "1".into(),
                    unit_price: "$1.00".into(),
                    total: "$1.00".into(),
                })
                .collect(),
            totals: vec![Total {
                label: "Total".into(),
                amount: "$1.00".into(),
                strong: true,
            }],
            notes: vec![],
            message: Some("Thanks".into()),
            link: Some(("View online".into(), "https://x.test/hub".into())),
            footer: "Green Thumb".into(),
        }
    }

    fn page_count(pdf: &[u8]) -> usize {
        String::from_utf8_lossy(pdf).matches("/Type /Page ").count()
    }

    #[test]
    fn draws_a_logo() {
        let mut doc = sample(1);
        doc.logo = pdf::Image::parse(&crate::platform::pdf_image::tests::rgba_png(8, 4));
        assert!(doc.logo.is_some());
        let pdf = render(&doc);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/XObject << /Im0 6 0 R >>"));
        assert!(text.contains("/SMask 7 0 R"));
        assert!(text.contains("/Im0 Do"));
    }

    #[test]
    fn one_page_for_a_few_lines_several_for_many() {
        assert_eq!(page_count(&render(&sample(3))), 1);
        assert!(page_count(&render(&sample(60))) >= 2);
    }
}
