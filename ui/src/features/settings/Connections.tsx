import { useState, type FormEvent, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useSignedIn } from "../../api/session";
import { TextField } from "../../components/Field";
import { ErrorState, FormError, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { connectQuickBooks, sendTestEmail, sendTestSms, setStripeKeys, useMessaging, useQuickBooks, useStripe, type TestOutcome } from "./api";
import { useSave } from "./useSave";

function Status({ on, children }: { on: boolean; children: ReactNode }) {
  return <span className={`badge ${on ? "badge--active" : "badge--muted"}`}>{children}</span>;
}

function Card({ title, status, children }: { title: string; status: ReactNode; children: ReactNode }) {
  const id = `conn-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section className="card connection" aria-labelledby={id}>
      <header className="card__head">
        <h3 id={id}>{title}</h3>
        {status}
      </header>
      {children}
    </section>
  );
}

function Outcome({ outcome }: { outcome: TestOutcome | undefined }) {
  if (!outcome) return null;
  return outcome.sent ? (
    <span className="notice">Sent to {outcome.to}. Check that it arrived.</span>
  ) : (
    <span className="form-error">Not sent to {outcome.to}: {outcome.detail}</span>
  );
}

export function Connections() {
  const { user } = useSignedIn();
  const messaging = useMessaging(true);
  return (
    <section className="settings-panel" aria-labelledby="connections-h">
      <div className="settings-panel__head">
        <h2 id="connections-h">Connections</h2>
      </div>
      <p className="muted">How jobber reaches your clients and your books.</p>
      {messaging.isPending ? (
        <Spinner label="Checking connections" />
      ) : messaging.isError ? (
        <ErrorState error={messaging.error} onRetry={() => void messaging.refetch()} />
      ) : (
        <div className="connection-grid">
          <EmailCard configured={messaging.data.email.configured} transport={messaging.data.email.transport ?? null} from={messaging.data.email.from} me={user.email} />
          <SmsCard configured={messaging.data.sms.configured} from={messaging.data.sms.from ?? null} />
          <StripeCard />
          <QuickBooksCard />
        </div>
      )}
    </section>
  );
}

function EmailCard({ configured, transport, from, me }: { configured: boolean; transport: string | null; from: string; me: string }) {
  const [to, setTo] = useState("");
  const [outcome, setOutcome] = useState<TestOutcome>();
  const save = useSave();
  async function submit(event: FormEvent) {
    event.preventDefault();
    setOutcome(undefined);
    setOutcome(await save.run(() => sendTestEmail(to)));
  }
  return (
    <Card title="Email" status={<Status on={configured}>{configured ? `Connected (${transport === "sendgrid" ? "SendGrid" : "SMTP"})` : "Not set up"}</Status>}>
      {configured ? (
        <>
          <p className="muted small">Clients get emails from {from}; their replies go to your business email.</p>
          <form onSubmit={submit} noValidate className="test-form">
            <TextField label="Send a test email to" type="email" placeholder={me} value={to} onChange={(e) => setTo(e.target.value)} error={save.fields.to} />
            <button type="submit" className="button" disabled={save.busy}>
              {save.busy ? "Sending…" : "Send test email"}
            </button>
          </form>
          <FormError message={Object.keys(save.fields).length ? undefined : save.error} />
          <p role="status" className="test-outcome">
            <Outcome outcome={outcome} />
          </p>
        </>
      ) : (
        <p className="muted small">The server has no email transport yet: emails to clients wait in the queue. Ask whoever runs jobber to set <code>smtp_url</code> (or SendGrid).</p>
      )}
    </Card>
  );
}

function SmsCard({ configured, from }: { configured: boolean; from: string | null }) {
  const [to, setTo] = useState("");
  const [outcome, setOutcome] = useState<TestOutcome>();
  const save = useSave();
  async function submit(event: FormEvent) {
    event.preventDefault();
    setOutcome(undefined);
    setOutcome(await save.run(() => sendTestSms(to)));
  }
  return (
    <Card title="Text messages" status={<Status on={configured}>{configured ? "Connected (Twilio)" : "Not set up"}</Status>}>
      {configured ? (
        <>
          <p className="muted small">Texts go out from {from}, to clients who agreed to texts.</p>
          <form onSubmit={submit} noValidate className="test-form">
            <TextField label="Send a test text to" type="tel" placeholder="(555) 010-9999" value={to} onChange={(e) => setTo(e.target.value)} error={save.fields.to} />
            <button type="submit" className="button" disabled={save.busy}>
              {save.busy ? "Sending…" : "Send test text"}
            </button>
          </form>
          <FormError message={Object.keys(save.fields).length ? undefined : save.error} />
          <p role="status" className="test-outcome">
            <Outcome outcome={outcome} />
          </p>
        </>
      ) : (
        <p className="muted small">The server has no Twilio account yet: "on my way" and reminder texts are not sent.</p>
      )}
    </Card>
  );
}

function StripeCard() {
  const stripe = useStripe(true);
  const fmt = useFormat();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [keys, setKeys] = useState({ secret_key: "", webhook_secret: "", publishable_key: "" });
  const save = useSave();
  if (stripe.isPending) return <Card title="Card payments" status={null}><Spinner /></Card>;
  if (stripe.isError) return <Card title="Card payments" status={null}><ErrorState error={stripe.error} /></Card>;
  const s = stripe.data;
  return (
    <Card title="Card payments" status={<Status on={s.configured}>{s.configured ? "Connected (Stripe)" : "Not set up"}</Status>}>
      {s.configured && (
        <p className="muted small">
          Secret key ending {s.secret_key_last4}
          {s.updated_at ? `, set ${fmt.date(s.updated_at)}` : ""}.{" "}
          {s.publishable_key ? "Clients can pay by card in the client hub." : "Add the publishable key to take cards in the client hub."}
        </p>
      )}
      <p className="muted small">
        Stripe's webhook goes to <code className="wrap">{s.webhook_url}</code>
      </p>
      {editing ? (
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            const saved = await save.run(() => setStripeKeys({ ...keys, publishable_key: keys.publishable_key.trim() || undefined }));
            if (saved) {
              queryClient.setQueryData(["settings", "stripe"], saved);
              setKeys({ secret_key: "", webhook_secret: "", publishable_key: "" });
              setEditing(false);
            }
          }}
        >
          <FormError message={save.error} />
          <TextField label="Secret key" autoComplete="off" value={keys.secret_key} onChange={(e) => setKeys((k) => ({ ...k, secret_key: e.target.value }))} error={save.fields.secret_key} />
          <TextField label="Webhook signing secret" autoComplete="off" value={keys.webhook_secret} onChange={(e) => setKeys((k) => ({ ...k, webhook_secret: e.target.value }))} error={save.fields.webhook_secret} />
          <TextField label="Publishable key (for the client hub)" autoComplete="off" value={keys.publishable_key} onChange={(e) => setKeys((k) => ({ ...k, publishable_key: e.target.value }))} error={save.fields.publishable_key} hint="pk_live_… or pk_test_…: lets clients pay invoices by card from their link." />
          <div className="form__actions">
            <button type="submit" className="button button--primary" disabled={save.busy}>Save keys</button>
            <button type="button" className="button" onClick={() => setEditing(false)}>Cancel</button>
          </div>
        </form>
      ) : (
        <button type="button" className="button" onClick={() => setEditing(true)}>
          {s.configured ? "Change Stripe keys" : "Connect Stripe"}
        </button>
      )}
    </Card>
  );
}

function QuickBooksCard() {
  const qbo = useQuickBooks(true);
  const fmt = useFormat();
  const save = useSave();
  if (qbo.isPending) return <Card title="QuickBooks Online" status={null}><Spinner /></Card>;
  if (qbo.isError) return <Card title="QuickBooks Online" status={null}><ErrorState error={qbo.error} /></Card>;
  const q = qbo.data;
  return (
    <Card
      title="QuickBooks Online"
      status={<Status on={q.connected}>{q.connected ? "Connected" : q.configured ? "Not connected" : "Not available"}</Status>}
    >
      {q.connected ? (
        <p className="muted small">
          {fmt.number(q.counts.synced)} synced, {fmt.number(q.counts.pending)} waiting, {fmt.number(q.counts.failed)} failed
          {q.last_sync_at ? `; last sync ${fmt.dateTime(q.last_sync_at)}` : ""}.
        </p>
      ) : q.configured ? (
        <p className="muted small">Send your clients, invoices and payments to QuickBooks automatically.</p>
      ) : (
        <p className="muted small">This server is not set up for QuickBooks (quickbooks_client_id).</p>
      )}
      {q.connection_error && <p className="form-error">{q.connection_error}</p>}
      <FormError message={save.error} />
      {q.configured && (!q.connected || q.connection_error) && (
        <button
          type="button"
          className="button"
          disabled={save.busy}
          onClick={async () => {
            const reply = await save.run(() => connectQuickBooks());
            if (reply) window.location.assign(reply.authorize_url);
          }}
        >
          {q.connected ? "Connect again" : "Connect QuickBooks"}
        </button>
      )}
    </Card>
  );
}
