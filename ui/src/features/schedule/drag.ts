// Dragging a visit with pointer events (mouse, pen, touch): past a few pixels the
// card follows the pointer as a ghost, and where it is let go decides the drop.
// Drop targets are elements with data-drop-date (and data-drop-lane); a timeline
// (day view) also has data-drop-from (its first minute) and data-drop-scale
// (pixels per minute), so the time comes from where the card's left edge lands.
import { useCallback, useEffect, useRef, useState, type PointerEvent as ReactPointerEvent } from "react";
import type { Visit } from "./api";

export interface DropTarget {
  date: string;
  lane: string | null;
  /** Minutes after midnight, for a drop on a timeline. */
  minutes: number | null;
  /** Dropped on a day's "anytime" column. */
  anytime: boolean;
}

export interface DragState {
  visit: Visit;
  fromLane: string | null;
  x: number;
  y: number;
  offsetX: number;
  offsetY: number;
  width: number;
  /** `date|lane` of the cell under the pointer. */
  target: string | null;
  minutes: number | null;
}

const THRESHOLD = 5;
/** How long a finger rests on a card before it can be dragged (ms). */
const HOLD = 350;
const SNAP = 15;

function targetAt(x: number, y: number, offsetX: number): { element: HTMLElement; drop: DropTarget } | null {
  const hit = document.elementFromPoint(x, y);
  const element = hit instanceof Element ? hit.closest<HTMLElement>("[data-drop-date]") : null;
  if (!element) return null;
  const date = element.dataset.dropDate ?? "";
  const lane = element.dataset.dropLane ?? null;
  let minutes: number | null = null;
  if (element.dataset.dropFrom !== undefined) {
    const rect = element.getBoundingClientRect();
    const scale = Number(element.dataset.dropScale ?? "1");
    const raw = Number(element.dataset.dropFrom) + (x - offsetX - rect.left) / scale;
    minutes = Math.min(24 * 60 - SNAP, Math.max(0, Math.round(raw / SNAP) * SNAP));
  }
  return { element, drop: { date, lane, minutes, anytime: element.dataset.dropAnytime === "true" } };
}

export function cellKey(date: string, lane: string | null, anytime = false): string {
  return `${date}|${lane ?? ""}${anytime ? "|anytime" : ""}`;
}

/**
 * The drag of visits on the schedule. `start(visit, lane)` is the card's
 * pointerdown; `wasDrag()` tells the card's click that it ended a drag.
 */
export function useVisitDrag(onDrop: (visit: Visit, fromLane: string | null, drop: DropTarget) => void) {
  const [drag, setDrag] = useState<DragState | null>(null);
  const dropRef = useRef(onDrop);
  const suppressClick = useRef(false);
  useEffect(() => {
    dropRef.current = onDrop;
  });

  const start = useCallback(
    (visit: Visit, fromLane: string | null) => (event: ReactPointerEvent<HTMLElement>) => {
      if (event.button !== 0 || !event.isPrimary) return;
      const card = event.currentTarget;
      const rect = card.getBoundingClientRect();
      const origin = { x: event.clientX, y: event.clientY };
      const offsetX = event.clientX - rect.left;
      const offsetY = event.clientY - rect.top;
      let moving = false;
      let last: DropTarget | null = null;
      // A finger scrolls the grid; holding it still on a card for a moment picks the card up.
      const touch = event.pointerType === "touch";
      let armed = !touch;
      const hold = touch
        ? window.setTimeout(() => {
            armed = true;
            card.classList.add("visit--armed");
          }, HOLD)
        : 0;

      const move = (e: PointerEvent) => {
        if (!moving && Math.hypot(e.clientX - origin.x, e.clientY - origin.y) < THRESHOLD) return;
        if (!armed) {
          // The finger moved before the hold: a scroll, not a drag.
          cleanup();
          return;
        }
        if (!moving) {
          moving = true;
          document.body.classList.add("is-dragging");
        }
        e.preventDefault();
        const found = targetAt(e.clientX, e.clientY, offsetX);
        last = found?.drop ?? null;
        setDrag({
          visit,
          fromLane,
          x: e.clientX,
          y: e.clientY,
          offsetX,
          offsetY,
          width: rect.width,
          target: last ? cellKey(last.date, last.lane, last.anytime) : null,
          minutes: last?.minutes ?? null,
        });
      };
      // While a finger drags, the page must not scroll under it.
      const noScroll = (e: TouchEvent) => {
        if (armed) e.preventDefault();
      };
      const cleanup = () => {
        window.clearTimeout(hold);
        card.classList.remove("visit--armed");
        window.removeEventListener("pointermove", move);
        window.removeEventListener("pointerup", end);
        window.removeEventListener("pointercancel", cancel);
        window.removeEventListener("keydown", escape);
        window.removeEventListener("touchmove", noScroll);
        document.body.classList.remove("is-dragging");
      };
      const end = (e: PointerEvent) => {
        cleanup();
        setDrag(null);
        if (!moving) return;
        suppressClick.current = true;
        window.setTimeout(() => (suppressClick.current = false), 0);
        const found = targetAt(e.clientX, e.clientY, offsetX);
        if (found) dropRef.current(visit, fromLane, found.drop);
      };
      const cancel = () => {
        cleanup();
        if (moving) {
          suppressClick.current = true;
          window.setTimeout(() => (suppressClick.current = false), 0);
        }
        moving = false;
        setDrag(null);
      };
      const escape = (e: KeyboardEvent) => {
        if (e.key === "Escape") cancel();
      };
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", end);
      window.addEventListener("pointercancel", cancel);
      window.addEventListener("keydown", escape);
      if (touch) window.addEventListener("touchmove", noScroll, { passive: false });
    },
    [],
  );

  const wasDrag = useCallback(() => suppressClick.current, []);
  return { drag, start, wasDrag };
}
