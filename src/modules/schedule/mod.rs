//! The dispatch calendar's arithmetic: recurrence rules expanded in the account's time
//! zone, and iCalendar writing. It knows no other module; the per-user feed that
//! serves visits with it is `jobs::feed`.

pub mod ical;
pub mod recurrence;
