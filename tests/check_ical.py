#!/usr/bin/env python3
"""Cross-check a generated iCalendar feed with the `icalendar` package.

Usage: check_ical.py FILE.ics UID=EXPECTED [UID=EXPECTED ...]

EXPECTED is either a UTC instant (2026-03-09T13:00:00Z): the event's DTSTART
must be timezone-aware and equal to that instant; or a date (2026-07-04): the
event's DTSTART must be that all-day date. Every listed UID must be present,
and the feed must contain exactly the listed events. Exits non-zero on failure.
"""
import datetime as dt
import sys

import icalendar


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        raw = f.read()
    for i, line in enumerate(raw.split(b"\r\n")[:-1]):
        assert len(line) <= 75, f"physical line {i + 1} is {len(line)} octets"
        assert b"\n" not in line, f"bare LF in physical line {i + 1}"
    cal = icalendar.Calendar.from_ical(raw)
    assert cal.get("VERSION") == "2.0", "VERSION must be 2.0"
    tzids = [str(tz.get("TZID")) for tz in cal.walk("VTIMEZONE")]
    assert len(tzids) == 1, f"expected one VTIMEZONE, got {tzids}"

    expected = {}
    for arg in argv[2:]:
        uid, _, value = arg.partition("=")
        expected[uid] = value

    events = {str(ev.get("UID")): ev for ev in cal.walk("VEVENT")}
    assert set(events) == set(expected), f"UIDs {sorted(events)} != {sorted(expected)}"

    for uid, want in expected.items():
        start = events[uid].decoded("DTSTART")
        end = events[uid].decoded("DTEND")
        if "T" in want:
            want_dt = dt.datetime.fromisoformat(want.replace("Z", "+00:00"))
            assert isinstance(start, dt.datetime), f"{uid}: DTSTART is not a date-time"
            assert start.tzinfo is not None and start.utcoffset() is not None, (
                f"{uid}: DTSTART is naive: {start!r}"
            )
            # Compare UTC instants: PEP 495 makes == between different zones
            # always False for times in a DST fold, so convert first.
            got = start.astimezone(dt.timezone.utc)
            assert got == want_dt, f"{uid}: DTSTART {start.isoformat()} != {want}"
            assert end > start, f"{uid}: DTEND {end} not after DTSTART {start}"
            print(f"ok {uid}: {start.isoformat()} = {got.isoformat()}")
        else:
            want_d = dt.date.fromisoformat(want)
            assert type(start) is dt.date, f"{uid}: DTSTART is not a DATE: {start!r}"
            assert start == want_d, f"{uid}: DTSTART {start} != {want}"
            assert end > start, f"{uid}: DTEND {end} not after DTSTART {start}"
            print(f"ok {uid}: all-day {start}")
    print(f"check_ical: {len(expected)} events OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
