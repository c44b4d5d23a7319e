import { useEffect, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Link, useSearchParams } from "react-router";
import { Icon } from "../../components/Icon";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { invoiceStatuses, statusLabel, useInvoicePages, type Invoice, type InvoiceStatus } from "./api";
import { InvoiceTabs } from "./InvoiceTabs";
import "./invoices.css";

const ROW_HEIGHT = 64;

/** Invoices: filter by status, scroll through any number of them (keyset pages). */
export function InvoiceList() {
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "") as InvoiceStatus | "";
  const pages = useInvoicePages(status);
  const invoices = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const newInvoice = (
    <Link to="/invoices/new" className="button button--primary">
      <Icon name="plus" /> New invoice
    </Link>
  );
  return (
    <>
      <PageHeader title="Invoices" actions={newInvoice} />
      <InvoiceTabs />
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
            {invoiceStatuses.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {pages.isPending ? (
        <Spinner label="Loading invoices" />
      ) : pages.isError ? (
        <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />
      ) : invoices.length === 0 ? (
        status ? (
          <EmptyState title={`No invoices in “${statusLabel(status)}”`} icon={<Icon name="invoices" size={32} />}>
            <p>Choose another status to see more.</p>
          </EmptyState>
        ) : (
          <EmptyState
            title="No invoices yet"
            icon={<Icon name="invoices" size={32} />}
            action={
              <>
                <Link to="/invoices/ready" className="button button--primary">
                  Ready to invoice
                </Link>{" "}
                {newInvoice}
              </>
            }
          >
            <p>Invoice completed jobs from the “Ready to invoice” list, or write one by hand.</p>
          </EmptyState>
        )
      ) : (
        <VirtualRows
          invoices={invoices}
          hasMore={Boolean(pages.hasNextPage)}
          loadingMore={pages.isFetchingNextPage}
          onMore={() => void pages.fetchNextPage()}
          busy={pages.isFetching && !pages.isFetchingNextPage}
        />
      )}
    </>
  );
}

function VirtualRows({ invoices, hasMore, loadingMore, onMore, busy }: { invoices: Invoice[]; hasMore: boolean; loadingMore: boolean; onMore: () => void; busy: boolean }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: invoices.length + (hasMore ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && hasMore && !loadingMore && last.index >= invoices.length - 10) onMore();
  }, [last, hasMore, loadingMore, invoices.length, onMore]);
  return (
    <div className="list" aria-busy={busy || undefined}>
      <div className="list__head" aria-hidden="true">
        <span>Invoice</span>
        <span className="hide-sm">Due</span>
        <span className="hide-md">Balance</span>
        <span>Status</span>
      </div>
      <div ref={scroller} className="list__scroller" tabIndex={-1}>
        <ul className="list__body" aria-label="Invoices" style={{ height: virtual.getTotalSize() }}>
          {items.map((row) => {
            const invoice = invoices[row.index];
            return (
              <li
                key={invoice?.id ?? "more"}
                className="list__row"
                style={{ transform: `translateY(${row.start}px)`, height: ROW_HEIGHT }}
                aria-setsize={hasMore ? -1 : invoices.length}
                aria-posinset={row.index + 1}
              >
                {invoice ? <InvoiceRow invoice={invoice} /> : <span className="list__more">Loading more…</span>}
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}

function InvoiceRow({ invoice }: { invoice: Invoice }) {
  const fmt = useFormat();
  const money = (minor: number) => fmt.money(minor, { currency: invoice.currency });
  return (
    <Link to={`/invoices/${invoice.id}`} className="list__link">
      <span className="list__text">
        <span className="list__name">
          {invoice.number ?? "Draft"} {invoice.title}
        </span>
        <span className="list__sub">{money(invoice.total)}</span>
      </span>
      <span className="list__sub hide-sm">{invoice.due_date ? fmt.day(invoice.due_date) : "Not issued"}</span>
      <span className="list__sub hide-md">{money(invoice.balance)}</span>
      <span>
        <span className={`badge badge--${invoice.past_due ? "overdue" : invoice.status}`}>{invoice.past_due ? "Past due" : statusLabel(invoice.status)}</span>
      </span>
    </Link>
  );
}
