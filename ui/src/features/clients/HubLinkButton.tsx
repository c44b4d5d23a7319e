import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { describeError } from "../../api/problem";
import { Dialog } from "../../components/Dialog";
import { TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { FormError } from "../../components/States";
import { useFormat } from "../../lib/locale";

/**
 * The client's page in the client hub (all their quotes, invoices, receipts and
 * visits, and "request more work"): a fresh signed link to copy, or to email them.
 */
export function HubLinkButton({ clientId, hasEmail }: { clientId: string; hasEmail: boolean }) {
  const [open, setOpen] = useState(false);
  const [copied, setCopied] = useState(false);
  const fmt = useFormat();
  const link = useMutation({
    mutationFn: (email: boolean) => unwrap(api.POST("/api/v1/clients/{id}/hub-link", { params: { path: { id: clientId } }, body: { email } })),
  });
  function show() {
    setOpen(true);
    setCopied(false);
    link.mutate(false);
  }
  async function copy(url: string) {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <>
      <button type="button" className="button" onClick={show}>
        <Icon name="link" /> Client hub
      </button>
      {open && (
        <Dialog
          title="The client's hub page"
          onClose={() => setOpen(false)}
        >
          <p>Their quotes, invoices (to pay by card), receipts and upcoming visits, and a form to ask you for more work. No password: the link is the key.</p>
          {link.isPending && <p role="status">Making a link…</p>}
          {link.isError && <FormError message={describeError(link.error)} />}
          {link.data && (
            <>
              <TextField label={`Link (works until ${fmt.date(link.data.expires_at)})`} readOnly value={link.data.url} onFocus={(e) => e.currentTarget.select()} />
              <div className="form__actions">
                <button type="button" className="button" onClick={() => void copy(link.data.url)}>
                  {copied ? "Copied" : "Copy link"}
                </button>
                {hasEmail && (
                  <button type="button" className="button button--primary" disabled={link.isPending || Boolean(link.data.message_id)} onClick={() => link.mutate(true)}>
                    {link.data.message_id ? "Emailed to the client" : "Email it to the client"}
                  </button>
                )}
              </div>
              {link.data.message_id && <p role="status">The email is on its way.</p>}
            </>
          )}
        </Dialog>
      )}
    </>
  );
}
