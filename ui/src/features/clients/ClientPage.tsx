import type { ReactNode } from "react";
import { Link, useParams } from "react-router";
import { isProblem } from "../../api/problem";
import { Icon } from "../../components/Icon";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { ClientAvatar, ClientHistory } from "./ClientHistory";
import { HubLinkButton } from "./HubLinkButton";
import { addressLines, useClient, useClientInvoices, useClientJobs, useClientQuotes, useProperties } from "./api";

export function ClientPage() {
  const { id = "" } = useParams();
  const client = useClient(id);

  if (client.isPending) return <Spinner label="Loading client" />;
  if (client.isError) {
    if (isProblem(client.error, "client_not_found") || isProblem(client.error, "invalid_parameter")) {
      return (
        <EmptyState title="No such client" action={<Link to="/clients" className="button">All clients</Link>}>
          <p>It may have been deleted, or the link is wrong.</p>
        </EmptyState>
      );
    }
    return <ErrorState error={client.error} onRetry={() => void client.refetch()} />;
  }
  const c = client.data;
  const billing = addressLines(c.billing_address);

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/clients">
          <Icon name="back" size={14} /> Clients
        </Link>
      </nav>
      <PageHeader
        title={c.display_name}
        subtitle={
          <>
            <span className={`badge badge--${c.status}`}>{c.status}</span>
            {c.tags.map((t) => (
              <Link key={t} to={`/clients?tag=${encodeURIComponent(t)}`} className="tag">
                {t}
              </Link>
            ))}
          </>
        }
        actions={
          <>
            <HubLinkButton clientId={c.id} hasEmail={c.emails.length > 0} />
            <Link to={`/clients/${c.id}/edit`} className="button">
              <Icon name="edit" /> Edit
            </Link>
          </>
        }
      />
      <div className="detail-grid">
        <section className="card" aria-labelledby="contact-h">
          <h2 id="contact-h">Contact</h2>
          <ClientAvatar client={c} />
          <dl className="facts">
            {c.company_name && c.company_name !== c.display_name && <Fact label="Company">{c.company_name}</Fact>}
            {c.emails.map((e) => (
              <Fact key={e.address} label={e.label || (e.primary ? "Email" : "Other email")}>
                <a href={`mailto:${e.address}`}>{e.address}</a>
              </Fact>
            ))}
            {c.phones.map((p) => (
              <Fact key={p.number} label={p.label || (p.primary ? "Phone" : "Other phone")}>
                <a href={`tel:${p.number}`}>{p.number}</a>
              </Fact>
            ))}
            {billing.length > 0 && (
              <Fact label="Billing address">
                {billing.map((line) => (
                  <span key={line} className="block">
                    {line}
                  </span>
                ))}
              </Fact>
            )}
            {c.emails.length === 0 && c.phones.length === 0 && billing.length === 0 && (
              <p className="muted">No contact details yet. <Link to={`/clients/${c.id}/edit`}>Add some</Link>.</p>
            )}
          </dl>
          {c.notes && (
            <>
              <h3>Notes</h3>
              <p className="pre-line">{c.notes}</p>
            </>
          )}
        </section>
        <Properties id={c.id} />
      </div>
      <div className="detail-grid detail-grid--3">
        <Quotes id={c.id} />
        <Jobs id={c.id} />
        <Invoices id={c.id} />
      </div>
      <ClientHistory id={c.id} />
    </>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="facts__row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Panel({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Properties({ id }: { id: string }) {
  const properties = useProperties(id);
  return (
    <Panel title="Properties" id="properties-h">
      {properties.isPending ? (
        <Spinner />
      ) : properties.isError ? (
        <ErrorState error={properties.error} onRetry={() => void properties.refetch()} />
      ) : properties.data.items.length === 0 ? (
        <p className="muted">No properties yet. A property is where the work happens.</p>
      ) : (
        <ul className="mini-list">
          {properties.data.items.map((p) => (
            <li key={p.id}>
              <Icon name="pin" size={16} />
              <span>
                {p.name && <strong className="block">{p.name}</strong>}
                {addressLines(p.address).join(", ")}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function Quotes({ id }: { id: string }) {
  const quotes = useClientQuotes(id);
  const fmt = useFormat();
  return (
    <Panel title="Quotes" id="quotes-h">
      {quotes.isPending ? (
        <Spinner />
      ) : quotes.isError ? (
        <ErrorState error={quotes.error} onRetry={() => void quotes.refetch()} />
      ) : quotes.data.items.length === 0 ? (
        <p className="muted">No quotes for this client yet.</p>
      ) : (
        <ul className="mini-list">
          {quotes.data.items.map((q) => (
            <li key={q.id}>
              <span className="mini-list__main">
                <strong>#{q.number}</strong> {q.title}
              </span>
              <span className={`badge badge--${q.status}`}>{q.status.replace(/_/g, " ")}</span>
              <span className="mini-list__amount">{fmt.money(q.total, { currency: q.currency })}</span>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function Jobs({ id }: { id: string }) {
  const jobs = useClientJobs(id);
  const fmt = useFormat();
  return (
    <Panel title="Jobs" id="jobs-h">
      {jobs.isPending ? (
        <Spinner />
      ) : jobs.isError ? (
        <ErrorState error={jobs.error} onRetry={() => void jobs.refetch()} />
      ) : jobs.data.items.length === 0 ? (
        <p className="muted">No jobs for this client yet.</p>
      ) : (
        <ul className="mini-list">
          {jobs.data.items.map((j) => (
            <li key={j.id}>
              <span className="mini-list__main">
                <strong>#{j.number}</strong> {j.title}
              </span>
              <span className={`badge badge--${j.status}`}>{j.status.replace(/_/g, " ")}</span>
              <span className="mini-list__amount">{fmt.money(j.total, { currency: j.currency })}</span>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function Invoices({ id }: { id: string }) {
  const invoices = useClientInvoices(id);
  const fmt = useFormat();
  return (
    <Panel title="Invoices" id="invoices-h">
      {invoices.isPending ? (
        <Spinner />
      ) : invoices.isError ? (
        <ErrorState error={invoices.error} onRetry={() => void invoices.refetch()} />
      ) : invoices.data.items.length === 0 ? (
        <p className="muted">No invoices for this client yet.</p>
      ) : (
        <ul className="mini-list">
          {invoices.data.items.map((i) => (
            <li key={i.id}>
              <span className="mini-list__main">
                <strong>{i.number ? `#${i.number}` : "Draft"}</strong> {i.title}
              </span>
              <span className={`badge badge--${i.past_due ? "overdue" : i.status}`}>{i.past_due ? "overdue" : i.status.replace(/_/g, " ")}</span>
              <span className="mini-list__amount">{fmt.money(i.balance, { currency: i.currency })}</span>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
