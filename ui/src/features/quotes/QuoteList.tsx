import { Link } from "react-router";
import { Icon } from "../../components/Icon";
import { PagedList, StatusFilter, useStatusParam } from "../../components/PagedList";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { quoteFilters, statusLabel, useQuotePages, type Quote, type QuoteFilter } from "./api";
import "./quotes.css";

const head = (
  <>
    <span>Quote</span>
    <span className="hide-sm">Created</span>
    <span className="hide-md">Total</span>
    <span>Status</span>
  </>
);

/** Quotes: filter by status and scroll through any number of them (keyset pages). */
export function QuoteList() {
  const [status, setStatus] = useStatusParam<QuoteFilter>();
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
      <StatusFilter value={status} onChange={setStatus} options={quoteFilters} />
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
        <PagedList
          items={quotes}
          label="Quotes"
          head={head}
          headClassName="quotes-row"
          renderRow={(quote) => <QuoteRow quote={quote} />}
          hasMore={Boolean(pages.hasNextPage)}
          loadingMore={pages.isFetchingNextPage}
          onMore={() => void pages.fetchNextPage()}
          busy={pages.isFetching && !pages.isFetchingNextPage}
        />
      )}
    </>
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
