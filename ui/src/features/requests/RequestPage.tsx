import { Link, useParams } from "react-router";
import { describeError } from "../../api/problem";
import { ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { useArchive, useConvert, useRequest, type WorkRequest } from "./api";
import "./requests.css";

/** One request: what the client asked for, and Convert to quote / job. */
export function RequestPage() {
  const { id = "" } = useParams();
  const request = useRequest(id);
  if (request.isPending) return <Spinner label="Loading the request" />;
  if (request.isError) return <ErrorState error={request.error} onRetry={() => void request.refetch()} />;
  return <RequestDetail request={request.data} />;
}

function RequestDetail({ request }: { request: WorkRequest }) {
  const fmt = useFormat();
  const convert = useConvert(request.id);
  const archive = useArchive(request.id);
  const busy = convert.isPending || archive.isPending;
  const error = convert.error ?? archive.error;
  const address = [request.address.street1, request.address.street2, request.address.city, request.address.region, request.address.postal_code]
    .filter(Boolean)
    .join(", ");
  return (
    <>
      <PageHeader
        title={request.name}
        subtitle={
          <>
            <span className={`badge badge--${request.status}`}>{request.status}</span> Received {fmt.dateTime(request.created_at)}
            {request.source === "booking" ? " · booked online" : request.source === "hub" ? " · from the client hub" : ""}
          </>
        }
        actions={
          request.status === "new" ? (
            <>
              <button type="button" className="button button--primary" disabled={busy} onClick={() => convert.mutate("quote")}>
                Convert to quote
              </button>
              <button type="button" className="button" disabled={busy} onClick={() => convert.mutate("job")}>
                Convert to job
              </button>
              <button type="button" className="button" disabled={busy} onClick={() => archive.mutate()}>
                Archive
              </button>
            </>
          ) : undefined
        }
      />
      {error && <FormError message={describeError(error)} />}
      <div className="request-detail">
        <section className="card" aria-labelledby="request-ask">
          <h2 id="request-ask">What they asked for</h2>
          <dl className="request-facts">
            <dt>Service</dt>
            <dd>{request.service_name ?? "Not chosen"}</dd>
            <dt>Details</dt>
            <dd className="request-text">{request.details ?? "None given"}</dd>
            <dt>Preferred times</dt>
            <dd>{request.preferred_times ?? "Any time"}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="request-contact">
          <h2 id="request-contact">Contact</h2>
          <dl className="request-facts">
            {request.source === "hub" && request.client_id && (
              <>
                <dt>Client</dt>
                <dd>
                  <Link to={`/clients/${request.client_id}`}>{request.name}</Link>
                </dd>
              </>
            )}
            <dt>Email</dt>
            <dd>{request.email ? <a href={`mailto:${request.email}`}>{request.email}</a> : "Not given"}</dd>
            <dt>Phone</dt>
            <dd>{request.phone ? <a href={`tel:${request.phone}`}>{request.phone}</a> : "Not given"}</dd>
            <dt>Address</dt>
            <dd>{address || "Not given"}</dd>
          </dl>
        </section>
        {request.status === "converted" && (
          <section className="card" aria-labelledby="request-result">
            <h2 id="request-result">Converted {request.converted_at ? fmt.dateTime(request.converted_at) : ""}</h2>
            <ul className="request-links">
              {request.quote_id && (
                <li>
                  <Link to={`/quotes/${request.quote_id}`}>Open the quote</Link>
                </li>
              )}
              {request.job_id && (
                <li>
                  <Link to={`/jobs/${request.job_id}`}>Open the job</Link>
                </li>
              )}
              {request.client_id && (
                <li>
                  <Link to={`/clients/${request.client_id}`}>Open the client</Link>
                </li>
              )}
            </ul>
          </section>
        )}
      </div>
    </>
  );
}
