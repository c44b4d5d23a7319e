import { useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { ApiProblem, describeError, isProblem } from "../../api/problem";
import { Dialog } from "../../components/Dialog";
import { TextAreaField, TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { EmptyState, ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import {
  addressLine,
  approveQuote,
  archiveQuote,
  convertQuote,
  declineQuote,
  fetchQuote,
  pdfUrl,
  sendQuote,
  statusLabel,
  useClient,
  useClientActivity,
  useDrawnSignature,
  useProperties,
  useQuote,
  type Quote,
} from "./api";
import "./quotes.css";

export function QuotePage() {
  const { id = "" } = useParams();
  const quote = useQuote(id);
  if (quote.isPending) return <Spinner label="Loading quote" />;
  if (quote.isError) {
    if (isProblem(quote.error, "quote_not_found") || isProblem(quote.error, "invalid_parameter")) {
      return (
        <EmptyState title="No such quote" action={<Link to="/quotes" className="button">All quotes</Link>}>
          <p>It may have been deleted, or the link is wrong.</p>
        </EmptyState>
      );
    }
    return <ErrorState error={quote.error} onRetry={() => void quote.refetch()} />;
  }
  return <QuoteDetail quote={quote.data} />;
}

type Action = "send" | "approve" | "decline" | "archive" | "convert";

const actionLabels: Record<Action, string> = {
  send: "Send by email",
  approve: "Record approval",
  decline: "Mark declined",
  archive: "Archive",
  convert: "Convert to job",
};

function QuoteDetail({ quote }: { quote: Quote }) {
  const fmt = useFormat();
  const client = useClient(quote.client_id);
  const properties = useProperties(quote.property_id ? quote.client_id : undefined);
  const property = properties.data?.items.find((p) => p.id === quote.property_id);
  const [action, setAction] = useState<Action | null>(null);
  const can = (a: string) => quote.allowed_actions.includes(a as Quote["allowed_actions"][number]);
  const money = (minor: number) => fmt.money(minor, { currency: quote.currency });
  const primary: Action | null = can("convert") ? "convert" : can("send") && quote.status === "draft" ? "send" : null;
  const secondary = (["send", "approve", "decline", "archive"] as Action[]).filter((a) => a !== primary && can(a === "approve" ? "approve" : a));

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/quotes">
          <Icon name="back" size={14} /> Quotes
        </Link>
      </nav>
      <PageHeader
        title={`Quote ${quote.number}: ${quote.title}`}
        subtitle={
          <>
            <span className={`badge badge--${quote.status}`}>{statusLabel(quote.status)}</span>
            {quote.valid_until && quote.status !== "converted" && <span className="muted">Valid until {fmt.day(quote.valid_until)}</span>}
          </>
        }
        actions={
          <>
            {primary && (
              <button type="button" className="button button--primary" onClick={() => setAction(primary)}>
                {actionLabels[primary]}
              </button>
            )}
            {can("edit") && (
              <Link to={`/quotes/${quote.id}/edit`} className="button">
                Edit
              </Link>
            )}
          </>
        }
      />
      <div className="quote-actions" role="group" aria-label="More actions">
        {secondary.map((a) => (
          <button key={a} type="button" className="button" onClick={() => setAction(a)}>
            {a === "send" && quote.status !== "draft" ? "Send again" : actionLabels[a]}
          </button>
        ))}
        <a className="button" href={pdfUrl(quote.id)} target="_blank" rel="noopener">
          <Icon name="quotes" size={16} /> Preview PDF
        </a>
        <a className="button" href={pdfUrl(quote.id)} download={`quote-${quote.number}.pdf`}>
          Download PDF
        </a>
        {quote.converted_job_id && (
          <Link className="button" to={`/jobs/${quote.converted_job_id}`}>
            Open the job <Icon name="chevron" size={14} />
          </Link>
        )}
      </div>
      <div className="detail-grid">
        <section className="card" aria-labelledby="quote-lines-h">
          <h2 id="quote-lines-h">Line items</h2>
          <table className="lines">
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col" className="num">
                  Qty
                </th>
                <th scope="col" className="num hide-phone">
                  Price
                </th>
                <th scope="col" className="num">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {quote.lines.map((l) => (
                <tr key={l.id} className={l.optional && !l.selected ? "lines__optional" : undefined}>
                  <td>
                    {l.name}
                    {l.optional && <span className="tag tag--inline">{l.selected ? "Optional, chosen" : "Optional"}</span>}
                    {l.description && <span className="block muted">{l.description}</span>}
                  </td>
                  <td className="num">{fmt.number(l.quantity)}</td>
                  <td className="num hide-phone">{money(l.unit_price)}</td>
                  <td className="num">{money(l.line_total)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <dl className="totals">
            <div>
              <dt>Subtotal</dt>
              <dd>{money(quote.subtotal)}</dd>
            </div>
            {quote.discount_total > 0 && (
              <div>
                <dt>Discount{quote.discount?.kind === "percent" ? ` (${fmt.bps(quote.discount.value)})` : ""}</dt>
                <dd>−{money(quote.discount_total)}</dd>
              </div>
            )}
            {quote.taxes.map((t) => (
              <div key={`${t.name}-${t.rate}`}>
                <dt>
                  {t.name} ({t.rate}%)
                </dt>
                <dd>{money(t.amount)}</dd>
              </div>
            ))}
            <div className="totals__total">
              <dt>Total</dt>
              <dd>{money(quote.total)}</dd>
            </div>
            {quote.deposit_amount > 0 && (
              <div>
                <dt>Deposit required</dt>
                <dd>{money(quote.deposit_amount)}</dd>
              </div>
            )}
          </dl>
          {quote.lines.some((l) => l.optional && !l.selected) && <p className="muted">Optional items count once the client chooses them.</p>}
        </section>
        <div className="stack">
          <section className="card" aria-labelledby="quote-client-h">
            <h2 id="quote-client-h">Details</h2>
            <dl className="facts">
              <Fact label="Client">
                <Link to={`/clients/${quote.client_id}`}>{client.data?.display_name ?? "Client"}</Link>
              </Fact>
              <Fact label="Property">
                {quote.property_id ? (property ? [property.name, addressLine(property.address)].filter(Boolean).join(": ") : "…") : addressLine(client.data?.billing_address) || "No address"}
              </Fact>
              {quote.approval && (
                <Fact label="Approved">
                  {fmt.dateTime(quote.approval.approved_at)} by {quote.approval.signature_name}
                  {quote.approval.via === "staff" ? " (recorded by staff)" : " (in the client hub)"}
                  {quote.approval.via !== "staff" && <DrawnSignature quote={quote} />}
                </Fact>
              )}
              {quote.decline_reason && <Fact label="Declined because">{quote.decline_reason}</Fact>}
              {quote.changes_requested_note && <Fact label="Changes asked">{quote.changes_requested_note}</Fact>}
            </dl>
            {quote.message && (
              <>
                <h3>Message</h3>
                <p className="pre-line">{quote.message}</p>
              </>
            )}
          </section>
          <History quote={quote} />
        </div>
      </div>
      {action && <ActionDialog quote={quote} action={action} clientEmail={client.data?.emails?.[0]?.address} onClose={() => setAction(null)} />}
    </>
  );
}

const historyLabels: Record<string, string> = {
  created: "Created",
  updated: "Edited",
  sent: "Sent to the client",
  approved: "Approved",
  declined: "Declined",
  changes_requested: "Changes requested",
  archived: "Archived",
  expired: "Expired",
  converted: "Converted to a job",
  signature_drawn: "Signature drawn by the client",
};

/** The quote's status history: its entries in the client's activity. */
function History({ quote }: { quote: Quote }) {
  const fmt = useFormat();
  const activity = useClientActivity(quote.client_id);
  const entries = (activity.data?.items ?? []).filter((e) => e.subject_type === "quote" && e.subject_id === quote.id);
  return (
    <section className="card" aria-labelledby="quote-history-h">
      <h2 id="quote-history-h">History</h2>
      {activity.isPending ? (
        <Spinner label="Loading history" />
      ) : activity.isError ? (
        <ErrorState error={activity.error} onRetry={() => void activity.refetch()} />
      ) : entries.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <ol className="history">
          {entries.map((e) => (
            <li key={e.id}>
              <span className="history__what">{historyLabels[e.action] ?? e.action}</span>
              <time dateTime={e.created_at} className="muted">
                {fmt.dateTime(e.created_at)}
              </time>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="facts__row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

const quoteFacts: FieldSpec[] = [
  { key: "status", label: "Status" },
  { key: "title", label: "Title" },
  { key: "total", label: "Total" },
];

function ActionDialog({ quote, action, clientEmail, onClose }: { quote: Quote; action: Action; clientEmail?: string; onClose: () => void }) {
  const fmt = useFormat();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const { stale, catchStale, clear } = useStaleEdit(() => fetchQuote(quote.id));
  const factsOf = (q: Quote) => ({ status: statusLabel(q.status), title: q.title, total: fmt.money(q.total, { currency: q.currency }) });
  const [to, setTo] = useState("");
  const [signature, setSignature] = useState("");
  const [reason, setReason] = useState("");
  const optional = quote.lines.filter((l) => l.optional);
  const [chosen, setChosen] = useState<string[]>([]);

  /** Do the action, on the version of `against` (the quote shown, or theirs after a conflict). */
  async function run(against: Quote = quote) {
    const version = against.version;
    setBusy(true);
    setError(undefined);
    setFieldErrors({});
    try {
      if (action === "convert") {
        const job = await convertQuote(quote.id, version);
        void queryClient.invalidateQueries({ queryKey: ["quotes"] });
        void queryClient.invalidateQueries({ queryKey: ["jobs"] });
        void queryClient.invalidateQueries({ queryKey: ["reports"] });
        navigate(`/jobs/${job.id}`);
        return;
      }
      const updated =
        action === "send"
          ? await sendQuote(quote.id, version, to.trim())
          : action === "approve"
            ? await approveQuote(quote.id, version, signature.trim(), chosen)
            : action === "decline"
              ? await declineQuote(quote.id, version, reason.trim())
              : await archiveQuote(quote.id, version);
      queryClient.setQueryData(["quotes", quote.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["quotes", "list"] });
      void queryClient.invalidateQueries({ queryKey: ["clients", quote.client_id, "activity"] });
      // The dashboard counts quotes awaiting a reply and the conversion rate.
      void queryClient.invalidateQueries({ queryKey: ["reports"] });
      onClose();
    } catch (e) {
      if (catchStale(e)) {
        // StaleEdit says who changed what; nothing is done until the person chooses.
      } else if (e instanceof ApiProblem && e.errors.length > 0 && e.code === "validation_failed") {
        setFieldErrors(e.fieldMap());
        setError(describeError(e));
      } else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  const titles: Record<Action, string> = {
    send: `Send quote ${quote.number}?`,
    approve: "Record the client's approval",
    decline: "Mark the quote declined?",
    archive: "Archive this quote?",
    convert: "Convert to a job?",
  };
  return (
    <Dialog title={titles[action]} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
        noValidate
      >
        {stale && (
          <StaleEdit
            stale={stale}
            what="quote"
            changes={stale.theirs && changedFields(quoteFacts, factsOf(quote), factsOf(stale.theirs), factsOf(quote))}
            busy={busy}
            overwriteLabel={`${action === "send" ? "Send" : actionLabels[action]} anyway`}
            onReload={(theirs) => {
              queryClient.setQueryData(["quotes", quote.id], theirs);
              clear();
              onClose();
            }}
            onOverwrite={(theirs) => {
              clear();
              void run(theirs);
            }}
          />
        )}
        <FormError message={error} />
        {action === "send" && (
          <>
            <p>The client gets an email with a link to review and approve the quote, and its PDF.</p>
            <TextField label="Send to" type="email" value={to} placeholder={clientEmail ?? "the client's email"} hint={clientEmail ? `Empty: ${clientEmail}` : "The client has no email address: enter one."} error={fieldErrors.to} onChange={(e) => setTo(e.target.value)} />
          </>
        )}
        {action === "approve" && (
          <>
            <TextField label="Client's name (signature)" value={signature} error={fieldErrors.signature_name} onChange={(e) => setSignature(e.target.value)} autoComplete="off" />
            {optional.length > 0 && (
              <fieldset className="checks">
                <legend>Optional items the client chose</legend>
                {optional.map((l) => (
                  <label key={l.id} className="check">
                    <input type="checkbox" checked={chosen.includes(l.id)} onChange={() => setChosen((c) => (c.includes(l.id) ? c.filter((x) => x !== l.id) : [...c, l.id]))} />
                    {l.name}
                  </label>
                ))}
              </fieldset>
            )}
          </>
        )}
        {action === "decline" && <TextAreaField label="Reason (optional)" value={reason} error={fieldErrors.reason} onChange={(e) => setReason(e.target.value)} rows={3} />}
        {action === "archive" && <p>It leaves the open quotes; you can still find it under Archived.</p>}
        {action === "convert" && <p>A job is created with the lines the client approved; schedule its visits from the job.</p>}
        <div className="form__actions dialog__actions">
          {!stale && (
            <button type="submit" className="button button--primary" disabled={busy}>
              {busy ? "Working…" : action === "send" ? "Send" : actionLabels[action]}
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

/**
 * The client's drawn signature (hub approvals), as an image under the approval. A typed
 * signature stores no drawing: the file is asked for only when the quote's history says
 * one was drawn, so a typed approval costs no 404.
 */
function DrawnSignature({ quote }: { quote: Quote }) {
  const activity = useClientActivity(quote.client_id);
  const drawn = (activity.data?.items ?? []).some((e) => e.subject_type === "quote" && e.subject_id === quote.id && e.action === "signature_drawn");
  const signature = useDrawnSignature(quote.id, drawn);
  if (!signature.data) return null;
  return (
    <img
      className="signature-image"
      src={signature.data.url}
      alt={`Signature drawn by ${signature.data.signature_name ?? "the client"}`}
    />
  );
}
