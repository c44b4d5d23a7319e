// The client page's history tabs (messages, payments, activity, files) and the avatar: what
// was said to and by the client, what they paid, and who changed what, newest first.
import { useRef, useState, type KeyboardEvent } from "react";
import { Link } from "react-router";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { describeError, isProblem } from "../../api/problem";
import { ErrorState, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import type { Client } from "./api";
import { ClientFiles } from "./ClientFiles";
import "./clients.css";

const tabs = [
  { value: "messages", label: "Messages" },
  { value: "payments", label: "Payments" },
  { value: "activity", label: "Activity" },
  { value: "files", label: "Files" },
] as const;
type Tab = (typeof tabs)[number]["value"];

export function ClientHistory({ id }: { id: string }) {
  const [tab, setTab] = useState<Tab>("messages");
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  function onKey(event: KeyboardEvent) {
    const i = tabs.findIndex((t) => t.value === tab);
    const move = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!move) return;
    event.preventDefault();
    const next = tabs[(i + move + tabs.length) % tabs.length]!.value;
    setTab(next);
    refs.current[next]?.focus();
  }
  return (
    <section className="card client-history" aria-labelledby="history-h">
      <h2 id="history-h">History</h2>
      <div className="history-tabs" role="tablist" aria-label="Client history">
        {tabs.map((t) => (
          <button
            key={t.value}
            ref={(el) => {
              refs.current[t.value] = el;
            }}
            type="button"
            role="tab"
            id={`history-tab-${t.value}`}
            aria-selected={tab === t.value}
            aria-controls={`history-panel-${t.value}`}
            tabIndex={tab === t.value ? 0 : -1}
            className="history-tabs__tab"
            onClick={() => setTab(t.value)}
            onKeyDown={onKey}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`history-panel-${tab}`} aria-labelledby={`history-tab-${tab}`}>
        {tab === "messages" ? (
          <Messages id={id} />
        ) : tab === "payments" ? (
          <Payments id={id} />
        ) : tab === "files" ? (
          <ClientFiles id={id} />
        ) : (
          <Activity id={id} />
        )}
      </div>
    </section>
  );
}

function Messages({ id }: { id: string }) {
  const fmt = useFormat();
  const pages = useInfiniteQuery({
    queryKey: ["clients", id, "messages"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET("/api/v1/clients/{id}/messages", { params: { path: { id }, query: { limit: 20, cursor: pageParam } }, signal })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  if (pages.isPending) return <Spinner label="Loading messages" />;
  if (pages.isError) return <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />;
  const items = pages.data.pages.flatMap((p) => p.items);
  if (items.length === 0) return <p className="muted">No emails or texts with this client yet.</p>;
  return (
    <>
      <ul className="history-list">
        {items.map((m) => (
          <li key={m.id}>
            <p className="history-list__head">
              <span className="badge">{m.channel === "sms" ? "Text" : "Email"}</span>
              <span>{m.direction === "inbound" ? `From ${m.from_address ?? "the client"}` : `To ${m.to_address}`}</span>
              <span className={`badge badge--${m.status === "failed" || m.status === "undelivered" ? "void" : m.status === "delivered" || m.status === "sent" ? "active" : "sent"}`}>
                {m.status}
              </span>
            </p>
            {m.subject && <strong className="block">{m.subject}</strong>}
            <p className="history-list__body">{m.body_text.length > 240 ? `${m.body_text.slice(0, 240)}…` : m.body_text}</p>
            {m.error && <p className="field__error">{m.error}</p>}
            <p className="muted small">{fmt.dateTime(m.sent_at ?? m.created_at)}</p>
          </li>
        ))}
      </ul>
      {pages.hasNextPage && (
        <button type="button" className="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
          {pages.isFetchingNextPage ? "Loading…" : "Show older messages"}
        </button>
      )}
    </>
  );
}

const methods: Record<string, string> = { cash: "Cash", check: "Check", bank_transfer: "Bank transfer", card: "Card", other: "Other" };
const statuses: Record<string, [string, string]> = {
  pending: ["Pending", "sent"],
  succeeded: ["Paid", "paid"],
  failed: ["Failed", "void"],
  partially_refunded: ["Partly refunded", "partially_paid"],
  refunded: ["Refunded", "void"],
};

function Payments({ id }: { id: string }) {
  const fmt = useFormat();
  const pages = useInfiniteQuery({
    // Under "invoices": invoice and payment events make it stale.
    queryKey: ["invoices", "client-payments", id],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET("/api/v1/clients/{id}/payments", { params: { path: { id }, query: { limit: 20, cursor: pageParam } }, signal })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  if (pages.isPending) return <Spinner label="Loading payments" />;
  if (pages.isError) return <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />;
  const items = pages.data.pages.flatMap((p) => p.items);
  if (items.length === 0) return <p className="muted">No payments from this client yet.</p>;
  return (
    <>
      <ul className="history-list">
        {items.map((p) => {
          const [label, badge] = statuses[p.status] ?? [p.status, "sent"];
          return (
            <li key={p.id}>
              <p className="history-list__head">
                <strong>{fmt.money(p.amount)}</strong>
                <span>{[methods[p.method] ?? p.method, p.reference].filter(Boolean).join(" · ")}</span>
                <span className={`badge badge--${badge}`}>{label}</span>
              </p>
              {p.refunded > 0 && <p className="small">{fmt.money(p.refunded)} refunded</p>}
              {p.tip > 0 && <p className="small">Tip {fmt.money(p.tip)}</p>}
              <p className="muted small">
                {fmt.dateTime(p.paid_at)}
                {p.invoice_id ? (
                  <>
                    {" · "}
                    <Link to={`/invoices/${p.invoice_id}`}>Invoice</Link>
                  </>
                ) : p.quote_id ? (
                  <>
                    {" · "}
                    <Link to={`/quotes/${p.quote_id}`}>Deposit on a quote</Link>
                  </>
                ) : null}
              </p>
            </li>
          );
        })}
      </ul>
      {pages.hasNextPage && (
        <button type="button" className="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
          {pages.isFetchingNextPage ? "Loading…" : "Show older payments"}
        </button>
      )}
    </>
  );
}

function describeAction(action: string, subject: string): string {
  const what = subject.replace(/_/g, " ");
  const verb = action.includes(".") ? action.split(".").slice(1).join(" ") : action;
  return `${what.charAt(0).toUpperCase()}${what.slice(1)} ${verb.replace(/_/g, " ")}`;
}

function Activity({ id }: { id: string }) {
  const fmt = useFormat();
  const pages = useInfiniteQuery({
    queryKey: ["clients", id, "activity"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET("/api/v1/clients/{id}/activity", { params: { path: { id }, query: { limit: 30, cursor: pageParam } }, signal })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  if (pages.isPending) return <Spinner label="Loading activity" />;
  if (pages.isError) return <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />;
  const items = pages.data.pages.flatMap((p) => p.items);
  if (items.length === 0) return <p className="muted">Nothing has happened here yet.</p>;
  return (
    <>
      <ol className="history-list history-list--timeline">
        {items.map((a) => (
          <li key={a.id}>
            <span className="history-list__what">{describeAction(a.action, a.subject_type)}</span>
            <span className="muted small block">{fmt.dateTime(a.created_at)}</span>
          </li>
        ))}
      </ol>
      {pages.hasNextPage && (
        <button type="button" className="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
          {pages.isFetchingNextPage ? "Loading…" : "Show earlier activity"}
        </button>
      )}
    </>
  );
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/);
  return ((parts[0]?.[0] ?? "") + (parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "")).toUpperCase() || "?";
}

/** The client's picture (or initials) with a button to upload a new one. */
export function ClientAvatar({ client }: { client: Client }) {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const input = useRef<HTMLInputElement>(null);

  async function upload(file: File | undefined) {
    if (!file) return;
    setBusy(true);
    setError("");
    setMessage("");
    try {
      const form = new FormData();
      form.append("file", file);
      await unwrap(
        api.PUT("/api/v1/clients/{id}/avatar", {
          params: { path: { id: client.id } },
          body: form as unknown as { file: string },
          bodySerializer: (body) => body as unknown as FormData,
        }),
      );
      setMessage("Picture uploaded; it appears in a moment.");
      // The picture is cropped in the background: look again until it is ready.
      for (let i = 0; i < 10; i += 1) {
        await new Promise((r) => setTimeout(r, 1000));
        const fresh = await unwrap(api.GET("/api/v1/clients/{id}", { params: { path: { id: client.id } } }));
        queryClient.setQueryData(["clients", client.id], fresh);
        if (fresh.avatar_status !== "pending") {
          setMessage(fresh.avatar_status === "failed" ? "" : "Picture saved.");
          if (fresh.avatar_status === "failed") setError("That picture could not be read. Try a JPEG or PNG.");
          break;
        }
      }
    } catch (e) {
      setError(isProblem(e) && e.errors.length > 0 ? (e.errors[0]?.message ?? describeError(e)) : describeError(e));
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  }

  return (
    <div className="client-avatar">
      {client.avatar_url ? (
        <img className="client-avatar__img" src={client.avatar_url} alt="" />
      ) : (
        <span className="client-avatar__img client-avatar__initials" aria-hidden="true">
          {initials(client.display_name)}
        </span>
      )}
      <label className="link-button client-avatar__change">
        {busy ? "Uploading…" : client.avatar_url ? "Change picture" : "Add picture"}
        <input
          ref={input}
          type="file"
          accept="image/jpeg,image/png,image/gif,image/webp"
          className="visually-hidden"
          disabled={busy}
          onChange={(e) => void upload(e.target.files?.[0])}
        />
      </label>
      <span role="status" className="small">
        {error ? <span className="field__error">{error}</span> : message}
      </span>
    </div>
  );
}
