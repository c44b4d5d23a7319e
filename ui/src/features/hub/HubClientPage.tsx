import { useState, type FormEvent } from "react";
import { Link, useLocation, useParams } from "react-router";
import { describeError, isProblem } from "../../api/problem";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { Spinner } from "../../components/States";
import { formatDate, formatDateTime, formatDay, formatMoney } from "../../lib/format";
import { useHubClientPage, useRequestWork } from "./api";
import { HubShell } from "./HubShell";
import { LinkProblem } from "./LinkProblem";
import { parseLink, type HubLink } from "./link";
import { SmsChoice } from "./SmsChoice";

/** The client's own page in the hub: everything of theirs, and "request more work". */
export function HubClientPage() {
  const { id = "" } = useParams();
  const link = parseLink(useLocation().search);
  if (!link) return <LinkProblem kind="client" id={id} account={new URLSearchParams(location.search).get("account") ?? undefined} />;
  return <ClientScreen id={id} link={link} />;
}

type Page = NonNullable<ReturnType<typeof useHubClientPage>["data"]>;

const QUOTE_STATUS: Record<string, string> = {
  sent: "Awaiting your approval",
  approved: "Approved",
  converted: "Approved",
  changes_requested: "Changes requested",
  declined: "Declined",
  expired: "Expired",
};

const INVOICE_STATUS: Record<string, string> = {
  sent: "Open",
  partially_paid: "Partly paid",
  paid: "Paid",
  void: "Void",
  bad_debt: "Closed",
};

const METHOD: Record<string, string> = {
  cash: "Cash",
  check: "Check",
  bank_transfer: "Bank transfer",
  card: "Card",
  other: "Other",
};

