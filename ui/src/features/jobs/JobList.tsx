import { Link } from "react-router";
import { useLiveTopic } from "../../api/live";
import { Icon } from "../../components/Icon";
import { PagedList, SearchBox, StatusFilter, useSearchParam, useStatusParam } from "../../components/PagedList";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { jobStatuses, useJobPages, type Job, type JobStatus } from "./api";
import "./jobs.css";

const head = (
  <>
    <span>Job</span>
    <span className="hide-sm">Next visit</span>
    <span className="hide-md">Total</span>
    <span>Status</span>
  </>
);

/** Jobs: filter by status and scroll through any number of them. */
export function JobList() {
  const [status, setStatus] = useStatusParam<JobStatus>();
  const search = useSearchParam();
  const pages = useJobPages(status, search.q);
  // Jobs made or changed by others (or the worker) come in as they happen.
  useLiveTopic("schedule");
  const jobs = pages.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <>
      <PageHeader
        title="Jobs"
        actions={
          <Link to="/jobs/new" className="button button--primary">
            <Icon name="plus" /> New job
          </Link>
        }
      />
      <StatusFilter value={status} onChange={setStatus} options={jobStatuses}>
        <SearchBox label="Search jobs" placeholder="Search by number, title or client" value={search.typed} onChange={search.setTyped} />
      </StatusFilter>
      {pages.isPending ? (
        <Spinner label="Loading jobs" />
      ) : pages.isError ? (
        <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />
      ) : jobs.length === 0 ? (
        search.q ? (
          <EmptyState title="No jobs match" icon={<Icon name="search" size={32} />}>
            <p>Nothing in the number, title or client matches “{search.q}”{status ? ` among ${status} jobs` : ""}.</p>
          </EmptyState>
        ) : status ? (
          <EmptyState title={`No ${status} jobs`} icon={<Icon name="jobs" size={32} />}>
            <p>Choose another status to see more.</p>
          </EmptyState>
        ) : (
          <EmptyState
            title="Create your first job"
            icon={<Icon name="jobs" size={32} />}
            action={
              <Link to="/jobs/new" className="button button--primary">
                <Icon name="plus" /> New job
              </Link>
            }
          >
            <p>A job is work you do for a client: one visit or a recurring series, with its line items.</p>
          </EmptyState>
        )
      ) : (
        <PagedList
          items={jobs}
          label="Jobs"
          head={head}
          headClassName="jobs-row"
          renderRow={(job) => <JobRow job={job} />}
          hasMore={Boolean(pages.hasNextPage)}
          loadingMore={pages.isFetchingNextPage}
          onMore={() => void pages.fetchNextPage()}
          busy={pages.isFetching && !pages.isFetchingNextPage}
        />
      )}
    </>
  );
}

/** The next open visit's time, or what else is true of the job's visits. */
export function nextVisit(job: Job): Job["visits"][number] | undefined {
  return job.visits
    .filter((v) => (v.status === "scheduled" || v.status === "in_progress") && v.starts_at)
    .sort((a, b) => (a.starts_at! < b.starts_at! ? -1 : 1))[0];
}

function JobRow({ job }: { job: Job }) {
  const fmt = useFormat();
  const next = nextVisit(job);
  const client = job.visits[0]?.client_name;
  return (
    <Link to={`/jobs/${job.id}`} className="list__link jobs-row">
      <span className="list__text">
        <span className="list__name">
          #{job.number} {job.title}
        </span>
        <span className="list__sub">
          {client}
          {job.recurrence ? `${client ? " · " : ""}Recurring` : ""}
        </span>
      </span>
      <span className="list__sub hide-sm">{next ? fmt.dateTime(next.starts_at!) : job.status === "active" ? "Not scheduled" : ""}</span>
      <span className="list__sub hide-md">{fmt.money(job.total, { currency: job.currency })}</span>
      <span>
        <span className={`badge badge--${job.status}`}>{job.status}</span>
      </span>
    </Link>
  );
}
