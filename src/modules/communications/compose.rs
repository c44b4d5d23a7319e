//! Compose one email as plain text and HTML from the same calls, so the two bodies
//! never say different things. The HTML is the account's branding around the
//! content: its logo (an inline image, `cid:logo`, that the sender attaches) or its
//! name, its accent colour on the header and buttons, and its contact details in the
//! footer. Everything a user typed is HTML-escaped here and nowhere else.
//!
//! The HTML is table-based with inline styles: that is what email clients render
//! alike (many ignore `<style>` and most of CSS layout).

use std::fmt::Write as _;

use crate::modules::accounts::model::Settings;

/// The Content-ID of the inline logo the HTML refers to as `cid:logo`.
pub const LOGO_CID: &str = "logo";

/// A composed email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Escape text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped, with line breaks kept.
fn escape_lines(text: &str) -> String {
    escape(text).replace("\r\n", "\n").replace('\n', "<br>")
}

/// Only http(s) links become buttons: anything else (`javascript:`) is printed, not
/// linked.
fn safe_href(url: &str) -> Option<String> {
    (url.starts_with("https://") || url.starts_with("http://")).then(|| escape(url))
}

/// A `#RRGGBB` colour, or the default accent when the stored one is malformed (the
/// database checks it; this keeps a bad value out of a `style` attribute anyway).
fn accent(settings: &Settings) -> &str {
    let color = settings.brand_color.as_str();
    let hex = color.strip_prefix('#').unwrap_or_default();
    if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        color
    } else {
        "#2F6F4E"
    }
}

/// One row of a document's line table.
pub struct Line<'a> {
    pub name: &'a str,
    pub optional: bool,
    pub quantity: String,
    pub unit_price: String,
    pub total: String,
    pub description: Option<&'a str>,
}

/// Builds the two bodies side by side.
pub struct Composer<'a> {
    settings: &'a Settings,
    text: String,
    html: String,
}

const P: &str = "margin:0 0 16px 0;";
const MUTED: &str = "color:#5f6368;";
const CELL: &str = "padding:6px 0;border-bottom:1px solid #e8eaed;vertical-align:top;";

impl<'a> Composer<'a> {
    pub fn new(settings: &'a Settings) -> Self {
        Self {
            settings,
            text: String::new(),
            html: String::new(),
        }
    }

    /// `Hello {name},`
    pub fn greet(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.text, "Hello {name},\n\n");
        let _ = write!(self.html, r#"<p style="{P}">Hello {},</p>"#, escape(name));
        self
    }

