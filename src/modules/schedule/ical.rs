#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! RFC 5545 VCALENDAR writer for a subscribable (METHOD:PUBLISH) feed.
//!
//! Choices:
//! * Timed events are written as `DTSTART;TZID=<iana>:YYYYMMDDTHHMMSS` with one
//!   generated VTIMEZONE. The VTIMEZONE is built by scanning chrono-tz offsets
//!   (1-day steps, then bisection to the second) over the events' span plus the
//!   last transition before it; one STANDARD/DAYLIGHT observance (no RRULE) per
//!   UTC-offset transition. DAYLIGHT = chrono-tz reports a non-zero DST offset.
//!   If no transition precedes the span within 20 years (UTC, Asia/Tokyo, ...),
//!   a STANDARD observance with DTSTART 19700101T000000 and the span's offset
//!   is emitted first. Spans longer than 200 years are truncated.
//! * All-day events: `DTSTART;VALUE=DATE` = start date; `DTEND;VALUE=DATE` =
//!   the day after `end_local`'s date (exclusive end), except when `end_local`
//!   is exactly midnight after the start date (already exclusive). DTEND is
//!   never before DTSTART + 1 day.
//! * TEXT values (SUMMARY, DESCRIPTION, LOCATION, UID, X-WR-CALNAME) escaped per
//!   §3.3.11; CRLF/CR become `\n`; other control characters (except TAB) are
//!   dropped, as TEXT does not allow them. SEQUENCE is clamped to >= 0.
//! * Lines are folded at 75 octets (continuation lines start with one space,
//!   which counts), never inside a UTF-8 character; every line ends in CRLF.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventStatus {
    Confirmed,
    Cancelled,
    Tentative,
}

