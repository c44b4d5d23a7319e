// /settings/*: one page with a section list; each section is a route of its own so
// it can be linked to (`/settings/team`). Owners and admins edit; dispatchers read;
// technicians have no business here (the API refuses them).
import { useEffect } from "react";
import { NavLink, Navigate, Route, Routes, useLocation } from "react-router";
import { useSignedIn } from "../../api/session";
import { EmptyState, PageHeader } from "../../components/States";
import { Catalog } from "./Catalog";
import { Connections } from "./Connections";
import { NotificationsSection } from "./Notifications";
import { RequestFormSection } from "./RequestForm";
import { Security } from "./Security";
import { BusinessDetails, Branding, Regional, Reminders, WithSettings } from "./SettingsForms";
import { TaxRates } from "./TaxRates";
import { Team } from "./Team";
import "./settings.css";

const sections = [
  { path: "business", label: "Business details" },
  { path: "branding", label: "Logo and branding" },
  { path: "region", label: "Time zone and currency" },
  { path: "taxes", label: "Tax rates" },
  { path: "catalog", label: "Products and services" },
  { path: "team", label: "Team and roles" },
  { path: "connections", label: "Connections", admin: true },
  { path: "reminders", label: "Reminders" },
  { path: "request-form", label: "Online requests" },
  { path: "notifications", label: "Your notifications" },
  { path: "security", label: "Your sign-in" },
];

export function Settings() {
  const { user } = useSignedIn();
  const canEdit = user.role === "owner" || user.role === "admin";
  const { pathname } = useLocation();
  // On a phone the sections are a row that scrolls sideways: keep the current one in view.
  useEffect(() => {
    document.querySelector(".settings__link.active")?.scrollIntoView?.({ block: "nearest", inline: "center" });
  }, [pathname]);
  if (user.role === "technician") {
    return (
      <>
        <PageHeader title="Settings" />
        <EmptyState title="Settings are for the office">
          <p>Ask an owner or admin of your business to change settings.</p>
        </EmptyState>
      </>
    );
  }
  const visible = sections.filter((s) => !s.admin || canEdit);
  return (
    <>
      <PageHeader title="Settings" subtitle={canEdit ? undefined : "You can look; owners and admins can change."} />
      <div className="settings">
        <nav className="settings__nav" aria-label="Settings sections">
          <ul>
            {visible.map((s) => (
              <li key={s.path}>
                <NavLink to={`/settings/${s.path}`} className="settings__link">
                  {s.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="settings__body">
          <Routes>
            <Route index element={<Navigate to="business" replace />} />
            <Route path="business" element={<WithSettings>{(s) => <BusinessDetails settings={s} canEdit={canEdit} />}</WithSettings>} />
            <Route path="branding" element={<WithSettings>{(s) => <Branding settings={s} canEdit={canEdit} />}</WithSettings>} />
            <Route path="region" element={<WithSettings>{(s) => <Regional settings={s} canEdit={canEdit} />}</WithSettings>} />
            <Route path="reminders" element={<WithSettings>{(s) => <Reminders settings={s} canEdit={canEdit} />}</WithSettings>} />
            <Route path="taxes" element={<TaxRates canEdit={canEdit} />} />
            <Route path="catalog" element={<Catalog canEdit={canEdit} />} />
            <Route path="team" element={<Team canEdit={canEdit} />} />
            <Route path="request-form" element={<RequestFormSection canEdit={canEdit} />} />
            <Route path="notifications" element={<NotificationsSection />} />
            <Route path="security" element={<Security />} />
            {canEdit && <Route path="connections" element={<Connections />} />}
            <Route path="*" element={<Navigate to="/settings/business" replace />} />
          </Routes>
        </div>
      </div>
    </>
  );
}
