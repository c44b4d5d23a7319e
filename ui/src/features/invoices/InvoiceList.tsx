import { Link } from "react-router";
import { Icon } from "../../components/Icon";
import { PagedList, StatusFilter, useStatusParam } from "../../components/PagedList";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { invoiceFilters, statusLabel, useInvoicePages, type Invoice, type InvoiceFilter } from "./api";
import { InvoiceTabs } from "./InvoiceTabs";
import "./invoices.css";

const head = (
  <>
    <span>Invoice</span>
    <span className="hide-sm">Due</span>
    <span className="hide-md">Balance</span>
    <span>Status</span>
  </>
);

/** Invoices: filter by status (or past due), scroll through any number of them (keyset pages). */
export function InvoiceList() {
  const [status, setStatus] = useStatusParam<InvoiceFilter>();
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
      <StatusFilter value={status} onChange={setStatus} options={invoiceFilters} />
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
        <PagedList
          items={invoices}
          label="Invoices"
          head={head}
          renderRow={(invoice) => <InvoiceRow invoice={invoice} />}
          hasMore={Boolean(pages.hasNextPage)}
          loadingMore={pages.isFetchingNextPage}
          onMore={() => void pages.fetchNextPage()}
          busy={pages.isFetching && !pages.isFetchingNextPage}
        />
      )}
    </>
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
