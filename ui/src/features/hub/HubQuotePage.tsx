import { useState, type FormEvent } from "react";
import { useLocation, useParams } from "react-router";
import { describeError, isProblem } from "../../api/problem";
import { SignaturePad } from "../../components/SignaturePad";
import { Spinner } from "../../components/States";
import { formatDateTime, formatMoney } from "../../lib/format";
import { pdfUrl, useApprove, useHubContext, useHubQuote, useQuotePreview, useRequestChanges } from "./api";
import { HubShell } from "./HubShell";
import { LinkProblem } from "./LinkProblem";
import { parseLink, type HubLink } from "./link";
import { ClientPageLink } from "./ClientPageLink";
import { SmsChoice } from "./SmsChoice";
import { blobToBase64 } from "./stripe";

export function HubQuotePage() {
  const { id = "" } = useParams();
  const link = parseLink(useLocation().search);
  if (!link) return <LinkProblem kind="quote" id={id} account={new URLSearchParams(location.search).get("account") ?? undefined} />;
  return <QuoteScreen id={id} link={link} />;
}

const STATUS: Record<string, string> = {
  sent: "Awaiting your approval",
  approved: "Approved",
  converted: "Approved",
  changes_requested: "Changes requested",
  declined: "Declined",
  expired: "Expired",
  archived: "Closed",
};

function QuoteScreen({ id, link }: { id: string; link: HubLink }) {
  const context = useHubContext("quote", id, link);
  const quote = useHubQuote(id, link);
  const [chosen, setChosen] = useState<string[] | null>(null);
  const q = quote.data;
  const open = q?.status === "sent";
  const selected = chosen ?? q?.lines.filter((l) => l.optional && l.selected).map((l) => l.id) ?? [];
  const preview = useQuotePreview(id, link, selected, open && chosen !== null);
  const error = context.error ?? quote.error;
  if (error) return <LinkProblem kind="quote" id={id} account={link.account} error={error} />;
  if (!context.data || !q) {
    return (
      <HubShell>
        <Spinner label="Loading your quote" />
      </HubShell>
    );
  }
  const { business, client } = context.data;
  const money = (minor: number) => formatMoney(minor, q.currency, business.locale);
  const totals = chosen !== null && preview.data ? preview.data : q;
  const toggle = (lineId: string, on: boolean) => setChosen(on ? [...selected, lineId] : selected.filter((x) => x !== lineId));
  return (
    <HubShell brand={business}>
      <section className="hub-card" aria-labelledby="quote-title">
        <p className="hub-eyebrow">
          Quote {q.number} for {client.name}
        </p>
        <h1 id="quote-title">{q.title}</h1>
        <p className={`hub-status hub-status--${q.status}`}>{STATUS[q.status] ?? q.status}</p>
        {q.message && <p className="hub-message">{q.message}</p>}
        <ul className="hub-lines" aria-label="What is included">
          {q.lines.map((line) => (
            <li key={line.id} className={line.optional && !selected.includes(line.id) ? "hub-line hub-line--off" : "hub-line"}>
              <div className="hub-line__main">
                {line.optional && open ? (
                  <label className="hub-line__pick">
                    <input type="checkbox" checked={selected.includes(line.id)} onChange={(e) => toggle(line.id, e.target.checked)} />
                    <span>
                      <span className="hub-line__name">{line.name}</span> <span className="hub-tag">Optional</span>
                    </span>
                  </label>
                ) : (
                  <span className="hub-line__name">
                    {line.name}
                    {line.optional && <span className="hub-tag">{line.selected ? "Optional, chosen" : "Optional, not chosen"}</span>}
                  </span>
                )}
                {line.description && <p className="hub-line__desc">{line.description}</p>}
                <p className="hub-line__qty">
                  {String(line.quantity)} × {money(line.unit_price)}
                </p>
              </div>
              <span className="hub-line__total">{money(line.line_total)}</span>
            </li>
          ))}
        </ul>
        <dl className="hub-totals" aria-live="polite" aria-busy={preview.isFetching}>
          <div>
            <dt>Subtotal</dt>
            <dd>{money(totals.subtotal)}</dd>
          </div>
          {totals.discount_total > 0 && (
            <div>
              <dt>Discount</dt>
              <dd>−{money(totals.discount_total)}</dd>
            </div>
          )}
          {totals.taxes.map((t) => (
            <div key={t.name}>
              <dt>{t.name}</dt>
              <dd>{money(t.amount)}</dd>
            </div>
          ))}
          <div className="hub-totals__total">
            <dt>Total</dt>
            <dd>{money(totals.total)}</dd>
          </div>
          {totals.deposit_amount > 0 && (
            <div>
              <dt>Deposit due on approval</dt>
              <dd>{money(totals.deposit_amount)}</dd>
            </div>
          )}
        </dl>
        {preview.isError && <p className="hub-error" role="alert">{describeError(preview.error)}</p>}
        <p>
          <a href={pdfUrl("quote", id, link)} target="_blank" rel="noreferrer">
            Download the quote (PDF)
          </a>
        </p>
      </section>
      {open ? (
        <Decide id={id} link={link} version={q.version} selected={selected} total={money(totals.total)} />
      ) : (
        <Outcome quote={q} zone={business.time_zone} locale={business.locale} businessName={business.name} />
      )}
      <ClientPageLink to={context.data.client_page} />
      <SmsChoice kind="quote" id={id} link={link} phones={client.phones} />
    </HubShell>
  );
}

