import { Link, isRouteErrorResponse, useRouteError } from "react-router";

export function RouteError() {
  const error = useRouteError();
  const chunkFailed = error instanceof TypeError && /dynamically imported module|Importing a module script failed/i.test(error.message);
  return (
    <main className="route-error">
      <h1>{chunkFailed ? "jobber was updated" : "Something went wrong"}</h1>
      <p>
        {chunkFailed
          ? "A newer version is on the server. Reload the page to continue."
          : isRouteErrorResponse(error)
            ? `${error.status} ${error.statusText}`
            : "This page hit an unexpected error. Reloading usually helps."}
      </p>
      <p className="route-error__actions">
        <button type="button" className="button button--primary" onClick={() => window.location.reload()}>
          Reload
        </button>
        <Link to="/" className="button">
          Go to the dashboard
        </Link>
      </p>
    </main>
  );
}
