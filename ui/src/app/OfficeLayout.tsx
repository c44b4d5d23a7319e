import { useEffect, useRef, useState } from "react";
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { useSession, useSignOut } from "../api/session";
import { Icon, type IconName } from "../components/Icon";
import { ErrorState, Spinner } from "../components/States";
import { LocaleProvider } from "../lib/locale";
import { NotificationBell } from "../features/notifications/NotificationBell";
import { CommandPalette, usePaletteShortcut } from "../features/palette/CommandPalette";
import { useDismiss } from "../lib/useDismiss";

const nav: { to: string; label: string; icon: IconName }[] = [
  { to: "/", label: "Dashboard", icon: "dashboard" },
  { to: "/requests", label: "Requests", icon: "mail" },
  { to: "/clients", label: "Clients", icon: "clients" },
  { to: "/quotes", label: "Quotes", icon: "quotes" },
  { to: "/jobs", label: "Jobs", icon: "jobs" },
  { to: "/schedule", label: "Schedule", icon: "schedule" },
  { to: "/invoices", label: "Invoices", icon: "invoices" },
  { to: "/reports", label: "Reports", icon: "reports" },
  { to: "/settings", label: "Settings", icon: "settings" },
];

/** The office: sidebar, top bar, and the screen in between. Signed-in only. */
export function OfficeLayout() {
  const session = useSession();
  const location = useLocation();
  const [navOpen, setNavOpen] = useState(false);
  const [paletteOpen, setPaletteOpen] = useState(false);
  usePaletteShortcut(() => setPaletteOpen((v) => !v));

  // The drawer closes when the person goes somewhere.
  useEffect(() => setNavOpen(false), [location.pathname]);

  if (session.isPending) return <Spinner label="Opening jobber" />;
  if (session.isError) return <ErrorState error={session.error} onRetry={() => void session.refetch()} />;
  if (!session.data) {
    const next = location.pathname + location.search;
    return <Navigate to={next === "/" ? "/sign-in" : `/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  const { account, user } = session.data;
  // Technicians work in the field app (its own page and bundle, not a route here).
  if (user.role === "technician") {
    window.location.replace("/field/");
    return <Spinner label="Opening the field app" />;
  }
  return (
    <LocaleProvider value={{ currency: account.currency, timeZone: account.time_zone }}>
      <div className={`office${navOpen ? " office--nav-open" : ""}`}>
        <a href="#main" className="skip-link">
          Skip to content
        </a>
        <aside className="sidebar" aria-label="Sections">
          <div className="sidebar__head">
            <div className="brand">
              <span className="brand__mark" aria-hidden="true">
                j
              </span>
              <span className="brand__name">jobber</span>
            </div>
            <button type="button" className="icon-button sidebar__close" aria-label="Close menu" onClick={() => setNavOpen(false)}>
              <Icon name="close" />
            </button>
          </div>
          <nav aria-label="Main">
            <ul className="nav">
              {nav.map((item) => (
                <li key={item.to}>
                  <NavLink to={item.to} end={item.to === "/"} className="nav__link">
                    <Icon name={item.icon} />
                    <span>{item.label}</span>
                  </NavLink>
                </li>
              ))}
            </ul>
          </nav>
        </aside>
        <div className="scrim" aria-hidden="true" onClick={() => setNavOpen(false)} />
        <div className="office__main">
          <header className="topbar">
            <button
              type="button"
              className="icon-button topbar__menu"
              aria-label="Open menu"
              aria-expanded={navOpen}
              onClick={() => setNavOpen(true)}
            >
              <Icon name="menu" />
            </button>
            <span className="topbar__account">{account.name}</span>
            <button type="button" className="topbar__search" onClick={() => setPaletteOpen(true)} aria-keyshortcuts="Control+K Meta+K">
              <Icon name="search" />
              <span className="topbar__search-text">Search</span>
              <kbd className="topbar__kbd" aria-hidden="true">Ctrl K</kbd>
            </button>
            <NotificationBell userId={user.id} />
            <UserMenu name={user.name} email={user.email} role={user.role} />
          </header>
          <main id="main" className="content" tabIndex={-1}>
            <Outlet />
          </main>
          {paletteOpen && <CommandPalette onClose={() => setPaletteOpen(false)} />}
        </div>
      </div>
    </LocaleProvider>
  );
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/);
  return ((parts[0]?.[0] ?? "") + (parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "")).toUpperCase() || "?";
}

function UserMenu({ name, email, role }: { name: string; email: string; role: string }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const signOut = useSignOut();
  const navigate = useNavigate();

  useDismiss(ref, open, () => setOpen(false));

  return (
    <div className="user-menu" ref={ref}>
      <button
        type="button"
        className="user-menu__button"
        aria-haspopup="true"
        aria-expanded={open}
        onClick={() => setOpen((v) => !v)}
      >
        <span className="avatar" aria-hidden="true">
          {initials(name)}
        </span>
        <span className="visually-hidden">Account menu: </span>
        <span className="user-menu__name">{name}</span>
      </button>
      {open && (
        <div className="user-menu__panel">
          <p className="user-menu__who">
            <strong>{name}</strong>
            <span>{email}</span>
            <span className="badge">{role}</span>
          </p>
          <button
            type="button"
            className="user-menu__item"
            onClick={async () => {
              setOpen(false);
              await signOut();
              navigate("/sign-in", { replace: true });
            }}
          >
            <Icon name="logout" />
            Sign out
          </button>
        </div>
      )}
    </div>
  );
}
