import { type ReactNode, useEffect, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useSearchParams } from "react-router";
import { useDebounced } from "../lib/useDebounced";
import { Icon } from "./Icon";

const ROW_HEIGHT = 64;

/**
 * A list of any length loaded in keyset pages: only the rows in view are drawn, and
 * the next page is asked for as the last ones come near.
 */
export function PagedList<T extends { id: string }>({
  items,
  label,
  head,
  headClassName,
  renderRow,
  hasMore,
  loadingMore,
  onMore,
  busy,
}: {
  items: T[];
  /** The list's accessible name ("Quotes"). */
  label: string;
  /** The column headings (shown, hidden from screen readers: each row says it all). */
  head: ReactNode;
  headClassName?: string;
  renderRow: (item: T) => ReactNode;
  hasMore: boolean;
  loadingMore: boolean;
  onMore: () => void;
  busy: boolean;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: items.length + (hasMore ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });
  const rows = virtual.getVirtualItems();
  const last = rows[rows.length - 1];
  useEffect(() => {
    if (last && hasMore && !loadingMore && last.index >= items.length - 10) onMore();
  }, [last, hasMore, loadingMore, items.length, onMore]);

  return (
    <div className="list" aria-busy={busy || undefined}>
      <div className={headClassName ? `list__head ${headClassName}` : "list__head"} aria-hidden="true">
        {head}
      </div>
      <div ref={scroller} className="list__scroller" tabIndex={-1}>
        <ul className="list__body" aria-label={label} style={{ height: virtual.getTotalSize() }}>
          {rows.map((row) => {
            const item = items[row.index];
            return (
              <li
                key={item?.id ?? "more"}
                className="list__row"
                style={{ transform: `translateY(${row.start}px)`, height: ROW_HEIGHT }}
                aria-setsize={hasMore ? -1 : items.length}
                aria-posinset={row.index + 1}
              >
                {item ? renderRow(item) : <span className="list__more">Loading more…</span>}
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}

/** The `status` filter of a list, kept in the page's URL (`?status=…`). */
export function useStatusParam<S extends string>(): [S | "", (status: string) => void] {
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "") as S | "";
  const setStatus = (value: string) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (value) next.set("status", value);
        else next.delete("status");
        return next;
      },
      { replace: true },
    );
  return [status, setStatus];
}

/**
 * A search term kept in the address (`?q=`, so a search can be bookmarked): what is
 * typed, and the trimmed term once typing pauses, for the query.
 */
export function useSearchParam(delay = 250): { typed: string; q: string; setTyped: (text: string) => void } {
  const [params, setParams] = useSearchParams();
  const [typed, setTyped] = useState(params.get("q") ?? "");
  const q = useDebounced(typed.trim(), delay);
  useEffect(() => {
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (q) next.set("q", q);
        else next.delete("q");
        return next;
      },
      { replace: true },
    );
  }, [q, setParams]);
  return { typed, q, setTyped };
}

/** The toolbar's search field. */
export function SearchBox({ label, placeholder, value, onChange }: { label: string; placeholder: string; value: string; onChange: (text: string) => void }) {
  return (
    <label className="search-box">
      <Icon name="search" />
      <span className="visually-hidden">{label}</span>
      <input type="search" placeholder={placeholder} value={value} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

/** The toolbar's status select: "All" and each status; `children` go before it (a search box). */
export function StatusFilter({
  value,
  onChange,
  options,
  children,
}: {
  value: string;
  onChange: (status: string) => void;
  options: readonly { value: string; label: string }[];
  children?: ReactNode;
}) {
  return (
    <div className="toolbar" role="search">
      {children}
      <label className="toolbar__filter">
        <span>Status</span>
        <select value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">All</option>
          {options.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
