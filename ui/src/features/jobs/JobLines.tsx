// The line items of a job as a person edits them (new job and job edit): text inputs,
// turned into the API's lines (minor units) by `parseLines`. A line that came from the
// server keeps what the form does not show (catalog item, description, taxable).
import type { Dispatch, SetStateAction } from "react";
import { TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import type { components } from "../../api/schema";

type LineInput = components["schemas"]["DocumentLineInput"];
type JobLine = components["schemas"]["JobLine"];

export interface Line {
  key: number;
  name: string;
  quantity: string;
  price: string;
  kept?: Pick<LineInput, "catalog_item_id" | "description" | "taxable">;
}

export function blankLine(key = 1): Line {
  return { key, name: "", quantity: "1", price: "" };
}

/** A stored line as the form shows it: the price in the currency's major units. */
export function lineFromJob(line: JobLine, key: number, digits: number): Line {
  return {
    key,
    name: line.name,
    quantity: String(line.quantity),
    price: (line.unit_price / 10 ** digits).toFixed(digits),
    kept: { catalog_item_id: line.catalog_item_id ?? null, description: line.description ?? null, taxable: line.taxable },
  };
}

/** The filled-in lines for the API, or a message when one is incomplete. */
export function parseLines(lines: Line[], digits: number): { lines: LineInput[]; error?: string } {
  let error: string | undefined;
  const parsed = lines
    .filter((l) => l.name.trim() || l.price.trim())
    .map((l) => {
      const quantity = Number(l.quantity);
      const price = l.price.trim() === "" ? null : Number(l.price);
      if (!l.name.trim() || l.quantity.trim() === "" || !Number.isFinite(quantity) || (price !== null && !Number.isFinite(price))) {
        error = "Each line needs a name, a quantity and a price (numbers).";
      }
      return { ...l.kept, name: l.name.trim(), quantity, unit_price: price === null ? null : Math.round(price * 10 ** digits) };
    });
  return { lines: parsed, error };
}

export function LinesFieldset({ lines, setLines, error, currency }: { lines: Line[]; setLines: Dispatch<SetStateAction<Line[]>>; error?: string; currency: string }) {
  const change = (key: number, part: Partial<Line>) => setLines((ls) => ls.map((x) => (x.key === key ? { ...x, ...part } : x)));
  return (
    <fieldset className="job-lines" aria-describedby={error ? "lines-error" : undefined}>
      <legend>Line items</legend>
      {lines.map((l, i) => (
        <div className="form__row job-lines__row" key={l.key}>
          <TextField label={`Item ${i + 1}`} value={l.name} aria-invalid={error && !l.name.trim() && (l.price || l.quantity !== "1") ? true : undefined} onChange={(e) => change(l.key, { name: e.target.value })} />
          <TextField label="Quantity" inputMode="decimal" value={l.quantity} onChange={(e) => change(l.key, { quantity: e.target.value })} className="field--narrow" />
          <TextField label={`Unit price (${currency})`} inputMode="decimal" value={l.price} onChange={(e) => change(l.key, { price: e.target.value })} className="field--narrow" />
          {lines.length > 1 && (
            <button type="button" className="icon-button job-lines__remove" aria-label={`Remove item ${i + 1}`} onClick={() => setLines((ls) => ls.filter((x) => x.key !== l.key))}>
              <Icon name="close" />
            </button>
          )}
        </div>
      ))}
      {error && (
        <p className="field__error" id="lines-error" role="alert">
          {error}
        </p>
      )}
      <p>
        <button type="button" className="button" onClick={() => setLines((ls) => [...ls, blankLine(Math.max(0, ...ls.map((x) => x.key)) + 1)])}>
          <Icon name="plus" /> Add a line
        </button>
      </p>
    </fieldset>
  );
}
