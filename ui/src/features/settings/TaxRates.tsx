import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Dialog } from "../../components/Dialog";
import { TextField } from "../../components/Field";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { EmptyState, ErrorState, FormError, Spinner } from "../../components/States";
import { createTaxRate, deleteTaxRate, fetchTaxRate, updateTaxRate, useTaxRates, type TaxRate } from "./api";
import { useSave } from "./useSave";
import { RowActions } from "./RowActions";

const key = ["settings", "tax-rates"];

export function TaxRates({ canEdit }: { canEdit: boolean }) {
  const rates = useTaxRates();
  const [editing, setEditing] = useState<TaxRate | "new" | null>(null);
  const [deleting, setDeleting] = useState<TaxRate | null>(null);

  return (
    <section className="settings-panel" aria-labelledby="tax-h">
      <div className="settings-panel__head">
        <h2 id="tax-h">Tax rates</h2>
        {canEdit && (
          <button type="button" className="button button--primary" onClick={() => setEditing("new")}>
            Add tax rate
          </button>
        )}
      </div>
      <p className="muted">Rates are exact to a ten-thousandth of a percent (8.875 %). Documents keep the rates they were made with.</p>
      {rates.isPending ? (
        <Spinner label="Loading tax rates" />
      ) : rates.isError ? (
        <ErrorState error={rates.error} onRetry={() => void rates.refetch()} />
      ) : rates.data.length === 0 ? (
        <EmptyState title="No tax rates yet">
          <p>Add the sales taxes you charge; the default one is applied to new quotes and invoices.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Tax rates</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="num">Rate</th>
                <th scope="col">Status</th>
                {canEdit && <th scope="col"><span className="visually-hidden">Actions</span></th>}
              </tr>
            </thead>
            <tbody>
              {rates.data.map((rate) => (
                <tr key={rate.id}>
                  <td>{rate.name}</td>
                  <td className="num">{rate.rate} %</td>
                  <td>
                    {rate.is_default && <span className="badge badge--active">Default</span>}{" "}
                    {!rate.active && <span className="badge">Inactive</span>}
                  </td>
                  {canEdit && (
                    <RowActions name={rate.name} onEdit={() => setEditing(rate)} onDelete={() => setDeleting(rate)} />
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && <TaxRateDialog rate={editing === "new" ? undefined : editing} onClose={() => setEditing(null)} />}
      {deleting && <DeleteTaxRate rate={deleting} onClose={() => setDeleting(null)} />}
    </section>
  );
}

const rateFields: FieldSpec[] = [
  { key: "name", label: "Name" },
  { key: "rate", label: "Rate (%)" },
  { key: "is_default", label: "Apply to new quotes and invoices" },
  { key: "active", label: "Active" },
];

const yesNo = (v: boolean) => (v ? "Yes" : "No");
const rateValues = (r: { name: string; rate: string; is_default: boolean; active: boolean }) => ({ ...r, is_default: yesNo(r.is_default), active: yesNo(r.active) });

function TaxRateDialog({ rate: opened, onClose }: { rate?: TaxRate; onClose: () => void }) {
  const queryClient = useQueryClient();
  // The rate the dialog was filled from: its version is the one a save is based on.
  const [rate, setRate] = useState(opened);
  const [name, setName] = useState(rate?.name ?? "");
  const [value, setValue] = useState(rate?.rate ?? "");
  const [isDefault, setDefault] = useState(rate?.is_default ?? false);
  const [active, setActive] = useState(rate?.active ?? true);
  const save = useSave();
  const { stale, catchStale, clear } = useStaleEdit(() => fetchTaxRate(rate?.id ?? ""));

  async function submit(event: FormEvent) {
    event.preventDefault();
    await send(rate);
  }

  /** Save, based on `against` (the rate read, or theirs after a conflict). */
  async function send(against: TaxRate | undefined) {
    const input = { name: name.trim(), rate: value.trim().replace(",", "."), is_default: isDefault, active, version: against?.version ?? null };
    const saved = await save.run(() => (against ? updateTaxRate(against.id, input) : createTaxRate(input)), against ? catchStale : undefined);
    if (saved) {
      await queryClient.invalidateQueries({ queryKey: key });
      onClose();
    }
  }

  return (
    <Dialog title={rate ? `Edit ${rate.name}` : "Add a tax rate"} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        {stale && rate && (
          <StaleEdit
            stale={stale}
            what="tax rate"
            changes={stale.theirs && changedFields(rateFields, rateValues(rate), rateValues(stale.theirs), rateValues({ name, rate: value, is_default: isDefault, active }))}
            busy={save.busy}
            onReload={(theirs) => {
              setRate(theirs);
              setName(theirs.name);
              setValue(theirs.rate);
              setDefault(theirs.is_default);
              setActive(theirs.active);
              void queryClient.invalidateQueries({ queryKey: key });
              clear();
            }}
            onOverwrite={(theirs) => {
              clear();
              setRate(theirs);
              void send(theirs);
            }}
          />
        )}
        <FormError message={save.error} />
        {save.conflict && (
          <p>
            <button type="button" className="button" onClick={() => { void queryClient.invalidateQueries({ queryKey: key }); onClose(); }}>
              Close and reload
            </button>
          </p>
        )}
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={save.fields.name} autoFocus placeholder="State sales tax" />
        <TextField
          label="Rate (%)"
          inputMode="decimal"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          error={save.fields.rate ?? save.fields.rate_bps}
          hint="Up to four decimals, e.g. 8.875"
        />
        <label className="check">
          <input type="checkbox" checked={isDefault} onChange={(e) => setDefault(e.target.checked)} /> Apply to new quotes and invoices
        </label>
        <label className="check">
          <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} /> Active
        </label>
        <div className="form__actions dialog__actions">
          <button type="submit" className="button button--primary" disabled={save.busy || stale !== null}>
            {save.busy ? "Saving…" : rate ? "Save tax rate" : "Add tax rate"}
          </button>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteTaxRate({ rate, onClose }: { rate: TaxRate; onClose: () => void }) {
  const queryClient = useQueryClient();
  const save = useSave();
  return (
    <Dialog title={`Delete ${rate.name}?`} onClose={onClose}>
      <p>Quotes and invoices already made keep this rate. New ones can no longer use it.</p>
      <FormError message={save.error} />
      <div className="form__actions dialog__actions">
        <button
          type="button"
          className="button button--danger"
          disabled={save.busy}
          onClick={async () => {
            const done = await save.run(async () => {
              await deleteTaxRate(rate.id);
              return true;
            });
            if (done) {
              await queryClient.invalidateQueries({ queryKey: key });
              onClose();
            }
          }}
        >
          Delete tax rate
        </button>
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
