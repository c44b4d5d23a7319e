//! Free booking slots: each person's weekly working hours (their own, else the
//! account's), laid on the calendar in the account's time zone (so 08:00 stays
//! 08:00 across a DST change), minus their visits widened by the travel buffer.
//! Pure functions; the service reads the inputs and takes the lock.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::model::{BookingSlot, WorkingHours};
use crate::modules::schedule::recurrence;

/// Slots start on this grid from the start of the working period.
pub const STEP_MINUTES: i64 = 30;
/// The widest window one slot listing covers.
pub const MAX_WINDOW_DAYS: i64 = 31;

/// A time someone is not free.
#[derive(Debug, Clone, Copy)]
pub struct Busy {
    pub user_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

pub struct Availability<'a> {
    pub tz: chrono_tz::Tz,
    /// The account's hours: everyone's who has none of their own.
    pub hours: &'a [WorkingHours],
    /// The people with hours of their own (an empty list: no bookings).
    pub own_hours: &'a HashMap<Uuid, Vec<WorkingHours>>,
    pub duration: Duration,
    pub buffer: Duration,
    /// No slot starts before this (now plus the notice).
    pub earliest: DateTime<Utc>,
    pub people: &'a [Uuid],
    pub busy: &'a [Busy],
}

impl Availability<'_> {
    /// Is `user` free from `start` for the duration, with the buffer either side?
    fn free(&self, user: Uuid, start: DateTime<Utc>) -> bool {
        let from = start - self.buffer;
        let to = start + self.duration + self.buffer;
        !self
            .busy
            .iter()
            .any(|b| b.user_id == user && b.starts_at < to && b.ends_at > from)
    }

    fn hours_of(&self, person: Uuid) -> &[WorkingHours] {
        self.own_hours
            .get(&person)
            .map_or(self.hours, Vec::as_slice)
    }

    /// The slot starts of `person`'s working periods on `day`: every
    /// [`STEP_MINUTES`] from the start of each period, while the visit fits in it.
    fn starts_of(&self, person: Uuid, day: NaiveDate) -> Vec<DateTime<Utc>> {
        let weekday = u8::try_from(day.weekday().number_from_monday()).unwrap_or(0);
        let mut out = Vec::new();
        for period in self.hours_of(person).iter().filter(|h| h.day == weekday) {
            let (Some(open), Some(close)) = (
                recurrence::resolve_local(self.tz, day.and_time(period.start)),
                recurrence::resolve_local(self.tz, day.and_time(period.end)),
            ) else {
                continue;
            };
            let mut start = open;
            while start + self.duration <= close {
                out.push(start);
                start += Duration::minutes(STEP_MINUTES);
            }
        }
        out
    }

    /// The first person who works at `start` (it is one of their slot starts) and
    /// is free then.
    pub fn who(&self, start: DateTime<Utc>) -> Option<Uuid> {
        let day = start.with_timezone(&self.tz).date_naive();
        self.people
            .iter()
            .copied()
            .find(|p| self.starts_of(*p, day).contains(&start) && self.free(*p, start))
    }

    /// Every free slot whose local day is in `from..=to`, in time order: a start
    /// is offered when someone works then and is free.
    pub fn slots(&self, from: NaiveDate, to: NaiveDate) -> Vec<BookingSlot> {
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            for person in self.people {
                for start in self.starts_of(*person, day) {
                    if start >= self.earliest && self.free(*person, start) {
                        out.push(BookingSlot {
                            starts_at: start,
                            ends_at: start + self.duration,
                        });
                    }
                }
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        out.sort_by_key(|s| s.starts_at);
        out.dedup();
        out
    }

    /// Is `start` one of the slots of its local day?
    pub fn offers(&self, start: DateTime<Utc>) -> bool {
        let day = start.with_timezone(&self.tz).date_naive();
        self.slots(day, day).iter().any(|s| s.starts_at == start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, TimeZone};

    fn hours(day: u8, start: &str, end: &str) -> WorkingHours {
        WorkingHours {
            day,
            start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
            end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
        }
    }

    #[test]
    fn working_hours_keep_their_local_time_across_dst() {
        // New York leaves DST on Sunday 1 November 2026.
        let tz = chrono_tz::America::New_York;
        let all_week: Vec<WorkingHours> = (1..=7).map(|d| hours(d, "08:00", "10:00")).collect();
        let person = [Uuid::now_v7()];
        let a = Availability {
            tz,
            hours: &all_week,
            own_hours: &HashMap::new(),
            duration: Duration::minutes(60),
            buffer: Duration::minutes(0),
            earliest: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            people: &person,
            busy: &[],
        };
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        let saturday = a.slots(day(31), day(31));
        let sunday = a.slots(
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        );
        // 08:00, 08:30, 09:00 local each day.
        assert_eq!(saturday.len(), 3);
        assert_eq!(sunday.len(), 3);
        assert_eq!(
            saturday[0].starts_at,
            Utc.with_ymd_and_hms(2026, 10, 31, 12, 0, 0).unwrap()
        );
        assert_eq!(
            sunday[0].starts_at,
            Utc.with_ymd_and_hms(2026, 11, 1, 13, 0, 0).unwrap()
        );
    }

    #[test]
    fn visits_and_travel_buffer_block_slots() {
        let tz = chrono_tz::UTC;
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let week = [hours(1, "08:00", "12:00")];
        let person = [Uuid::now_v7()];
        let busy = [Busy {
            user_id: person[0],
            starts_at: Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap(),
        }];
        let a = Availability {
            tz,
            hours: &week,
            own_hours: &HashMap::new(),
            duration: Duration::minutes(60),
            buffer: Duration::minutes(30),
            earliest: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            people: &person,
            busy: &busy,
        };
        let starts: Vec<String> = a
            .slots(monday, monday)
            .iter()
            .map(|s| s.starts_at.format("%H:%M").to_string())
            .collect();
        // 08:00 would end at 09:00 with no travel time; 10:30 is the first after.
        assert_eq!(starts, ["10:30", "11:00"]);
        assert!(!a.offers(Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap()));
        assert!(a.offers(Utc.with_ymd_and_hms(2026, 12, 7, 10, 30, 0).unwrap()));
    }

    #[test]
    fn a_persons_own_hours_replace_the_accounts() {
        let tz = chrono_tz::UTC;
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let tuesday = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        let week = [hours(1, "08:00", "10:00"), hours(2, "08:00", "10:00")];
        let (ann, bo) = (Uuid::now_v7(), Uuid::now_v7());
        let people = [ann, bo];
        // Ann is off on Tuesdays; Bo works Tuesday afternoons only.
        let own = HashMap::from([
            (ann, vec![hours(1, "08:00", "10:00")]),
            (bo, vec![hours(2, "13:00", "14:00")]),
        ]);
        let a = Availability {
            tz,
            hours: &week,
            own_hours: &own,
            duration: Duration::minutes(60),
            buffer: Duration::minutes(0),
            earliest: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            people: &people,
            busy: &[],
        };
        let times = |day| -> Vec<String> {
            a.slots(day, day)
                .iter()
                .map(|s| s.starts_at.format("%H:%M").to_string())
                .collect()
        };
        assert_eq!(times(monday), ["08:00", "08:30", "09:00"]);
        assert_eq!(times(tuesday), ["13:00"]);
        let at = |h| Utc.with_ymd_and_hms(2026, 12, 8, h, 0, 0).unwrap();
        assert_eq!(a.who(at(13)), Some(bo));
        assert_eq!(a.who(at(8)), None, "nobody works Tuesday morning");
        // Nobody with hours of their own at all: no slots.
        let off = HashMap::from([(ann, vec![]), (bo, vec![])]);
        let none = Availability {
            own_hours: &off,
            ..a
        };
        assert!(none.slots(monday, tuesday).is_empty());
    }
}
