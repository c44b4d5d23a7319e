import { Navigate, Outlet, useLocation } from "react-router";
import { useSession } from "../api/session";
import { Spinner } from "../components/States";

/** The signed-out screens: one card in the middle of the page. */
export function AuthLayout() {
  const session = useSession();
  const location = useLocation();
  // Someone already signed in has no business on the sign-in or sign-up page.
  if (session.data && (location.pathname === "/sign-in" || location.pathname === "/sign-up")) {
    return <Navigate to="/" replace />;
  }
  return (
    <div className="auth">
      <main className="auth__card">
        <div className="brand brand--large">
          <span className="brand__mark" aria-hidden="true">
            j
          </span>
          <span className="brand__name">jobber</span>
        </div>
        {session.isPending ? <Spinner /> : <Outlet />}
      </main>
      <p className="auth__footer">Quotes, jobs, schedule and invoices for home-service businesses.</p>
    </div>
  );
}
