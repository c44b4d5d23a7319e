import { useCallback, useMemo, useRef, useState, type CSSProperties, type FormEvent, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Link, useSearchParams } from "react-router";
import { useLiveTopic } from "../../api/live";
import { ApiProblem, describeError } from "../../api/problem";
import { useSignedIn } from "../../api/session";
import { Dialog } from "../../components/Dialog";
import { TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { whoChanged } from "../../components/staleDiff";
import { ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { formatDateTime, formatDay } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import { addDays, addMonths, hhmm, isIsoDate, parseHhmm, startOfMonth, startOfWeek, today, zonedInstant } from "../../lib/zoned";
import { reschedule, scheduleKey, useSchedule, useTeam, type Schedule as ScheduleData, type Visit, type VisitSchedule } from "./api";
import { cellKey, useVisitDrag, type DragState, type DropTarget } from "./drag";
import {
  byLaneAndDay,
  dayHours,
  durationMinutes,
  dropRequest,
  lanesFor,
  monthDays,
  moved,
  place,
  stack,
  UNASSIGNED,
  type Lane,
  type Placed,
} from "./layout";
import "./schedule.css";

type View = "day" | "week" | "month";
const views: { value: View; label: string }[] = [
  { value: "day", label: "Day" },
  { value: "week", label: "Week" },
  { value: "month", label: "Month" },
];

function range(view: View, date: string): { from: string; to: string; days: number } {
  if (view === "day") return { from: date, to: addDays(date, 1), days: 1 };
  if (view === "week") {
    const from = startOfWeek(date);
    return { from, to: addDays(from, 7), days: 7 };
  }
  const grid = monthDays(startOfMonth(date), startOfWeek(startOfMonth(date)));
  return { from: grid[0]!, to: addDays(grid[grid.length - 1]!, 1), days: grid.length };
}

interface Pending {
  visit: Visit;
  request: VisitSchedule;
}

/** The schedule: who goes where, when; drag to move, live as others move things. */
export function Schedule() {
  const { user } = useSignedIn();
  const fmt = useFormat();
  const timeZone = fmt.timeZone;
  const [params, setParams] = useSearchParams();
  const view = (views.some((v) => v.value === params.get("view")) ? params.get("view") : "week") as View;
  const dateParam = params.get("date") ?? "";
  const date = isIsoDate(dateParam) ? dateParam : today(timeZone);
  const { from, to, days } = range(view, date);
  const staff = user.role !== "technician";

  const schedule = useSchedule(from, to, timeZone);
  const team = useTeam(staff);
  const queryClient = useQueryClient();
  useLiveTopic("schedule");

  const [moving, setMoving] = useState<Visit | null>(null);
  const [conflict, setConflict] = useState<{ pending: Pending; problem: ApiProblem } | null>(null);
  const [notice, setNotice] = useState<{ kind: "error" | "info"; text: string } | null>(null);

  const go = (next: { view?: View; date?: string }) =>
    setParams(
      (p) => {
        const out = new URLSearchParams(p);
        if (next.view) out.set("view", next.view);
        if (next.date) out.set("date", next.date);
        return out;
      },
      { replace: false },
    );

  const teamLanes: Lane[] = useMemo(
    () => (staff ? (team.data ?? []).map((u) => ({ id: u.id, name: u.name })) : [{ id: user.id, name: user.name }]),
    [staff, team.data, user.id, user.name],
  );
  const names = useMemo(() => new Map(teamLanes.map((l) => [l.id, l.name])), [teamLanes]);

  const send = useCallback(
    async (pending: Pending, allowOverlap = false) => {
      const key = scheduleKey(from, to);
      await queryClient.cancelQueries({ queryKey: key });
      const before = queryClient.getQueryData<ScheduleData>(key);
      if (before) {
        const after = moved(pending.visit, pending.request, timeZone, zonedInstant);
        const others = (list: Visit[]) => list.filter((v) => v.id !== pending.visit.id);
        queryClient.setQueryData<ScheduleData>(key, {
          visits: after.starts_at ? [...others(before.visits), after] : others(before.visits),
          unscheduled: after.starts_at ? others(before.unscheduled) : [...others(before.unscheduled), after],
        });
      }
      setNotice(null);
      try {
        await reschedule(pending.visit.id, { ...pending.request, allow_overlap: allowOverlap });
        setConflict(null);
        setNotice({ kind: "info", text: `Moved ${pending.visit.client_name}: ${pending.visit.title}.` });
      } catch (error) {
        if (before) queryClient.setQueryData(key, before);
        if (error instanceof ApiProblem && error.code === "schedule_conflict") {
          setConflict({ pending, problem: error });
        } else if (error instanceof ApiProblem && (error.code === "version_conflict" || error.code === "precondition_failed")) {
          setConflict(null);
          // A drag is one gesture, not a form: no "yours and theirs", but who moved it.
          const at = error.stale?.updatedAt;
          const who = whoChanged(error.stale?.updatedBy);
          setNotice({ kind: "error", text: `${who} changed this visit${at ? ` at ${fmt.time(at)}` : " just now"}. The schedule now shows their change; move it again if you still want to.` });
        } else {
          setConflict(null);
          setNotice({ kind: "error", text: describeError(error) });
        }
      } finally {
        void queryClient.invalidateQueries({ queryKey: ["schedule"] });
        void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      }
    },
    [from, to, queryClient, timeZone],
  );

  const onDrop = useCallback(
    (visit: Visit, fromLane: string | null, drop: DropTarget) => {
      const request = dropRequest(visit, fromLane, drop, timeZone);
      if (request) void send({ visit, request });
    },
    [send, timeZone],
  );
  const { drag, start, wasDrag } = useVisitDrag(onDrop);

  const title =
    view === "day"
      ? formatDay(date, undefined, { weekday: "long", month: "long", day: "numeric", year: "numeric" })
      : view === "week"
        ? `${formatDay(from, undefined, { month: "short", day: "numeric" })} – ${formatDay(addDays(to, -1), undefined, { month: "short", day: "numeric", year: "numeric" })}`
        : formatDay(startOfMonth(date), undefined, { month: "long", year: "numeric" });
  const step = (n: number) => (view === "day" ? addDays(date, n) : view === "week" ? addDays(date, 7 * n) : addMonths(date, n));

  // Cancelled visits are off the schedule.
  const data = useMemo(
    () => schedule.data && { visits: schedule.data.visits.filter((v) => v.status !== "cancelled"), unscheduled: schedule.data.unscheduled },
    [schedule.data],
  );
  const lanes = useMemo(() => lanesFor(teamLanes, data?.visits ?? []), [teamLanes, data]);
  const cardProps: CardProps = { timeZone, names, drag, start: staff ? start : null, wasDrag, open: staff ? setMoving : null };

  return (
    <div className="schedule-page">
      <PageHeader title="Schedule" subtitle={<span aria-live="polite">{title}</span>} />
      <div className="toolbar schedule-toolbar">
        <div className="segmented" role="group" aria-label="View">
          {views.map((v) => (
            <button key={v.value} type="button" className="segmented__item" aria-pressed={view === v.value} onClick={() => go({ view: v.value })}>
              {v.label}
            </button>
          ))}
        </div>
        <div className="schedule-toolbar__nav">
          <button type="button" className="icon-button" aria-label={`Previous ${view}`} onClick={() => go({ date: step(-1) })}>
            <Icon name="back" />
          </button>
          <button type="button" className="button" onClick={() => go({ date: today(timeZone) })}>
            Today
          </button>
          <button type="button" className="icon-button" aria-label={`Next ${view}`} onClick={() => go({ date: step(1) })}>
            <Icon name="chevron" />
          </button>
        </div>
        {schedule.isFetching && !schedule.isPending && <span className="muted schedule-toolbar__busy">Updating…</span>}
      </div>
      {notice && (
        <div className={notice.kind === "error" ? "form-error" : "notice"} role={notice.kind === "error" ? "alert" : "status"}>
          {notice.text}
        </div>
      )}
      {schedule.isPending ? (
        <Spinner label="Loading the schedule" />
      ) : schedule.isError ? (
        <ErrorState error={schedule.error} onRetry={() => void schedule.refetch()} />
      ) : (
        <div className="schedule-body">
          <Unscheduled visits={data!.unscheduled} card={cardProps} />
          <div className="schedule-main">
            {view === "week" && <WeekGrid from={from} days={days} lanes={lanes} visits={data!.visits} card={cardProps} onDay={(d) => go({ view: "day", date: d })} />}
            {view === "day" && <DayGrid date={from} lanes={lanes} visits={data!.visits} card={cardProps} />}
            {view === "month" && (
              <MonthGrid from={from} days={days} month={startOfMonth(date).slice(0, 7)} visits={data!.visits} card={cardProps} onDay={(d) => go({ view: "day", date: d })} />
            )}
          </div>
        </div>
      )}
      {drag && <Ghost drag={drag} timeZone={timeZone} />}
      {moving && (
        <MoveDialog
          visit={moving}
          lanes={teamLanes}
          timeZone={timeZone}
          onClose={() => setMoving(null)}
          onMove={async (request) => {
            setMoving(null);
            await send({ visit: moving, request });
          }}
        />
      )}
      {conflict && (
        <ConflictDialog
          problem={conflict.problem}
          names={names}
          timeZone={timeZone}
          onCancel={() => setConflict(null)}
          onBookAnyway={() => void send(conflict.pending, true)}
        />
      )}
    </div>
  );
}

// ---- cards -------------------------------------------------------------------------

interface CardProps {
  timeZone: string;
  names: Map<string, string>;
  drag: DragState | null;
  start: ReturnType<typeof useVisitDrag>["start"] | null;
  wasDrag: () => boolean;
  open: ((visit: Visit) => void) | null;
}

// Hundreds of cards: one formatter each for times and days, not one per card.
const timeFormats = new Map<string, Intl.DateTimeFormat>();
const cardDay = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });

