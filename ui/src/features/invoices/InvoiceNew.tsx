import { useMemo, useRef, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiProblem, describeError } from "../../api/problem";
import { SelectField, TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { currencyDigits } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import { useDebounced } from "../../lib/useDebounced";
import { createInvoice, useCatalogSearch, useClientSearch, useInvoicePreview, useJob, useTaxRates, type InvoiceInput, type InvoicePreviewInput } from "./api";
import "./invoices.css";

interface Line {
  key: number;
  catalogItemId: string | null;
  name: string;
  quantity: string;
  price: string;
  taxable: boolean;
}

type Errors = Record<string, string>;
const blank = (key: number): Line => ({ key, catalogItemId: null, name: "", quantity: "1", price: "", taxable: true });
const terms = [
  ["", "The account's usual terms"],
  ["due_on_receipt", "Due on receipt"],
  ["net_7", "Net 7"],
  ["net_15", "Net 15"],
  ["net_30", "Net 30"],
  ["net_60", "Net 60"],
] as const;

function num(text: string): number | null {
  const t = text.trim().replace(",", ".");
  if (t === "") return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** New invoice: from a job (`?job_id=`: its unbilled work) or written by hand. */
export function InvoiceNew() {
  const [params] = useSearchParams();
  const jobId = params.get("job_id");
  return jobId ? <FromJob jobId={jobId} /> : <Standalone />;
}

function FromJob({ jobId }: { jobId: string }) {
  const fmt = useFormat();
  const job = useJob(jobId);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  if (job.isPending) return <Spinner label="Loading job" />;
  if (job.isError) return <ErrorState error={job.error} onRetry={() => void job.refetch()} />;
  async function create() {
    setBusy(true);
    setError(undefined);
    try {
      const invoice = await createInvoice({ job_id: jobId });
      void queryClient.invalidateQueries({ queryKey: ["invoices"] });
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      navigate(`/invoices/${invoice.id}`);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }
  const done = job.data.visits.filter((v) => v.status === "completed").length;
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to={`/jobs/${jobId}`}>
          <Icon name="back" size={14} /> Job {job.data.number}
        </Link>
      </nav>
      <PageHeader title={`Invoice job ${job.data.number}`} />
      <section className="card form">
        <FormError message={error} />
        <p>
          <strong>{job.data.title}</strong> · {fmt.money(job.data.total, { currency: job.data.currency })}
        </p>
        <p className="muted">
          {job.data.billing === "per_visit" ? `Bills its ${done} completed ${done === 1 ? "visit" : "visits"} not yet invoiced.` : "Bills the job's line items."} A draft is made; check it, then send it.
        </p>
        <div className="form__actions">
          <button type="button" className="button button--primary" disabled={busy} onClick={() => void create()}>
            {busy ? "Creating…" : "Create the draft invoice"}
          </button>
          <Link to={`/jobs/${jobId}`} className="button">
            Cancel
          </Link>
        </div>
      </section>
    </>
  );
}

function Standalone() {
  const fmt = useFormat();
  const digits = currencyDigits(fmt.currency);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const [search, setSearch] = useState("");
  const clients = useClientSearch(useDebounced(search.trim(), 250));
  const [clientId, setClientId] = useState(params.get("client_id") ?? "");
  const [title, setTitle] = useState("");
  const [lines, setLines] = useState<Line[]>([blank(1)]);
  const [catalogQuery, setCatalogQuery] = useState("");
  const catalog = useCatalogSearch(useDebounced(catalogQuery.trim(), 250));
  const rates = useTaxRates();
  const [taxIds, setTaxIds] = useState<string[] | null>(null);
  const [paymentTerms, setPaymentTerms] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const nextKey = useRef(2);
  const active = (rates.data ?? []).filter((r) => r.active);
  const chosenTaxes = taxIds ?? active.filter((r) => r.is_default).map((r) => r.id);

  const { pricing, keys, typed } = useMemo(() => {
    const typed: Errors = {};
    const keys: number[] = [];
    const out: NonNullable<InvoicePreviewInput["lines"]> = [];
    for (const l of lines) {
      if (!l.name.trim() && !l.price.trim() && !l.catalogItemId) continue;
      const quantity = num(l.quantity);
      const price = num(l.price);
      if (quantity === null) typed[`line:${l.key}:quantity`] = "A number, like 1 or 2.5.";
      if (l.price.trim() && price === null) typed[`line:${l.key}:unit_price`] = "A price, like 45.00.";
      keys.push(l.key);
      out.push({ catalog_item_id: l.catalogItemId, name: l.name.trim() || null, quantity: quantity ?? 0, unit_price: price === null ? null : Math.round(price * 10 ** digits), taxable: l.taxable });
    }
    return { pricing: { lines: out, tax_rate_ids: chosenTaxes }, keys, typed };
  }, [lines, chosenTaxes, digits]);
  const json = JSON.stringify(Object.keys(typed).length > 0 || rates.isPending ? null : pricing);
  const settled = useDebounced(json, 300);
  const preview = useInvoicePreview(useMemo(() => JSON.parse(settled) as InvoicePreviewInput | null, [settled]));
  const updating = settled !== json || preview.isFetching;

  function fieldErrors(problem: ApiProblem): Errors {
    const out: Errors = {};
    for (const { field, message } of problem.errors) {
      const m = /^lines\[(\d+)\]\.?(\w*)/.exec(field);
      const key = m && keys[Number(m[1])] !== undefined ? `line:${keys[Number(m[1])]}:${m[2] === "unit_price" || m[2] === "quantity" ? m[2] : "name"}` : field.startsWith("tax_rate_ids") ? "tax_rate_ids" : field;
      if (!out[key]) out[key] = message.charAt(0).toUpperCase() + message.slice(1);
    }
    return out;
  }
  const previewErrors = preview.error instanceof ApiProblem ? fieldErrors(preview.error) : {};
  const shown = { ...previewErrors, ...typed, ...errors };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    const local: Errors = { ...typed };
    if (!clientId) local.client_id = "Choose the client.";
    if (!title.trim()) local.title = "Say what the invoice is for.";
    if (pricing.lines.length === 0) local.lines = "Add at least one line.";
    setErrors(local);
    if (Object.keys(local).length > 0) {
      setError("Please correct the fields marked below.");
      return;
    }
    const input: InvoiceInput = { client_id: clientId, title: title.trim(), lines: pricing.lines, tax_rate_ids: chosenTaxes, payment_terms: (paymentTerms || null) as InvoiceInput["payment_terms"] };
    setBusy(true);
    try {
      const invoice = await createInvoice(input);
      void queryClient.invalidateQueries({ queryKey: ["invoices"] });
      navigate(`/invoices/${invoice.id}`);
    } catch (e) {
      if (e instanceof ApiProblem && e.errors.length > 0) {
        setErrors(fieldErrors(e));
        setError("Please correct the fields marked below.");
      } else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  const setLine = (key: number, part: Partial<Line>) => setLines((ls) => ls.map((l) => (l.key === key ? { ...l, ...part } : l)));
  const p = preview.data;
  const money = (minor: number) => fmt.money(minor, { currency: p?.currency ?? fmt.currency });
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/invoices">
          <Icon name="back" size={14} /> Invoices
        </Link>
      </nav>
      <PageHeader title="New invoice" />
      <form className="form invoice-form" onSubmit={(e) => void submit(e)} noValidate aria-label="New invoice">
        <FormError message={error} />
        <fieldset>
          <legend>For</legend>
          <TextField label="Find a client" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name, email or phone" autoComplete="off" />
          <SelectField label="Client" value={clientId} error={shown.client_id} onChange={(e) => setClientId(e.target.value)}>
            <option value="">Choose a client…</option>
            {clientId && !(clients.data?.items ?? []).some((c) => c.id === clientId) && <option value={clientId}>The chosen client</option>}
            {(clients.data?.items ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.display_name}
              </option>
            ))}
          </SelectField>
          <TextField label="Title" value={title} error={shown.title} onChange={(e) => setTitle(e.target.value)} autoComplete="off" />
          <SelectField label="Payment terms" value={paymentTerms} error={shown.payment_terms} onChange={(e) => setPaymentTerms(e.target.value)}>
            {terms.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </SelectField>
        </fieldset>
        <fieldset>
          <legend>Line items</legend>
          <TextField label="Add from the catalog" type="search" value={catalogQuery} onChange={(e) => setCatalogQuery(e.target.value)} placeholder="Search products and services" autoComplete="off" />
          {catalogQuery.trim() && (
            <ul className="catalog-pick__results" aria-label="Catalog matches">
              {(catalog.data?.items ?? []).map((item) => (
                <li key={item.id}>
                  <button
                    type="button"
                    className="button button--small"
                    onClick={() => {
                      const key = nextKey.current++;
                      setLines((ls) => [...ls.filter((l) => l.name.trim() || l.price.trim()), { key, catalogItemId: item.id, name: item.name, quantity: "1", price: (item.unit_price / 10 ** digits).toFixed(digits), taxable: item.taxable }]);
                      setCatalogQuery("");
                    }}
                  >
                    <Icon name="plus" size={14} /> {item.name} · {fmt.money(item.unit_price)}
                  </button>
                </li>
              ))}
            </ul>
          )}
          {lines.map((l, i) => (
            <div className="form__row invoice-line" key={l.key}>
              <TextField label={`Item ${i + 1}`} value={l.name} error={shown[`line:${l.key}:name`]} onChange={(e) => setLine(l.key, { name: e.target.value })} />
              <TextField label="Quantity" inputMode="decimal" value={l.quantity} error={shown[`line:${l.key}:quantity`]} onChange={(e) => setLine(l.key, { quantity: e.target.value })} className="field--narrow" />
              <TextField label={`Unit price (${fmt.currency})`} inputMode="decimal" value={l.price} error={shown[`line:${l.key}:unit_price`]} onChange={(e) => setLine(l.key, { price: e.target.value })} className="field--narrow" />
              <label className="check invoice-line__tax">
                <input type="checkbox" checked={l.taxable} onChange={(e) => setLine(l.key, { taxable: e.target.checked })} />
                Taxable
              </label>
              {lines.length > 1 && (
                <button type="button" className="icon-button" aria-label={`Remove item ${i + 1}`} onClick={() => setLines((ls) => ls.filter((x) => x.key !== l.key))}>
                  <Icon name="close" />
                </button>
              )}
            </div>
          ))}
          {shown.lines && (
            <p className="field__error" role="alert">
              {shown.lines}
            </p>
          )}
          <p>
            <button type="button" className="button" onClick={() => setLines((ls) => [...ls, blank(nextKey.current++)])}>
              <Icon name="plus" /> Add a line
            </button>
          </p>
          <fieldset className="checks">
            <legend>Taxes</legend>
            {active.length === 0 && <p className="muted">No tax rates yet.</p>}
            {active.map((r) => (
              <label key={r.id} className="check">
                <input type="checkbox" checked={chosenTaxes.includes(r.id)} onChange={() => setTaxIds(chosenTaxes.includes(r.id) ? chosenTaxes.filter((x) => x !== r.id) : [...chosenTaxes, r.id])} />
                {r.name} ({r.rate}%)
              </label>
            ))}
          </fieldset>
        </fieldset>
        <section className="card" aria-labelledby="invoice-totals-h" aria-busy={updating || undefined}>
          <h2 id="invoice-totals-h">Totals</h2>
          <div aria-live="polite">
            {!p ? (
              <p className="muted">{preview.isError ? "Correct the marked fields to see the totals." : "Working out the totals…"}</p>
            ) : (
              <dl className={`totals${updating ? " totals--updating" : ""}`}>
                <div>
                  <dt>Subtotal</dt>
                  <dd>{money(p.subtotal)}</dd>
                </div>
                {p.taxes.map((t) => (
                  <div key={`${t.name}-${t.rate}`}>
                    <dt>
                      {t.name} ({t.rate}%)
                    </dt>
                    <dd>{money(t.amount)}</dd>
                  </div>
                ))}
                <div className="totals__total">
                  <dt>Total</dt>
                  <dd>{money(p.total)}</dd>
                </div>
              </dl>
            )}
          </div>
        </section>
        <div className="form__actions">
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? "Creating…" : "Create draft invoice"}
          </button>
          <Link to="/invoices" className="button">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}
