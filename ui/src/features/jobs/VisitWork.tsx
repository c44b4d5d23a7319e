import { formatMinutes } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import type { Attachment, Visit } from "./api";

/** The photos and files a technician took at a visit (its signature is shown apart). */
export function visitPhotos(attachments: Attachment[] | undefined, visitId: string): Attachment[] {
  return attachments?.filter((a) => a.visit_id === visitId && a.kind !== "signature") ?? [];
}

const isImage = (a: Attachment) => a.content_type.startsWith("image/");

/** Minutes between two instants (an open entry runs until `now`). */
function minutesOf(startedAt: string, endedAt: string | null | undefined, now: number): number {
  return Math.max(0, ((endedAt ? Date.parse(endedAt) : now) - Date.parse(startedAt)) / 60_000);
}

/**
 * What the field did at a visit, for the office: the checklist as ticked (by whom,
 * when), each clock-in with its person, start and end in the account's zone and its
 * length, the visit's total, and the photos taken there. Nothing until the field has
 * done something (a tick, a clock-in or a photo): the row's summary says the rest.
 */
export function VisitWork({
  visit,
  names,
  photos,
  when,
  now = Date.now(),
}: {
  visit: Pick<Visit, "id" | "checklist" | "time_entries">;
  names: Map<string, string>;
  photos: Attachment[];
  /** The visit's date and time as the row writes it, for the photos' descriptions. */
  when: string;
  now?: number;
}) {
  const fmt = useFormat();
  const ticked = visit.checklist.filter((c) => c.done).length;
  const entries = [...visit.time_entries].sort((a, b) => a.started_at.localeCompare(b.started_at));
  if (ticked === 0 && entries.length === 0 && photos.length === 0) return null;
  const who = (id: string | null | undefined) => (id ? (names.get(id) ?? "Former team member") : "");
  const total = entries.reduce((sum, e) => sum + minutesOf(e.started_at, e.ended_at, now), 0);
  const running = entries.some((e) => !e.ended_at);
  const span = (start: string, end: string | null | undefined) => {
    if (!end) return `${fmt.dateTime(start)} – now`;
    // The end's date only when it is another day in the account's zone.
    return `${fmt.dateTime(start)} – ${fmt.date(end) === fmt.date(start) ? fmt.time(end) : fmt.dateTime(end)}`;
  };

  return (
    <div className="visit-work">
      {visit.checklist.length > 0 && (
        <section className="visit-work__part" aria-labelledby={`vw-check-${visit.id}`}>
          <h3 id={`vw-check-${visit.id}`} className="visit-work__title">
            Checklist <span className="muted">{ticked} of {visit.checklist.length} done</span>
          </h3>
          <ul className="visit-work__checklist">
            {visit.checklist.map((item) => (
              <li key={item.id} className={item.done ? "visit-work__item visit-work__item--done" : "visit-work__item"}>
                <span className="visit-work__mark" aria-hidden="true">
                  {item.done ? "✓" : ""}
                </span>
                <span className="visit-work__text">
                  {item.text}
                  <span className="visually-hidden">{item.done ? ", done" : ", not done"}</span>
                  {item.done && (item.done_by || item.done_at) && (
                    <span className="block muted visit-work__meta">
                      {[who(item.done_by), item.done_at ? fmt.dateTime(item.done_at) : ""].filter(Boolean).join(", ")}
                    </span>
                  )}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {entries.length > 0 && (
        <section className="visit-work__part" aria-labelledby={`vw-time-${visit.id}`}>
          <h3 id={`vw-time-${visit.id}`} className="visit-work__title">
            Time on site{" "}
            <span className="muted">
              {formatMinutes(total)}
              {running ? " so far" : ""}
            </span>
          </h3>
          <ul className="visit-work__time" aria-label="Time entries">
            {entries.map((e) => (
              <li key={e.id}>
                <span className="visit-work__who">{who(e.user_id)}</span>
                <span className="visit-work__span">{span(e.started_at, e.ended_at)}</span>
                <span className="visit-work__length">{e.ended_at ? formatMinutes(minutesOf(e.started_at, e.ended_at, now)) : "clocked in"}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {photos.length > 0 && (
        <section className="visit-work__part" aria-labelledby={`vw-photos-${visit.id}`}>
          <h3 id={`vw-photos-${visit.id}`} className="visit-work__title">
            {photos.every(isImage) ? "Photos" : "Photos and files"} <span className="muted">{photos.length}</span>
          </h3>
          <ul className="visit-work__photos">
            {photos.map((p, i) => {
              const description = `${isImage(p) ? "Photo" : "File"} ${i + 1} from the visit of ${when}`;
              // The full picture stands in while its thumbnail is being made.
              const src = p.thumbnail_url ?? (isImage(p) ? p.url : null);
              return (
                <li key={p.id}>
                  <a href={p.url} target="_blank" rel="noreferrer">
                    {src ? (
                      <img src={src} alt={description} loading="lazy" />
                    ) : (
                      <span className="visit-work__file">
                        {p.filename}
                        <span className="visually-hidden"> ({description})</span>
                      </span>
                    )}
                  </a>
                </li>
              );
            })}
          </ul>
        </section>
      )}
    </div>
  );
}
