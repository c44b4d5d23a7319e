import { useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { ApiProblem, describeError, isProblem } from "../../api/problem";
import { Dialog } from "../../components/Dialog";
import { SelectField, TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { EmptyState, ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { currencyDigits } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import {
  deleteDraft,
  fetchInvoice,
  paymentMethods,
  pdfUrl,
  recordPayment,
  refundPayment,
  sendInvoice,
  statusLabel,
  useClient,
  useInvoice,
  useInvoicePayments,
  voidInvoice,
  type Invoice,
  type Payment,
  type PaymentMethod,
} from "./api";
import "./invoices.css";

export function InvoicePage() {
  const { id = "" } = useParams();
  const invoice = useInvoice(id);
  if (invoice.isPending) return <Spinner label="Loading invoice" />;
  if (invoice.isError) {
    if (isProblem(invoice.error, "invoice_not_found") || isProblem(invoice.error, "invalid_parameter")) {
      return (
        <EmptyState title="No such invoice" action={<Link to="/invoices" className="button">All invoices</Link>}>
          <p>It may have been deleted, or the link is wrong.</p>
        </EmptyState>
      );
    }
    return <ErrorState error={invoice.error} onRetry={() => void invoice.refetch()} />;
  }
  return <InvoiceDetail invoice={invoice.data} />;
}

type Action = { kind: "send" | "pay" | "void" | "delete" } | { kind: "refund"; payment: Payment };

const termsLabels: Record<string, string> = {
  due_on_receipt: "Due on receipt",
  net_7: "Net 7",
  net_15: "Net 15",
  net_30: "Net 30",
  net_60: "Net 60",
  custom: "Custom due date",
};

const methodLabel = (m: PaymentMethod) => paymentMethods.find((x) => x.value === m)?.label ?? m.replace("_", " ");

function InvoiceDetail({ invoice }: { invoice: Invoice }) {
  const fmt = useFormat();
  const client = useClient(invoice.client_id);
  const payments = useInvoicePayments(invoice.id);
  const [action, setAction] = useState<Action | null>(null);
  const money = (minor: number) => fmt.money(minor, { currency: invoice.currency });
  const open = invoice.status === "sent" || invoice.status === "partially_paid";
  const draft = invoice.status === "draft";

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/invoices">
          <Icon name="back" size={14} /> Invoices
        </Link>
      </nav>
      <PageHeader
        title={`Invoice ${invoice.number ?? "(draft)"}: ${invoice.title}`}
        subtitle={
          <>
            <span className={`badge badge--${invoice.past_due ? "overdue" : invoice.status}`}>{invoice.past_due ? "Past due" : statusLabel(invoice.status)}</span>
            {invoice.due_date && <span className="muted">Due {fmt.day(invoice.due_date)}</span>}
          </>
        }
        actions={
          <>
            {draft && (
              <button type="button" className="button button--primary" onClick={() => setAction({ kind: "send" })}>
                Send invoice
              </button>
            )}
            {open && invoice.balance > 0 && (
              <button type="button" className="button button--primary" onClick={() => setAction({ kind: "pay" })}>
                Record payment
              </button>
            )}
          </>
        }
      />
      <div className="quote-actions" role="group" aria-label="More actions">
        {open && (
          <button type="button" className="button" onClick={() => setAction({ kind: "send" })}>
            Send again
          </button>
        )}
        <a className="button" href={pdfUrl(invoice.id)} target="_blank" rel="noopener">
          <Icon name="invoices" size={16} /> Preview PDF
        </a>
        <a className="button" href={pdfUrl(invoice.id)} download={`invoice-${invoice.number ?? "draft"}.pdf`}>
          Download PDF
        </a>
        {open && invoice.amount_paid - invoice.amount_refunded === 0 && (
          <button type="button" className="button button--danger-text" onClick={() => setAction({ kind: "void" })}>
            Void
          </button>
        )}
        {draft && (
          <button type="button" className="button button--danger-text" onClick={() => setAction({ kind: "delete" })}>
            Delete draft
          </button>
        )}
        {invoice.job_id && (
          <Link className="button" to={`/jobs/${invoice.job_id}`}>
            Open the job <Icon name="chevron" size={14} />
          </Link>
        )}
      </div>
      <div className="detail-grid">
        <section className="card" aria-labelledby="invoice-lines-h">
          <h2 id="invoice-lines-h">Line items</h2>
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
              {invoice.lines.map((l) => (
                <tr key={l.id}>
                  <td>
                    {l.name}
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
              <dd>{money(invoice.subtotal)}</dd>
            </div>
            {invoice.discount_total > 0 && (
              <div>
                <dt>Discount</dt>
                <dd>−{money(invoice.discount_total)}</dd>
              </div>
            )}
            {invoice.taxes.map((t) => (
              <div key={`${t.name}-${t.rate}`}>
                <dt>
                  {t.name} ({t.rate}%)
                </dt>
                <dd>{money(t.amount)}</dd>
              </div>
            ))}
            <div className="totals__total">
              <dt>Total</dt>
              <dd>{money(invoice.total)}</dd>
            </div>
            {invoice.amount_paid > 0 && (
              <div>
                <dt>Paid</dt>
                <dd>−{money(invoice.amount_paid)}</dd>
              </div>
            )}
            {invoice.amount_refunded > 0 && (
              <div>
                <dt>Refunded</dt>
                <dd>{money(invoice.amount_refunded)}</dd>
              </div>
            )}
            <div className="totals__total">
              <dt>Balance due</dt>
              <dd data-testid="invoice-balance">{money(invoice.balance)}</dd>
            </div>
          </dl>
        </section>
        <div className="stack">
          <section className="card" aria-labelledby="invoice-client-h">
            <h2 id="invoice-client-h">Details</h2>
            <dl className="facts">
              <Fact label="Client">
                <Link to={`/clients/${invoice.client_id}`}>{client.data?.display_name ?? "Client"}</Link>
              </Fact>
              <Fact label="Terms">{termsLabels[invoice.payment_terms] ?? invoice.payment_terms}</Fact>
              {invoice.issue_date && <Fact label="Issued">{fmt.day(invoice.issue_date)}</Fact>}
              {invoice.sent_at && <Fact label="Last sent">{fmt.dateTime(invoice.sent_at)}</Fact>}
              {invoice.paid_at && <Fact label="Paid">{fmt.dateTime(invoice.paid_at)}</Fact>}
            </dl>
          </section>
          <section className="card" aria-labelledby="invoice-payments-h">
            <h2 id="invoice-payments-h">Payments</h2>
            {payments.isPending ? (
              <Spinner label="Loading payments" />
            ) : payments.isError ? (
              <ErrorState error={payments.error} onRetry={() => void payments.refetch()} />
            ) : payments.data.length === 0 ? (
              <p className="muted">No payments yet.</p>
            ) : (
              <ul className="mini-list">
                {payments.data.map((p) => (
                  <li key={p.id}>
                    <span className="mini-list__main">
                      {methodLabel(p.method)} · {fmt.dateTime(p.paid_at)}
                      {p.reference ? ` · ${p.reference}` : ""}
                      {p.refunded > 0 && <span className="block muted">Refunded {money(p.refunded)}</span>}
                      {p.status === "pending" && <span className="block muted">Waiting for the card payment</span>}
                    </span>
                    <span className="mini-list__amount">{money(p.amount)}</span>
                    {(p.status === "succeeded" || p.status === "partially_refunded") && (
                      <button type="button" className="button button--small" onClick={() => setAction({ kind: "refund", payment: p })} aria-label={`Refund the ${money(p.amount)} ${methodLabel(p.method)} payment`}>
                        Refund
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            )}
          </section>
        </div>
      </div>
      {action && <ActionDialog invoice={invoice} action={action} clientEmail={client.data?.emails?.[0]?.address} onClose={() => setAction(null)} />}
    </>
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

function parseMoney(text: string, digits: number): number | null {
  const t = text.trim().replace(",", ".");
  if (!/^\d+(\.\d*)?$/.test(t)) return null;
  return Math.round(Number(t) * 10 ** digits);
}

const invoiceFields: FieldSpec[] = [
  { key: "status", label: "Status" },
  { key: "total", label: "Total" },
  { key: "balance", label: "Balance due" },
  { key: "due", label: "Due" },
];

function ActionDialog({ invoice, action, clientEmail, onClose }: { invoice: Invoice; action: Action; clientEmail?: string; onClose: () => void }) {
  const fmt = useFormat();
  const digits = currencyDigits(invoice.currency);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [fields, setFields] = useState<Record<string, string>>({});
  const { stale, catchStale, clear } = useStaleEdit(() => fetchInvoice(invoice.id));
  // What a person compares on a stale action: the invoice as they saw it and as saved.
  const facts = (i: Invoice) => ({
    status: statusLabel(i.status),
    total: fmt.money(i.total, { currency: i.currency }),
    balance: fmt.money(i.balance, { currency: i.currency }),
    due: i.due_date ? fmt.day(i.due_date) : "",
  });
  const [to, setTo] = useState("");
  const [method, setMethod] = useState<PaymentMethod>("cash");
  const [amount, setAmount] = useState(() => (action.kind === "pay" ? (invoice.balance / 10 ** digits).toFixed(digits) : action.kind === "refund" ? ((action.payment.amount - action.payment.refunded) / 10 ** digits).toFixed(digits) : ""));
  const [reference, setReference] = useState("");
  const [reason, setReason] = useState("");
  const [receipt, setReceipt] = useState(false);

  function refresh(updated?: Invoice | null) {
    if (updated) queryClient.setQueryData(["invoices", invoice.id], updated);
    void queryClient.invalidateQueries({ queryKey: ["invoices"] });
    void queryClient.invalidateQueries({ queryKey: ["reports"] });
    void queryClient.invalidateQueries({ queryKey: ["clients", invoice.client_id] });
  }

  /** Do the action, on the version of `against` (the invoice shown, or theirs after a conflict). */
  async function run(against: Invoice = invoice) {
    setError(undefined);
    setFields({});
    let minor: number | null = null;
    if (action.kind === "pay" || action.kind === "refund") {
      minor = parseMoney(amount, digits);
      if (minor === null || minor <= 0) {
        setFields({ amount: "An amount, like 45.00." });
        return;
      }
    }
    setBusy(true);
    try {
      if (action.kind === "send") refresh(await sendInvoice(invoice.id, against.version, to.trim()));
      else if (action.kind === "void") refresh(await voidInvoice(invoice.id, against.version));
      else if (action.kind === "pay") {
        const r = await recordPayment(invoice.id, { method, amount: minor!, reference: reference.trim() || null, note: null, send_receipt: receipt });
        refresh(r.invoice);
      } else if (action.kind === "refund") {
        const r = await refundPayment(action.payment.id, minor, reason.trim() || null);
        refresh(r.invoice);
      } else {
        await deleteDraft(invoice.id);
        void queryClient.invalidateQueries({ queryKey: ["invoices"] });
        void queryClient.invalidateQueries({ queryKey: ["jobs"] });
        navigate("/invoices");
        return;
      }
      onClose();
    } catch (e) {
      if (catchStale(e)) {
        // StaleEdit says who changed what; nothing is done until the person chooses.
      } else if (e instanceof ApiProblem && e.errors.length > 0) {
        setFields(e.fieldMap());
        setError(describeError(e));
      } else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  const titles = {
    send: invoice.status === "draft" ? "Send this invoice?" : "Send the invoice again?",
    pay: "Record a payment",
    void: "Void this invoice?",
    delete: "Delete this draft?",
    refund: "Refund a payment",
  } as const;
  const buttons = { send: "Send", pay: "Record payment", void: "Void invoice", delete: "Delete draft", refund: "Refund" } as const;
  return (
    <Dialog title={titles[action.kind]} onClose={onClose}>
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
            what="invoice"
            changes={stale.theirs && changedFields(invoiceFields, facts(invoice), facts(stale.theirs), facts(invoice))}
            busy={busy}
            overwriteLabel={`${buttons[action.kind]} anyway`}
            onReload={(theirs) => {
              refresh(theirs);
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
        {action.kind === "send" && (
          <>
            <p>{invoice.status === "draft" ? "Sending issues it: it takes the next invoice number and its due date. " : ""}The client gets an email with a link to pay.</p>
            <TextField label="Send to" type="email" value={to} placeholder={clientEmail ?? "the client's email"} hint={clientEmail ? `Empty: ${clientEmail}` : "The client has no email address: enter one."} error={fields.to} onChange={(e) => setTo(e.target.value)} />
          </>
        )}
        {action.kind === "pay" && (
          <>
            <p>Balance due: {fmt.money(invoice.balance, { currency: invoice.currency })}</p>
            <SelectField label="Method" value={method} error={fields.method} onChange={(e) => setMethod(e.target.value as PaymentMethod)}>
              {paymentMethods.map((m) => (
                <option key={m.value} value={m.value}>
                  {m.label}
                </option>
              ))}
            </SelectField>
            <TextField label={`Amount (${invoice.currency})`} inputMode="decimal" value={amount} error={fields.amount} onChange={(e) => setAmount(e.target.value)} />
            <TextField label="Reference (check number, transfer…)" value={reference} error={fields.reference} onChange={(e) => setReference(e.target.value)} />
            <label className="check">
              <input type="checkbox" checked={receipt} onChange={(e) => setReceipt(e.target.checked)} />
              Email the client a receipt
            </label>
          </>
        )}
        {action.kind === "refund" && (
          <>
            <p>
              The refund is recorded here{action.payment.stripe_payment_intent_id ? " and made through Stripe" : "; return the money to the client yourself"}. The balance grows by it.
            </p>
            <TextField label={`Amount (${invoice.currency})`} inputMode="decimal" value={amount} error={fields.amount} onChange={(e) => setAmount(e.target.value)} />
            <TextField label="Reason (optional)" value={reason} error={fields.reason} onChange={(e) => setReason(e.target.value)} />
          </>
        )}
        {action.kind === "void" && <p>It keeps its number and no longer counts as owed; its work can be invoiced again.</p>}
        {action.kind === "delete" && <p>The draft is gone; the work it billed can be invoiced again.</p>}
        <div className="form__actions dialog__actions">
          {!stale && (
            <button type="submit" className="button button--primary" disabled={busy}>
              {busy ? "Working…" : buttons[action.kind]}
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
