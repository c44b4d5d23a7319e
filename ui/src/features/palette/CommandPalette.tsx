// The command palette (Ctrl-K / ⌘-K): type a name or a number, move with the arrow
// keys, Enter opens it. A modal <dialog> holding a combobox whose listbox holds the
// results (WAI-ARIA's "combobox with listbox popup"): focus stays in the input, the
// active option is announced through aria-activedescendant.
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api, unwrap } from "../../api/client";
import { describeError } from "../../api/problem";
import type { components } from "../../api/schema";
import { useDebounced } from "../../lib/useDebounced";
import "./palette.css";

type Hit = components["schemas"]["SearchHit"];
type Kind = Hit["kind"] | "page";

interface Option {
  key: string;
  kind: Kind;
  title: string;
  detail?: string;
  to: string;
}

const pages: { title: string; to: string; words: string }[] = [
  { title: "Dashboard", to: "/", words: "home today" },
  { title: "Clients", to: "/clients", words: "customers people" },
  { title: "New client", to: "/clients/new", words: "add create customer" },
  { title: "Quotes", to: "/quotes", words: "estimates" },
  { title: "Jobs", to: "/jobs", words: "work" },
  { title: "New job", to: "/jobs/new", words: "add create work" },
  { title: "Schedule", to: "/schedule", words: "calendar dispatch" },
  { title: "Invoices", to: "/invoices", words: "bills" },
  { title: "Reports", to: "/reports", words: "revenue aging export csv" },
  { title: "Settings", to: "/settings", words: "business team tax catalog logo" },
];

const kindNames: Record<Kind, string> = {
  page: "Page",
  client: "Client",
  quote: "Quote",
  job: "Job",
  invoice: "Invoice",
};

const order: Kind[] = ["client", "quote", "job", "invoice", "page"];

function path(hit: Hit): string {
  switch (hit.kind) {
    case "client":
      return `/clients/${hit.id}`;
    case "quote":
      return `/quotes/${hit.id}`;
    case "job":
      return `/jobs/${hit.id}`;
    case "invoice":
      return `/invoices/${hit.id}`;
  }
}

export function CommandPalette({ onClose }: { onClose: () => void }) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const listId = useId();
  const navigate = useNavigate();
  const [q, setQ] = useState("");
  const [active, setActive] = useState(0);
  const term = useDebounced(q.trim(), 150);

  useEffect(() => {
    const dialog = dialogRef.current;
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    }
    inputRef.current?.focus();
    return () => {
      if (dialog?.open && typeof dialog.close === "function") dialog.close();
      before?.focus();
    };
  }, []);

  const search = useQuery({
    queryKey: ["search", term],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/search", { params: { query: { q: term, limit: 5 } }, signal })),
    enabled: term.length > 0,
    staleTime: 10_000,
    placeholderData: (previous) => previous,
  });

  const options: Option[] = useMemo(() => {
    const needle = term.toLowerCase();
    const found: Option[] =
      term && search.data
        ? search.data.items.map((hit) => ({
            key: `${hit.kind}:${hit.id}`,
            kind: hit.kind,
            title: hit.number ? `#${hit.number} ${hit.title}` : hit.title,
            detail: hit.subtitle ?? undefined,
            to: path(hit),
          }))
        : [];
    const pageOptions = pages
      .filter((p) => !needle || p.title.toLowerCase().includes(needle) || p.words.includes(needle))
      .map((p) => ({ key: `page:${p.to}`, kind: "page" as const, title: p.title, to: p.to }));
    return [...found, ...pageOptions].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  }, [term, search.data]);

  // A new list starts at its first option.
  useEffect(() => setActive(0), [options]);

  const activeOption = options[active];
  const optionId = (i: number) => `${listId}-option-${i}`;

  useEffect(() => {
    document.getElementById(optionId(active))?.scrollIntoView?.({ block: "nearest" });
  });

  function open(option: Option | undefined) {
    if (!option) return;
    onClose();
    navigate(option.to);
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    const count = options.length;
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (count) setActive((i) => (i + 1) % count);
        break;
      case "ArrowUp":
        event.preventDefault();
        if (count) setActive((i) => (i - 1 + count) % count);
        break;
      case "Home":
        if (event.ctrlKey) {
          event.preventDefault();
          setActive(0);
        }
        break;
      case "End":
        if (event.ctrlKey) {
          event.preventDefault();
          setActive(Math.max(0, count - 1));
        }
        break;
      case "Enter":
        event.preventDefault();
        open(activeOption);
        break;
    }
  }

  const searching = term.length > 0 && search.isFetching;
  const status = search.isError
    ? describeError(search.error)
    : searching
      ? "Searching…"
      : term && options.length === 0
        ? `Nothing matches “${term}”.`
        : term
          ? `${options.length} ${options.length === 1 ? "result" : "results"}`
          : "Type a client's name or a quote, job or invoice number.";

  return (
    <dialog
      ref={dialogRef}
      className="palette"
      aria-label="Search and go to"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        // A click on the backdrop (the dialog itself, outside its box) closes it.
        if (e.target === dialogRef.current) onClose();
      }}
    >
      <div className="palette__box">
        <div className="palette__search">
          <svg width={18} height={18} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={2} aria-hidden="true" focusable="false">
            <path d="M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16zM21 21l-4.35-4.35" />
          </svg>
          <input
            ref={inputRef}
            type="text"
            role="combobox"
            aria-label="Search clients, quotes, jobs and invoices"
            aria-expanded={options.length > 0}
            aria-controls={listId}
            aria-autocomplete="list"
            aria-activedescendant={activeOption ? optionId(active) : undefined}
            placeholder="Search clients, quotes, jobs, invoices…"
            autoComplete="off"
            spellCheck={false}
            value={q}
            onChange={(e) => setQ(e.target.value)}
            onKeyDown={onKeyDown}
          />
          <kbd className="palette__esc">Esc</kbd>
        </div>
        <ul id={listId} role="listbox" aria-label="Results" className="palette__list">
          {options.map((o, i) => (
            <li
              key={o.key}
              id={optionId(i)}
              role="option"
              aria-selected={i === active}
              className={`palette__option${i === active ? " palette__option--active" : ""}${i > 0 && options[i - 1]?.kind !== o.kind ? " palette__option--first" : ""}`}
              onMouseMove={() => i !== active && setActive(i)}
              onClick={() => open(o)}
            >
              <span className="palette__text">
                <span className="palette__title">{o.title}</span>
                {o.detail && <span className="palette__detail">{o.detail}</span>}
              </span>
              <span className={`palette__kind palette__kind--${o.kind}`}>{kindNames[o.kind]}</span>
            </li>
          ))}
        </ul>
        <p className="palette__status" role="status">
          {status}
        </p>
        <p className="palette__help" aria-hidden="true">
          <kbd>↑</kbd> <kbd>↓</kbd> to move · <kbd>Enter</kbd> to open · <kbd>Esc</kbd> to close
        </p>
      </div>
    </dialog>
  );
}

/** Ctrl-K / ⌘-K anywhere in the office opens the palette (and closes it again). */
export function usePaletteShortcut(toggle: () => void) {
  const ref = useRef(toggle);
  useEffect(() => {
    ref.current = toggle;
  });
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
        event.preventDefault();
        ref.current();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
}
