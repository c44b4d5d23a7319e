// The bell in the office's top bar: the unread count, kept current by the live
// connection's `user:{id}` topic (a new notification is an event there), and the
// latest notifications in a panel.
import { useEffect, useId, useRef, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api, unwrap } from "../../api/client";
import { useLiveTopic } from "../../api/live";
import type { components } from "../../api/schema";
import { ErrorState, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import "./notifications.css";

type Notification = components["schemas"]["Notification"];

const unreadKey = ["notifications", "unread"];

/** Where a notification leads, if anywhere. */
function target(n: Notification): string | null {
  const id = n.subject_id;
  switch (n.subject_type) {
    case "client":
      return id ? `/clients/${id}` : null;
    case "quote":
      return id ? `/quotes/${id}` : null;
    case "job":
      return id ? `/jobs/${id}` : null;
    case "visit":
      return "/schedule";
    case "invoice":
      return id ? `/invoices/${id}` : null;
    case "export":
    case "report_export":
      return "/reports";
    default:
      return null;
  }
}

export function NotificationBell({ userId }: { userId: string }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const panelId = useId();
  const unread = useQuery({
    queryKey: unreadKey,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/notifications/unread-count", { signal })),
    // The live topic keeps it current; this only covers a connection that is down.
    refetchInterval: 5 * 60_000,
  });
  useLiveTopic(`user:${userId}`, () => void queryClient.invalidateQueries({ queryKey: ["notifications"] }));

  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (event instanceof KeyboardEvent ? event.key === "Escape" : !ref.current?.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", close);
    };
  }, [open]);

  const count = unread.data?.unread ?? 0;
  return (
    <div className="bell" ref={ref}>
      <button
        type="button"
        className="icon-button bell__button"
        aria-label={count > 0 ? `Notifications, ${count} unread` : "Notifications"}
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        onClick={() => setOpen((v) => !v)}
      >
        <svg width={20} height={20} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false">
          <path d="M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9M13.73 21a2 2 0 0 1-3.46 0" />
        </svg>
        {count > 0 && (
          <span className="bell__count" aria-hidden="true">
            {count > 99 ? "99+" : count}
          </span>
        )}
      </button>
      {open && <Panel id={panelId} onClose={() => setOpen(false)} />}
    </div>
  );
}

function Panel({ id, onClose }: { id: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const fmt = useFormat();
  const list = useQuery({
    queryKey: ["notifications", "list"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/notifications", { params: { query: { limit: 20 } }, signal })),
  });
  const items = list.data?.items ?? [];
  const anyUnread = items.some((n) => !n.read_at);

  async function markAll() {
    // Optimistic: the badge drops at once, and comes back if the server refuses.
    const previous = queryClient.getQueryData(unreadKey);
    queryClient.setQueryData(unreadKey, { unread: 0 });
    try {
      await unwrap(api.POST("/api/v1/notifications/read-all"));
    } catch {
      queryClient.setQueryData(unreadKey, previous);
    }
    await queryClient.invalidateQueries({ queryKey: ["notifications"] });
  }

  async function openOne(n: Notification) {
    if (!n.read_at) {
      try {
        await unwrap(api.POST("/api/v1/notifications/{id}/read", { params: { path: { id: n.id } } }));
      } catch {
        /* still go there; the badge is refetched below */
      }
      void queryClient.invalidateQueries({ queryKey: ["notifications"] });
    }
    const to = target(n);
    if (to) {
      onClose();
      navigate(to);
    }
  }

  return (
    <section id={id} className="bell__panel" aria-labelledby={`${id}-h`}>
      <header className="bell__head">
        <h2 id={`${id}-h`}>Notifications</h2>
        {anyUnread && (
          <button type="button" className="link-button" onClick={() => void markAll()}>
            Mark all as read
          </button>
        )}
      </header>
      {list.isPending ? (
        <Spinner label="Loading notifications" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : items.length === 0 ? (
        <p className="bell__empty muted">Nothing yet. You will hear here when a quote is approved, an invoice is paid or an export is ready.</p>
      ) : (
        <ul className="bell__list">
          {items.map((n) => (
            <li key={n.id}>
              <button type="button" className={`bell__item${n.read_at ? "" : " bell__item--unread"}`} onClick={() => void openOne(n)}>
                <span className="bell__title">
                  {!n.read_at && <span className="visually-hidden">Unread: </span>}
                  {n.title}
                </span>
                {n.body && <span className="bell__body">{n.body}</span>}
                <span className="bell__time">{fmt.dateTime(n.created_at)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
