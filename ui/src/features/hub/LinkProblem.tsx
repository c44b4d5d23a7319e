import { useState } from "react";
import { useLocation } from "react-router";
import { describeError, isProblem } from "../../api/problem";
import { askForFreshLink, useLinkBrand } from "./api";
import { HubShell } from "./HubShell";
import { parseLink, type HubKind } from "./link";

/**
 * An expired, damaged or unknown link: no record is shown, but the client can ask
 * for a fresh link by email. The answer is the same whatever the server found.
 * A genuine link, even expired, shows whose it is (the business's name, logo and
 * colour); a damaged one stays plain.
 */
export function LinkProblem({ kind, id, account, error }: { kind: HubKind; id: string; account?: string; error?: unknown }) {
  const [state, setState] = useState<"idle" | "sending" | "sent" | "failed">("idle");
  const brand = useLinkBrand(kind, id, parseLink(useLocation().search)).data;
  const expired = isProblem(error, "link_expired");
  const what = kind === "client" ? "page" : kind;
  async function ask() {
    if (!account) return;
    setState("sending");
    try {
      await askForFreshLink(kind, id, account);
      setState("sent");
    } catch {
      setState("failed");
    }
  }
  const other = error !== undefined && !expired && !isProblem(error, "quote_not_found") && !isProblem(error, "invoice_not_found") && !isProblem(error, "client_not_found");
  return (
    <HubShell brand={brand}>
      <section className="hub-card" aria-labelledby="link-title">
        <h1 id="link-title">{expired ? "This link has expired" : other ? "This page did not load" : "This link does not work"}</h1>
        {other ? (
          <p>{describeError(error)}</p>
        ) : (
          <p>
            {expired
              ? `Links to your ${what} work for a limited time, to keep it private.`
              : `The link may be incomplete: it can happen when an email program breaks a long address.`}{" "}
            We can email a fresh link to the address {brand?.name ?? "the business"} has on file for you.
          </p>
        )}
        {state === "sent" ? (
          <p className="hub-note" role="status">
            If we have an email address for you, a fresh link is on its way. It can take a few minutes to arrive.
          </p>
        ) : (
          account && (
            <button type="button" className="button hub-button" onClick={() => void ask()} disabled={state === "sending"}>
              {state === "sending" ? "Sending…" : "Email me a fresh link"}
            </button>
          )
        )}
        {state === "failed" && (
          <p className="hub-error" role="alert">
            That did not go through. Check your connection and try again.
          </p>
        )}
      </section>
    </HubShell>
  );
}
