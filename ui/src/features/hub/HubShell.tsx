import type { CSSProperties, ReactNode } from "react";
import { brandColor } from "./link";
import "./hub.css";

export interface Brand {
  name: string;
  brand_color: string;
  logo_url?: string | null;
  phone?: string | null;
  email?: string | null;
  website?: string | null;
}

/** The business's frame around a hub page: its logo, name and colour, and how to reach it. */
export function HubShell({ brand, children }: { brand?: Brand; children: ReactNode }) {
  const style = { "--hub-brand": brandColor(brand?.brand_color) } as CSSProperties;
  return (
    <div className="hub" style={style}>
      <header className="hub__header">
        {brand?.logo_url ? <img className="hub__logo" src={brand.logo_url} alt="" /> : null}
        <span className="hub__business">{brand?.name ?? "Client hub"}</span>
      </header>
      <main className="hub__main" id="main">
        {children}
      </main>
      {brand && (brand.phone || brand.email) && (
        <footer className="hub__footer">
          <p>
            Questions? Contact {brand.name}
            {brand.phone && (
              <>
                {" "}
                at <a href={`tel:${brand.phone}`}>{brand.phone}</a>
              </>
            )}
            {brand.email && (
              <>
                {" "}
                or <a href={`mailto:${brand.email}`}>{brand.email}</a>
              </>
            )}
            .
          </p>
        </footer>
      )}
    </div>
  );
}
