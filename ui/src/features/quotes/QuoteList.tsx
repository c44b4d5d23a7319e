import { useEffect, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Link, useSearchParams } from "react-router";
import { Icon } from "../../components/Icon";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { quoteStatuses, statusLabel, useQuotePages, type Quote, type QuoteStatus } from "./api";
import "./quotes.css";

const ROW_HEIGHT = 64;

/** Quotes: filter by status and scroll through any number of them (keyset pages). */
export function QuoteList() {
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "") as QuoteStatus | "";
  const pages = useQuotePages(status);
  const quotes = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const newQuote = (
    <Link to="/quotes/new" className="button button--primary">
      <Icon name="plus" /> New quote
    </Link>
  );

  return (
    <>
      <PageHeader title="Quotes" actions={newQuote} />
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
            {quoteStatuses.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {pages.isPending ? (
        <Spinner label="Loading quotes" />
      ) : pages.isError ? (
        <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />
      ) : quotes.length === 0 ? (
        status ? (
          <EmptyState title={`No quotes in “${statusLabel(status)}”`} icon={<Icon name="quotes" size={32} />}>
            <p>Choose another status to see more.</p>
          </EmptyState>
        ) : (
          <EmptyState title="Write your first quote" icon={<Icon name="quotes" size={32} />} action={newQuote}>
            <p>A quote prices the work for a client. Send it by email; once they approve, turn it into a job.</p>
          </EmptyState>
        )
      ) : (
        <VirtualRows
          quotes={quotes}
          hasMore={Boolean(pages.hasNextPage)}
          loadingMore={pages.isFetchingNextPage}
          onMore={() => void pages.fetchNextPage()}
          busy={pages.isFetching && !pages.isFetchingNextPage}
        />
      )}
    </>
  );
}

function VirtualRows({ quotes, hasMore, loadingMore, onMore, busy }: { quotes: Quote[]; hasMore: boolean; loadingMore: boolean; onMore: () => void; busy: boolean }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: quotes.length + (hasMore ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && hasMore && !loadingMore && last.index >= quotes.length - 10) onMore();
  }, [last, hasMore, loadingMore, quotes.length, onMore]);

  return (
    <div className="list" aria-busy={busy || undefined}>
      <div className="list__head quotes-row" aria-hidden="true">
        <span>Quote</span>
        <span className="hide-sm">Created</span>
        <span className="hide-md">Total</span>
        <span>Status</span>
      </div>
      <div ref={scroller} className="list__scroller" tabIndex={-1}>
        <ul className="list__body" aria-label="Quotes" style={{ height: virtual.getTotalSize() }}>
          {items.map((row) => {
            const quote = quotes[row.index];
            return (
              <li
                key={quote?.id ?? "more"}
                className="list__row"
                style={{ transform: `translateY(${row.start}px)`, height: ROW_HEIGHT }}
                aria-setsize={hasMore ? -1 : quotes.length}
                aria-posinset={row.index + 1}
              >
                {quote ? <QuoteRow quote={quote} /> : <span className="list__more">Loading more…</span>}
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}

function QuoteRow({ quote }: { quote: Quote }) {
  const fmt = useFormat();
  return (
    <Link to={`/quotes/${quote.id}`} className="list__link quotes-row">
      <span className="list__text">
        <span className="list__name">
          {quote.number} {quote.title}
        </span>
        <span className="list__sub">
          {fmt.money(quote.total, { currency: quote.currency })}
          {quote.valid_until && quote.status === "sent" ? ` · valid until ${fmt.day(quote.valid_until)}` : ""}
        </span>
      </span>
      <span className="list__sub hide-sm">{fmt.date(quote.created_at)}</span>
      <span className="list__sub hide-md">{fmt.money(quote.total, { currency: quote.currency })}</span>
      <span>
        <span className={`badge badge--${quote.status}`}>{statusLabel(quote.status)}</span>
      </span>
    </Link>
  );
}
