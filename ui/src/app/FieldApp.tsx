// The technician app's shell (/field): a top bar with the sync state, the screen
// of the current path, and a bottom bar within reach of a thumb.
import { useEffect } from "react";
import { Icon } from "../components/Icon";
import { DayList } from "../features/field/DayList";
import { Link, parse, usePath } from "../features/field/nav";
import { SignInForm } from "../features/field/SignInForm";
import { field, useField, type Snapshot } from "../features/field/store";
import { Timesheet } from "../features/field/Timesheet";
import { VisitPage } from "../features/field/VisitPage";

function SyncStatus({ state }: { state: Snapshot }) {
  const waiting = state.ops.filter((o) => o.state === "pending").length;
  const conflicts = state.ops.filter((o) => o.state === "conflict").length;
  let text: string;
  let tone: string;
  if (conflicts > 0) {
    text = "Needs your decision";
    tone = "warn";
  } else if (!state.online) {
    text = waiting > 0 ? `Offline · ${waiting} to send` : "Offline · saved on phone";
    tone = "off";
  } else if (waiting > 0) {
    text = `Sending ${waiting}…`;
    tone = "busy";
  } else if (state.sync === "syncing") {
    text = "Syncing…";
    tone = "busy";
  } else {
    text = "All changes sent";
    tone = "ok";
  }
  return (
    <p className={`fld-sync fld-sync--${tone}`} role="status" aria-live="polite">
      <span className="fld-sync__dot" aria-hidden="true" />
      {text}
    </p>
  );
}

export function FieldApp() {
  const state = useField();
  const path = usePath();
  const route = parse(path);

  useEffect(() => {
    void field.start();
  }, []);

  useEffect(() => {
    const titles = { day: "Your visits", visit: "Visit", timesheet: "Timesheet", not_found: "Not found" };
    document.title = `${titles[route.name]} · jobber field`;
  }, [route.name]);

  if (state.phase === "starting") {
    return (
      <main className="fld-main">
        <p className="fld-empty" role="status">
          Loading…
        </p>
      </main>
    );
  }
  if (state.phase === "signed_out" || !state.session) {
    return <SignInForm notice={state.loadError ?? (state.ops.length > 0 ? "Sign in again to send the changes saved on this phone." : undefined)} />;
  }

  return (
    <div className="fld">
      <header className="fld-top">
        <span className="fld-top__brand">
          <span className="brand__mark" aria-hidden="true">
            j
          </span>
          <span>{state.session.account.name}</span>
        </span>
        <SyncStatus state={state} />
      </header>
      <main className="fld-main" id="main">
        {state.loadError && <p className="fld-note">{state.loadError}</p>}
        {state.blocked && (
          <p className="form-error" role="alert">
            {state.blocked}
          </p>
        )}
        {route.name === "day" && <DayList />}
        {route.name === "visit" && <VisitPage id={route.id} />}
        {route.name === "timesheet" && <Timesheet />}
        {route.name === "not_found" && (
          <>
            <h1 className="fld-title">Page not found</h1>
            <Link href="/field/">Back to your visits</Link>
          </>
        )}
      </main>
      <nav className="fld-tabs" aria-label="Field app">
        <Link href="/field/" aria-current={route.name === "day" || route.name === "visit" ? "page" : undefined}>
          <Icon name="schedule" size={22} />
          Visits
        </Link>
        <Link href="/field/timesheet" aria-current={route.name === "timesheet" ? "page" : undefined}>
          <Icon name="clock" size={22} />
          Timesheet
        </Link>
        <button type="button" onClick={() => void field.signOut()}>
          <Icon name="logout" size={22} />
          Sign out
        </button>
      </nav>
    </div>
  );
}
