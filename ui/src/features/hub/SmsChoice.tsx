import { useId, useState } from "react";
import { useSms } from "./api";
import type { HubKind, HubLink } from "./link";

interface Phone {
  last4: string;
  sms_opt_in: boolean;
}

/** Text messages (reminders, "on my way") on or off for the client's phones. */
export function SmsChoice({ kind, id, link, phones }: { kind: HubKind; id: string; link: HubLink; phones: Phone[] }) {
  const sms = useSms(kind, id, link);
  const labelId = useId();
  // Shown at once; put back if the server refuses.
  const [choice, setChoice] = useState<boolean | null>(null);
  if (phones.length === 0) return null;
  const on = choice ?? phones.some((p) => p.sms_opt_in);
  const change = (next: boolean) => {
    setChoice(next);
    sms.mutate(next, { onError: () => setChoice(null) });
  };
  const ending = phones.map((p) => `…${p.last4}`).join(", ");
  return (
    <section className="hub-card hub-sms" aria-labelledby={labelId}>
      <h2 id={labelId}>Text messages</h2>
      <label className="hub-switch">
        <input type="checkbox" checked={on} disabled={sms.isPending} onChange={(e) => change(e.target.checked)} />
        <span>
          Text me visit reminders and when the technician is on the way <span className="hub-nowrap">({ending})</span>
        </span>
      </label>
      {sms.isError && (
        <p className="hub-error" role="alert">
          Your choice was not saved. Try again.
        </p>
      )}
      {sms.isSuccess && (
        <p className="hub-note" role="status">
          {sms.data.phones.some((p) => p.sms_opt_in) ? "You will get text messages." : "You will not get text messages."}
        </p>
      )}
    </section>
  );
}
