#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! RFC 5545 RRULE subset and its DST-correct expansion in an IANA zone.
//!
//! Supported: `FREQ=DAILY|WEEKLY|MONTHLY`, `INTERVAL`, `BYDAY` (WEEKLY: plain
//! weekdays; MONTHLY: ordinal weekdays such as `2TU` / `-1FR`, plain weekdays
//! also accepted meaning "every such weekday of the month"), `BYMONTHDAY`
//! (MONTHLY only), `COUNT`, `UNTIL` and `WKST`.
//!
//! Choices (documented deviations / interpretations of RFC 5545):
//! * DTSTART is the series *anchor*. It is an occurrence (index 0) only when it
//!   matches the rule; if it does not match BYDAY/BYMONTHDAY it is not emitted
//!   and not counted towards COUNT (RFC 5545 says DTSTART "should" match and
//!   that a non-matching DTSTART is still counted; we deliberately do not
//!   invent an occurrence the rule does not describe).
//! * Every occurrence keeps DTSTART's wall-clock time. A time that does not
//!   exist (spring-forward gap) is interpreted with the UTC offset before the
//!   gap, i.e. it moves forward by the gap length (02:30 -> 03:30); an
//!   ambiguous time (fall-back) takes the earlier instant (RFC 5545 §3.3.5).
//! * `Occurrence::local` is the actual wall-clock time of `start` in the zone
//!   (03:30 in the gap example), not the nominal 02:30.
//! * Months lacking a requested day are skipped (no clamping), as in RFC 5545.
//! * For MONTHLY with both BYDAY and BYMONTHDAY, BYDAY limits BYMONTHDAY
//!   (intersection, e.g. "Friday the 13th"), as in RFC 5545's BYxxx table.
//! * A date-only UNTIL means "through the end of that local day"; a UTC UNTIL
//!   is compared with the occurrence's UTC instant. Both are inclusive.
//! * `Display` emits parts in the order FREQ, INTERVAL (omitted when 1), BYDAY,
//!   BYMONTHDAY, COUNT, UNTIL, followed by WKST only when it changes the
//!   meaning (WEEKLY, INTERVAL > 1, WKST != MO). Duplicate list values are
//!   dropped, order otherwise preserved. Parsing is case-insensitive.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Stop expanding after this many consecutive periods without a single
/// candidate date (rules that can never match, e.g. the 31st of April).
const MAX_EMPTY_PERIODS: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RruleError {
    #[error("empty RRULE")]
    Empty,
    #[error("malformed RRULE part {0:?} (expected NAME=VALUE)")]
    Malformed(String),
    #[error("unsupported RRULE part {0}")]
    UnsupportedPart(String),
    #[error("unsupported {part} value {value}")]
    UnsupportedValue { part: &'static str, value: String },
    #[error("duplicate RRULE part {0}")]
    Duplicate(String),
    /// Display: `"{part} {reason}"`, e.g. `INTERVAL must be between 1 and 999`.
    #[error("{part} {reason}")]
    Invalid { part: &'static str, reason: String },
    #[error("RRULE must contain FREQ")]
    MissingFreq,
    #[error("COUNT and UNTIL must not both be set")]
    CountAndUntil,
}

impl RruleError {
    fn invalid(part: &'static str, reason: impl Into<String>) -> Self {
        RruleError::Invalid {
            part,
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

impl Frequency {
    fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
        }
    }
}

/// A BYDAY entry: `ordinal == 0` means every such weekday in the period;
/// otherwise 1..=5 (n-th from start of month) or -1..=-5 (n-th from end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByDay {
    pub ordinal: i8,
    pub weekday: Weekday,
}

impl fmt::Display for ByDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ordinal != 0 {
            write!(f, "{}", self.ordinal)?;
        }
        f.write_str(weekday_code(self.weekday))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Until {
    /// `YYYYMMDD`: inclusive through the end of that local day.
    Date(NaiveDate),
    /// `YYYYMMDDTHHMMSSZ`: inclusive, compared with the occurrence's UTC instant.
    Utc(DateTime<Utc>),
}

impl fmt::Display for Until {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Until::Date(d) => write!(f, "{}", d.format("%Y%m%d")),
            Until::Utc(t) => write!(f, "{}", t.format("%Y%m%dT%H%M%SZ")),
        }
    }
}

/// A validated recurrence rule. Construct with [`Rrule::parse`]; serialises
/// (serde) as its canonical RRULE text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rrule {
    freq: Frequency,
    interval: u32,
    by_day: Vec<ByDay>,
    by_month_day: Vec<i8>,
    count: Option<u32>,
    until: Option<Until>,
    wkst: Weekday,
}

/// One expanded occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    /// Actual wall-clock time of `start` in the rule's zone.
    pub local: NaiveDateTime,
    pub start: DateTime<Utc>,
    /// 0-based position in the full series (independent of the window).
    pub index: u32,
}

fn weekday_code(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn parse_by_day(value: &str) -> Result<ByDay, RruleError> {
    let bad = || {
        RruleError::invalid(
            "BYDAY",
            format!("value {value:?} is not a weekday like MO or 2TU"),
        )
    };
    if value.len() < 2 || !value.is_char_boundary(value.len() - 2) {
        return Err(bad());
    }
    let (num, day) = value.split_at(value.len() - 2);
    let weekday = parse_weekday(day).ok_or_else(bad)?;
    let ordinal = if num.is_empty() {
        0
    } else {
        let digits = num.strip_prefix(['+', '-']).unwrap_or(num);
        if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i8 = num.trim_start_matches('+').parse().map_err(|_| bad())?;
        if n == 0 || !(-5..=5).contains(&n) {
            return Err(RruleError::invalid(
                "BYDAY",
                "ordinal must be between 1 and 5 or -5 and -1",
            ));
        }
        n
    };
    Ok(ByDay { ordinal, weekday })
}

fn parse_bounded(part: &'static str, value: &str, min: u32, max: u32) -> Result<u32, RruleError> {
    let err = || RruleError::invalid(part, format!("must be between {min} and {max}"));
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) || value.len() > 6 {
        return Err(err());
    }
    let n: u32 = value.parse().map_err(|_| err())?;
    if n < min || n > max {
        return Err(err());
    }
    Ok(n)
}

