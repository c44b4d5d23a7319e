import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Dialog } from "../../components/Dialog";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { EmptyState, ErrorState, FormError, Spinner } from "../../components/States";
import { currencyDigits } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import { useDebounced } from "../../lib/useDebounced";
import { createCatalogItem, deleteCatalogItem, fetchCatalogItem, moneyText, parseMoney, updateCatalogItem, useCatalog, type CatalogItem } from "./api";
import { useSave } from "./useSave";
import { RowActions } from "./RowActions";

export function Catalog({ canEdit }: { canEdit: boolean }) {
  const [q, setQ] = useState("");
  const query = useDebounced(q, 250);
  const items = useCatalog(query.trim());
  const fmt = useFormat();
  const [editing, setEditing] = useState<CatalogItem | "new" | null>(null);
  const [deleting, setDeleting] = useState<CatalogItem | null>(null);

  return (
    <section className="settings-panel" aria-labelledby="catalog-h">
      <div className="settings-panel__head">
        <h2 id="catalog-h">Products and services</h2>
        {canEdit && (
          <button type="button" className="button button--primary" onClick={() => setEditing("new")}>
            Add item
          </button>
        )}
      </div>
      <p className="muted">What you sell, with its price: pick them when you build a quote, a job or an invoice.</p>
      <div className="toolbar">
        <label className="search-box">
          <span className="visually-hidden">Search the catalog</span>
          <input type="search" placeholder="Search by name" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
      </div>
      {items.isPending ? (
        <Spinner label="Loading the catalog" />
      ) : items.isError ? (
        <ErrorState error={items.error} onRetry={() => void items.refetch()} />
      ) : items.data.items.length === 0 ? (
        <EmptyState title={query ? "Nothing matches" : "No items yet"}>
          <p>{query ? "Try another name." : "Add the services and products you sell most."}</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Catalog items</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="hide-sm-cell">Kind</th>
                <th scope="col" className="num">Price</th>
                {canEdit && <th scope="col"><span className="visually-hidden">Actions</span></th>}
              </tr>
            </thead>
            <tbody>
              {items.data.items.map((item) => (
                <tr key={item.id}>
                  <td>
                    <span className="block">{item.name}</span>
                    {item.description && <span className="muted small">{item.description}</span>}
                    {!item.active && <span className="badge">Inactive</span>}
                  </td>
                  <td className="hide-sm-cell">{item.kind === "service" ? "Service" : "Product"}</td>
                  <td className="num">{fmt.money(item.unit_price)}</td>
                  {canEdit && (
                    <RowActions name={item.name} onEdit={() => setEditing(item)} onDelete={() => setDeleting(item)} />
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && <ItemDialog item={editing === "new" ? undefined : editing} onClose={() => setEditing(null)} />}
      {deleting && <DeleteItem item={deleting} onClose={() => setDeleting(null)} />}
    </section>
  );
}

const itemFields: FieldSpec[] = [
  { key: "name", label: "Name" },
  { key: "kind", label: "Kind" },
  { key: "description", label: "Description" },
  { key: "price", label: "Unit price" },
  { key: "cost", label: "Unit cost" },
  { key: "taxable", label: "Taxable" },
  { key: "active", label: "Active" },
];

function ItemDialog({ item: opened, onClose }: { item?: CatalogItem; onClose: () => void }) {
  const queryClient = useQueryClient();
  const { currency } = useFormat();
  const digits = currencyDigits(currency);
  // The item the dialog was filled from: its version is the one a save is based on.
  const [item, setItem] = useState(opened);
  const formOf = (i: CatalogItem | undefined) => ({
    name: i?.name ?? "",
    kind: i?.kind ?? "service",
    description: i?.description ?? "",
    price: i ? moneyText(i.unit_price, digits) : "",
    cost: i?.unit_cost != null ? moneyText(i.unit_cost, digits) : "",
    taxable: i?.taxable ?? true,
    active: i?.active ?? true,
  });
  const [form, setForm] = useState(() => formOf(item));
  const [local, setLocal] = useState<Record<string, string>>({});
  const save = useSave();
  const { stale, catchStale, clear } = useStaleEdit(() => fetchCatalogItem(item?.id ?? ""));
  const shownOf = (f: ReturnType<typeof formOf>) => ({ ...f, kind: f.kind === "service" ? "Service" : "Product", taxable: f.taxable ? "Yes" : "No", active: f.active ? "Yes" : "No" });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    await send(item);
  }

  /** Save, based on `against` (the item read, or theirs after a conflict). */
  async function send(against: CatalogItem | undefined) {
    const price = parseMoney(form.price, digits);
    const cost = form.cost.trim() ? parseMoney(form.cost, digits) : null;
    const errors: Record<string, string> = {};
    if (price === null) errors.unit_price = `Enter an amount like ${moneyText(1250, digits)}`;
    if (form.cost.trim() && cost === null) errors.unit_cost = `Enter an amount like ${moneyText(800, digits)}`;
    setLocal(errors);
    if (Object.keys(errors).length > 0) return;
    const input = {
      name: form.name.trim(),
      kind: form.kind as CatalogItem["kind"],
      description: form.description.trim() || null,
      unit_price: price ?? 0,
      unit_cost: cost,
      taxable: form.taxable,
      active: form.active,
      version: against?.version ?? null,
    };
    const saved = await save.run(() => (against ? updateCatalogItem(against.id, input) : createCatalogItem(input)), against ? catchStale : undefined);
    if (saved) {
      await queryClient.invalidateQueries({ queryKey: ["catalog"] });
      onClose();
    }
  }

  return (
    <Dialog title={item ? `Edit ${item.name}` : "Add a catalog item"} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        {stale && item && (
          <StaleEdit
            stale={stale}
            what="catalog item"
            changes={stale.theirs && changedFields(itemFields, shownOf(formOf(item)), shownOf(formOf(stale.theirs)), shownOf(form))}
            busy={save.busy}
            onReload={(theirs) => {
              setItem(theirs);
              setForm(formOf(theirs));
              void queryClient.invalidateQueries({ queryKey: ["catalog"] });
              clear();
            }}
            onOverwrite={(theirs) => {
              clear();
              setItem(theirs);
              void send(theirs);
            }}
          />
        )}
        <FormError message={save.error} />
        {save.conflict && (
          <p>
            <button type="button" className="button" onClick={() => { void queryClient.invalidateQueries({ queryKey: ["catalog"] }); onClose(); }}>
              Close and reload
            </button>
          </p>
        )}
        <TextField label="Name" value={form.name} onChange={set("name")} error={save.fields.name} autoFocus />
        <SelectField label="Kind" value={form.kind} onChange={set("kind")} error={save.fields.kind}>
          <option value="service">Service</option>
          <option value="product">Product</option>
        </SelectField>
        <TextAreaField label="Description" rows={2} value={form.description} onChange={set("description")} error={save.fields.description} />
        <div className="form__row">
          <TextField label={`Price (${currency})`} inputMode="decimal" value={form.price} onChange={set("price")} error={local.unit_price ?? save.fields.unit_price} />
          <TextField label={`Cost (${currency}, optional)`} inputMode="decimal" value={form.cost} onChange={set("cost")} error={local.unit_cost ?? save.fields.unit_cost} />
        </div>
        <label className="check">
          <input type="checkbox" checked={form.taxable} onChange={(e) => setForm((f) => ({ ...f, taxable: e.target.checked }))} /> Taxable
        </label>
        <label className="check">
          <input type="checkbox" checked={form.active} onChange={(e) => setForm((f) => ({ ...f, active: e.target.checked }))} /> Active
        </label>
        <div className="form__actions dialog__actions">
          <button type="submit" className="button button--primary" disabled={save.busy || stale !== null}>
            {save.busy ? "Saving…" : item ? "Save item" : "Add item"}
          </button>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteItem({ item, onClose }: { item: CatalogItem; onClose: () => void }) {
  const queryClient = useQueryClient();
  const save = useSave();
  return (
    <Dialog title={`Delete ${item.name}?`} onClose={onClose}>
      <p>Quotes, jobs and invoices keep their copies of its name and price.</p>
      <FormError message={save.error} />
      <div className="form__actions dialog__actions">
        <button
          type="button"
          className="button button--danger"
          disabled={save.busy}
          onClick={async () => {
            const done = await save.run(async () => {
              await deleteCatalogItem(item.id);
              return true;
            });
            if (done) {
              await queryClient.invalidateQueries({ queryKey: ["catalog"] });
              onClose();
            }
          }}
        >
          Delete item
        </button>
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
