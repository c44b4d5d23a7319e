// Stripe.js, loaded only when a client pays by card. Its absence (no network to
// js.stripe.com, a blocker) is an answer, not a hang: the page says so.

interface StripeElements {
  create(type: "payment"): { mount(el: HTMLElement): void; destroy(): void };
}
export interface StripeJs {
  elements(options: { clientSecret: string }): StripeElements;
  confirmPayment(options: { elements: StripeElements; redirect: "if_required" }): Promise<{ error?: { message?: string } }>;
}
declare global {
  interface Window {
    Stripe?: (key: string) => StripeJs;
  }
}

const SRC = "https://js.stripe.com/v3/";
let loading: Promise<(key: string) => StripeJs> | null = null;

export function loadStripe(timeoutMs = 8000): Promise<(key: string) => StripeJs> {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  loading ??= new Promise<(key: string) => StripeJs>((resolve, reject) => {
    const script = document.createElement("script");
    script.src = SRC;
    script.async = true;
    const timer = window.setTimeout(() => reject(new Error("Stripe.js did not load in time")), timeoutMs);
    script.onload = () => {
      window.clearTimeout(timer);
      if (window.Stripe) resolve(window.Stripe);
      else reject(new Error("Stripe.js loaded without Stripe"));
    };
    script.onerror = () => {
      window.clearTimeout(timer);
      reject(new Error("Stripe.js could not be loaded"));
    };
    document.head.appendChild(script);
  }).catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

/** A Blob as base64 (no `data:` prefix), for the signature's PNG. */
export function blobToBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error ?? new Error("could not read the signature"));
    reader.readAsDataURL(blob);
  });
}