function timeLabel(p: Placed | null, timeZone: string): string {
  if (!p) return "Unscheduled";
  if (p.anytime) return "Anytime";
  let format = timeFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", timeZone });
    timeFormats.set(timeZone, format);
  }
  return format.format(new Date(p.visit.starts_at!));
}

function dayLabel(date: string): string {
  return cardDay.format(new Date(`${date}T12:00:00Z`));
}

function VisitCard({ visit, lane, card, style, compact }: { visit: Visit; lane: string | null; card: CardProps; style?: CSSProperties; compact?: boolean }) {
  const placed = place(visit, card.timeZone);
  const when = timeLabel(placed, card.timeZone);
  const who = visit.assignee_ids.map((id) => card.names.get(id) ?? "someone").join(", ") || "nobody";
  const day = placed ? dayLabel(placed.date) : "";
  const dragging = card.drag?.visit.id === visit.id;
  const className = `visit visit--${visit.status}${dragging ? " visit--dragging" : ""}${compact ? " visit--compact" : ""}`;
  // The visible text first, then what only a screen reader needs.
  const body = (
    <>
      <span className="visit__time">{when}</span>{" "}
      <span className="visit__client">{visit.client_name}</span>{" "}
      <span className={compact ? "visually-hidden" : "visit__title"}>{visit.title}</span>
      <span className="visually-hidden">
        {day ? `, ${day}` : ""}, job #{visit.job_number}, {visit.status.replace("_", " ")}, assigned to {who}.{card.open ? " Move…" : ""}
      </span>
    </>
  );
  if (!card.open) {
    return (
      <div className={className} style={style} data-visit-id={visit.id}>
        {body}
      </div>
    );
  }
  return (
    <button
      type="button"
      className={className}
      style={style}
      data-visit-id={visit.id}
      onPointerDown={card.start?.(visit, lane)}
      onClick={() => {
        if (!card.wasDrag()) card.open?.(visit);
      }}
    >
      {body}
    </button>
  );
}

