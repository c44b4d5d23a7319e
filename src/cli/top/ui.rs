//! `jobber top`'s screen: [`App`], what is known and what the user chose, and
//! [`render`], which draws it. No I/O here: tests draw it on ratatui's `TestBackend`.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, Clear, Gauge, Paragraph, Row, Sparkline, Table, TableState, Wrap,
};

use crate::platform::status::{CacheStatus, QueueStatus, Sample, Status};

/// Whether the instance answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// No answer yet.
    Connecting,
    /// The last request answered, at this time.
    Live { at: DateTime<Utc> },
    /// The requests fail since `since`; `refused` when the token was refused.
    Down {
        since: DateTime<Utc>,
        attempts: u32,
        error: String,
        refused: bool,
    },
}

/// The queue table's sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    Depth,
    Running,
    Failed,
    Dead,
    Throughput,
}

impl Sort {
    const ALL: [Sort; 6] = [
        Sort::Name,
        Sort::Depth,
        Sort::Running,
        Sort::Failed,
        Sort::Dead,
        Sort::Throughput,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Sort::Name => "queue",
            Sort::Depth => "depth",
            Sort::Running => "running",
            Sort::Failed => "failed",
            Sort::Dead => "dead",
            Sort::Throughput => "done/min",
        }
    }

    fn next(self) -> Sort {
        let at = Sort::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Sort::ALL[(at + 1) % Sort::ALL.len()]
    }
}

pub struct App {
    /// The admin listener's base URL.
    pub url: String,
    pub link: Link,
    /// The last status received (kept while the link is down, but not shown).
    pub status: Option<Status>,
    /// The selected row of the queue table, in its sorted order.
    pub selected: usize,
    pub sort: Sort,
    /// Largest first (the default), else smallest first.
    pub descending: bool,
    pub help: bool,
    pub quit: bool,
}

impl App {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            link: Link::Connecting,
            status: None,
            selected: 0,
            sort: Sort::Depth,
            descending: true,
            help: false,
            quit: false,
        }
    }

    pub fn on_status(&mut self, status: Status, at: DateTime<Utc>) {
        let selected = self.selected_queue().map(|q| q.name.clone());
        self.status = Some(status);
        self.link = Link::Live { at };
        self.follow(selected);
    }

    pub fn on_error(&mut self, error: String, refused: bool, at: DateTime<Utc>) {
        self.link = match &self.link {
            Link::Down {
                since, attempts, ..
            } => Link::Down {
                since: *since,
                attempts: attempts + 1,
                error,
                refused,
            },
            _ => Link::Down {
                since: at,
                attempts: 1,
                error,
                refused,
            },
        };
    }

    pub fn on_key(&mut self, key: KeyCode) {
        let rows = self.queues().len();
        match key {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Esc if self.help => self.help = false,
            KeyCode::Esc => self.quit = true,
            KeyCode::Char('?') | KeyCode::F(1) => self.help = !self.help,
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(rows.saturating_sub(1));
            }
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = rows.saturating_sub(1),
            KeyCode::Char('s') => {
                let selected = self.selected_queue().map(|q| q.name.clone());
                self.sort = self.sort.next();
                // Names read best A to Z; counts largest first.
                self.descending = self.sort != Sort::Name;
                self.follow(selected);
            }
            KeyCode::Char('r') => {
                let selected = self.selected_queue().map(|q| q.name.clone());
                self.descending = !self.descending;
                self.follow(selected);
            }
            _ => {}
        }
    }

    /// Keep the selection on the queue it was on.
    fn follow(&mut self, name: Option<String>) {
        let (found, len) = {
            let queues = self.queues();
            (
                name.and_then(|n| queues.iter().position(|q| q.name == n)),
                queues.len(),
            )
        };
        if let Some(at) = found {
            self.selected = at;
        }
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    /// The queues in the table's order.
    pub fn queues(&self) -> Vec<&QueueStatus> {
        let Some(status) = &self.status else {
            return Vec::new();
        };
        let mut queues: Vec<&QueueStatus> = status.queues.iter().collect();
        queues.sort_by(|a, b| {
            let order = match self.sort {
                Sort::Name => a.name.cmp(&b.name),
                Sort::Depth => a.depth.cmp(&b.depth),
                Sort::Running => a.running.cmp(&b.running),
                Sort::Failed => a.failed_total.cmp(&b.failed_total),
                Sort::Dead => a.dead.cmp(&b.dead),
                Sort::Throughput => a.completed_per_minute.total_cmp(&b.completed_per_minute),
            };
            let order = if self.descending {
                order.reverse()
            } else {
                order
            };
            order.then_with(|| a.name.cmp(&b.name))
        });
        queues
    }

    pub fn selected_queue(&self) -> Option<&QueueStatus> {
        self.queues().get(self.selected).copied()
    }
}