impl EventStatus {
    pub fn as_ical(self) -> &'static str {
        match self {
            EventStatus::Confirmed => "CONFIRMED",
            EventStatus::Cancelled => "CANCELLED",
            EventStatus::Tentative => "TENTATIVE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEvent {
    pub uid: String,
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    /// Wall-clock start in the calendar's zone.
    pub start_local: NaiveDateTime,
    /// Wall-clock end in the calendar's zone.
    pub end_local: NaiveDateTime,
    /// Written as `VALUE=DATE` (see module docs for DTEND).
    pub all_day: bool,
    pub status: EventStatus,
    pub last_modified: DateTime<Utc>,
    pub sequence: i32,
}

const CRLF: &str = "\r\n";
const MAX_OCTETS: usize = 75;
/// VTIMEZONE transitions are listed for at most this many years of events.
const MAX_SPAN_YEARS: i64 = 200;

/// Escape a TEXT value (RFC 5545 §3.3.11).
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Append one content line, folded at 75 octets, each physical line ending in CRLF.
pub fn push_folded(out: &mut String, line: &str) {
    let mut rest = line;
    let mut first = true;
    loop {
        let max = if first { MAX_OCTETS } else { MAX_OCTETS - 1 };
        if !first {
            out.push(' ');
        }
        if rest.len() <= max {
            out.push_str(rest);
            out.push_str(CRLF);
            return;
        }
        let mut cut = max;
        while cut > 0 && !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push_str(head);
        out.push_str(CRLF);
        rest = tail;
        first = false;
    }
}

fn fmt_local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// `+HHMM` / `-HHMM` (`±HHMMSS` when the offset has seconds).
fn fmt_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Observance {
    daylight: bool,
    /// Local time of the onset, expressed in the offset in force before it.
    dtstart: NaiveDateTime,
    from: i32,
    to: i32,
    name: String,
}

struct ZoneInfo {
    offset: i32,
    daylight: bool,
    name: String,
}

fn zone_info(tz: Tz, t: DateTime<Utc>) -> ZoneInfo {
    let off = tz.offset_from_utc_datetime(&t.naive_utc());
    let offset = off.fix().local_minus_utc();
    ZoneInfo {
        offset,
        daylight: off.dst_offset() != Duration::zero(),
        name: off
            .abbreviation()
            .map(str::to_string)
            .unwrap_or_else(|| fmt_offset(offset)),
    }
}

fn offset_secs(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// First instant in (lo, hi] whose offset differs from the offset at `lo`.
fn bisect(tz: Tz, mut lo: DateTime<Utc>, mut hi: DateTime<Utc>) -> DateTime<Utc> {
    let base = offset_secs(tz, lo);
    while hi - lo > Duration::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        if offset_secs(tz, mid) == base {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Observances covering [span_start, span_end] (see module docs).
fn observances(tz: Tz, span_start: DateTime<Utc>, span_end: DateTime<Utc>) -> Vec<Observance> {
    let day = Duration::days(1);
    // Bound the scan for absurd spans; the last observance stays in force.
    let span_end = span_start
        .checked_add_signed(Duration::days(366 * MAX_SPAN_YEARS))
        .map_or(span_end, |cap| cap.min(span_end));
    // Walk back to just before the last transition preceding span_start.
    let mut scan_from = span_start;
    let mut t = span_start;
    for _ in 0..(366 * 20) {
        let Some(prev) = t.checked_sub_signed(day) else {
            break;
        };
        if offset_secs(tz, prev) != offset_secs(tz, t) {
            scan_from = prev;
            break;
        }
        t = prev;
    }

    let mut obs = Vec::new();
    let mut t = scan_from;
    let mut cur = offset_secs(tz, t);
    while t < span_end {
        let next = match t.checked_add_signed(day) {
            Some(n) if n < span_end => n,
            _ => span_end,
        };
        let off = offset_secs(tz, next);
        if off != cur {
            let at = bisect(tz, t, next);
            let info = zone_info(tz, at);
            let Some(local) = at
                .naive_utc()
                .checked_add_signed(Duration::seconds(i64::from(cur)))
            else {
                break;
            };
            obs.push(Observance {
                daylight: info.daylight,
                dtstart: local,
                from: cur,
                to: info.offset,
                name: info.name,
            });
            cur = info.offset;
            // Continue from the transition itself: catches a second change in the same step.
            t = at;
            continue;
        }
        t = next;
    }

    let needs_base = obs.first().is_none_or(|o| {
        o.dtstart
            .checked_sub_signed(Duration::seconds(i64::from(o.from)))
            .is_none_or(|at| at > span_start.naive_utc())
    });
    if needs_base {
        let info = zone_info(tz, span_start);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)
            .map(|d| d.and_time(NaiveTime::MIN))
            .unwrap_or_default();
        obs.insert(
            0,
            Observance {
                daylight: false,
                dtstart: epoch,
                from: info.offset,
                to: info.offset,
                name: info.name,
            },
        );
    }
    obs
}

fn all_day_end(e: &CalendarEvent) -> NaiveDate {
    let start = e.start_local.date();
    let end_date = e.end_local.date();
    let exclusive = if e.end_local.time() == NaiveTime::MIN && end_date > start {
        end_date
    } else {
        end_date.succ_opt().unwrap_or(end_date)
    };
    let min = start.succ_opt().unwrap_or(start);
    exclusive.max(min)
}

/// Render a complete VCALENDAR (CRLF line endings, folded).
pub fn write_calendar(name: &str, tz: Tz, events: &[CalendarEvent], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |s: &str| push_folded(&mut out, s);
    let tzid = tz.name();

    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//jobber//schedule//EN");
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!("X-WR-CALNAME:{}", escape_text(name)));
    line(&format!("X-WR-TIMEZONE:{tzid}"));

    // Span of the events, as UTC with a one-day margin for the zone offset.
    let (span_start, span_end) = {
        let lo = events.iter().map(|e| e.start_local.min(e.end_local)).min();
        let hi = events.iter().map(|e| e.start_local.max(e.end_local)).max();
        match (lo, hi) {
            (Some(lo), Some(hi)) => {
                let lo = lo.and_utc();
                let hi = hi.and_utc();
                (
                    lo.checked_sub_signed(Duration::days(1)).unwrap_or(lo),
                    hi.checked_add_signed(Duration::days(2)).unwrap_or(hi),
                )
            }
            _ => (now, now),
        }
    };

    line("BEGIN:VTIMEZONE");
    line(&format!("TZID:{tzid}"));
    for o in observances(tz, span_start, span_end) {
        let kind = if o.daylight { "DAYLIGHT" } else { "STANDARD" };
        line(&format!("BEGIN:{kind}"));
        line(&format!("DTSTART:{}", fmt_local(o.dtstart)));
        line(&format!("TZOFFSETFROM:{}", fmt_offset(o.from)));
        line(&format!("TZOFFSETTO:{}", fmt_offset(o.to)));
        line(&format!("TZNAME:{}", escape_text(&o.name)));
        line(&format!("END:{kind}"));
    }
    line("END:VTIMEZONE");

    let stamp = fmt_utc(now);
    for e in events {
        line("BEGIN:VEVENT");
        line(&format!("UID:{}", escape_text(&e.uid)));
        line(&format!("DTSTAMP:{stamp}"));
        if e.all_day {
            line(&format!(
                "DTSTART;VALUE=DATE:{}",
                fmt_date(e.start_local.date())
            ));
            line(&format!("DTEND;VALUE=DATE:{}", fmt_date(all_day_end(e))));
        } else {
            line(&format!("DTSTART;TZID={tzid}:{}", fmt_local(e.start_local)));
            line(&format!("DTEND;TZID={tzid}:{}", fmt_local(e.end_local)));
        }
        line(&format!("SUMMARY:{}", escape_text(&e.summary)));
        if let Some(d) = &e.description {
            line(&format!("DESCRIPTION:{}", escape_text(d)));
        }
        if let Some(l) = &e.location {
            line(&format!("LOCATION:{}", escape_text(l)));
        }
        line(&format!("STATUS:{}", e.status.as_ical()));
        line(&format!("LAST-MODIFIED:{}", fmt_utc(e.last_modified)));
        line(&format!("SEQUENCE:{}", e.sequence.max(0)));
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn ndt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn event(uid: &str, start: &str, end: &str) -> CalendarEvent {
        CalendarEvent {
            uid: uid.to_string(),
            summary: "Boiler service".to_string(),
            description: None,
            location: None,
            start_local: ndt(start),
            end_local: ndt(end),
            all_day: false,
            status: EventStatus::Confirmed,
            last_modified: utc("2026-01-05T12:00:00Z"),
            sequence: 0,
        }
    }
    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }
    /// The VTIMEZONE block, unfolded, lines joined with '\n'.
    fn vtimezone(cal: &str) -> String {
        let u = unfold(cal);
        let a = u.find("BEGIN:VTIMEZONE").unwrap();
        let b = u.find("END:VTIMEZONE").unwrap() + "END:VTIMEZONE".len();
        u[a..b].replace("\r\n", "\n")
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_text(r"a\b"), r"a\\b");
        assert_eq!(escape_text("a;b,c"), r"a\;b\,c");
        assert_eq!(escape_text("l1\nl2\r\nl3\rl4"), r"l1\nl2\nl3\nl4");
        assert_eq!(escape_text("tab\there\u{7}"), "tab\there");
        assert_eq!(escape_text("Ünïcødé: ok"), "Ünïcødé: ok");
        let mut e = event("u1@jobber", "2026-03-10 09:00", "2026-03-10 10:00");
        e.summary = "Fix sink; bring parts, tools\\ladder".to_string();
        e.description = Some("Line 1\nLine 2".to_string());
        e.location = Some("12 Main St, Apt 3".to_string());
        let cal = write_calendar(
            "Jo's jobs, week 1",
            New_York,
            &[e],
            utc("2026-03-01T00:00:00Z"),
        );
        let u = unfold(&cal);
        assert!(u.contains("\r\nSUMMARY:Fix sink\\; bring parts\\, tools\\\\ladder\r\n"));
        assert!(u.contains("\r\nDESCRIPTION:Line 1\\nLine 2\r\n"));
        assert!(u.contains("\r\nLOCATION:12 Main St\\, Apt 3\r\n"));
        assert!(u.contains("\r\nX-WR-CALNAME:Jo's jobs\\, week 1\r\n"));
    }

    #[test]
    fn folding_long_utf8_summary() {
        let summary = "Réparation chaudière — 東京都の顧客 🔧 ".repeat(8);
        let mut e = event("fold@jobber", "2026-03-10 09:00", "2026-03-10 10:00");
        e.summary = summary.clone();
        let cal = write_calendar("x", New_York, &[e], utc("2026-03-01T00:00:00Z"));
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
        let body = cal.strip_suffix("\r\n").unwrap();
        let mut folded = 0;
        for l in body.split("\r\n") {
            assert!(l.len() <= 75, "line too long ({}): {l}", l.len());
            assert!(!l.contains('\n') && !l.contains('\r'));
            if l.starts_with(' ') {
                folded += 1;
            }
        }
        assert!(folded >= 4);
        // Every physical line is valid UTF-8 on its own (never split a char).
        for l in cal.as_bytes().split(|&b| b == b'\n') {
            assert!(std::str::from_utf8(l).is_ok());
        }
        let u = unfold(&cal);
        assert!(u.contains(&format!("\r\nSUMMARY:{}\r\n", summary)));

        // Boundary: exactly 75 octets stays on one line, 76 folds.
        let mut s = String::new();
        push_folded(&mut s, &"a".repeat(75));
        assert_eq!(s, format!("{}\r\n", "a".repeat(75)));
        let mut s = String::new();
        push_folded(&mut s, &"a".repeat(76));
        assert_eq!(s, format!("{}\r\n a\r\n", "a".repeat(75)));
        // A 3-byte char that would straddle octet 75 moves to the next line.
        let mut s = String::new();
        push_folded(&mut s, &format!("{}€x", "a".repeat(73)));
        assert_eq!(s, format!("{}\r\n €x\r\n", "a".repeat(73)));
    }

    #[test]
    fn header_and_event_lines() {
        let mut e = event("abc-123@jobber", "2026-03-10 09:00", "2026-03-10 10:30");
        e.status = EventStatus::Tentative;
        e.sequence = 3;
        let cal = write_calendar("Jobs", New_York, &[e], utc("2026-03-01T08:09:10Z"));
        assert!(cal.starts_with(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//jobber//schedule//EN\r\n\
             CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Jobs\r\n\
             X-WR-TIMEZONE:America/New_York\r\nBEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"
        ));
        assert!(cal.contains(
            "BEGIN:VEVENT\r\nUID:abc-123@jobber\r\nDTSTAMP:20260301T080910Z\r\n\
             DTSTART;TZID=America/New_York:20260310T090000\r\n\
             DTEND;TZID=America/New_York:20260310T103000\r\nSUMMARY:Boiler service\r\n\
             STATUS:TENTATIVE\r\nLAST-MODIFIED:20260105T120000Z\r\nSEQUENCE:3\r\nEND:VEVENT\r\n\
             END:VCALENDAR\r\n"
        ));
        // No bare LF anywhere.
        assert_eq!(cal.matches('\n').count(), cal.matches("\r\n").count());
    }

    #[test]
    fn vtimezone_new_york_2026() {
        let events = [
            event("a", "2026-01-10 09:00", "2026-01-10 10:00"),
            event("b", "2026-12-10 09:00", "2026-12-10 10:00"),
        ];
        let cal = write_calendar("x", New_York, &events, utc("2026-01-01T00:00:00Z"));
        assert_eq!(
            vtimezone(&cal),
            "BEGIN:VTIMEZONE\nTZID:America/New_York\n\
             BEGIN:STANDARD\nDTSTART:20251102T020000\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nTZNAME:EST\nEND:STANDARD\n\
             BEGIN:DAYLIGHT\nDTSTART:20260308T020000\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nTZNAME:EDT\nEND:DAYLIGHT\n\
             BEGIN:STANDARD\nDTSTART:20261101T020000\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nTZNAME:EST\nEND:STANDARD\n\
             END:VTIMEZONE"
        );
    }

    #[test]
    fn vtimezone_berlin_2026() {
        let events = [event("a", "2026-06-01 09:00", "2026-11-01 10:00")];
        let cal = write_calendar(
            "x",
            chrono_tz::Europe::Berlin,
            &events,
            utc("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            vtimezone(&cal),
            "BEGIN:VTIMEZONE\nTZID:Europe/Berlin\n\
             BEGIN:DAYLIGHT\nDTSTART:20260329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nTZNAME:CEST\nEND:DAYLIGHT\n\
             BEGIN:STANDARD\nDTSTART:20261025T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nTZNAME:CET\nEND:STANDARD\n\
             END:VTIMEZONE"
        );
    }

    #[test]
    fn vtimezone_without_transitions() {
        let events = [event("a", "2026-06-01 09:00", "2026-06-01 10:00")];
        let cal = write_calendar("x", chrono_tz::UTC, &events, utc("2026-01-01T00:00:00Z"));
        assert_eq!(
            vtimezone(&cal),
            "BEGIN:VTIMEZONE\nTZID:UTC\n\
             BEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0000\nTZOFFSETTO:+0000\nTZNAME:UTC\nEND:STANDARD\n\
             END:VTIMEZONE"
        );
        assert!(cal.contains("\r\nDTSTART;TZID=UTC:20260601T090000\r\n"));
        assert!(cal.contains("\r\nX-WR-TIMEZONE:UTC\r\n"));

        let cal = write_calendar(
            "x",
            chrono_tz::Asia::Tokyo,
            &events,
            utc("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            vtimezone(&cal),
            "BEGIN:VTIMEZONE\nTZID:Asia/Tokyo\n\
             BEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0900\nTZOFFSETTO:+0900\nTZNAME:JST\nEND:STANDARD\n\
             END:VTIMEZONE"
        );
        // Empty feed still has a valid VTIMEZONE.
        let cal = write_calendar("empty", New_York, &[], utc("2026-07-01T00:00:00Z"));
        assert!(
            vtimezone(&cal).contains(
                "DTSTART:20260308T020000\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nTZNAME:EDT"
            )
        );
        assert!(!cal.contains("BEGIN:VEVENT"));
    }

    #[test]
    fn all_day_events() {
        let mut one = event("d1", "2026-03-10 00:00", "2026-03-10 00:00");
        one.all_day = true;
        let mut multi = event("d2", "2026-03-10 08:00", "2026-03-12 17:00");
        multi.all_day = true;
        let mut midnight = event("d3", "2026-03-10 00:00", "2026-03-11 00:00");
        midnight.all_day = true;
        let cal = write_calendar(
            "x",
            New_York,
            &[one, multi, midnight],
            utc("2026-03-01T00:00:00Z"),
        );
        assert!(cal.contains("UID:d1\r\nDTSTAMP:20260301T000000Z\r\nDTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260311\r\n"));
        assert!(cal.contains("UID:d2\r\nDTSTAMP:20260301T000000Z\r\nDTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260313\r\n"));
        assert!(cal.contains("UID:d3\r\nDTSTAMP:20260301T000000Z\r\nDTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260311\r\n"));
        assert!(!cal.contains("DTSTART;TZID"));
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let events = [
            event("min", "2026-01-01 00:00", "2026-01-01 01:00"),
            CalendarEvent {
                start_local: NaiveDateTime::MIN,
                end_local: NaiveDateTime::MAX,
                ..event("max", "2026-01-01 00:00", "2026-01-01 01:00")
            },
        ];
        for tz in [
            New_York,
            chrono_tz::Asia::Tokyo,
            chrono_tz::Pacific::Kiritimati,
        ] {
            let cal = write_calendar("x", tz, &events, DateTime::<Utc>::MAX_UTC);
            assert!(cal.contains("BEGIN:VTIMEZONE"));
            let cal = write_calendar("x", tz, &[], DateTime::<Utc>::MIN_UTC);
            assert!(cal.contains("END:VTIMEZONE"));
        }
    }

    #[test]
    fn cancelled_and_negative_sequence() {
        let mut e = event("c", "2026-03-10 09:00", "2026-03-10 10:00");
        e.status = EventStatus::Cancelled;
        e.sequence = -2;
        let cal = write_calendar("x", New_York, &[e], utc("2026-03-01T00:00:00Z"));
        assert!(cal.contains("\r\nSTATUS:CANCELLED\r\n"));
        assert!(cal.contains("\r\nSEQUENCE:0\r\n"));
    }

    /// Writes an example feed to /tmp and, if python3 + icalendar and the
    /// checker script are available, validates it with check_ical.py.
    #[test]
    fn python_icalendar_cross_check() {
        let mut winter = event("winter@jobber", "2026-03-02 09:00", "2026-03-02 10:00");
        winter.summary = "Winter visit; Ünïcødé, long ".repeat(5);
        let summer = event("summer@jobber", "2026-03-09 09:00", "2026-03-09 10:00");
        let after_fall = event("fall@jobber", "2026-11-02 09:00", "2026-11-02 10:00");
        let ambiguous = event("ambig@jobber", "2026-11-01 01:30", "2026-11-01 02:30");
        let mut allday = event("allday@jobber", "2026-07-04 00:00", "2026-07-04 00:00");
        allday.all_day = true;
        let cal = write_calendar(
            "Example",
            New_York,
            &[winter, summer, after_fall, ambiguous, allday],
            utc("2026-03-01T00:00:00Z"),
        );
        let path =
            std::env::temp_dir().join(format!("sched-ical-example-{}.ics", std::process::id()));
        std::fs::write(&path, &cal).unwrap();

        // `make test` installs icalendar into a virtualenv and names its interpreter.
        let python = std::env::var("PYTHON_FOR_TESTS").unwrap_or_else(|_| "python3".into());
        let has_icalendar = std::process::Command::new(&python)
            .args(["-c", "import icalendar"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let script = [dir.join("check_ical.py"), dir.join("tests/check_ical.py")]
            .into_iter()
            .find(|p| p.exists());
        let (true, Some(script)) = (has_icalendar, script) else {
            // ARCHITECTURE §5: in CI a missing peer is a failure, not a skip.
            assert!(
                std::env::var("CI").is_err(),
                "CI needs python3 with icalendar ({python}); run scripts/install-test-deps.sh"
            );
            eprintln!(
                "SKIPPING the icalendar cross-check: {python} has no icalendar (run scripts/install-test-deps.sh)"
            );
            let _ = std::fs::remove_file(&path);
            return;
        };
        // Hand-computed instants: EST = UTC-5, EDT = UTC-4.
        let out = std::process::Command::new(&python)
            .arg(&script)
            .arg(&path)
            .args([
                "winter@jobber=2026-03-02T14:00:00Z",
                "summer@jobber=2026-03-09T13:00:00Z",
                "fall@jobber=2026-11-02T14:00:00Z",
                "ambig@jobber=2026-11-01T05:30:00Z",
                "allday@jobber=2026-07-04",
            ])
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "check_ical.py failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    }
}
