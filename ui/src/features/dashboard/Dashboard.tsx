import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { useLiveTopic } from "../../api/live";
import { useSignedIn } from "../../api/session";
import { BarChart, Ring } from "../../components/Charts";
import { Icon } from "../../components/Icon";
import { ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";

/**
 * Where each figure leads: the list behind it, filtered as the server counts it
 * (GET /reports/dashboard): today's visits in the day view, overdue invoices as the
 * list's "Past due" filter (`past_due=true`), quotes awaiting a reply as sent or with
 * changes requested, receivables as the aging view of the open invoices.
 */
const links = {
  visitsToday: (date: string) => `/schedule?view=day&date=${date}`,
  readyToInvoice: "/invoices/ready",
  overdueInvoices: "/invoices?status=past_due",
  quotesAwaiting: "/quotes?status=sent,changes_requested",
  quotesWon: "/quotes?status=approved,converted",
  receivables: "/invoices/aging",
} as const;

function greeting(hour: number): string {
  if (hour < 12) return "Good morning";
  if (hour < 18) return "Good afternoon";
  return "Good evening";
}

export function Dashboard() {
  const { user } = useSignedIn();
  const fmt = useFormat();
  const dashboard = useQuery({ queryKey: ["reports", "dashboard"], queryFn: () => unwrap(api.GET("/api/v1/reports/dashboard")) });
  // Quotes sent, jobs completed, payments recorded by anyone (or the worker) move the
  // figures while the dashboard is open.
  useLiveTopic("account");
  const firstName = user.name.split(/\s+/)[0] ?? "";

  if (dashboard.isPending) return <Spinner label="Loading your dashboard" />;
  if (dashboard.isError) {
    return (
      <>
        <PageHeader title="Dashboard" />
        <ErrorState error={dashboard.error} onRetry={() => void dashboard.refetch()} />
      </>
    );
  }
  const d = dashboard.data;
  const money = (minor: number) => fmt.money(minor, { currency: d.currency });
  const overdue = Number(d.overdue_amount);
  const receivables = Number(d.receivables);
  const thisMonth = Number(d.revenue_this_month);
  const lastMonth = Number(d.revenue_last_month);
  const conversion = d.quote_conversion_bps ?? null;
  const toInvoice = d.visits_to_invoice + d.jobs_to_invoice;

  return (
    <>
      <PageHeader
        title={firstName ? `${greeting(new Date().getHours())}, ${firstName}` : "Dashboard"}
        subtitle={fmt.day(d.date, { dateStyle: "full" })}
        actions={
          <Link to="/clients/new" className="button button--primary">
            <Icon name="plus" /> New client
          </Link>
        }
      />
      {/* Each figure opens the list it counts, filtered the way the figure is. */}
      <section className="stat-grid" aria-label="Today">
        <StatCard to={links.visitsToday(d.date)} label="Visits today" value={fmt.number(d.todays_visits)} icon="schedule" />
        <StatCard to={links.readyToInvoice} label="Ready to invoice" value={fmt.number(toInvoice)} icon="invoices"
          detail={`${fmt.number(d.visits_to_invoice)} visits, ${fmt.number(d.jobs_to_invoice)} jobs`} />
        <StatCard to={links.overdueInvoices} label="Overdue invoices" value={fmt.number(d.overdue_invoices)} icon="clock"
          detail={money(overdue)} tone={d.overdue_invoices > 0 ? "warning" : undefined} />
        <StatCard to={links.quotesAwaiting} label="Quotes awaiting reply" value={fmt.number(d.quotes_awaiting_response)} icon="quotes" />
      </section>
      <section className="card-grid">
        <article className="card">
          <header className="card__head">
            <h2>Revenue</h2>
            <Link to="/reports" className="card__link">Revenue report <Icon name="chevron" size={14} /></Link>
          </header>
          <p className="card__figure">{money(thisMonth)}</p>
          <p className="muted">collected this month</p>
          <BarChart
            title="Revenue: this month compared with last month"
            bars={[
              { label: "This month", value: thisMonth, text: money(thisMonth) },
              { label: "Last month", value: lastMonth, text: money(lastMonth), tone: "muted" },
            ]}
          />
        </article>
        <article className="card">
          <header className="card__head">
            <h2>Receivables</h2>
            <Link to={links.receivables} className="card__link">Aging <Icon name="chevron" size={14} /></Link>
          </header>
          <p className="card__figure">{money(receivables)}</p>
          <p className="muted">unpaid on issued invoices</p>
          <BarChart
            title="Receivables: overdue and not yet due"
            bars={[
              { label: "Not yet due", value: Math.max(0, receivables - overdue), text: money(Math.max(0, receivables - overdue)) },
              { label: "Overdue", value: overdue, text: money(overdue), tone: "warning" },
            ]}
          />
        </article>
        <article className="card card--ring">
          <header className="card__head">
            <h2>Quote conversion</h2>
            <Link to={links.quotesWon} className="card__link">Won quotes <Icon name="chevron" size={14} /></Link>
          </header>
          <div className="ring-row">
            <Ring share={conversion === null ? null : conversion / 10_000} label="Quotes approved in the last 12 months" text={conversion === null ? "–" : fmt.bps(conversion)} />
            <p className="muted">
              {conversion === null ? "No quotes sent in the last 12 months yet." : "of the quotes sent in the last 12 months were approved."}
            </p>
          </div>
        </article>
      </section>
    </>
  );
}

function StatCard({ to, label, value, detail, icon, tone }: {
  to: string; label: string; value: string; detail?: string; icon: "schedule" | "invoices" | "clock" | "quotes"; tone?: "warning";
}) {
  return (
    <Link to={to} className={`stat${tone ? ` stat--${tone}` : ""}`}>
      <span className="stat__icon" aria-hidden="true"><Icon name={icon} /></span>
      <span className="stat__label">{label}</span>
      <span className="stat__value">{value}</span>
      {detail && <span className="stat__detail">{detail}</span>}
    </Link>
  );
}
