import { useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useLocation, useParams } from "react-router";
import { describeError } from "../../api/problem";
import { Spinner } from "../../components/States";
import { formatDateTime, formatDay, formatMoney } from "../../lib/format";
import { getPayment, pdfUrl, startCardPayment, useHubContext, useHubInvoice } from "./api";
import { HubShell } from "./HubShell";
import { LinkProblem } from "./LinkProblem";
import { parseLink, type HubLink } from "./link";
import { ClientPageLink } from "./ClientPageLink";
import { SmsChoice } from "./SmsChoice";
import { loadStripe, type StripeJs } from "./stripe";

export function HubInvoicePage() {
  const { id = "" } = useParams();
  const link = parseLink(useLocation().search);
  if (!link) return <LinkProblem kind="invoice" id={id} account={new URLSearchParams(location.search).get("account") ?? undefined} />;
  return <InvoiceScreen id={id} link={link} />;
}

type Receipt = Awaited<ReturnType<typeof getPayment>>;

function InvoiceScreen({ id, link }: { id: string; link: HubLink }) {
  const context = useHubContext("invoice", id, link);
  const invoice = useHubInvoice(id, link);
  const [receipt, setReceipt] = useState<Receipt | null>(null);
  const error = context.error ?? invoice.error;
  if (error) return <LinkProblem kind="invoice" id={id} account={link.account} error={error} />;
  if (!context.data || !invoice.data) {
    return (
      <HubShell>
        <Spinner label="Loading your invoice" />
      </HubShell>
    );
  }
  const { business, client, stripe_publishable_key } = context.data;
  const inv = receipt?.invoice ?? invoice.data;
  const money = (minor: number) => formatMoney(minor, inv.currency, business.locale);
  return (
    <HubShell brand={business}>
      <section className="hub-card" aria-labelledby="invoice-title">
        <p className="hub-eyebrow">
          Invoice {inv.number} for {client.name}
        </p>
        <h1 id="invoice-title">{inv.title}</h1>
        <p className={`hub-status hub-status--${inv.status}`}>
          {inv.status === "paid" ? "Paid" : inv.past_due ? "Past due" : inv.due_date ? `Due ${formatDay(inv.due_date, business.locale)}` : "Open"}
        </p>
        <ul className="hub-lines" aria-label="What was done">
          {inv.lines.map((line) => (
            <li key={line.id} className="hub-line">
              <div className="hub-line__main">
                <span className="hub-line__name">{line.name}</span>
                {line.description && <p className="hub-line__desc">{line.description}</p>}
                <p className="hub-line__qty">
                  {String(line.quantity)} × {money(line.unit_price)}
                </p>
              </div>
              <span className="hub-line__total">{money(line.line_total)}</span>
            </li>
          ))}
        </ul>
        <dl className="hub-totals">
          <div>
            <dt>Subtotal</dt>
            <dd>{money(inv.subtotal)}</dd>
          </div>
          {inv.discount_total > 0 && (
            <div>
              <dt>Discount</dt>
              <dd>−{money(inv.discount_total)}</dd>
            </div>
          )}
          {inv.taxes.map((t) => (
            <div key={t.name}>
              <dt>{t.name}</dt>
              <dd>{money(t.amount)}</dd>
            </div>
          ))}
          <div>
            <dt>Total</dt>
            <dd>{money(inv.total)}</dd>
          </div>
          {inv.amount_paid > 0 && (
            <div>
              <dt>Paid</dt>
              <dd>−{money(inv.amount_paid - inv.amount_refunded)}</dd>
            </div>
          )}
          <div className="hub-totals__total">
            <dt>Balance</dt>
            <dd>{money(inv.balance)}</dd>
          </div>
        </dl>
        <p>
          <a href={pdfUrl("invoice", id, link)} target="_blank" rel="noreferrer">
            Download the invoice (PDF)
          </a>
        </p>
      </section>
      {receipt && receipt.payment.status === "succeeded" ? (
        <section className="hub-card hub-done" aria-labelledby="receipt-title" role="status">
          <h2 id="receipt-title">Payment received: thank you</h2>
          <dl className="hub-totals">
            <div>
              <dt>Amount</dt>
              <dd>{money(receipt.payment.amount + receipt.payment.tip)}</dd>
            </div>
            <div>
              <dt>Paid on</dt>
              <dd>{formatDateTime(receipt.payment.paid_at, business.time_zone, business.locale)}</dd>
            </div>
            <div>
              <dt>Reference</dt>
              <dd>{receipt.payment.stripe_payment_intent_id ?? receipt.payment.id}</dd>
            </div>
            <div className="hub-totals__total">
              <dt>Balance now</dt>
              <dd>{money(receipt.invoice.balance)}</dd>
            </div>
          </dl>
          <p>A receipt is on its way to your email.</p>
        </section>
      ) : inv.balance > 0 && inv.status !== "void" ? (
        stripe_publishable_key ? (
          <PayByCard id={id} link={link} amount={money(inv.balance)} onPaid={setReceipt} />
        ) : (
          <section className="hub-card" aria-labelledby="pay-title">
            <h2 id="pay-title">How to pay</h2>
            <p>{business.name} does not take card payments online. Contact them to pay.</p>
          </section>
        )
      ) : null}
      <ClientPageLink to={context.data.client_page} />
      <SmsChoice kind="invoice" id={id} link={link} phones={client.phones} />
    </HubShell>
  );
}