fn parse_until(value: &str) -> Result<Until, RruleError> {
    let err = || RruleError::invalid("UNTIL", "must be YYYYMMDD or YYYYMMDDTHHMMSSZ");
    if !value.is_ascii() {
        return Err(err());
    }
    match value.len() {
        8 => NaiveDate::parse_from_str(value, "%Y%m%d")
            .map(Until::Date)
            .map_err(|_| err()),
        16 if value.ends_with('Z') => NaiveDateTime::parse_from_str(&value[..15], "%Y%m%dT%H%M%S")
            .map(|n| Until::Utc(n.and_utc()))
            .map_err(|_| err()),
        _ => Err(err()),
    }
}

impl Rrule {
    /// Whether the series has no occurrence at or after `instant` whose index is
    /// `next_index` or more: its COUNT is used up or its UNTIL has passed (a day
    /// of margin for date-only UNTIL in any zone).
    pub fn is_over(&self, instant: DateTime<Utc>, next_index: u32) -> bool {
        let counted_out = self.count.is_some_and(|count| next_index >= count);
        let past_until = match self.until {
            None => false,
            Some(Until::Date(day)) => instant.date_naive() > day.succ_opt().unwrap_or(day),
            Some(Until::Utc(until)) => instant > until,
        };
        counted_out || past_until
    }

    /// Parse RRULE text, with or without the `RRULE:` prefix.
    pub fn parse(input: &str) -> Result<Rrule, RruleError> {
        let upper = input.trim().to_ascii_uppercase();
        let body = upper.strip_prefix("RRULE:").unwrap_or(&upper).trim();
        let body = body.strip_suffix(';').unwrap_or(body);
        if body.is_empty() {
            return Err(RruleError::Empty);
        }

        let mut freq: Option<Frequency> = None;
        let mut interval: Option<u32> = None;
        let mut by_day: Option<Vec<ByDay>> = None;
        let mut by_month_day: Option<Vec<i8>> = None;
        let mut count: Option<u32> = None;
        let mut until: Option<Until> = None;
        let mut wkst: Option<Weekday> = None;

        fn set<T>(slot: &mut Option<T>, name: &str, v: T) -> Result<(), RruleError> {
            if slot.is_some() {
                return Err(RruleError::Duplicate(name.to_string()));
            }
            *slot = Some(v);
            Ok(())
        }

        for part in body.split(';') {
            let part = part.trim();
            let Some((name, value)) = part.split_once('=') else {
                return Err(RruleError::Malformed(part.to_string()));
            };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() {
                return Err(RruleError::Malformed(part.to_string()));
            }
            match name {
                "FREQ" => {
                    let f = match value {
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        _ => {
                            return Err(RruleError::UnsupportedValue {
                                part: "FREQ",
                                value: value.to_string(),
                            });
                        }
                    };
                    set(&mut freq, name, f)?;
                }
                "INTERVAL" => set(
                    &mut interval,
                    name,
                    parse_bounded("INTERVAL", value, 1, 999)?,
                )?,
                "COUNT" => set(&mut count, name, parse_bounded("COUNT", value, 1, 10_000)?)?,
                "UNTIL" => set(&mut until, name, parse_until(value)?)?,
                "WKST" => {
                    let w = parse_weekday(value).ok_or_else(|| {
                        RruleError::invalid(
                            "WKST",
                            format!("value {value:?} is not a weekday like MO"),
                        )
                    })?;
                    set(&mut wkst, name, w)?;
                }
                "BYDAY" => {
                    let mut list: Vec<ByDay> = Vec::new();
                    for v in value.split(',') {
                        let d = parse_by_day(v.trim())?;
                        if !list.contains(&d) {
                            list.push(d);
                        }
                    }
                    set(&mut by_day, name, list)?;
                }
                "BYMONTHDAY" => {
                    let mut list: Vec<i8> = Vec::new();
                    for v in value.split(',') {
                        let v = v.trim();
                        let err = || {
                            RruleError::invalid(
                                "BYMONTHDAY",
                                "must be between 1 and 31 or -31 and -1",
                            )
                        };
                        let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
                        if digits.is_empty()
                            || digits.len() > 2
                            || !digits.bytes().all(|b| b.is_ascii_digit())
                        {
                            return Err(err());
                        }
                        let n: i8 = v.trim_start_matches('+').parse().map_err(|_| err())?;
                        if n == 0 || !(-31..=31).contains(&n) {
                            return Err(err());
                        }
                        if !list.contains(&n) {
                            list.push(n);
                        }
                    }
                    set(&mut by_month_day, name, list)?;
                }
                other => return Err(RruleError::UnsupportedPart(other.to_string())),
            }
        }

        let freq = freq.ok_or(RruleError::MissingFreq)?;
        if count.is_some() && until.is_some() {
            return Err(RruleError::CountAndUntil);
        }
        let by_day = by_day.unwrap_or_default();
        let by_month_day = by_month_day.unwrap_or_default();
        match freq {
            Frequency::Daily => {
                if !by_day.is_empty() {
                    return Err(RruleError::invalid(
                        "BYDAY",
                        "is not supported with FREQ=DAILY",
                    ));
                }
                if !by_month_day.is_empty() {
                    return Err(RruleError::invalid(
                        "BYMONTHDAY",
                        "is only supported with FREQ=MONTHLY",
                    ));
                }
            }
            Frequency::Weekly => {
                if by_day.iter().any(|d| d.ordinal != 0) {
                    return Err(RruleError::invalid(
                        "BYDAY",
                        "ordinals (like 2TU) are only allowed with FREQ=MONTHLY",
                    ));
                }
                if !by_month_day.is_empty() {
                    return Err(RruleError::invalid(
                        "BYMONTHDAY",
                        "is only supported with FREQ=MONTHLY",
                    ));
                }
            }
            Frequency::Monthly => {}
        }

        let mut rule = Rrule {
            freq,
            interval: interval.unwrap_or(1),
            by_day,
            by_month_day,
            count,
            until,
            wkst: wkst.unwrap_or(Weekday::Mon),
        };
        // WKST changes nothing unless the rule is weekly with an interval: keep the
        // default there, so equal rules compare equal and print the same way.
        if !rule.wkst_is_significant() {
            rule.wkst = Weekday::Mon;
        }
        Ok(rule)
    }