    /// A paragraph (line breaks kept).
    pub fn paragraph(&mut self, text: &str) -> &mut Self {
        let _ = write!(self.text, "{text}\n\n");
        let _ = write!(self.html, r#"<p style="{P}">{}</p>"#, escape_lines(text));
        self
    }

    /// A block of short facts, one per line, the first one bold: `Quote Q-1: Spring
    /// cleanup`, `Valid until 2026-07-01`.
    pub fn facts<S: AsRef<str>>(&mut self, lines: &[S]) -> &mut Self {
        if lines.is_empty() {
            return self;
        }
        let mut html = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let line = line.as_ref();
            let _ = writeln!(self.text, "{line}");
            html.push(if i == 0 {
                format!("<strong>{}</strong>", escape(line))
            } else {
                escape(line)
            });
        }
        self.text.push('\n');
        let _ = write!(self.html, r#"<p style="{P}">{}</p>"#, html.join("<br>"));
        self
    }

    /// A document's lines, then its totals (`(label, amount)`, the last one bold),
    /// then notes printed small under them.
    pub fn lines_and_totals<'l>(
        &mut self,
        lines: impl IntoIterator<Item = Line<'l>>,
        totals: &[(String, String)],
        notes: &[String],
    ) -> &mut Self {
        self.html.push_str(
            r#"<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:0 0 16px 0;font-size:14px;">"#,
        );
        let _ = write!(
            self.html,
            r#"<tr><th align="left" style="{CELL}{MUTED}font-weight:normal;">Item</th><th align="right" style="{CELL}{MUTED}font-weight:normal;">Qty</th><th align="right" style="{CELL}{MUTED}font-weight:normal;">Price</th><th align="right" style="{CELL}{MUTED}font-weight:normal;">Total</th></tr>"#
        );
        for line in lines {
            let optional = if line.optional { " (optional)" } else { "" };
            let _ = writeln!(
                self.text,
                "  {}{optional}: {} x {} = {}",
                line.name, line.quantity, line.unit_price, line.total
            );
            if let Some(description) = line.description {
                let _ = writeln!(self.text, "    {description}");
            }
            let description = line.description.map_or_else(String::new, |d| {
                format!(
                    r#"<br><span style="{MUTED}font-size:13px;">{}</span>"#,
                    escape_lines(d)
                )
            });
            let optional = if line.optional {
                format!(r#" <em style="{MUTED}">(optional)</em>"#)
            } else {
                String::new()
            };
            let _ = write!(
                self.html,
                r#"<tr><td style="{CELL}">{}{optional}{description}</td><td align="right" style="{CELL}white-space:nowrap;">{}</td><td align="right" style="{CELL}white-space:nowrap;">{}</td><td align="right" style="{CELL}white-space:nowrap;">{}</td></tr>"#,
                escape(line.name),
                escape(&line.quantity),
                escape(&line.unit_price),
                escape(&line.total),
            );
        }
        self.text.push('\n');
        for (i, (label, value)) in totals.iter().enumerate() {
            let _ = writeln!(self.text, "{label}: {value}");
            let bold = if i + 1 == totals.len() {
                "font-weight:bold;font-size:15px;"
            } else {
                ""
            };
            let _ = write!(
                self.html,
                r#"<tr><td colspan="3" align="right" style="padding:4px 12px 4px 0;{bold}">{}</td><td align="right" style="padding:4px 0;white-space:nowrap;{bold}">{}</td></tr>"#,
                escape(label),
                escape(value),
            );
        }
        self.html.push_str("</table>");
        for note in notes {
            let _ = writeln!(self.text, "{note}");
            let _ = write!(
                self.html,
                r#"<p style="{P}{MUTED}font-size:13px;">{}</p>"#,
                escape(note)
            );
        }
        self.text.push('\n');
        self
    }

    /// A call to action: a button in HTML, `{intro}: {url}` in text. The address is
    /// also printed under the button for clients whose email hides buttons.
    pub fn action(&mut self, intro: &str, label: &str, url: &str) -> &mut Self {
        self.linked(intro, url, |href, color| {
            format!(
                r#"<p style="margin:8px 0 8px 0;"><a href="{href}" style="display:inline-block;background:{color};color:#ffffff;text-decoration:none;font-weight:bold;padding:12px 22px;border-radius:4px;">{}</a></p><p style="{P}{MUTED}font-size:12px;word-break:break-all;">{}: <a href="{href}" style="color:{color};">{}</a></p>"#,
                escape(label),
                escape(intro),
                escape(url),
            )
        })
    }

    /// A quieter link than [`Self::action`]: a sentence and the address, linked.
    pub fn link(&mut self, intro: &str, label: &str, url: &str) -> &mut Self {
        self.linked(intro, url, |href, color| {
            format!(
                r#"<p style="{P}">{}: <a href="{href}" style="color:{color};">{}</a></p>"#,
                escape(intro),
                escape(label),
            )
        })
    }

    /// `{intro}: {url}` in text; in HTML what `html` makes of the escaped address and
    /// the accent colour, or the plain sentence when the address is not a web link.
    fn linked(
        &mut self,
        intro: &str,
        url: &str,
        html: impl FnOnce(&str, &str) -> String,
    ) -> &mut Self {
        let _ = write!(self.text, "{intro}: {url}\n\n");
        let paragraph = match safe_href(url) {
            Some(href) => html(&href, accent(self.settings)),
            None => format!(r#"<p style="{P}">{}: {}</p>"#, escape(intro), escape(url)),
        };
        self.html.push_str(&paragraph);
        self
    }

    /// The sign-off: the business's name, then its phone, email and website.
    pub fn sign(&mut self) -> &mut Self {
        let _ = writeln!(self.text, "{}", self.settings.business_name);
        let contact = contact(self.settings);
        if !contact.is_empty() {
            let _ = writeln!(self.text, "{}", contact.join(" | "));
        }
        let _ = write!(
            self.html,
            r#"<p style="{P}">{}</p>"#,
            escape(&self.settings.business_name)
        );
        self
    }

    /// Wrap the HTML in the branded layout.
    pub fn finish(&self, subject: String) -> Rendered {
        let settings = self.settings;
        let color = accent(settings);
        let name = escape(&settings.business_name);
        let header = if settings.logo_key.is_some() {
            format!(
                r#"<img src="cid:{LOGO_CID}" alt="{name}" style="display:block;max-height:64px;max-width:240px;border:0;">"#
            )
        } else {
            format!(r#"<span style="font-size:20px;font-weight:bold;color:{color};">{name}</span>"#)
        };
        let mut footer = vec![format!("<strong>{name}</strong>")];
        if !settings.address.is_empty() {
            footer.push(escape(&settings.address.one_line()));
        }
        let contact: Vec<String> = contact(settings).iter().map(|c| escape(c)).collect();
        if !contact.is_empty() {
            footer.push(contact.join(" &middot; "));
        }
        let html = format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="margin:0;padding:0;background:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7;"><tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="width:100%;max-width:600px;background:#ffffff;border-radius:6px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#202124;">
<tr><td style="border-top:4px solid {color};border-radius:6px 6px 0 0;padding:20px 28px 8px 28px;">{header}</td></tr>
<tr><td style="padding:12px 28px 8px 28px;">{body}</td></tr>
<tr><td style="padding:16px 28px;background:#fafafa;border-radius:0 0 6px 6px;font-size:12px;line-height:1.6;{MUTED}">{footer}</td></tr>
</table>
</td></tr></table>
</body></html>
"#,
            title = escape(&subject),
            body = self.html,
            footer = footer.join("<br>"),
        );
        Rendered {
            subject,
            text: self.text.clone(),
            html,
        }
    }
}

/// The business's phone, email and website, those it has.
fn contact(settings: &Settings) -> Vec<&str> {
    [
        settings.phone.as_deref(),
        settings.email.as_deref(),
        settings.website.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<b>"Tom" & 'Jerry'</b>"#),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
        assert_eq!(escape_lines("a\r\nb\nc"), "a<br>b<br>c");
    }

    #[test]
    fn only_http_links_are_linked() {
        assert!(safe_href("javascript:alert(1)").is_none());
        assert_eq!(
            safe_href("https://x.test/a?b=1&c=2").as_deref(),
            Some("https://x.test/a?b=1&amp;c=2")
        );
    }
}