type Stage = "idle" | "starting" | "form" | "confirming" | "checking" | "no-stripe";

function PayByCard({ id, link, amount, onPaid }: { id: string; link: HubLink; amount: string; onPaid: (r: Receipt) => void }) {
  const client = useQueryClient();
  const [stage, setStage] = useState<Stage>("idle");
  const [problem, setProblem] = useState<string | null>(null);
  const [paymentId, setPaymentId] = useState<string | null>(() => sessionStorage.getItem(`hub-payment:${id}`));
  const mount = useRef<HTMLDivElement>(null);
  const stripe = useRef<{ js: StripeJs; elements: ReturnType<StripeJs["elements"]> } | null>(null);

  const intent = useRef<{ client_secret: string; publishable_key: string } | null>(null);

  async function check(pid: string, attempts = 1) {
    setStage("checking");
    setProblem(null);
    try {
      for (let i = 0; i < attempts; i++) {
        const r = await getPayment(id, pid, link);
        if (r.payment.status === "succeeded") {
          sessionStorage.removeItem(`hub-payment:${id}`);
          void client.invalidateQueries({ queryKey: ["hub", "invoice", id] });
          onPaid(r);
          return;
        }
        if (r.payment.status !== "pending") {
          sessionStorage.removeItem(`hub-payment:${id}`);
          setPaymentId(null);
          setProblem("The payment did not go through. No money was taken; you can try again.");
          setStage("idle");
          return;
        }
        if (i + 1 < attempts) await new Promise((r) => setTimeout(r, 1500));
      }
      setProblem("The payment is not complete yet. If you finished it, check again in a moment.");
      setStage(stripe.current ? "form" : "no-stripe");
    } catch (error) {
      setProblem(describeError(error));
      setStage(stripe.current ? "form" : "no-stripe");
    }
  }

  async function start() {
    setStage("starting");
    setProblem(null);
    try {
      const started = await startCardPayment(id, link);
      sessionStorage.setItem(`hub-payment:${id}`, started.payment_id);
      setPaymentId(started.payment_id);
      intent.current = started;
      await showForm();
    } catch (error) {
      setProblem(describeError(error));
      setStage("idle");
    }
  }

  /** Stripe's Payment Element for the payment started (one PaymentIntent, however often it is retried). */
  async function showForm() {
    const started = intent.current;
    if (!started) return;
    setStage("starting");
    try {
      const Stripe = await loadStripe();
      const js = Stripe(started.publishable_key);
      const elements = js.elements({ clientSecret: started.client_secret });
      stripe.current = { js, elements };
      setStage("form");
      // The form's box is drawn by now: mount Stripe's Payment Element in it.
      requestAnimationFrame(() => mount.current && elements.create("payment").mount(mount.current));
    } catch {
      setStage("no-stripe");
    }
  }

  async function confirm() {
    const s = stripe.current;
    if (!s || !paymentId) return;
    setStage("confirming");
    const result = await s.js.confirmPayment({ elements: s.elements, redirect: "if_required" });
    if (result.error) {
      setProblem(result.error.message ?? "The card was not accepted.");
      setStage("form");
      return;
    }
    await check(paymentId, 10);
  }

  return (
    <section className="hub-card" aria-labelledby="pay-title">
      <h2 id="pay-title">Pay online</h2>
      {stage === "idle" && (
        <>
          <p className="hub-fine">Payments are processed securely by Stripe. Your card details never reach us.</p>
          <button type="button" className="button hub-button" onClick={() => void start()}>
            Pay {amount} by card
          </button>
          {paymentId && (
            <button type="button" className="button hub-button--quiet" onClick={() => void check(paymentId)}>
              I already paid: check my payment
            </button>
          )}
        </>
      )}
      {stage === "starting" && <Spinner label="Preparing the card form" />}
      {(stage === "form" || stage === "confirming") && (
        <>
          <div ref={mount} className="hub-stripe" />
          <button type="button" className="button hub-button" onClick={() => void confirm()} disabled={stage === "confirming"}>
            {stage === "confirming" ? "Paying…" : `Pay ${amount}`}
          </button>
        </>
      )}
      {stage === "no-stripe" && (
        <>
          <p role="alert">The card form could not load (Stripe is unreachable from this device right now). Check your connection and try again.</p>
          {paymentId && (
            <button type="button" className="button hub-button" onClick={() => void check(paymentId)}>
              Check my payment
            </button>
          )}
          {intent.current && (
            <button type="button" className="button hub-button--quiet" onClick={() => void showForm()}>
              Try again
            </button>
          )}
        </>
      )}
      {stage === "checking" && <Spinner label="Checking your payment" />}
      {problem && (
        <p className="hub-error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}
