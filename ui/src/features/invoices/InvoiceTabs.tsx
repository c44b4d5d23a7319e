import { NavLink } from "react-router";

/** The invoices section's views. */
export function InvoiceTabs() {
  return (
    <nav className="tabs" aria-label="Invoices views">
      <NavLink to="/invoices" end className="tabs__link">
        All invoices
      </NavLink>
      <NavLink to="/invoices/ready" className="tabs__link">
        Ready to invoice
      </NavLink>
      <NavLink to="/invoices/aging" className="tabs__link">
        Aging
      </NavLink>
    </nav>
  );
}