function ClientScreen({ id, link }: { id: string; link: HubLink }) {
  const page = useHubClientPage(id, link);
  if (page.error) return <LinkProblem kind="client" id={id} account={link.account} error={page.error} />;
  if (!page.data) {
    return (
      <HubShell>
        <Spinner label="Loading your page" />
      </HubShell>
    );
  }
  const data = page.data;
  const { business, client } = data;
  const money = (minor: number, currency: string = business.currency) => formatMoney(minor, currency, business.locale);
  const toPay = data.invoices.filter((i) => i.balance > 0 && i.status !== "void" && i.status !== "bad_debt");
  const waiting = data.quotes.filter((q) => q.status === "sent");
  return (
    <HubShell brand={business}>
      <section className="hub-card" aria-labelledby="page-title">
        <p className="hub-eyebrow">Your page with {business.name}</p>
        <h1 id="page-title">Hello, {client.name}</h1>
        <p className="hub-fine">
          {toPay.length === 0 && waiting.length === 0
            ? "Nothing is waiting for you. Here are your quotes, invoices and visits."
            : [
                waiting.length > 0 ? `${waiting.length} ${waiting.length === 1 ? "quote awaits" : "quotes await"} your approval` : null,
                toPay.length > 0 ? `${toPay.length} ${toPay.length === 1 ? "invoice is" : "invoices are"} open` : null,
              ]
                .filter(Boolean)
                .join(" · ")}
        </p>
        <p>
          <a href="#request-title">Request more work</a>
        </p>
      </section>

      {toPay.length > 0 && (
        <section className="hub-card" aria-labelledby="pay-title">
          <h2 id="pay-title">To pay</h2>
          <ul className="hub-list">
            {toPay.map((i) => (
              <li key={i.id} className="hub-item">
                <div className="hub-item__main">
                  <span className="hub-item__title">
                    {i.number} · {i.title}
                  </span>
                  <span className={i.past_due ? "hub-item__meta hub-error" : "hub-item__meta"}>
                    {i.past_due ? "Past due" : i.due_date ? `Due ${formatDay(i.due_date, business.locale)}` : "Open"}
                  </span>
                </div>
                <div className="hub-item__side">
                  <span className="hub-item__amount">{money(i.balance, i.currency)}</span>
                  <Link className="button hub-button hub-button--small" to={i.link}>
                    Pay<span className="visually-hidden"> invoice {i.number}</span>
                  </Link>
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section className="hub-card" aria-labelledby="visits-title">
        <h2 id="visits-title">Upcoming visits</h2>
        {data.visits.length === 0 ? (
          <p className="hub-fine">No visit is booked.</p>
        ) : (
          <ul className="hub-list">
            {data.visits.map((v) => (
              <li key={v.id} className="hub-item">
                <div className="hub-item__main">
                  <span className="hub-item__title">{v.title}</span>
                  {v.address && <span className="hub-item__meta">{v.address}</span>}
                </div>
                <div className="hub-item__side hub-item__when">
                  {v.anytime
                    ? `${formatDate(v.starts_at, business.time_zone, business.locale)}, any time`
                    : formatDateTime(v.starts_at, business.time_zone, business.locale, {
                        weekday: "short",
                        month: "short",
                        day: "numeric",
                        hour: "numeric",
                        minute: "2-digit",
                        timeZone: business.time_zone,
                      })}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>

      <RecordList
        heading="Quotes"
        empty="No quotes yet."
        items={data.quotes.map((q) => ({
          id: q.id,
          name: `${q.number} · ${q.title}`,
          link: q.link,
          status: q.status,
          statusLabel: QUOTE_STATUS[q.status] ?? q.status,
          amount: money(q.total, q.currency),
        }))}
      />

      <RecordList
        heading="Invoices"
        empty="No invoices yet."
        items={data.invoices.map((i) => ({
          id: i.id,
          name: `${i.number} · ${i.title}`,
          link: i.link,
          status: i.status,
          statusLabel: INVOICE_STATUS[i.status] ?? i.status,
          amount: money(i.total, i.currency),
          note: i.balance > 0 && i.balance !== i.total ? `${money(i.balance, i.currency)} left` : undefined,
        }))}
      />

      {data.receipts.length > 0 && (
        <section className="hub-card" aria-labelledby="receipts-title">
          <h2 id="receipts-title">Receipts</h2>
          <ul className="hub-list">
            {data.receipts.map((r) => (
              <li key={r.id} className="hub-item">
                <div className="hub-item__main">
                  <span className="hub-item__title">
                    {formatDate(r.paid_at, business.time_zone, business.locale)} · {METHOD[r.method] ?? r.method}
                  </span>
                  <span className="hub-item__meta">
                    {r.invoice_number && r.invoice_link ? (
                      <Link to={r.invoice_link}>{r.invoice_number}</Link>
                    ) : (
                      "Deposit"
                    )}
                    {r.refunded > 0 && ` · ${money(r.refunded)} refunded`}
                  </span>
                </div>
                <span className="hub-item__amount">{money(r.amount + r.tip)}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      <RequestWork id={id} link={link} page={data} />
      <SmsChoice kind="client" id={id} link={link} phones={client.phones} />
    </HubShell>
  );
}

interface RecordItem {
  id: string;
  /** "Q-0001 · Spring clean-up" */
  name: string;
  /** The record's own hub page. */
  link: string;
  status: string;
  statusLabel: string;
  amount: string;
  note?: string;
}

/** The client's quotes or invoices: each one's name linking to its page, its status and amount. */
function RecordList({ heading, empty, items }: { heading: string; empty: string; items: RecordItem[] }) {
  const titleId = `${heading.toLowerCase()}-title`;
  return (
    <section className="hub-card" aria-labelledby={titleId}>
      <h2 id={titleId}>{heading}</h2>
      {items.length === 0 ? (
        <p className="hub-fine">{empty}</p>
      ) : (
        <ul className="hub-list">
          {items.map((item) => (
            <li key={item.id} className="hub-item">
              <div className="hub-item__main">
                <Link className="hub-item__title" to={item.link}>
                  {item.name}
                </Link>
                <span className={`hub-status hub-status--${item.status}`}>{item.statusLabel}</span>
              </div>
              <div className="hub-item__side">
                <span className="hub-item__amount">{item.amount}</span>
                {item.note && <span className="hub-item__meta">{item.note}</span>}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function RequestWork({ id, link, page }: { id: string; link: HubLink; page: Page }) {
  const send = useRequestWork(id, link);
  const [details, setDetails] = useState("");
  const [service, setService] = useState("");
  const [property, setProperty] = useState(page.properties[0]?.id ?? "");
  const [times, setTimes] = useState("");
  const fields = send.error && isProblem(send.error) ? send.error.messagesBy() : {};
  function submit(event: FormEvent) {
    event.preventDefault();
    send.mutate({
      details: details.trim(),
      service_id: service || undefined,
      property_id: property || undefined,
      preferred_times: times.trim() || undefined,
    });
  }
  if (send.isSuccess) {
    return (
      <section className="hub-card hub-done" aria-labelledby="request-title" role="status">
        <h2 id="request-title">Your request was sent</h2>
        <p>{page.business.name} will get back to you about it.</p>
        <button
          type="button"
          className="button hub-button--quiet"
          onClick={() => {
            setDetails("");
            setTimes("");
            send.reset();
          }}
        >
          Ask for something else
        </button>
      </section>
    );
  }
  return (
    <section className="hub-card" aria-labelledby="request-title">
      <h2 id="request-title">Request more work</h2>
      <p className="hub-fine">Tell {page.business.name} what you need; they will get back to you with a quote or a time.</p>
      <form onSubmit={submit} noValidate>
        {page.services.length > 0 && (
          <SelectField label="Service (optional)" value={service} onChange={(e) => setService(e.target.value)} error={fields.service_id}>
            <option value="">Something else</option>
            {page.services.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </SelectField>
        )}
        {page.properties.length > 1 && (
          <SelectField label="Where" value={property} onChange={(e) => setProperty(e.target.value)} error={fields.property_id}>
            {page.properties.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name ? `${p.name}: ${p.address}` : p.address}
              </option>
            ))}
          </SelectField>
        )}
        <TextAreaField label="What do you need?" rows={4} value={details} onChange={(e) => setDetails(e.target.value)} error={fields.details} required />
        <TextField
          label="When suits you? (optional)"
          value={times}
          onChange={(e) => setTimes(e.target.value)}
          error={fields.preferred_times}
          placeholder="e.g. weekday mornings"
        />
        <button type="submit" className="button hub-button" disabled={send.isPending || !details.trim()}>
          {send.isPending ? "Sending…" : "Send my request"}
        </button>
        {send.isError && Object.keys(fields).length === 0 && (
          <p className="hub-error" role="alert">
            {describeError(send.error)}
          </p>
        )}
      </form>
    </section>
  );
}
