import { useEffect, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Link, useSearchParams } from "react-router";
import { useLiveTopic } from "../../api/live";
import { Icon } from "../../components/Icon";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { jobStatuses, useJobPages, type Job, type JobStatus } from "./api";
import "./jobs.css";

const ROW_HEIGHT = 64;

/** Jobs: filter by status and scroll through any number of them. */
export function JobList() {
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "") as JobStatus | "";
  const pages = useJobPages(status);
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
      <div className="toolbar" role="search">
        <label className="toolbar__filter">
          <span>Status</span>
          <select
            value={status}
            onChange={(e) =>
              setParams(
                (p) => {
                  const next = new URLSearchParams(p);
                  if (e.target.value) next.set("status", e.target.value);
                  else next.delete("status");
                  return next;
                },
                { replace: true },
              )
            }
          >
            <option value="">All</option>
            {jobStatuses.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {pages.isPending ? (
        <Spinner label="Loading jobs" />
      ) : pages.isError ? (
        <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />
      ) : jobs.length === 0 ? (
        status ? (
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
        <VirtualRows
          jobs={jobs}
          hasMore={Boolean(pages.hasNextPage)}
          loadingMore={pages.isFetchingNextPage}
          onMore={() => void pages.fetchNextPage()}
          busy={pages.isFetching && !pages.isFetchingNextPage}
        />
      )}
    </>
  );
}

function VirtualRows({ jobs, hasMore, loadingMore, onMore, busy }: { jobs: Job[]; hasMore: boolean; loadingMore: boolean; onMore: () => void; busy: boolean }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: jobs.length + (hasMore ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && hasMore && !loadingMore && last.index >= jobs.length - 10) onMore();
  }, [last, hasMore, loadingMore, jobs.length, onMore]);

  return (
    <div className="list" aria-busy={busy || undefined}>
      <div className="list__head jobs-row" aria-hidden="true">
        <span>Job</span>
        <span className="hide-sm">Next visit</span>
        <span className="hide-md">Total</span>
        <span>Status</span>
      </div>
      <div ref={scroller} className="list__scroller" tabIndex={-1}>
        <ul className="list__body" aria-label="Jobs" style={{ height: virtual.getTotalSize() }}>
          {items.map((row) => {
            const job = jobs[row.index];
            return (
              <li
                key={job?.id ?? "more"}
                className="list__row"
                style={{ transform: `translateY(${row.start}px)`, height: ROW_HEIGHT }}
                aria-setsize={hasMore ? -1 : jobs.length}
                aria-posinset={row.index + 1}
              >
                {job ? <JobRow job={job} /> : <span className="list__more">Loading more…</span>}
              </li>
            );
          })}
        </ul>
      </div>
    </div>
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
