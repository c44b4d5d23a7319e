import { Link } from "react-router";

/** From a quote or invoice to the client's own page (all of theirs, and "request more work"). */
export function ClientPageLink({ to }: { to?: string | null }) {
  if (!to) return null;
  return (
    <nav className="hub-card hub-more" aria-label="Your page">
      <span>Your quotes, invoices and visits in one place; ask for more work from there.</span>
      <Link className="button hub-button--quiet hub-more__link" to={to}>
        Open my page
      </Link>
    </nav>
  );
}
