import { addDays, today } from "../../lib/zoned";
import { overlay } from "./changes";
import { arrivalWindow, dayOf, dayTitle, statusLabel } from "./format";
import { Link } from "./nav";
import { useField } from "./store";

/** Today's and the coming days' visits, in order, with their arrival windows. */
export function DayList() {
  const state = useField();
  const session = state.session;
  if (!session) return null;
  const zone = session.account.time_zone;
  const first = today(zone);
  const tomorrow = addDays(first, 1);
  const groups = new Map<string, typeof state.visits>();
  for (const item of state.visits) {
    if (!item.visit.starts_at) continue;
    const day = dayOf(item.visit.starts_at, zone);
    if (day < first) continue;
    groups.set(day, [...(groups.get(day) ?? []), item]);
  }
  const todays = groups.get(first) ?? [];

  return (
    <>
      <h1 className="fld-title">Your visits</h1>
      {!groups.has(first) && (
        <section aria-labelledby="day-today" className="fld-day">
          <h2 id="day-today" className="fld-day__title">
            Today
          </h2>
          <p className="fld-empty">{state.fetchedAt || !state.online ? "No visits today." : "Loading your day…"}</p>
        </section>
      )}
      {[...groups.entries()].map(([day, items]) => (
        <section key={day} aria-labelledby={`day-${day}`} className="fld-day">
          <h2 id={`day-${day}`} className="fld-day__title">
            {dayTitle(day, first, tomorrow)}
            <span className="fld-day__count">
              {items.length} {items.length === 1 ? "visit" : "visits"}
            </span>
          </h2>
          <ul className="fld-list">
            {items.map((item) => {
              const visit = overlay(item.visit, state.ops, session.user.id);
              const waiting = state.ops.some((o) => o.record === visit.id && o.state !== "failed");
              return (
                <li key={visit.id}>
                  <Link href={`/field/visits/${visit.id}`} className="fld-card">
                    <span className="fld-card__time">{arrivalWindow(visit, zone)}</span>
                    <span className="fld-card__title">{visit.title}</span>
                    <span className="fld-card__client">{item.client.name}</span>
                    {visit.address && <span className="fld-card__address">{visit.address}</span>}
                    <span className="fld-card__meta">
                      <span className={`badge badge--${visit.status}`}>{statusLabel(visit.status)}</span>
                      {waiting && <span className="fld-pending">Changes waiting to send</span>}
                    </span>
                  </Link>
                </li>
              );
            })}
          </ul>
        </section>
      ))}
      {todays.length > 0 && groups.size === 1 && <p className="fld-empty">Nothing scheduled in the coming week.</p>}
    </>
  );
}
