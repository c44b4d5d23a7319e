// A team member's own working hours for online booking (the slots offered for them
// lie inside these instead of the business's hours from Settings › Online requests).
import { useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { Dialog } from "../../components/Dialog";
import { TextField } from "../../components/Field";
import { FormError } from "../../components/States";
import { useSave } from "./useSave";

type Hours = components["schemas"]["WorkingHours"];
export type PersonHours = components["schemas"]["PersonHours"];

const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const hoursKey = ["settings", "working-hours"];

export function usePeopleHours() {
  return useQuery({
    queryKey: hoursKey,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/settings/working-hours", { signal })),
  });
}

/** "Mon 08:00–12:00, Tue 13:00–17:00", or what applies without hours of their own. */
export function describeHours(hours: Hours[] | null | undefined): string {
  if (!hours) return "The business's hours";
  if (hours.length === 0) return "No online bookings";
  return hours.map((h) => `${days[h.day - 1]!.slice(0, 3)} ${h.start}–${h.end}`).join(", ");
}

export function PersonHoursDialog({ userId, name, hours, onClose, onSaved }: { userId: string; name: string; hours: Hours[] | null | undefined; onClose: () => void; onSaved: (text: string) => void }) {
  const queryClient = useQueryClient();
  const save = useSave();
  const [own, setOwn] = useState(Boolean(hours));
  const [rows, setRows] = useState(() =>
    days.map((_, i) => {
      const h = hours?.find((w) => w.day === i + 1);
      return { on: Boolean(h) || (!hours && i < 5), start: h?.start ?? "08:00", end: h?.end ?? "17:00" };
    }),
  );
  const setRow = (i: number, patch: Partial<(typeof rows)[number]>) => setRows((all) => all.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const rowError = (i: number) => {
    const at = own ? rows.slice(0, i + 1).filter((r) => r.on).length - 1 : -1;
    return at >= 0 && rows[i]!.on ? (save.fields[`working_hours[${at}].end`] ?? save.fields[`working_hours[${at}].day`]) : undefined;
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    const working_hours = own ? rows.flatMap((r, i) => (r.on ? [{ day: i + 1, start: r.start, end: r.end }] : [])) : null;
    const saved = await save.run(() => unwrap(api.PUT("/api/v1/users/{id}/working-hours", { params: { path: { id: userId } }, body: { working_hours } })));
    if (saved) {
      await queryClient.invalidateQueries({ queryKey: hoursKey });
      onSaved(`Working hours of ${name}: ${describeHours(saved.working_hours)}.`);
      onClose();
    }
  }

  return (
    <Dialog title={`Working hours of ${name}`} onClose={onClose}>
      <form onSubmit={submit} className="person-hours">
        <p className="muted">Online booking offers {name} only inside these hours, in your business's time zone.</p>
        <fieldset className="checks">
          <legend>Hours</legend>
          <label className="check">
            <input type="radio" name="own" checked={!own} onChange={() => setOwn(false)} /> The business's hours (Settings › Online requests)
          </label>
          <label className="check">
            <input type="radio" name="own" checked={own} onChange={() => setOwn(true)} /> Their own hours
          </label>
        </fieldset>
        {own && (
          <fieldset className="checks">
            <legend>Days they work</legend>
            {rows.map((r, i) => (
              <div className="form__row person-hours__row" key={days[i]}>
                <label className="check">
                  <input type="checkbox" checked={r.on} onChange={(e) => setRow(i, { on: e.target.checked })} />
                  {days[i]}
                </label>
                <TextField label={`${days[i]} from`} type="time" value={r.start} disabled={!r.on} onChange={(e) => setRow(i, { start: e.target.value })} />
                <TextField label={`${days[i]} until`} type="time" value={r.end} disabled={!r.on} onChange={(e) => setRow(i, { end: e.target.value })} error={rowError(i)} />
              </div>
            ))}
            {rows.every((r) => !r.on) && <p className="muted">No day ticked: {name} gets no online bookings.</p>}
          </fieldset>
        )}
        <FormError message={save.error} />
        <div className="form__actions dialog__actions">
          <button type="submit" className="button button--primary" disabled={save.busy}>
            {save.busy ? "Saving…" : "Save hours"}
          </button>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
