//! The dispatch calendar: recurrence rules expanded in the account's time zone, and
//! the per-user iCalendar feed.

pub mod feed;
pub mod ical;
pub mod recurrence;