function Ghost({ drag, timeZone }: { drag: DragState; timeZone: string }) {
  const when = drag.minutes !== null ? hhmm(drag.minutes) : timeLabel(place(drag.visit, timeZone), timeZone);
  return (
    <div className="visit visit--ghost" aria-hidden="true" style={{ left: drag.x - drag.offsetX, top: drag.y - drag.offsetY, width: Math.min(220, Math.max(120, drag.width)) }}>
      <span className="visit__time">{when}</span>
      <span className="visit__client">{drag.visit.client_name}</span>
    </div>
  );
}

// ---- week ----------------------------------------------------------------------------

const CARD_H = 56;
const MAX_IN_CELL = 4;

function DayHeads({ from, days, onDay }: { from: string; days: number; onDay?: (d: string) => void }) {
  const now = today(useFormat().timeZone);
  return (
    <div className="sgrid__head" style={{ gridTemplateColumns: `var(--lane-w) repeat(${days}, minmax(118px, 1fr))` }}>
      <div className="sgrid__corner">Team</div>
      {Array.from({ length: days }, (_, i) => {
        const d = addDays(from, i);
        const text = formatDay(d, undefined, { weekday: "short", month: "short", day: "numeric" });
        return (
          <div key={d} className={`sgrid__day${d === now ? " sgrid__day--today" : ""}`}>
            {onDay ? (
              <button type="button" className="link-button" onClick={() => onDay(d)}>
                {text}
                <span className="visually-hidden">: day view</span>
              </button>
            ) : (
              text
            )}
          </div>
        );
      })}
    </div>
  );
}