/// Draw the whole screen.
pub fn render(frame: &mut Frame, app: &App) {
    let area = frame.area();
    match (&app.link, &app.status) {
        (Link::Down { .. }, _) => render_down(frame, area, app),
        (_, Some(status)) => render_dashboard(frame, area, app, status),
        (_, None) => render_connecting(frame, area, app),
    }
    if app.help {
        render_help(frame, area);
    }
}

const ACCENT: Color = Color::Cyan;

fn render_connecting(frame: &mut Frame, area: Rect, app: &App) {
    let text = vec![
        Line::from("jobber top".bold()),
        Line::from(""),
        Line::from(format!("connecting to {} …", app.url)),
        Line::from(""),
        Line::from("q quit · ? help".dark_gray()),
    ];
    let box_area = centered(area, 60, 7);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .block(Block::bordered()),
        box_area,
    );
}

fn render_down(frame: &mut Frame, area: Rect, app: &App) {
    let Link::Down {
        since,
        attempts,
        error,
        refused,
    } = &app.link
    else {
        return;
    };
    let headline = if *refused {
        "ADMIN TOKEN REFUSED — retrying"
    } else {
        "UNREACHABLE — retrying"
    };
    let mut text = vec![
        Line::from(Span::styled(
            headline,
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
        Line::from(format!("{}/status", app.url)),
        Line::from(format!("error: {error}")),
        Line::from(format!(
            "down since {} · {attempts} failed {} · retrying every second",
            since.format("%H:%M:%S UTC"),
            if *attempts == 1 {
                "attempt"
            } else {
                "attempts"
            },
        )),
    ];
    if *refused {
        text.push(Line::from(
            "pass --token, or --data-dir of that instance (its admin.token)",
        ));
    }
    text.push(Line::from(""));
    text.push(Line::from("q quit · ? help".dark_gray()));
    let height = u16::try_from(text.len()).unwrap_or(u16::MAX) + 2;
    let box_area = centered(area, 76, height);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .block(
                Block::bordered()
                    .title(" jobber top ")
                    .border_style(Style::new().fg(Color::Red)),
            ),
        box_area,
    );
}

fn render_dashboard(frame: &mut Frame, area: Rect, app: &App, status: &Status) {
    let tall = area.height >= 34;
    let spark_height = if tall { 9 } else { 5 };
    let [title, sparks, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(spark_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    render_title(frame, title, app, status);
    render_sparks(frame, sparks, status);
    let side = if area.width >= 110 { 42 } else { 31 };
    let [queues, right] =
        Layout::horizontal([Constraint::Min(30), Constraint::Length(side)]).areas(body);
    render_queues(frame, queues, app);
    // Room for a line per cache on a tall screen; else one summary line.
    let cache_lines = if tall {
        u16::try_from(status.caches.len().clamp(1, 8)).unwrap_or(1)
    } else {
        1
    };
    let [now, pool, caches, business] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(3),
        Constraint::Length(cache_lines + 2),
        Constraint::Min(3),
    ])
    .areas(right);
    render_now(frame, now, status);
    render_pool(frame, pool, status);
    render_caches(frame, caches, status);
    render_business(frame, business, status);
    render_footer(frame, footer, status);
}

fn render_title(frame: &mut Frame, area: Rect, app: &App, status: &Status) {
    let updated = match &app.link {
        Link::Live { at } => at.format("%H:%M:%S").to_string(),
        _ => String::new(),
    };
    let line = Line::from(vec![
        Span::styled(" jobber top ", Style::new().fg(Color::Black).bg(ACCENT)),
        Span::raw(format!(
            " {} · v{} · role {} · up {} · {}",
            app.url,
            status.version,
            status.role,
            uptime(status.uptime_seconds),
            updated
        )),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn render_sparks(frame: &mut Frame, area: Rect, status: &Status) {
    let [requests, latency, errors] = Layout::horizontal([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ])
    .areas(area);
    let http = &status.http;
    spark(
        frame,
        requests,
        "Requests/s",
        format!(
            "{}/s · {} total",
            rate(http.requests_per_second),
            http.requests_total
        ),
        &status.samples,
        |s| per_second(s.requests, s),
        Color::Green,
    );
    spark(
        frame,
        latency,
        "Latency ms",
        format!(
            "p50 {} p95 {} p99 {}",
            millis(http.latency_ms.p50),
            millis(http.latency_ms.p95),
            millis(http.latency_ms.p99)
        ),
        &status.samples,
        |s| s.p95_ms.map_or(0, |ms| (ms * 1000.0) as u64),
        Color::Yellow,
    );
    let error_color = if http.server_error_ratio > 0.01 {
        Color::Red
    } else {
        Color::Magenta
    };
    spark(
        frame,
        errors,
        "Errors",
        format!(
            "4xx {} 5xx {}",
            percent(http.client_error_ratio),
            percent(http.server_error_ratio)
        ),
        &status.samples,
        |s| per_second(s.client_errors + s.server_errors, s),
        error_color,
    );
}

fn spark(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    figures: String,
    samples: &[Sample],
    value: fn(&Sample) -> u64,
    color: Color,
) {
    let block = Block::bordered().title(format!(" {title} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [text, chart] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(figures.bold()), text);
    // The newest samples that fit, right-aligned: the present is on the right.
    let width = usize::from(chart.width);
    let data: Vec<u64> = samples
        .iter()
        .skip(samples.len().saturating_sub(width))
        .map(value)
        .collect();
    let max = data.iter().copied().max().unwrap_or(0).max(1);
    let offset = u16::try_from(width.saturating_sub(data.len())).unwrap_or(0);
    let chart = Rect {
        x: chart.x + offset,
        width: chart.width.saturating_sub(offset),
        ..chart
    };
    frame.render_widget(
        Sparkline::default()
            .data(data)
            .max(max)
            .style(Style::new().fg(color)),
        chart,
    );
}

/// A sample's count as a rate: a late sample (a busy machine) covers more than a
/// second and would otherwise show as a spike.
fn per_second(count: u64, sample: &Sample) -> u64 {
    if sample.seconds > 0.0 {
        (count as f64 / sample.seconds).round() as u64
    } else {
        count
    }
}

fn render_queues(frame: &mut Frame, area: Rect, app: &App) {
    let arrow = if app.descending { "▼" } else { "▲" };
    // The sorted column's header is highlighted; the title says which and which way.
    let header_cell = |sort: Sort, text: &'static str| {
        let cell = Cell::from(text);
        if app.sort == sort {
            cell.style(Style::new().fg(ACCENT).bold())
        } else {
            cell
        }
    };
    let header = Row::new(vec![
        header_cell(Sort::Name, "queue"),
        header_cell(Sort::Depth, "depth"),
        header_cell(Sort::Running, "run"),
        header_cell(Sort::Failed, "fail"),
        header_cell(Sort::Dead, "dead"),
        header_cell(Sort::Throughput, "done/m"),
    ])
    .style(Style::new().add_modifier(Modifier::UNDERLINED));
    let queues = app.queues();
    let rows: Vec<Row> = queues
        .iter()
        .map(|q| {
            let dead = Cell::from(q.dead.to_string()).style(if q.dead > 0 {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            });
            Row::new(vec![
                Cell::from(q.name.clone()),
                Cell::from(q.depth.to_string()),
                Cell::from(q.running.to_string()),
                Cell::from(q.failed_total.to_string()),
                dead,
                Cell::from(rate(q.completed_per_minute)),
            ])
        })
        .collect();
    let title = format!(
        " Queues ({}) · sort: {} {arrow} ",
        queues.len(),
        app.sort.label()
    );
    let table = Table::new(
        rows,
        [
            Constraint::Min(12),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Length(4),
            Constraint::Length(4),
            Constraint::Length(6),
        ],
    )
    .header(header)
    .column_spacing(1)
    .block(Block::bordered().title(title))
    .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
    .highlight_symbol("▶");
    let mut state = TableState::default().with_selected(Some(app.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn render_now(frame: &mut Frame, area: Rect, status: &Status) {
    let outbox = status
        .outbox_pending
        .map_or_else(|| "?".to_owned(), |n| n.to_string());
    let text = vec![
        Line::from(vec![
            "In flight ".into(),
            status.http.in_flight.to_string().bold(),
            "   WebSocket ".into(),
            status.websocket.connections.to_string().bold(),
        ]),
        Line::from(vec!["Outbox ".into(), outbox.bold()]),
    ];
    frame.render_widget(
        Paragraph::new(text).block(Block::bordered().title(" Now ")),
        area,
    );
}

fn render_pool(frame: &mut Frame, area: Rect, status: &Status) {
    let pool = &status.database.pool;
    let block = Block::bordered().title(" DB pool ");
    if !status.database.reachable {
        frame.render_widget(
            Paragraph::new("database unreachable".red().bold()).block(block),
            area,
        );
        return;
    }
    let ratio = if pool.max > 0 {
        (f64::from(pool.in_use) / f64::from(pool.max)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let color = if ratio > 0.8 {
        Color::Red
    } else if ratio > 0.5 {
        Color::Yellow
    } else {
        Color::Green
    };
    frame.render_widget(
        Gauge::default()
            .block(block)
            .ratio(ratio)
            .gauge_style(Style::new().fg(color).bg(Color::DarkGray))
            .label(format!(
                "{}/{} used · {} idle · {} wait",
                pool.in_use, pool.max, pool.idle, pool.waiting
            )),
        area,
    );
}

fn render_caches(frame: &mut Frame, area: Rect, status: &Status) {
    let room = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line> = if status.caches.is_empty() {
        vec![Line::from("none in this build".dark_gray())]
    } else if status.caches.len() <= room {
        status
            .caches
            .iter()
            .map(|c| {
                Line::from(format!(
                    "{} {}",
                    c.name,
                    c.hit_ratio.map_or_else(|| "–".to_owned(), percent)
                ))
            })
            .collect()
    } else {
        vec![cache_summary(&status.caches)]
    };
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Cache hits ")),
        area,
    );
}

/// All caches in one line: the hit ratio over every look-up, and the cache that hits
/// least (the one to look at), in whole percents to fit a narrow column.
fn cache_summary(caches: &[CacheStatus]) -> Line<'static> {
    let hits: u64 = caches.iter().map(|c| c.hits).sum();
    let looked_up: u64 = caches.iter().map(|c| c.hits + c.misses).sum();
    if looked_up == 0 {
        return Line::from("no look-ups yet".dark_gray());
    }
    let whole = |ratio: f64| format!("{:.0}%", ratio * 100.0);
    let overall = whole(hits as f64 / looked_up as f64);
    let lowest = caches
        .iter()
        .filter_map(|c| c.hit_ratio.map(|ratio| (ratio, c.name.as_str())))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    match lowest {
        Some((ratio, name)) => Line::from(format!("all {overall} · low {name} {}", whole(ratio))),
        None => Line::from(format!("all {overall}")),
    }
}

fn render_business(frame: &mut Frame, area: Rect, status: &Status) {
    let block = Block::bordered().title(" Today ");
    let Some(today) = &status.business_today else {
        frame.render_widget(
            Paragraph::new("not available".dark_gray()).block(block),
            area,
        );
        return;
    };
    // Label on the left, value on the right edge of the box.
    let width = usize::from(area.width.saturating_sub(2));
    let figure = |label: &str, value: String| {
        let room = width
            .saturating_sub(label.chars().count() + 1)
            .max(value.chars().count());
        Line::from(vec![
            format!("{label} ").into(),
            format!("{value:>room$}").bold(),
        ])
    };
    let mut lines = vec![
        figure("Visits completed", today.visits_completed.to_string()),
        figure("Invoices sent", today.invoices_sent.to_string()),
    ];
    if today.payments_collected.is_empty() {
        lines.push(figure("Payments", "0".to_owned()));
    }
    for collected in &today.payments_collected {
        let exponent = crate::domain::Currency::parse(&collected.currency)
            .map_or(2, |c| c.minor_unit_exponent());
        lines.push(figure(
            "Payments",
            format!(
                "{} {} ({})",
                collected.currency,
                crate::money::format_minor(collected.amount_minor, exponent),
                collected.payments
            ),
        ));
    }
    lines.push(figure("Active users", today.active_users.to_string()));
    lines.push(Line::from(
        format!(
            "{} {}, their local day",
            today.accounts,
            if today.accounts == 1 {
                "account"
            } else {
                "accounts"
            }
        )
        .dark_gray(),
    ));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_footer(frame: &mut Frame, area: Rect, status: &Status) {
    let line = match status.errors.first() {
        Some(error) => Line::from(error.clone().red()),
        None => Line::from(" ↑↓ select · s sort · r reverse · ? help · q quit".dark_gray()),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn render_help(frame: &mut Frame, area: Rect) {
    let key =
        |k: &str, what: &'static str| Line::from(vec![format!("  {k:<10}").bold(), what.into()]);
    let text = vec![
        Line::from(""),
        key("↑ ↓  k j", "select a queue"),
        key("Home End", "first, last queue"),
        key("s", "sort by the next column"),
        key("r", "reverse the order"),
        key("?", "show or hide this help"),
        key("q  Esc", "quit (Esc first closes this help)"),
        Line::from(""),
        Line::from("  Refreshes every second from GET /status on the admin"),
        Line::from("  listener. Rates and latencies: the last 10 seconds;"),
        Line::from("  sparklines: one bar a second (latency: p95)."),
        Line::from("  depth = pending + scheduled;"),
        Line::from("  fail and done/m: this process. Today: every account's"),
        Line::from("  own local day."),
    ];
    let height = u16::try_from(text.len()).unwrap_or(u16::MAX) + 2;
    let box_area = centered(area, 64, height);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(text).block(
            Block::bordered()
                .title(" Help ")
                .border_style(Style::new().fg(ACCENT)),
        ),
        box_area,
    );
}

/// A `width` × `height` box in the middle of `area`, no bigger than it.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn uptime(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else {
        format!("{minutes}m {:02}s", seconds % 60)
    }
}

fn rate(value: f64) -> String {
    if value >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn millis(value: Option<f64>) -> String {
    match value {
        None => "–".to_owned(),
        Some(ms) if ms >= 100.0 => format!("{ms:.0}"),
        Some(ms) if ms >= 10.0 => format!("{ms:.0}"),
        Some(ms) => format!("{ms:.1}"),
    }
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}
