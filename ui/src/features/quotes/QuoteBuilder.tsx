import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { ApiProblem, describeError, isProblem } from "../../api/problem";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { EmptyState, ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { currencyDigits } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import { useDebounced } from "../../lib/useDebounced";
import {
  addressLine,
  createQuote,
  fetchQuote,
  updateQuote,
  useCatalogSearch,
  useClientSearch,
  useProperties,
  useQuote,
  useQuotePreview,
  useTaxRates,
  type Adjustment,
  type CatalogItem,
  type LineInput,
  type Quote,
  type QuoteInput,
  type QuotePreviewInput,
  type TaxRate,
} from "./api";
import "./quotes.css";

/** A line as typed: text until it is sent. */
export interface DraftLine {
  key: number;
  catalogItemId: string | null;
  name: string;
  description: string;
  quantity: string;
  price: string;
  taxable: boolean;
  optional: boolean;
}

export interface DraftAdjustment {
  kind: "none" | "percent" | "amount";
  value: string;
}

export interface Draft {
  clientId: string;
  propertyId: string;
  title: string;
  message: string;
  validUntil: string;
  lines: DraftLine[];
  discount: DraftAdjustment;
  deposit: DraftAdjustment;
  /** null: the account's default rates. */
  taxIds: string[] | null;
}

type Errors = Record<string, string>;
/** The preview's input with its lines always there. */
type Pricing = QuotePreviewInput & { lines: LineInput[] };

const blankLine = (key: number): DraftLine => ({ key, catalogItemId: null, name: "", description: "", quantity: "1", price: "", taxable: true, optional: false });

function emptyDraft(clientId: string): Draft {
  return {
    clientId,
    propertyId: "",
    title: "",
    message: "",
    validUntil: "",
    lines: [blankLine(1)],
    discount: { kind: "none", value: "" },
    deposit: { kind: "none", value: "" },
    taxIds: null,
  };
}

/** Minor units as the text a person edits (`4500` -> `"45.00"` for USD). */
function toText(minor: number, digits: number): string {
  return (minor / 10 ** digits).toFixed(digits);
}

function adjustmentText(a: Adjustment | null | undefined, digits: number): DraftAdjustment {
  if (!a) return { kind: "none", value: "" };
  return a.kind === "percent" ? { kind: "percent", value: String(a.value / 100) } : { kind: "amount", value: toText(a.value, digits) };
}

/** The form as it stands for a saved quote. */
export function draftOf(quote: Quote, rates: TaxRate[], digits: number): Draft {
  const taxIds = quote.taxes.map((t) => rates.find((r) => r.name === t.name && Number(r.rate) === Number(t.rate))?.id).filter((id): id is string => Boolean(id));
  return {
    clientId: quote.client_id,
    propertyId: quote.property_id ?? "",
    title: quote.title,
    message: quote.message ?? "",
    validUntil: quote.valid_until ?? "",
    lines: quote.lines.map((l, i) => ({
      key: i + 1,
      catalogItemId: l.catalog_item_id ?? null,
      name: l.name,
      description: l.description ?? "",
      quantity: String(l.quantity),
      price: toText(l.unit_price, digits),
      taxable: l.taxable,
      optional: l.optional,
    })),
    discount: adjustmentText(quote.discount, digits),
    deposit: adjustmentText(quote.deposit, digits),
    taxIds,
  };
}

const adjustmentShown = (a: DraftAdjustment) => (a.kind === "none" || !a.value.trim() ? "" : a.kind === "percent" ? `${a.value.trim()} %` : a.value.trim());

/** What the builder holds, as a stale edit compares it (taxes by name). */
export function quoteValues(draft: Draft, rates: TaxRate[]) {
  return {
    title: draft.title,
    message: draft.message,
    valid_until: draft.validUntil,
    lines: draft.lines
      .filter(used)
      .map((l) => `${l.quantity.trim() || "1"} × ${l.name.trim()} at ${l.price.trim() || "0"}${l.optional ? " (optional)" : ""}`),
    discount: adjustmentShown(draft.discount),
    deposit: adjustmentShown(draft.deposit),
    taxes: draft.taxIds === null ? null : draft.taxIds.map((id) => rates.find((r) => r.id === id)?.name ?? id),
  };
}

export const quoteFields: FieldSpec[] = [
  { key: "title", label: "Title" },
  { key: "message", label: "Message to the client" },
  { key: "valid_until", label: "Valid until" },
  { key: "lines", label: "Line items" },
  { key: "discount", label: "Discount" },
  { key: "deposit", label: "Deposit" },
  { key: "taxes", label: "Taxes" },
];

/** A line counts once something is typed in it. */
const used = (l: DraftLine) => Boolean(l.name.trim() || l.price.trim() || l.catalogItemId);

function parseNumber(text: string): number | null {
  const t = text.trim().replace(",", ".");
  if (t === "") return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

function adjustment(a: DraftAdjustment, digits: number, field: string, errors: Errors): Adjustment | null {
  if (a.kind === "none") return null;
  const n = parseNumber(a.value);
  if (n === null || n < 0) {
    errors[`${field}.value`] = a.kind === "percent" ? "A percentage, like 10." : "An amount, like 25.00.";
    return null;
  }
  // The person types 12.5 (%) or 25.00 (money); the API takes basis points or minor units.
  return { kind: a.kind, value: Math.round(n * (a.kind === "percent" ? 100 : 10 ** digits)) };
}

/** What the API is sent for the money part, and the errors found before sending it. */
export function pricingOf(draft: Draft, digits: number): { pricing: Pricing; keys: number[]; errors: Errors } {
  const errors: Errors = {};
  const keys: number[] = [];
  const lines: LineInput[] = [];
  draft.lines.forEach((l) => {
    if (!used(l)) return;
    const index = lines.length;
    const quantity = parseNumber(l.quantity);
    const price = parseNumber(l.price);
    if (quantity === null) errors[`lines[${index}].quantity`] = "A number, like 1 or 2.5.";
    if (l.price.trim() && price === null) errors[`lines[${index}].unit_price`] = "A price, like 45.00.";
    keys.push(l.key);
    lines.push({
      catalog_item_id: l.catalogItemId,
      name: l.name.trim() || null,
      description: l.description.trim() || null,
      quantity: quantity ?? 0,
      unit_price: price === null ? null : Math.round(price * 10 ** digits),
      taxable: l.taxable,
      optional: l.optional,
    });
  });
  const pricing: Pricing = {
    lines,
    discount: adjustment(draft.discount, digits, "discount", errors),
    deposit: adjustment(draft.deposit, digits, "deposit", errors),
    tax_rate_ids: draft.taxIds,
  };
  return { pricing, keys, errors };
}

/** The server's path of a line field (`lines[2].unit_price`) -> the draft line's key and field. */
function lineField(field: string, keys: number[]): { key: number; name: string } | null {
  const m = /^lines\[(\d+)\]\.?(\w*)/.exec(field);
  if (!m) return null;
  const key = keys[Number(m[1])];
  if (key === undefined) return null;
  const name = m[2] === "catalog_item_id" || !m[2] ? "name" : m[2];
  return { key, name };
}

function capitalized(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** Problem+json field errors keyed for the form: `line:<key>:<field>` for lines. */
export function formErrors(problem: ApiProblem, keys: number[]): Errors {
  const out: Errors = {};
  for (const { field, message } of problem.errors) {
    const line = lineField(field, keys);
    const key = line ? `line:${line.key}:${line.name}` : field.startsWith("tax_rate_ids") ? "tax_rate_ids" : field.startsWith("lines") ? "lines" : field;
    if (!out[key]) out[key] = capitalized(message);
  }
  return out;
}

function localErrors(errors: Errors, keys: number[]): Errors {
  const out: Errors = {};
  for (const [field, message] of Object.entries(errors)) {
    const line = lineField(field, keys);
    out[line ? `line:${line.key}:${line.name}` : field] = message;
  }
  return out;
}

/** New quote: `/quotes/new` (`?client_id=` preselects the client). */
export function QuoteNew() {
  const [params] = useSearchParams();
  const rates = useTaxRates();
  if (rates.isPending) return <Spinner label="Loading tax rates" />;
  return <QuoteBuilder initial={emptyDraft(params.get("client_id") ?? "")} rates={rates.data ?? []} />;
}

/** Edit a quote: `/quotes/:id/edit`. */
export function QuoteEdit() {
  const { id = "" } = useParams();
  const quote = useQuote(id);
  const rates = useTaxRates();
  const fmt = useFormat();
  const digits = currencyDigits(fmt.currency);
  if (quote.isPending || rates.isPending) return <Spinner label="Loading quote" />;
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
  if (!quote.data.allowed_actions.includes("edit")) {
    return (
      <EmptyState title="This quote can no longer be edited" action={<Link to={`/quotes/${id}`} className="button">Back to the quote</Link>}>
        <p>Only drafts, sent quotes and quotes with changes requested can be edited.</p>
      </EmptyState>
    );
  }
  // Not keyed by version: a refetch while editing (the live connection) must not
  // replace what is typed; a stale save says who changed what instead.
  return <QuoteBuilder key={quote.data.id} quote={quote.data} initial={draftOf(quote.data, rates.data ?? [], digits)} rates={rates.data ?? []} />;
}

export function QuoteBuilder({ initial, quote: opened, rates }: { initial: Draft; quote?: Quote; rates: TaxRate[] }) {
  const fmt = useFormat();
  const digits = currencyDigits(fmt.currency);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  // The quote the builder was filled from (its version is the one a save is based
  // on) and its draft, as a stale edit compares them.
  const [quote, setQuote] = useState(opened);
  const [baseDraft, setBaseDraft] = useState(initial);
  const [draft, setDraft] = useState<Draft>(initial);
  const [search, setSearch] = useState("");
  const clients = useClientSearch(useDebounced(search.trim(), 250));
  const properties = useProperties(draft.clientId || undefined);
  const [catalogQuery, setCatalogQuery] = useState("");
  const catalog = useCatalogSearch(useDebounced(catalogQuery.trim(), 250));
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const { stale, catchStale, clear } = useStaleEdit(() => fetchQuote(quote?.id ?? ""));
  const formRef = useRef<HTMLFormElement>(null);
  const nextKey = useRef(Math.max(0, ...initial.lines.map((l) => l.key)) + 1);

  const activeRates = rates.filter((r) => r.active);
  const taxIds = draft.taxIds ?? activeRates.filter((r) => r.is_default).map((r) => r.id);

  // The money part, sent for the server's totals once typing pauses.
  const { pricing: typedPricing, keys, errors: typed } = useMemo(() => pricingOf(draft, digits), [draft, digits]);
  // The rates as ticked (the account's defaults until the person changes them): the
  // preview is priced with exactly what a save sends.
  const pricing: Pricing = { ...typedPricing, tax_rate_ids: taxIds };
  const pricingJson = JSON.stringify(Object.keys(typed).length > 0 ? null : { pricing, keys });
  const settled = useDebounced(pricingJson, 300);
  const sent = useMemo(() => JSON.parse(settled) as { pricing: QuotePreviewInput; keys: number[] } | null, [settled]);
  const preview = useQuotePreview(sent?.pricing ?? null);
  const updating = settled !== pricingJson || preview.isFetching;
  // Which draft line each previewed line is (empty lines are not sent).
  const previewKeys = sent?.keys ?? [];
  const previewErrors = preview.error instanceof ApiProblem && preview.error.errors.length > 0 ? formErrors(preview.error, previewKeys) : {};
  const shown: Errors = { ...previewErrors, ...localErrors(typed, keys), ...errors };

  const options = clients.data?.items ?? [];
  useEffect(() => {
    if (!draft.clientId && options.length === 1 && search.trim()) setDraft((d) => ({ ...d, clientId: options[0]!.id }));
  }, [draft.clientId, options, search]);
  useEffect(() => {
    if (Object.keys(errors).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [errors]);

  const set = (part: Partial<Draft>) => setDraft((d) => ({ ...d, ...part }));
  const setLine = (key: number, part: Partial<DraftLine>) => setDraft((d) => ({ ...d, lines: d.lines.map((l) => (l.key === key ? { ...l, ...part } : l)) }));
  function addLine(item?: CatalogItem) {
    const key = nextKey.current++;
    const line = item
      ? { ...blankLine(key), catalogItemId: item.id, name: item.name, description: item.description ?? "", price: toText(item.unit_price, digits), taxable: item.taxable }
      : blankLine(key);
    setDraft((d) => {
      // A catalog pick fills the empty last line rather than adding below it.
      const last = d.lines[d.lines.length - 1];
      const lines = item && last && !used(last) ? [...d.lines.slice(0, -1), line] : [...d.lines, line];
      return { ...d, lines };
    });
    if (item) setCatalogQuery("");
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    await save(quote);
  }

  /** Send the draft, based on `against` (the quote read, or theirs after a conflict). */
  async function save(against: Quote | undefined) {
    setError(undefined);
    const local: Errors = localErrors(typed, keys);
    if (!draft.clientId) local.client_id = "Choose the client.";
    if (!draft.title.trim()) local.title = "Give the quote a title, like “Spring cleanup”.";
    if (pricing.lines.length === 0) local.lines = "Add at least one line.";
    setErrors(local);
    if (Object.keys(local).length > 0) {
      setError("Please correct the fields marked below.");
      return;
    }
    const input: QuoteInput = {
      ...pricing,
      client_id: draft.clientId,
      property_id: draft.propertyId || null,
      title: draft.title.trim(),
      message: draft.message.trim() || null,
      valid_until: draft.validUntil || null,
      ...(against ? { version: against.version } : {}),
    };
    setBusy(true);
    try {
      const saved = against ? await updateQuote(against.id, input) : await createQuote(input);
      queryClient.setQueryData(["quotes", saved.id], saved);
      void queryClient.invalidateQueries({ queryKey: ["quotes", "list"] });
      navigate(`/quotes/${saved.id}`);
    } catch (e) {
      if (against && catchStale(e)) {
        // StaleEdit says who changed what and offers the two ways on.
      } else if (e instanceof ApiProblem && e.errors.length > 0) {
        setErrors(formErrors(e, keys));
        setError("Please correct the fields marked below.");
      } else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  const totals = preview.data?.totals;
  const allOptional = preview.data?.with_all_optional;
  const hasOptional = pricing.lines.some((l) => l.optional);
  const lineTotal = (key: number) => {
    const i = previewKeys.indexOf(key);
    const line = i >= 0 ? preview.data?.lines[i] : undefined;
    return line && !updating ? fmt.money(line.line_total, { currency: preview.data!.currency }) : "—";
  };
  const money = (minor: number) => fmt.money(minor, { currency: preview.data?.currency ?? fmt.currency });

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to={quote ? `/quotes/${quote.id}` : "/quotes"}>
          <Icon name="back" size={14} /> {quote ? `Quote ${quote.number}` : "Quotes"}
        </Link>
      </nav>
      <PageHeader title={quote ? `Edit quote ${quote.number}` : "New quote"} />
      <form className="form quote-form" onSubmit={(e) => void submit(e)} noValidate ref={formRef} aria-label={quote ? "Edit quote" : "New quote"}>
        {stale && (
          <StaleEdit
            stale={stale}
            what="quote"
            changes={stale.theirs && changedFields(quoteFields, quoteValues(baseDraft, rates), quoteValues(draftOf(stale.theirs, rates, digits), rates), quoteValues(draft, rates))}
            busy={busy}
            onReload={(theirs) => {
              const fresh = draftOf(theirs, rates, digits);
              setQuote(theirs);
              setBaseDraft(fresh);
              setDraft(fresh);
              setErrors({});
              nextKey.current = Math.max(0, ...fresh.lines.map((l) => l.key)) + 1;
              queryClient.setQueryData(["quotes", theirs.id], theirs);
              clear();
            }}
            onOverwrite={(theirs) => {
              clear();
              setQuote(theirs);
              void save(theirs);
            }}
          />
        )}
        <FormError message={error} />
        <div className="quote-form__grid">
          <div className="quote-form__main">
            <fieldset>
              <legend>For</legend>
              <TextField label="Find a client" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name, email or phone" autoComplete="off" />
              <SelectField label="Client" name="client_id" value={draft.clientId} error={shown.client_id} onChange={(e) => set({ clientId: e.target.value, propertyId: "" })}>
                <option value="">Choose a client…</option>
                {draft.clientId && !options.some((c) => c.id === draft.clientId) && <option value={draft.clientId}>The chosen client</option>}
                {options.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.display_name}
                  </option>
                ))}
              </SelectField>
              {(properties.data?.items.length ?? 0) > 0 && (
                <SelectField label="Property" name="property_id" value={draft.propertyId} error={shown.property_id} onChange={(e) => set({ propertyId: e.target.value })}>
                  <option value="">The client's billing address</option>
                  {properties.data!.items.map((p) => (
                    <option key={p.id} value={p.id}>
                      {[p.name, addressLine(p.address)].filter(Boolean).join(": ")}
                    </option>
                  ))}
                </SelectField>
              )}
            </fieldset>
            <fieldset>
              <legend>The quote</legend>
              <TextField label="Title" name="title" value={draft.title} error={shown.title} onChange={(e) => set({ title: e.target.value })} autoComplete="off" />
              <TextAreaField label="Message to the client" name="message" value={draft.message} error={shown.message} onChange={(e) => set({ message: e.target.value })} rows={3} />
              <TextField label="Valid until" type="date" name="valid_until" value={draft.validUntil} error={shown.valid_until} hint="Empty: the account's usual validity." onChange={(e) => set({ validUntil: e.target.value })} className="field--narrow-date" />
            </fieldset>
            <fieldset className="quote-lines" aria-describedby={shown.lines ? "quote-lines-error" : undefined}>
              <legend>Line items</legend>
              <div className="catalog-pick">
                <TextField label="Add from the catalog" type="search" value={catalogQuery} onChange={(e) => setCatalogQuery(e.target.value)} placeholder="Search products and services" autoComplete="off" />
                {catalogQuery.trim() && (
                  <ul className="catalog-pick__results" aria-label="Catalog matches">
                    {(catalog.data?.items ?? []).length === 0 ? (
                      <li className="muted">{catalog.isFetching ? "Searching…" : "Nothing in the catalog matches."}</li>
                    ) : (
                      catalog.data!.items.map((item) => (
                        <li key={item.id}>
                          <button type="button" className="button button--small" onClick={() => addLine(item)}>
                            <Icon name="plus" size={14} /> {item.name} · {fmt.money(item.unit_price)}
                          </button>
                        </li>
                      ))
                    )}
                  </ul>
                )}
              </div>
              <ol className="quote-lines__list">
                {draft.lines.map((l, i) => (
                  <li key={l.key} className={`quote-line${l.optional ? " quote-line--optional" : ""}`}>
                    <div className="form__row quote-line__row">
                      <TextField label={`Item ${i + 1}`} value={l.name} error={shown[`line:${l.key}:name`]} onChange={(e) => setLine(l.key, { name: e.target.value })} autoComplete="off" />
                      <TextField label="Quantity" inputMode="decimal" value={l.quantity} error={shown[`line:${l.key}:quantity`]} onChange={(e) => setLine(l.key, { quantity: e.target.value })} className="field--narrow" />
                      <TextField label={`Unit price (${fmt.currency})`} inputMode="decimal" value={l.price} error={shown[`line:${l.key}:unit_price`]} onChange={(e) => setLine(l.key, { price: e.target.value })} className="field--narrow" />
                    </div>
                    <TextField label={`Description of item ${i + 1}`} value={l.description} error={shown[`line:${l.key}:description`]} onChange={(e) => setLine(l.key, { description: e.target.value })} autoComplete="off" />
                    <div className="quote-line__foot">
                      <label className="check">
                        <input type="checkbox" checked={l.taxable} onChange={(e) => setLine(l.key, { taxable: e.target.checked })} />
                        Taxable
                      </label>
                      <label className="check">
                        <input type="checkbox" checked={l.optional} onChange={(e) => setLine(l.key, { optional: e.target.checked })} />
                        Optional (the client may add it)
                      </label>
                      <span className="quote-line__total" aria-label={`Line ${i + 1} total`}>
                        {lineTotal(l.key)}
                      </span>
                      {draft.lines.length > 1 && (
                        <button type="button" className="icon-button" aria-label={`Remove item ${i + 1}`} onClick={() => set({ lines: draft.lines.filter((x) => x.key !== l.key) })}>
                          <Icon name="close" />
                        </button>
                      )}
                    </div>
                  </li>
                ))}
              </ol>
              {shown.lines && (
                <p className="field__error" id="quote-lines-error" role="alert">
                  {shown.lines}
                </p>
              )}
              <p>
                <button type="button" className="button" onClick={() => addLine()}>
                  <Icon name="plus" /> Add a line
                </button>
              </p>
            </fieldset>
            <fieldset>
              <legend>Discount, taxes and deposit</legend>
              <AdjustmentField label="Discount" field="discount" value={draft.discount} currency={fmt.currency} error={shown["discount.value"] ?? shown.discount} onChange={(discount) => set({ discount })} />
              <fieldset className="checks" aria-describedby={shown.tax_rate_ids ? "quote-taxes-error" : undefined}>
                <legend>Taxes</legend>
                {activeRates.length === 0 && <p className="muted">No tax rates yet: add them in Settings.</p>}
                {activeRates.map((r) => (
                  <label key={r.id} className="check">
                    <input
                      type="checkbox"
                      checked={taxIds.includes(r.id)}
                      onChange={() => set({ taxIds: taxIds.includes(r.id) ? taxIds.filter((x) => x !== r.id) : [...taxIds, r.id] })}
                    />
                    {r.name} ({r.rate}%)
                  </label>
                ))}
                {shown.tax_rate_ids && (
                  <p className="field__error" id="quote-taxes-error">
                    {shown.tax_rate_ids}
                  </p>
                )}
              </fieldset>
              <AdjustmentField label="Deposit" field="deposit" value={draft.deposit} currency={fmt.currency} error={shown["deposit.value"] ?? shown.deposit} onChange={(deposit) => set({ deposit })} />
            </fieldset>
          </div>
          <aside className="card quote-totals" aria-labelledby="quote-totals-h">
            <h2 id="quote-totals-h">Totals</h2>
            <div aria-live="polite" aria-busy={updating || undefined}>
              {preview.isError && !preview.data ? (
                <p className="muted">{preview.error instanceof ApiProblem && preview.error.errors.length > 0 ? "Correct the marked fields to see the totals." : describeError(preview.error)}</p>
              ) : !totals ? (
                <p className="muted">{Object.keys(typed).length > 0 ? "Correct the marked fields to see the totals." : "Working out the totals…"}</p>
              ) : (
                <dl className={`totals${updating ? " totals--updating" : ""}`}>
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
                    <div key={`${t.name}-${t.rate}`}>
                      <dt>
                        {t.name} ({t.rate}%)
                      </dt>
                      <dd>{money(t.amount)}</dd>
                    </div>
                  ))}
                  <div className="totals__total">
                    <dt>Total</dt>
                    <dd data-testid="quote-total">{money(totals.total)}</dd>
                  </div>
                  {totals.deposit_amount > 0 && (
                    <div>
                      <dt>Deposit required</dt>
                      <dd>{money(totals.deposit_amount)}</dd>
                    </div>
                  )}
                  {hasOptional && allOptional && (
                    <div className="totals__optional">
                      <dt>With every optional item</dt>
                      <dd>{money(allOptional.total)}</dd>
                    </div>
                  )}
                </dl>
              )}
              <p className="muted totals__note">{updating ? "Updating…" : "Worked out by the server, as the client will see them."}</p>
            </div>
          </aside>
        </div>
        {totals && (
          <div className="quote-form__sticky-total" aria-hidden="true">
            <span>Total{updating ? " (updating…)" : ""}</span>
            <span>{money(totals.total)}</span>
          </div>
        )}
        <div className="form__actions">
          <button type="submit" className="button button--primary" disabled={busy || stale !== null}>
            {busy ? "Saving…" : quote ? "Save changes" : "Save quote"}
          </button>
          <Link to={quote ? `/quotes/${quote.id}` : "/quotes"} className="button">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}

function AdjustmentField({
  label,
  field,
  value,
  currency,
  error,
  onChange,
}: {
  label: string;
  field: string;
  value: DraftAdjustment;
  currency: string;
  error?: string;
  onChange: (value: DraftAdjustment) => void;
}) {
  return (
    <div className="form__row adjustment">
      <SelectField label={label} name={`${field}_kind`} value={value.kind} onChange={(e) => onChange({ kind: e.target.value as DraftAdjustment["kind"], value: value.value })}>
        <option value="none">None</option>
        <option value="percent">Percentage</option>
        <option value="amount">Amount ({currency})</option>
      </SelectField>
      {value.kind !== "none" && (
        <TextField
          label={value.kind === "percent" ? `${label} (%)` : `${label} (${currency})`}
          name={`${field}_value`}
          inputMode="decimal"
          value={value.value}
          error={error}
          onChange={(e) => onChange({ kind: value.kind, value: e.target.value })}
          className="field--narrow"
        />
      )}
    </div>
  );
}
