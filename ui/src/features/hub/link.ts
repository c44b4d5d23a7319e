// The signed part of a client-hub link (`?account=&expires=&sig=`), read from the
// page's address and passed on unchanged to every /api/v1/hub call.

export interface HubLink {
  account: string;
  expires: number;
  sig: string;
}

export type HubKind = "quote" | "invoice" | "client";

/** The link's parameters, or null when the address lacks or garbles them. */
export function parseLink(search: string): HubLink | null {
  const q = new URLSearchParams(search);
  const account = q.get("account");
  const expires = Number(q.get("expires"));
  const sig = q.get("sig");
  if (!account || !sig || !Number.isInteger(expires) || expires <= 0) return null;
  return { account, expires, sig };
}

/** Relative luminance of `#RRGGBB` (WCAG 2.x). */
function luminance(hex: string): number {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/**
 * The business's colour for buttons and the header, darkened until white text on
 * it reads at AA (4.5:1): a pale brand colour still gets legible buttons.
 */
export function brandColor(hex: string | undefined): string {
  const fallback = "#2F6F4E";
  let color = /^#[0-9a-fA-F]{6}$/.test(hex ?? "") ? hex!.toUpperCase() : fallback;
  for (let i = 0; i < 20 && contrast(color, "#FFFFFF") < 4.5; i++) {
    const rgb = [1, 3, 5].map((j) => Math.round(parseInt(color.slice(j, j + 2), 16) * 0.88));
    color = `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("").toUpperCase()}`;
  }
  return color;
}
