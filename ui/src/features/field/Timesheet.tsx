import { today } from "../../lib/zoned";
import { overlay } from "./changes";
import { dayOf, duration, timeOf } from "./format";
import { Link } from "./nav";
import { useField } from "./store";

/** The signed-in technician's time today, visit by visit, with the total. */
export function Timesheet() {
  const state = useField();
  const session = state.session;
  if (!session) return null;
  const zone = session.account.time_zone;
  const day = today(zone);
  const now = Date.now();
  const rows = state.visits.flatMap((item) => {
    const visit = overlay(item.visit, state.ops, session.user.id);
    return visit.time_entries
      .filter((e) => e.user_id === session.user.id && dayOf(e.started_at, zone) === day)
      .map((e) => ({
        entry: e,
        visit,
        minutes: ((e.ended_at ? Date.parse(e.ended_at) : now) - Date.parse(e.started_at)) / 60_000,
      }));
  });
  rows.sort((a, b) => a.entry.started_at.localeCompare(b.entry.started_at));
  const total = rows.reduce((sum, r) => sum + r.minutes, 0);

  return (
    <>
      <h1 className="fld-title">Timesheet</h1>
      <p className="fld-muted">
        {new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeZone: zone }).format(new Date())}
      </p>
      {rows.length === 0 ? (
        <p className="fld-empty">You have not clocked in today.</p>
      ) : (
        <table className="fld-table">
          <caption className="visually-hidden">Time worked today</caption>
          <thead>
            <tr>
              <th scope="col">Visit</th>
              <th scope="col">From – to</th>
              <th scope="col" className="num">
                Time
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ entry, visit, minutes }) => (
              <tr key={entry.id}>
                <td>
                  <Link href={`/field/visits/${visit.id}`}>{visit.title}</Link>
                </td>
                <td>
                  {timeOf(entry.started_at, zone)} – {entry.ended_at ? timeOf(entry.ended_at, zone) : "now"}
                </td>
                <td className="num">{duration(minutes)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={2}>
                Total
              </th>
              <td className="num">{duration(total)}</td>
            </tr>
          </tfoot>
        </table>
      )}
    </>
  );
}