    pub fn freq(&self) -> Frequency {
        self.freq
    }
    pub fn interval(&self) -> u32 {
        self.interval
    }
    pub fn by_day(&self) -> &[ByDay] {
        &self.by_day
    }
    pub fn by_month_day(&self) -> &[i8] {
        &self.by_month_day
    }
    pub fn count(&self) -> Option<u32> {
        self.count
    }
    pub fn until(&self) -> Option<Until> {
        self.until
    }
    pub fn wkst(&self) -> Weekday {
        self.wkst
    }

    fn wkst_is_significant(&self) -> bool {
        self.freq == Frequency::Weekly && self.interval > 1 && self.wkst != Weekday::Mon
    }
}

impl fmt::Display for Rrule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FREQ={}", self.freq.as_str())?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if !self.by_day.is_empty() {
            f.write_str(";BYDAY=")?;
            for (i, d) in self.by_day.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{d}")?;
            }
        }
        if !self.by_month_day.is_empty() {
            f.write_str(";BYMONTHDAY=")?;
            for (i, d) in self.by_month_day.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{d}")?;
            }
        }
        if let Some(c) = self.count {
            write!(f, ";COUNT={c}")?;
        }
        if let Some(u) = self.until {
            write!(f, ";UNTIL={u}")?;
        }
        if self.wkst_is_significant() {
            write!(f, ";WKST={}", weekday_code(self.wkst))?;
        }
        Ok(())
    }
}

impl FromStr for Rrule {
    type Err = RruleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rrule::parse(s)
    }
}

impl Serialize for Rrule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rrule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rrule::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Resolve a local wall-clock time in `tz` to a UTC instant (RFC 5545 §3.3.5):
/// ambiguous -> earlier instant; nonexistent -> interpreted with the offset in
/// force before the gap (i.e. pushed forward by the gap length).
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    if let Some(dt) = tz.from_local_datetime(&local).earliest() {
        return Some(dt.with_timezone(&Utc));
    }
    // In a gap. Offset before the gap: the offset about a day earlier.
    let probe = local.checked_sub_signed(Duration::days(1))?;
    let before = tz.offset_from_utc_datetime(&probe).fix();
    let candidate = local
        .checked_sub_signed(Duration::seconds(i64::from(before.local_minus_utc())))?
        .and_utc();
    let shifted = local_of(tz, candidate)?;
    if shifted > local && shifted - local <= Duration::hours(3) {
        return Some(candidate);
    }
    // Defensive fallback for exotic data: first valid local time after `local`.
    let mut t = local;
    for _ in 0..(4 * 48) {
        t = t.checked_add_signed(Duration::minutes(15))?;
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return Some(dt.with_timezone(&Utc));
        }
    }
    None
}

/// Wall-clock time of `t` in `tz` (None instead of panicking at the edges of
/// chrono's range).
fn local_of(tz: Tz, t: DateTime<Utc>) -> Option<NaiveDateTime> {
    let off = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    t.naive_utc().checked_add_offset(off)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(year, month, 1),
        NaiveDate::from_ymd_opt(ny, nm, 1),
    ) {
        (Some(a), Some(b)) => u32::try_from((b - a).num_days()).unwrap_or(0),
        _ => 0,
    }
}

fn days_from(from: Weekday, to: Weekday) -> i64 {
    i64::from((to.num_days_from_monday() + 7 - from.num_days_from_monday()) % 7)
}

/// Candidate dates of one MONTHLY period (`year`, `month` 1-based), sorted
/// and de-duplicated.
fn monthly_dates(rule: &Rrule, anchor_day: u32, year: i32, month: u32, out: &mut Vec<NaiveDate>) {
    out.clear();
    let dim = days_in_month(year, month);
    if dim == 0 {
        return;
    }
    let resolve_md = |md: i8| -> Option<u32> {
        let d = if md > 0 {
            i64::from(md)
        } else {
            i64::from(dim) + 1 + i64::from(md)
        };
        (1..=i64::from(dim)).contains(&d).then_some(d as u32)
    };
    let matches_by_day = |day: u32| -> bool {
        let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
            return false;
        };
        let wd = date.weekday();
        let nth_from_start = (day - 1) / 7 + 1;
        let nth_from_end = (dim - day) / 7 + 1;
        rule.by_day.iter().any(|b| {
            b.weekday == wd
                && match b.ordinal {
                    0 => true,
                    n if n > 0 => u32::from(n.unsigned_abs()) == nth_from_start,
                    n => u32::from(n.unsigned_abs()) == nth_from_end,
                }
        })
    };
    let mut days: Vec<u32> = if !rule.by_month_day.is_empty() {
        rule.by_month_day
            .iter()
            .filter_map(|&md| resolve_md(md))
            .filter(|&d| rule.by_day.is_empty() || matches_by_day(d))
            .collect()
    } else if !rule.by_day.is_empty() {
        (1..=dim).filter(|&d| matches_by_day(d)).collect()
    } else if anchor_day <= dim {
        vec![anchor_day]
    } else {
        Vec::new()
    };
    days.sort_unstable();
    days.dedup();
    out.extend(
        days.into_iter()
            .filter_map(|d| NaiveDate::from_ymd_opt(year, month, d)),
    );
}