type QuoteData = NonNullable<ReturnType<typeof useHubQuote>["data"]>;

function Outcome({ quote, zone, locale, businessName }: { quote: QuoteData; zone: string; locale: string; businessName: string }) {
  if (quote.approval) {
    return (
      <section className="hub-card hub-done" aria-labelledby="done-title" role="status">
        <h2 id="done-title">Thank you: the quote is approved</h2>
        <p>
          Signed by {quote.approval.signature_name} on {formatDateTime(quote.approval.approved_at, zone, locale)}. {businessName} will be in touch to
          schedule the work.
        </p>
      </section>
    );
  }
  if (quote.status === "changes_requested") {
    return (
      <section className="hub-card" aria-labelledby="done-title">
        <h2 id="done-title">Your request was sent</h2>
        <p>{businessName} will send you an updated quote.</p>
        {quote.changes_requested_note && <blockquote className="hub-message">{quote.changes_requested_note}</blockquote>}
      </section>
    );
  }
  return null;
}

function Decide({ id, link, version, selected, total }: { id: string; link: HubLink; version: number; selected: string[]; total: string }) {
  const approve = useApprove(id, link);
  const changes = useRequestChanges(id, link);
  const [mode, setMode] = useState<"type" | "draw">("type");
  const [name, setName] = useState("");
  const [note, setNote] = useState("");
  const nameError = approve.error && isProblem(approve.error) ? approve.error.field("signature_name") : undefined;
  function typed(event: FormEvent) {
    event.preventDefault();
    approve.mutate({ signature_name: name.trim(), selected_optional_line_ids: selected, version });
  }
  async function drawn(png: Blob, signer: string) {
    const signature_png = await blobToBase64(png);
    await approve.mutateAsync({ signature_name: signer, selected_optional_line_ids: selected, version, signature_png });
  }
  return (
    <>
      <section className="hub-card" aria-labelledby="approve-title">
        <h2 id="approve-title">Approve this quote ({total})</h2>
        <fieldset className="hub-modes">
          <legend>How would you like to sign?</legend>
          <label>
            <input type="radio" name="mode" checked={mode === "type"} onChange={() => setMode("type")} /> Type my name
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === "draw"} onChange={() => setMode("draw")} /> Draw my signature
          </label>
        </fieldset>
        {mode === "type" ? (
          <form onSubmit={typed} noValidate>
            <div className="field">
              <label htmlFor="hub-signer">Your full name</label>
              <input
                id="hub-signer"
                value={name}
                onChange={(e) => setName(e.target.value)}
                autoComplete="name"
                aria-invalid={nameError ? true : undefined}
                aria-describedby={nameError ? "hub-signer-error" : undefined}
              />
              {nameError && (
                <p className="field__error" id="hub-signer-error">
                  {nameError}
                </p>
              )}
            </div>
            <p className="hub-fine">By approving you accept this quote and its total of {total}.</p>
            <button type="submit" className="button hub-button" disabled={approve.isPending || !name.trim()}>
              {approve.isPending ? "Approving…" : "Approve quote"}
            </button>
          </form>
        ) : (
          <>
            <p className="hub-fine">Sign in the box with your finger or mouse, type your name, then approve. By approving you accept the total of {total}.</p>
            <SignaturePad
              onSave={drawn}
              disabled={approve.isPending}
              labels={{ pad: "Signature pad: sign here with your finger or mouse", name: "Your full name", save: "Approve and sign" }}
            />
          </>
        )}
        {approve.isError && !nameError && (
          <p className="hub-error" role="alert">
            {describeError(approve.error)}
          </p>
        )}
      </section>
      <section className="hub-card" aria-labelledby="changes-title">
        <details>
          <summary id="changes-title">Request changes instead</summary>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              changes.mutate({ note: note.trim(), version });
            }}
          >
            <div className="field">
              <label htmlFor="hub-changes">What would you like changed?</label>
              <textarea id="hub-changes" rows={4} value={note} onChange={(e) => setNote(e.target.value)} />
            </div>
            <button type="submit" className="button" disabled={changes.isPending || !note.trim()}>
              Send my request
            </button>
            {changes.isError && (
              <p className="hub-error" role="alert">
                {describeError(changes.error)}
              </p>
            )}
          </form>
        </details>
      </section>
    </>
  );
}