function WeekGrid({ from, days, lanes, visits, card, onDay }: { from: string; days: number; lanes: Lane[]; visits: Visit[]; card: CardProps; onDay: (d: string) => void }) {
  const cells = useMemo(() => byLaneAndDay(visits, card.timeZone, from, days), [visits, card.timeZone, from, days]);
  const heights = useMemo(
    () =>
      lanes.map((lane) => {
        const row = cells.get(lane.id);
        const most = row ? Math.max(...row.map((c) => c.length)) : 0;
        const shown = Math.min(most, MAX_IN_CELL);
        return Math.max(84, 12 + shown * (CARD_H + 4) + (most > MAX_IN_CELL ? 26 : 0));
      }),
    [lanes, cells],
  );
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: lanes.length, getScrollElement: () => scroller.current, estimateSize: (i) => heights[i] ?? 84, overscan: 4 });
  const columns = `var(--lane-w) repeat(${days}, minmax(118px, 1fr))`;

  return (
    <div className="sgrid" ref={scroller} tabIndex={-1} aria-label="Week schedule" role="region">
      <div className="sgrid__inner" style={{ minWidth: `calc(var(--lane-w) + ${days * 118}px)` }}>
        <DayHeads from={from} days={days} onDay={onDay} />
        <div className="sgrid__rows" style={{ height: virtual.getTotalSize() }}>
          {virtual.getVirtualItems().map((item) => {
            const lane = lanes[item.index]!;
            const row = cells.get(lane.id);
            return (
              <div
                key={lane.id}
                className="sgrid__lane"
                role="group"
                aria-label={lane.name}
                style={{ transform: `translateY(${item.start}px)`, height: heights[item.index], gridTemplateColumns: columns }}
              >
                <div className="sgrid__who">
                  <span className="avatar avatar--sm" aria-hidden="true">
                    {lane.id === UNASSIGNED ? "?" : lane.name.slice(0, 1).toUpperCase()}
                  </span>
                  <span>{lane.name}</span>
                </div>
                {Array.from({ length: days }, (_, i) => {
                  const d = addDays(from, i);
                  const cell = row?.[i] ?? [];
                  const key = cellKey(d, lane.id);
                  return (
                    <div key={d} className={`sgrid__cell${card.drag?.target === key ? " sgrid__cell--over" : ""}`} data-drop-date={d} data-drop-lane={lane.id}>
                      {cell.slice(0, MAX_IN_CELL).map((p) => (
                        <VisitCard key={p.visit.id} visit={p.visit} lane={lane.id} card={card} />
                      ))}
                      {cell.length > MAX_IN_CELL && (
                        <button type="button" className="link-button sgrid__more" onClick={() => onDay(d)}>
                          {cell.length - MAX_IN_CELL} more
                        </button>
                      )}
                    </div>
                  );
                })}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

// ---- day -----------------------------------------------------------------------------

const HOUR_W = 96;
const ROW_H = 46;
const ANYTIME_W = 136;

function DayGrid({ date, lanes, visits, card }: { date: string; lanes: Lane[]; visits: Visit[]; card: CardProps }) {
  const cells = useMemo(() => byLaneAndDay(visits, card.timeZone, date, 1), [visits, card.timeZone, date]);
  const all = useMemo(() => [...cells.values()].flatMap((row) => row[0] ?? []), [cells]);
  const hours = dayHours(all);
  const layouts = useMemo(
    () =>
      lanes.map((lane) => {
        const placed = cells.get(lane.id)?.[0] ?? [];
        const stacked = stack(placed);
        const anytime = placed.filter((p) => p.anytime);
        const rows = Math.max(stacked.rows, anytime.length);
        return { stacked, anytime, height: Math.max(80, 8 + rows * ROW_H) };
      }),
    [lanes, cells],
  );
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: lanes.length, getScrollElement: () => scroller.current, estimateSize: (i) => layouts[i]?.height ?? 64, overscan: 4 });
  const span = hours.to - hours.from;
  const scale = HOUR_W / 60;
  const width = `calc(var(--lane-w) + ${ANYTIME_W + span * HOUR_W}px)`;
  const columns = `var(--lane-w) ${ANYTIME_W}px ${span * HOUR_W}px`;
  const fmt = useFormat();
  const hourLabel = (h: number) => formatDateTime(zonedInstant(date, h * 60, fmt.timeZone).toISOString(), fmt.timeZone, undefined, { hour: "numeric", timeZone: fmt.timeZone });

  return (
    <div className="sgrid" ref={scroller} tabIndex={-1} aria-label="Day schedule" role="region">
      <div className="sgrid__inner" style={{ minWidth: width }}>
        <div className="sgrid__head" style={{ gridTemplateColumns: columns }}>
          <div className="sgrid__corner">Team</div>
          <div className="sgrid__day">Anytime</div>
          <div className="sgrid__hours">
            {Array.from({ length: span }, (_, i) => (
              <span key={i} style={{ width: HOUR_W }}>
                {hourLabel(hours.from + i)}
              </span>
            ))}
          </div>
        </div>
        <div className="sgrid__rows" style={{ height: virtual.getTotalSize() }}>
          {virtual.getVirtualItems().map((item) => {
            const lane = lanes[item.index]!;
            const layout = layouts[item.index]!;
            return (
              <div
                key={lane.id}
                className="sgrid__lane"
                role="group"
                aria-label={lane.name}
                style={{ transform: `translateY(${item.start}px)`, height: layout.height, gridTemplateColumns: columns }}
              >
                <div className="sgrid__who">
                  <span className="avatar avatar--sm" aria-hidden="true">
                    {lane.id === UNASSIGNED ? "?" : lane.name.slice(0, 1).toUpperCase()}
                  </span>
                  <span>{lane.name}</span>
                </div>
                <div
                  className={`sgrid__cell${card.drag?.target === cellKey(date, lane.id, true) ? " sgrid__cell--over" : ""}`}
                  data-drop-date={date}
                  data-drop-lane={lane.id}
                  data-drop-anytime="true"
                >
                  {layout.anytime.map((p) => (
                    <VisitCard key={p.visit.id} visit={p.visit} lane={lane.id} card={card} compact />
                  ))}
                </div>
                <div
                  className={`sgrid__timeline${card.drag?.target === cellKey(date, lane.id) ? " sgrid__cell--over" : ""}`}
                  data-drop-date={date}
                  data-drop-lane={lane.id}
                  data-drop-from={hours.from * 60}
                  data-drop-scale={scale}
                  style={{ backgroundSize: `${HOUR_W}px 100%` }}
                >
                  {layout.stacked.items.map((p) => (
                    <VisitCard
                      key={p.visit.id}
                      visit={p.visit}
                      lane={lane.id}
                      card={card}
                      compact
                      style={{
                        position: "absolute",
                        left: (p.start - hours.from * 60) * scale,
                        width: Math.max(40, (p.end - p.start) * scale - 3),
                        top: 4 + p.row * ROW_H,
                        height: ROW_H - 4,
                      }}
                    />
                  ))}
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

// ---- month ---------------------------------------------------------------------------

function MonthGrid({ from, days, month, visits, card, onDay }: { from: string; days: number; month: string; visits: Visit[]; card: CardProps; onDay: (d: string) => void }) {
  const byDay = useMemo(() => {
    const out: Placed[][] = Array.from({ length: days }, () => []);
    const cells = byLaneAndDay(visits, card.timeZone, from, days);
    const seen = new Set<string>();
    for (const row of cells.values()) {
      row.forEach((cell, i) => {
        for (const p of cell) {
          if (seen.has(`${i}|${p.visit.id}`)) continue;
          seen.add(`${i}|${p.visit.id}`);
          out[i]!.push(p);
        }
      });
    }
    for (const cell of out) cell.sort((a, b) => (a.anytime === b.anytime ? a.start - b.start : a.anytime ? -1 : 1));
    return out;
  }, [visits, card.timeZone, from, days]);
  const now = today(card.timeZone);
  return (
    <div className="month" role="region" aria-label="Month schedule">
      {["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((d) => (
        <div key={d} className="month__head" aria-hidden="true">
          {d}
        </div>
      ))}
      {byDay.map((cell, i) => {
        const d = addDays(from, i);
        return (
          <div
            key={d}
            className={`month__day${d.slice(0, 7) !== month ? " month__day--other" : ""}${d === now ? " month__day--today" : ""}${card.drag?.target === cellKey(d, null) ? " sgrid__cell--over" : ""}`}
            data-drop-date={d}
          >
            <button type="button" className="link-button month__date" onClick={() => onDay(d)}>
              {Number(d.slice(8))}
              <span className="visually-hidden">
                {" "}
                {formatDay(d, undefined, { month: "long", year: "numeric" })}: {cell.length} {cell.length === 1 ? "visit" : "visits"}
              </span>
            </button>
            {cell.slice(0, 3).map((p) => (
              <VisitCard key={p.visit.id} visit={p.visit} lane={null} card={card} compact />
            ))}
            {cell.length > 3 && (
              <button type="button" className="link-button sgrid__more" onClick={() => onDay(d)}>
                {cell.length - 3} more
              </button>
            )}
          </div>
        );
      })}
    </div>
  );
}

// ---- unscheduled ---------------------------------------------------------------------

function Unscheduled({ visits, card }: { visits: Visit[]; card: CardProps }) {
  const shown = visits.slice(0, 100);
  return (
    <section className="unscheduled card" aria-labelledby="unscheduled-h">
      <div className="unscheduled__head">
        <h2 id="unscheduled-h">
          Unscheduled <span className="badge">{visits.length}</span>
        </h2>
        {visits.length === 0 ? (
          <p className="muted">Every open visit has a time.</p>
        ) : (
          card.open && <p className="muted">Drag a visit onto the schedule, or choose it to pick a time.</p>
        )}
      </div>
      {visits.length > 0 && (
        <ul className="unscheduled__list">
          {shown.map((v) => (
            <li key={v.id}>
              <VisitCard visit={v} lane={null} card={card} />
            </li>
          ))}
          {visits.length > shown.length && <li className="muted">And {visits.length - shown.length} more.</li>}
        </ul>
      )}
    </section>
  );
}

// ---- dialogs -------------------------------------------------------------------------

function MoveDialog({
  visit,
  lanes,
  timeZone,
  onClose,
  onMove,
}: {
  visit: Visit;
  lanes: Lane[];
  timeZone: string;
  onClose: () => void;
  onMove: (request: VisitSchedule) => Promise<void>;
}) {
  const placed = place(visit, timeZone);
  const [date, setDate] = useState(placed?.date ?? today(timeZone));
  const [time, setTime] = useState(placed && !placed.anytime ? hhmm(placed.start) : placed ? "" : "09:00");
  const [duration, setDuration] = useState(String(durationMinutes(visit) ?? 60));
  const [assignees, setAssignees] = useState<string[]>(visit.assignee_ids);
  const [errors, setErrors] = useState<Record<string, string>>({});

  function submit(event: FormEvent) {
    event.preventDefault();
    const next: Record<string, string> = {};
    if (!isIsoDate(date)) next.date = "Choose a day.";
    if (time && parseHhmm(time) === null) next.time = "Use a time like 09:30, or leave it empty for any time that day.";
    const minutes = Number(duration);
    if (time && !(Number.isInteger(minutes) && minutes >= 1 && minutes <= 1440)) next.duration = "Between 1 and 1440 minutes.";
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    void onMove({
      start_date: date,
      start_time: time ? hhmm(parseHhmm(time)!) : null,
      ...(time ? { duration_minutes: minutes } : {}),
      assignee_ids: assignees,
      version: visit.version,
    });
  }

  const toggle = (id: string) => setAssignees((list) => (list.includes(id) ? list.filter((a) => a !== id) : [...list, id]));

  return (
    <Dialog title={`Move visit: ${visit.client_name}`} onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate>
        <p className="muted">
          {visit.title} · <Link to={`/jobs/${visit.job_id}`}>job #{visit.job_number}</Link>
          {visit.address ? ` · ${visit.address}` : ""}
        </p>
        <div className="form__row">
          <TextField label="Date" type="date" value={date} onChange={(e) => setDate(e.target.value)} error={errors.date} required />
          <TextField label="Start time" type="time" value={time} onChange={(e) => setTime(e.target.value)} error={errors.time} hint="Empty: any time that day." />
        </div>
        {time && (
          <TextField label="Length (minutes)" type="number" min={1} max={1440} step={15} value={duration} onChange={(e) => setDuration(e.target.value)} error={errors.duration} />
        )}
        <fieldset className="checks">
          <legend>Assigned to</legend>
          {lanes.map((l) => (
            <label key={l.id} className="check">
              <input type="checkbox" checked={assignees.includes(l.id)} onChange={() => toggle(l.id)} />
              {l.name}
            </label>
          ))}
        </fieldset>
        <div className="form__actions dialog__actions">
          <button type="submit" className="button button--primary">
            Move visit
          </button>
          {placed && (
            <button type="button" className="button" onClick={() => void onMove({ start_date: null, start_time: null, version: visit.version })}>
              Unschedule
            </button>
          )}
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

const BOOKED = /^user (\S+) is booked from (\S+) to (\S+) \(visit (\S+)\)$/;

function ConflictDialog({
  problem,
  names,
  timeZone,
  onCancel,
  onBookAnyway,
}: {
  problem: ApiProblem;
  names: Map<string, string>;
  timeZone: string;
  onCancel: () => void;
  onBookAnyway: () => void;
}) {
  const time = (iso: string) => formatDateTime(iso, timeZone, undefined, { weekday: "short", hour: "numeric", minute: "2-digit", timeZone });
  const lines: ReactNode[] = problem.errors.map((e, i) => {
    const m = BOOKED.exec(e.message);
    if (!m) return <li key={i}>{e.message}</li>;
    return (
      <li key={i}>
        <strong>{names.get(m[1]!) ?? "A team member"}</strong> is already booked {time(m[2]!)} – {time(m[3]!)}.
      </li>
    );
  });
  return (
    <Dialog title="That time is taken" onClose={onCancel}>
      <FormError message={problem.detail} />
      <ul className="conflicts">{lines}</ul>
      <div className="form__actions dialog__actions">
        <button type="button" className="button button--primary" onClick={onBookAnyway} autoFocus>
          Book anyway
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

export default Schedule;
