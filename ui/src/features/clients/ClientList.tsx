import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { Icon } from "../../components/Icon";
import { PagedList, SearchBox } from "../../components/PagedList";
import { EmptyState, ErrorState, PageHeader, Spinner } from "../../components/States";
import { useDebounced } from "../../lib/useDebounced";
import { clientStatuses, useClientPages, type Client, type ClientStatus } from "./api";

const head = (
  <>
    <span>Name</span>
    <span className="hide-sm">Contact</span>
    <span className="hide-md">Address</span>
    <span>Status</span>
  </>
);

/** Clients: search as you type, filter, and scroll through any number of them. */
export function ClientList() {
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState(params.get("q") ?? "");
  const status = (params.get("status") ?? "") as ClientStatus | "";
  const [tag, setTag] = useState(params.get("tag") ?? "");
  const q = useDebounced(search.trim(), 250);
  const debouncedTag = useDebounced(tag.trim(), 400);

  // Filters live in the address, so a filtered list can be bookmarked or shared.
  useEffect(() => {
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        for (const [key, value] of [["q", q], ["tag", debouncedTag]] as const) {
          if (value) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace: true },
    );
  }, [q, debouncedTag, setParams]);

  const pages = useClientPages({ q, status, tag: debouncedTag });
  const clients = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = Boolean(q || status || debouncedTag);

  return (
    <>
      <PageHeader
        title="Clients"
        actions={
          <Link to="/clients/new" className="button button--primary">
            <Icon name="plus" /> New client
          </Link>
        }
      />
      <div className="toolbar" role="search">
        <SearchBox label="Search clients" placeholder="Search by name, email, phone or address" value={search} onChange={setSearch} />
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
            {clientStatuses.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label className="toolbar__filter">
          <span>Tag</span>
          <input type="text" value={tag} onChange={(e) => setTag(e.target.value)} placeholder="Any" size={10} />
        </label>
      </div>
      {pages.isPending ? (
        <Spinner label="Loading clients" />
      ) : pages.isError ? (
        <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />
      ) : clients.length === 0 ? (
        filtered ? (
          <EmptyState title="No clients match" icon={<Icon name="search" size={32} />}>
            <p>Try another spelling, or clear the filters.</p>
          </EmptyState>
        ) : (
          <EmptyState
            title="Add your first client"
            icon={<Icon name="clients" size={32} />}
            action={
              <Link to="/clients/new" className="button button--primary">
                <Icon name="plus" /> New client
              </Link>
            }
          >
            <p>Clients are the people and businesses you work for: add one to quote, schedule and invoice their work.</p>
          </EmptyState>
        )
      ) : (
        <PagedList
          items={clients}
          label="Clients"
          head={head}
          renderRow={(client) => <ClientRow client={client} />}
          hasMore={Boolean(pages.hasNextPage)}
          loadingMore={pages.isFetchingNextPage}
          onMore={() => void pages.fetchNextPage()}
          busy={pages.isFetching && !pages.isFetchingNextPage}
        />
      )}
    </>
  );
}

function ClientRow({ client }: { client: Client }) {
  const email = client.emails.find((e) => e.primary) ?? client.emails[0];
  const phone = client.phones.find((p) => p.primary) ?? client.phones[0];
  const a = client.billing_address;
  const place = [a.street1, a.city].filter(Boolean).join(", ");
  return (
    <Link to={`/clients/${client.id}`} className="list__link">
      <span className="list__primary">
        <span className="avatar avatar--sm" aria-hidden="true">
          {client.display_name.slice(0, 1).toUpperCase()}
        </span>
        <span className="list__text">
          <span className="list__name">{client.display_name}</span>
          {client.company_name && client.company_name !== client.display_name && <span className="list__sub">{client.company_name}</span>}
        </span>
      </span>
      <span className="list__sub hide-sm">{email?.address ?? phone?.number ?? ""}</span>
      <span className="list__sub hide-md">{place}</span>
      <span>
        <span className={`badge badge--${client.status}`}>{client.status}</span>
      </span>
    </Link>
  );
}