/// Expand `rule` anchored at `dtstart_local` (wall-clock time in `tz`) and
/// return the occurrences whose UTC start lies in `[window_start, window_end)`,
/// at most `limit`, in chronological order.
pub fn occurrences(
    rule: &Rrule,
    dtstart_local: NaiveDateTime,
    tz: Tz,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    limit: usize,
) -> Vec<Occurrence> {
    let mut out = Vec::new();
    if limit == 0 || window_start >= window_end {
        return out;
    }
    let start_date = dtstart_local.date();
    let time: NaiveTime = dtstart_local.time();
    // Local dates beyond this cannot produce a start before window_end
    // (zone offsets are < 1 day; keep a generous margin).
    let last_date = window_end
        .naive_utc()
        .date()
        .checked_add_signed(Duration::days(2))
        .unwrap_or(NaiveDate::MAX);
    // Candidates on local dates before this start before window_start (and
    // before any UNTIL checked below) whatever the zone: count them without
    // resolving the time zone. Offsets + DST gaps are < 2 days; 3 is safe.
    let skip_before = window_start
        .naive_utc()
        .date()
        .checked_sub_signed(Duration::days(3));
    let far_from_until = |date: NaiveDate| -> bool {
        match rule.until {
            None => true,
            Some(Until::Date(d)) => date < d,
            Some(Until::Utc(u)) => date
                .checked_add_signed(Duration::days(3))
                .is_some_and(|x| x < u.date_naive()),
        }
    };
    let interval = i64::from(rule.interval);

    // Period origin.
    let week0 = start_date
        .checked_sub_signed(Duration::days(days_from(rule.wkst, start_date.weekday())))
        .unwrap_or(start_date);
    let mut week_offsets: Vec<i64> = if rule.by_day.is_empty() {
        vec![days_from(rule.wkst, start_date.weekday())]
    } else {
        rule.by_day
            .iter()
            .map(|b| days_from(rule.wkst, b.weekday))
            .collect()
    };
    week_offsets.sort_unstable();
    week_offsets.dedup();
    let month0 = i64::from(start_date.year()) * 12 + i64::from(start_date.month0());

    let mut index: u32 = 0;
    let mut empty_periods: u32 = 0;
    let mut candidates: Vec<NaiveDate> = Vec::new();
    let mut period: i64 = 0;

    loop {
        // Build this period's candidate dates.
        candidates.clear();
        let step = match period.checked_mul(interval) {
            Some(s) => s,
            None => break,
        };
        let period_first: NaiveDate = match rule.freq {
            Frequency::Daily => {
                let Some(d) =
                    Duration::try_days(step).and_then(|s| start_date.checked_add_signed(s))
                else {
                    break;
                };
                candidates.push(d);
                d
            }
            Frequency::Weekly => {
                let Some(ws) = step
                    .checked_mul(7)
                    .and_then(Duration::try_days)
                    .and_then(|s| week0.checked_add_signed(s))
                else {
                    break;
                };
                for &o in &week_offsets {
                    if let Some(d) = ws.checked_add_signed(Duration::days(o)) {
                        candidates.push(d);
                    }
                }
                ws
            }
            Frequency::Monthly => {
                let Some(m) = month0.checked_add(step) else {
                    break;
                };
                let (Ok(year), Ok(month)) = (
                    i32::try_from(m.div_euclid(12)),
                    u32::try_from(m.rem_euclid(12) + 1),
                ) else {
                    break;
                };
                let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
                    break;
                };
                monthly_dates(rule, start_date.day(), year, month, &mut candidates);
                first
            }
        };
        if period_first > last_date {
            break;
        }

        let mut produced = false;
        for &date in &candidates {
            if date < start_date {
                continue;
            }
            produced = true;
            if rule.count.is_some_and(|c| index >= c) {
                return out;
            }
            if skip_before.is_some_and(|sb| date < sb) && far_from_until(date) {
                index = index.saturating_add(1);
                continue;
            }
            let nominal = date.and_time(time);
            let Some(start) = resolve_local(tz, nominal) else {
                continue;
            };
            let Some(local) = local_of(tz, start) else {
                return out;
            };
            match rule.until {
                Some(Until::Date(d)) if local.date() > d => return out,
                Some(Until::Utc(u)) if start > u => return out,
                _ => {}
            }
            if start >= window_end {
                return out;
            }
            if start >= window_start {
                out.push(Occurrence {
                    local,
                    start,
                    index,
                });
                if out.len() >= limit {
                    return out;
                }
            }
            index = index.saturating_add(1);
        }

        if produced {
            empty_periods = 0;
        } else {
            empty_periods += 1;
            if empty_periods >= MAX_EMPTY_PERIODS {
                break;
            }
        }
        period += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;

    fn ndt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn rule(s: &str) -> Rrule {
        Rrule::parse(s).unwrap()
    }
    fn starts(v: &[Occurrence]) -> Vec<String> {
        v.iter()
            .map(|o| o.start.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .collect()
    }
    fn locals(v: &[Occurrence]) -> Vec<String> {
        v.iter()
            .map(|o| o.local.format("%Y-%m-%d %H:%M").to_string())
            .collect()
    }
    fn indices(v: &[Occurrence]) -> Vec<u32> {
        v.iter().map(|o| o.index).collect()
    }
    fn wide() -> (DateTime<Utc>, DateTime<Utc>) {
        (utc("1990-01-01T00:00:00Z"), utc("2100-01-01T00:00:00Z"))
    }

    // ---------- expansion: DST ----------

    #[test]
    fn new_york_weekly_across_march_transition() {
        // 2026-03-02 is a Monday; DST starts Sun 2026-03-08.
        let occ = occurrences(
            &rule("FREQ=WEEKLY"),
            ndt("2026-03-02 09:00"),
            New_York,
            utc("2026-02-01T00:00:00Z"),
            utc("2026-03-20T00:00:00Z"),
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-03-02T14:00:00Z",
                "2026-03-09T13:00:00Z",
                "2026-03-16T13:00:00Z"
            ]
        );
        assert_eq!(
            locals(&occ),
            ["2026-03-02 09:00", "2026-03-09 09:00", "2026-03-16 09:00"]
        );
        assert_eq!(indices(&occ), [0, 1, 2]);
    }

    #[test]
    fn new_york_weekly_across_november_transition_with_indices() {
        // Mar 2 -> Oct 26 is 238 days = 34 weeks. DST ends Sun 2026-11-01.
        let occ = occurrences(
            &rule("FREQ=WEEKLY"),
            ndt("2026-03-02 09:00"),
            New_York,
            utc("2026-10-20T00:00:00Z"),
            utc("2026-11-10T00:00:00Z"),
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-10-26T13:00:00Z",
                "2026-11-02T14:00:00Z",
                "2026-11-09T14:00:00Z"
            ]
        );
        assert_eq!(indices(&occ), [34, 35, 36]);
    }

    #[test]
    fn berlin_daily_across_both_transitions() {
        let r = rule("FREQ=DAILY");
        let spring = occurrences(
            &r,
            ndt("2026-03-27 09:00"),
            Berlin,
            utc("2026-03-27T00:00:00Z"),
            utc("2026-03-31T00:00:00Z"),
            100,
        );
        assert_eq!(
            starts(&spring),
            [
                "2026-03-27T08:00:00Z",
                "2026-03-28T08:00:00Z",
                "2026-03-29T07:00:00Z",
                "2026-03-30T07:00:00Z"
            ]
        );
        let autumn = occurrences(
            &r,
            ndt("2026-03-27 09:00"),
            Berlin,
            utc("2026-10-24T00:00:00Z"),
            utc("2026-10-27T00:00:00Z"),
            100,
        );
        assert_eq!(
            starts(&autumn),
            [
                "2026-10-24T07:00:00Z",
                "2026-10-25T08:00:00Z",
                "2026-10-26T08:00:00Z"
            ]
        );
        // Mar 27 -> Oct 24: 4+30+31+30+31+31+30+24 = 211 days.
        assert_eq!(indices(&autumn), [211, 212, 213]);
        assert!(locals(&autumn).iter().all(|l| l.ends_with("09:00")));
    }

    #[test]
    fn spring_forward_gap_moves_forward() {
        let occ = occurrences(
            &rule("FREQ=DAILY"),
            ndt("2026-03-07 02:30"),
            New_York,
            utc("2026-03-01T00:00:00Z"),
            utc("2026-03-10T00:00:00Z"),
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:30:00Z",
                "2026-03-09T06:30:00Z"
            ]
        );
        assert_eq!(
            locals(&occ),
            ["2026-03-07 02:30", "2026-03-08 03:30", "2026-03-09 02:30"]
        );
    }

    #[test]
    fn fall_back_ambiguous_takes_first() {
        let occ = occurrences(
            &rule("FREQ=DAILY"),
            ndt("2026-10-31 01:30"),
            New_York,
            utc("2026-10-01T00:00:00Z"),
            utc("2026-11-03T00:00:00Z"),
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-10-31T05:30:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-02T06:30:00Z"
            ]
        );
        assert_eq!(
            locals(&occ),
            ["2026-10-31 01:30", "2026-11-01 01:30", "2026-11-02 01:30"]
        );
    }

    // ---------- expansion: MONTHLY ----------

    #[test]
    fn monthly_31st_skips_short_months() {
        let (ws, we) = wide();
        let occ = occurrences(
            &rule("FREQ=MONTHLY;COUNT=6"),
            ndt("2026-01-31 10:00"),
            New_York,
            ws,
            we,
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-01-31T15:00:00Z",
                "2026-03-31T14:00:00Z",
                "2026-05-31T14:00:00Z",
                "2026-07-31T14:00:00Z",
                "2026-08-31T14:00:00Z",
                "2026-10-31T14:00:00Z"
            ]
        );
        // Same with explicit BYMONTHDAY.
        let occ2 = occurrences(
            &rule("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=6"),
            ndt("2026-01-31 10:00"),
            New_York,
            ws,
            we,
            100,
        );
        assert_eq!(occ, occ2);
    }

    #[test]
    fn monthly_negative_monthday_and_list() {
        let occ = occurrences(
            &rule("FREQ=MONTHLY;BYMONTHDAY=1,-1;COUNT=5"),
            ndt("2026-01-01 12:00"),
            chrono_tz::UTC,
            utc("2026-01-01T00:00:00Z"),
            utc("2027-01-01T00:00:00Z"),
            100,
        );
        assert_eq!(
            locals(&occ),
            [
                "2026-01-01 12:00",
                "2026-01-31 12:00",
                "2026-02-01 12:00",
                "2026-02-28 12:00",
                "2026-03-01 12:00"
            ]
        );
    }

    #[test]
    fn monthly_second_tuesday() {
        let (ws, we) = wide();
        let occ = occurrences(
            &rule("FREQ=MONTHLY;BYDAY=2TU;COUNT=4"),
            ndt("2026-01-13 10:00"),
            New_York,
            ws,
            we,
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-01-13T15:00:00Z",
                "2026-02-10T15:00:00Z",
                "2026-03-10T14:00:00Z",
                "2026-04-14T14:00:00Z"
            ]
        );
    }

    #[test]
    fn monthly_last_friday() {
        let (ws, we) = wide();
        let occ = occurrences(
            &rule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=4"),
            ndt("2026-01-30 08:00"),
            chrono_tz::UTC,
            ws,
            we,
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-01-30T08:00:00Z",
                "2026-02-27T08:00:00Z",
                "2026-03-27T08:00:00Z",
                "2026-04-24T08:00:00Z"
            ]
        );
    }

    #[test]
    fn monthly_friday_13th_is_intersection() {
        // Friday the 13th in 2026: February, March, November.
        let occ = occurrences(
            &rule("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13"),
            ndt("2026-01-01 09:00"),
            chrono_tz::UTC,
            utc("2026-01-01T00:00:00Z"),
            utc("2027-01-01T00:00:00Z"),
            100,
        );
        assert_eq!(
            locals(&occ),
            ["2026-02-13 09:00", "2026-03-13 09:00", "2026-11-13 09:00"]
        );
    }

    // ---------- expansion: WEEKLY ----------

    #[test]
    fn weekly_interval_two_mo_we_fr() {
        let (ws, we) = wide();
        let occ = occurrences(
            &rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;COUNT=7"),
            ndt("2026-03-02 09:00"),
            New_York,
            ws,
            we,
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-03-02T14:00:00Z",
                "2026-03-04T14:00:00Z",
                "2026-03-06T14:00:00Z",
                "2026-03-16T13:00:00Z",
                "2026-03-18T13:00:00Z",
                "2026-03-20T13:00:00Z",
                "2026-03-30T13:00:00Z"
            ]
        );
        assert_eq!(indices(&occ), [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn an_insignificant_wkst_is_dropped() {
        // Found by the property test: printed without WKST, it read back differently.
        let rule = Rrule::parse("FREQ=daily;WKST=SU").unwrap();
        assert_eq!(rule.wkst(), Weekday::Mon);
        assert_eq!(Rrule::parse(&rule.to_string()).unwrap(), rule);
        let weekly = Rrule::parse("FREQ=WEEKLY;INTERVAL=2;WKST=SU").unwrap();
        assert_eq!(weekly.wkst(), Weekday::Sun);
        assert_eq!(weekly.to_string(), "FREQ=WEEKLY;INTERVAL=2;WKST=SU");
    }

    #[test]
    fn weekly_wkst_matters_with_interval() {
        // RFC 5545 §3.8.5.3 example (DTSTART 1997-08-05, a Tuesday).
        let (ws, we) = wide();
        let mo = occurrences(
            &rule("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO"),
            ndt("1997-08-05 09:00"),
            New_York,
            ws,
            we,
            100,
        );
        assert_eq!(
            locals(&mo),
            [
                "1997-08-05 09:00",
                "1997-08-10 09:00",
                "1997-08-19 09:00",
                "1997-08-24 09:00"
            ]
        );
        let su = occurrences(
            &rule("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU"),
            ndt("1997-08-05 09:00"),
            New_York,
            ws,
            we,
            100,
        );
        assert_eq!(
            locals(&su),
            [
                "1997-08-05 09:00",
                "1997-08-17 09:00",
                "1997-08-19 09:00",
                "1997-08-31 09:00"
            ]
        );
    }

    #[test]
    fn dtstart_not_matching_is_not_an_occurrence() {
        // 2026-03-03 is a Tuesday.
        let (ws, we) = wide();
        let occ = occurrences(
            &rule("FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=3"),
            ndt("2026-03-03 09:00"),
            chrono_tz::UTC,
            ws,
            we,
            100,
        );
        assert_eq!(
            locals(&occ),
            ["2026-03-04 09:00", "2026-03-06 09:00", "2026-03-09 09:00"]
        );
        assert_eq!(indices(&occ), [0, 1, 2]);
    }

    // ---------- COUNT / UNTIL / window ----------

    #[test]
    fn count_honoured_for_later_window() {
        let occ = occurrences(
            &rule("FREQ=DAILY;COUNT=5"),
            ndt("2026-01-01 09:00"),
            chrono_tz::UTC,
            utc("2026-01-03T00:00:00Z"),
            utc("2026-02-01T00:00:00Z"),
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-01-03T09:00:00Z",
                "2026-01-04T09:00:00Z",
                "2026-01-05T09:00:00Z"
            ]
        );
        assert_eq!(indices(&occ), [2, 3, 4]);
    }

    #[test]
    fn until_date_is_inclusive_local_day() {
        let (ws, we) = wide();
        let occ = occurrences(
            &rule("FREQ=DAILY;UNTIL=20260103"),
            ndt("2026-01-01 23:30"),
            New_York,
            ws,
            we,
            100,
        );
        // 23:30 EST = 04:30Z next day; Jan 3 23:30 local is still within UNTIL.
        assert_eq!(
            starts(&occ),
            [
                "2026-01-02T04:30:00Z",
                "2026-01-03T04:30:00Z",
                "2026-01-04T04:30:00Z"
            ]
        );
    }

    #[test]
    fn until_utc_is_inclusive_instant() {
        let (ws, we) = wide();
        let occ = occurrences(
            &rule("FREQ=DAILY;UNTIL=20260103T140000Z"),
            ndt("2026-01-01 09:00"),
            New_York,
            ws,
            we,
            100,
        );
        assert_eq!(
            starts(&occ),
            [
                "2026-01-01T14:00:00Z",
                "2026-01-02T14:00:00Z",
                "2026-01-03T14:00:00Z"
            ]
        );
        let occ = occurrences(
            &rule("FREQ=DAILY;UNTIL=20260103T135959Z"),
            ndt("2026-01-01 09:00"),
            New_York,
            ws,
            we,
            100,
        );
        assert_eq!(
            starts(&occ),
            ["2026-01-01T14:00:00Z", "2026-01-02T14:00:00Z"]
        );
    }

    #[test]
    fn window_is_half_open_and_limit_applies() {
        let r = rule("FREQ=DAILY");
        let occ = occurrences(
            &r,
            ndt("2026-01-01 09:00"),
            chrono_tz::UTC,
            utc("2026-01-02T09:00:00Z"),
            utc("2026-01-04T09:00:00Z"),
            100,
        );
        assert_eq!(
            starts(&occ),
            ["2026-01-02T09:00:00Z", "2026-01-03T09:00:00Z"]
        );
        let occ = occurrences(
            &r,
            ndt("2026-01-01 09:00"),
            chrono_tz::UTC,
            utc("2026-01-01T00:00:00Z"),
            utc("2027-01-01T00:00:00Z"),
            2,
        );
        assert_eq!(
            starts(&occ),
            ["2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z"]
        );
        assert!(
            occurrences(
                &r,
                ndt("2026-01-01 09:00"),
                chrono_tz::UTC,
                utc("2026-01-01T00:00:00Z"),
                utc("2027-01-01T00:00:00Z"),
                0
            )
            .is_empty()
        );
    }

    #[test]
    fn terminates_for_unbounded_and_impossible_rules() {
        let t = std::time::Instant::now();
        // Never matches: April never has a 31st.
        let occ = occurrences(
            &rule("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31"),
            ndt("2026-04-10 09:00"),
            New_York,
            utc("2026-01-01T00:00:00Z"),
            utc("9000-01-01T00:00:00Z"),
            10,
        );
        assert!(occ.is_empty());
        // Unbounded rule, window far in the future: bounded by window_end.
        let occ = occurrences(
            &rule("FREQ=DAILY"),
            ndt("2026-01-01 09:00"),
            New_York,
            utc("2030-01-01T00:00:00Z"),
            utc("2030-01-03T00:00:00Z"),
            10,
        );
        // 2026-01-01 -> 2030-01-01: 365*4 + 1 (2028 leap) = 1461 days.
        assert_eq!(indices(&occ), [1461, 1462]);
        // Window entirely before the series.
        assert!(
            occurrences(
                &rule("FREQ=WEEKLY"),
                ndt("2026-01-01 09:00"),
                New_York,
                utc("2020-01-01T00:00:00Z"),
                utc("2020-02-01T00:00:00Z"),
                10
            )
            .is_empty()
        );
        // Far-future window on an unbounded rule: skipped quickly, index exact.
        // 2026-01-01 -> 3026-01-01: 1000*365 + 242 leap days (250 in 2028..=3024,
        // minus 2100,2200,2300,2500,2600,2700,2900,3000) = 365242 days.
        let occ = occurrences(
            &rule("FREQ=DAILY"),
            ndt("2026-01-01 09:00"),
            New_York,
            utc("3026-01-01T00:00:00Z"),
            DateTime::<Utc>::MAX_UTC,
            1,
        );
        assert_eq!(indices(&occ), [365242]);
        assert_eq!(starts(&occ), ["3026-01-01T14:00:00Z"]);
        // Edges of chrono's range must not panic.
        let _ = occurrences(
            &rule("FREQ=DAILY"),
            NaiveDateTime::MAX - Duration::days(3),
            chrono_tz::Asia::Tokyo,
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            10,
        );
        let _ = occurrences(
            &rule("FREQ=MONTHLY;BYDAY=-1SU"),
            NaiveDateTime::MIN + Duration::days(3),
            chrono_tz::America::Los_Angeles,
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            3,
        );
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    // ---------- parsing ----------

    fn err(s: &str) -> String {
        Rrule::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn parse_errors_name_the_part() {
        assert_eq!(
            err("FREQ=DAILY;BYSETPOS=1"),
            "unsupported RRULE part BYSETPOS"
        );
        assert_eq!(err("FREQ=DAILY;BYHOUR=9"), "unsupported RRULE part BYHOUR");
        assert_eq!(err("FREQ=DAILY;FOO=1"), "unsupported RRULE part FOO");
        assert_eq!(err("FREQ=YEARLY"), "unsupported FREQ value YEARLY");
        assert_eq!(
            err("FREQ=DAILY;INTERVAL=0"),
            "INTERVAL must be between 1 and 999"
        );
        assert_eq!(
            err("FREQ=DAILY;INTERVAL=1000"),
            "INTERVAL must be between 1 and 999"
        );
        assert_eq!(
            err("FREQ=DAILY;INTERVAL=x"),
            "INTERVAL must be between 1 and 999"
        );
        assert_eq!(
            err("FREQ=DAILY;COUNT=0"),
            "COUNT must be between 1 and 10000"
        );
        assert_eq!(
            err("FREQ=DAILY;COUNT=10001"),
            "COUNT must be between 1 and 10000"
        );
        assert_eq!(err("FREQ=DAILY;FREQ=WEEKLY"), "duplicate RRULE part FREQ");
        assert_eq!(
            err("FREQ=DAILY;COUNT=2;UNTIL=20260101"),
            "COUNT and UNTIL must not both be set"
        );
        assert_eq!(err("INTERVAL=2"), "RRULE must contain FREQ");
        assert_eq!(err(""), "empty RRULE");
        assert!(err("FREQ=DAILY;UNTIL=20260101T000000").starts_with("UNTIL "));
        assert!(err("FREQ=DAILY;UNTIL=20261332").starts_with("UNTIL "));
        assert!(err("FREQ=MONTHLY;BYMONTHDAY=0").starts_with("BYMONTHDAY "));
        assert!(err("FREQ=MONTHLY;BYMONTHDAY=32").starts_with("BYMONTHDAY "));
        assert!(err("FREQ=WEEKLY;BYMONTHDAY=3").starts_with("BYMONTHDAY "));
        assert!(err("FREQ=MONTHLY;BYDAY=6MO").starts_with("BYDAY "));
        assert!(err("FREQ=MONTHLY;BYDAY=0MO").starts_with("BYDAY "));
        assert!(err("FREQ=WEEKLY;BYDAY=2MO").starts_with("BYDAY "));
        assert!(err("FREQ=DAILY;BYDAY=MO").starts_with("BYDAY "));
        assert!(err("FREQ=WEEKLY;BYDAY=XX").starts_with("BYDAY "));
        assert!(err("FREQ=WEEKLY;BYDAY=é").starts_with("BYDAY "));
        assert!(err("FREQ=WEEKLY;WKST=XX").starts_with("WKST "));
        assert!(err("FREQ=DAILY;;COUNT=2").starts_with("malformed RRULE part"));
    }

    #[test]
    fn display_round_trip() {
        for s in [
            "FREQ=DAILY",
            "FREQ=DAILY;INTERVAL=3;COUNT=10",
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231T235959Z",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU,-1FR;COUNT=10",
            "FREQ=MONTHLY;BYMONTHDAY=1,15,-1;UNTIL=20270101",
        ] {
            assert_eq!(rule(s).to_string(), s);
            assert_eq!(rule(&rule(s).to_string()), rule(s));
        }
        // Canonical ordering, prefix, case, default INTERVAL and WKST dropped.
        assert_eq!(
            rule("RRULE:count=3;wkst=MO;interval=1;freq=daily").to_string(),
            "FREQ=DAILY;COUNT=3"
        );
        assert_eq!(
            rule("UNTIL=20260101;BYDAY=+2TU;FREQ=MONTHLY;WKST=SU").to_string(),
            "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20260101"
        );
    }
}

/// RRULEs come from API users: any text parses or is refused, and any rule that
/// parses expands (a bounded number of occurrences) without a panic, from any start
/// the API accepts (`domain::MIN_YEAR`..=`MAX_YEAR`) in any zone.
#[cfg(test)]
mod properties {
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use proptest::prelude::*;

    use super::*;

    /// Text shaped like a rule, so the parser gets past its first checks.
    fn rule_text() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            "FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY|HOURLY|daily)",
            "INTERVAL=-?[0-9]{0,6}",
            "COUNT=-?[0-9]{0,11}",
            "UNTIL=[0-9]{0,9}(T[0-9]{6}Z?)?",
            "UNTIL=\\+?[0-9]{4,6}[01][0-9][0-3][0-9]",
            "BYDAY=([+-]?[0-9]{0,3}(MO|TU|WE|TH|FR|SA|SU|XX),?){0,4}",
            "BYMONTHDAY=(-?[0-9]{0,3},?){0,4}",
            "WKST=(MO|SU|XY)",
            "[A-Z=;,]{0,12}",
            ".{0,8}",
        ];
        prop::collection::vec(part, 0..7).prop_map(|parts| parts.join(";"))
    }

    fn day() -> impl Strategy<Value = NaiveDate> {
        (
            crate::domain::MIN_YEAR..=crate::domain::MAX_YEAR,
            1u32..=12,
            1u32..=31,
        )
            .prop_map(|(y, m, d)| {
                NaiveDate::from_ymd_opt(y, m, d)
                    .or_else(|| NaiveDate::from_ymd_opt(y, m, 28))
                    .unwrap_or_default()
            })
    }

    fn zone() -> impl Strategy<Value = Tz> {
        prop_oneof![
            Just(chrono_tz::UTC),
            Just(chrono_tz::America::New_York),
            Just(chrono_tz::Europe::Berlin),
            Just(chrono_tz::Australia::Lord_Howe),
            Just(chrono_tz::Pacific::Apia),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_parses_or_is_refused(text in ".{0,200}") {
            let _ = Rrule::parse(&text);
        }

        #[test]
        fn rules_expand_without_panicking(
            text in rule_text(),
            start in day(),
            minutes in 0u32..(24 * 60),
            tz in zone(),
            window_days in 0i64..(400 * 365),
            limit in 0usize..64,
        ) {
            if let Ok(rule) = Rrule::parse(&text) {
                // What a rule prints parses back to the same rule.
                prop_assert_eq!(Rrule::parse(&rule.to_string()).ok(), Some(rule.clone()));
                let local = start.and_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or_default();
                let from: DateTime<Utc> = local.and_utc() - Duration::days(1);
                let to = from + Duration::days(window_days);
                let found = occurrences(&rule, local, tz, from, to, limit);
                prop_assert!(found.len() <= limit);
                let _ = rule.is_over(to, u32::try_from(found.len()).unwrap_or(u32::MAX));
            }
        }
    }
}
