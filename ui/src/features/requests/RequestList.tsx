import { Link } from "react-router";
import { useLiveTopic } from "../../api/live";
import { Icon } from "../../components/Icon";
import { PagedList, StatusFilter, useStatusParam } from "../../components/PagedList";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { requestStatuses, useRequestPages, type RequestStatus, type WorkRequest } from "./api";
import "./requests.css";

const head = (
  <>
    <span>Request</span>
    <span className="hide-sm">Received</span>
    <span>Status</span>
  </>
);

/** The inbox of work requests from the public form and online bookings. */
export function RequestList() {
  const [status, setStatus] = useStatusParam<RequestStatus>();
  const pages = useRequestPages(status);
  // New requests arrive as they are sent.
  useLiveTopic("account");
  const requests = pages.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <PageHeader
        title="Requests"
        actions={
          <Link to="/settings/request-form" className="button">
            Request form
          </Link>
        }
      />
      <StatusFilter value={status} onChange={setStatus} options={requestStatuses} />
      {pages.isPending ? (
        <Spinner label="Loading requests" />
      ) : pages.isError ? (
        <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />
      ) : requests.length === 0 ? (
        status ? (
          <EmptyState title={`No ${status} requests`} icon={<Icon name="mail" size={32} />}>
            <p>Choose another status to see more.</p>
          </EmptyState>
        ) : (
          <EmptyState
            title="No requests yet"
            icon={<Icon name="mail" size={32} />}
            action={
              <Link to="/settings/request-form" className="button button--primary">
                Put the form on your website
              </Link>
            }
          >
            <p>Clients ask for work through your online request form; their requests land here.</p>
          </EmptyState>
        )
      ) : (
        <PagedList
          items={requests}
          label="Requests"
          head={head}
          headClassName="requests-row"
          renderRow={(request) => <RequestRow request={request} />}
          hasMore={Boolean(pages.hasNextPage)}
          loadingMore={pages.isFetchingNextPage}
          onMore={() => void pages.fetchNextPage()}
          busy={pages.isFetching && !pages.isFetchingNextPage}
        />
      )}
    </>
  );
}

function RequestRow({ request }: { request: WorkRequest }) {
  const fmt = useFormat();
  return (
    <Link to={`/requests/${request.id}`} className="list__link requests-row">
      <span className="list__text">
        <span className="list__name">{request.name}</span>
        <span className="list__sub">
          {request.service_name ?? "General request"}
          {request.source === "booking" ? " · Booked online" : request.source === "hub" ? " · From the client hub" : ""}
        </span>
      </span>
      <span className="list__sub hide-sm">{fmt.dateTime(request.created_at)}</span>
      <span>
        <span className={`badge badge--${request.status}`}>{request.status}</span>
      </span>
    </Link>
  );
}
