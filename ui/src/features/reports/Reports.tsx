// /reports: revenue, jobs and aging over a date range counted in the account's time
// zone, drawn with the dashboard's SVG charts, and CSV exports.
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { BarChart, ColumnChart } from "../../components/Charts";
import { TextField } from "../../components/Field";
import { ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { isIsoDate, today } from "../../lib/zoned";
import { groupFor, presetRange, presets, useAging, useJobsReport, useRevenue, type Group, type Preset, type Range } from "./api";
import { ExportPanel } from "./ExportPanel";
import "./reports.css";

const tabs = [
  { value: "revenue", label: "Revenue" },
  { value: "jobs", label: "Jobs" },
  { value: "aging", label: "Aging" },
] as const;
type Tab = (typeof tabs)[number]["value"];

export function Reports() {
  const fmt = useFormat();
  const [params, setParams] = useSearchParams();
  const tab: Tab = (tabs.find((t) => t.value === params.get("tab"))?.value ?? "revenue") as Tab;
  const preset = (presets.find((p) => p.value === params.get("range"))?.value ?? "this_month") as Preset;
  const now = today(fmt.timeZone);
  const [custom, setCustom] = useState(() => ({ from: params.get("from") ?? presetRange("this_month", now).from, to: params.get("to") ?? now }));
  const customValid = isIsoDate(custom.from) && isIsoDate(custom.to) && custom.from <= custom.to;
  const range: Range =
    preset === "custom"
      ? customValid
        ? { from: custom.from, to: custom.to, group: groupFor(custom.from, custom.to) }
        : presetRange("this_month", now)
      : presetRange(preset, now);

  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };

  return (
    <>
      <PageHeader title="Reports" subtitle={`Dates in ${fmt.timeZone.replace(/_/g, " ")}`} />
      <div className="report-tabs" role="tablist" aria-label="Reports">
        {tabs.map((t) => (
          <button
            key={t.value}
            type="button"
            role="tab"
            id={`tab-${t.value}`}
            aria-selected={tab === t.value}
            aria-controls={`panel-${t.value}`}
            tabIndex={tab === t.value ? 0 : -1}
            className="report-tabs__tab"
            onClick={() => set({ tab: t.value })}
            onKeyDown={(e) => {
              const i = tabs.findIndex((x) => x.value === tab);
              const move = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
              if (move === 0) return;
              e.preventDefault();
              const next = tabs[(i + move + tabs.length) % tabs.length]!;
              set({ tab: next.value });
              document.getElementById(`tab-${next.value}`)?.focus();
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      {tab !== "aging" && (
        <div className="toolbar report-range">
          <label className="toolbar__filter">
            Date range
            <select value={preset} onChange={(e) => set({ range: e.target.value })}>
              {presets.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
          {preset === "custom" && (
            <>
              <TextField label="From" type="date" value={custom.from} max={custom.to} onChange={(e) => setCustom((c) => ({ ...c, from: e.target.value }))} />
              <TextField
                label="To"
                type="date"
                value={custom.to}
                min={custom.from}
                onChange={(e) => setCustom((c) => ({ ...c, to: e.target.value }))}
                error={customValid ? undefined : "Pick a start on or before the end."}
              />
            </>
          )}
          <p className="muted small report-range__text">
            {fmt.day(range.from)} – {fmt.day(range.to)}
          </p>
        </div>
      )}
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="report-panel">
        {tab === "revenue" && <RevenueReport range={range} />}
        {tab === "jobs" && <JobsReport range={range} />}
        {tab === "aging" && <AgingReport />}
      </div>
      <ExportPanel range={range} />
    </>
  );
}

function periodLabel(period: string, group: Group, day: (iso: string, o?: Intl.DateTimeFormatOptions) => string): string {
  if (group === "month") return day(period, { month: "short", year: "2-digit" });
  return day(period, { month: "short", day: "numeric" });
}

function RevenueReport({ range }: { range: Range }) {
  const revenue = useRevenue(range);
  const fmt = useFormat();
  if (revenue.isPending) return <Spinner label="Loading revenue" />;
  if (revenue.isError) return <ErrorState error={revenue.error} onRetry={() => void revenue.refetch()} />;
  const r = revenue.data;
  const money = (minor: number) => fmt.money(minor, { currency: r.currency });
  const compact = (minor: number) => fmt.money(minor, { currency: r.currency, compact: true });
  return (
    <section className="card" aria-labelledby="revenue-h">
      <h2 id="revenue-h">Revenue</h2>
      <div className="figures">
        <div>
          <p className="card__figure">{money(r.total_invoiced)}</p>
          <p className="muted">invoiced</p>
        </div>
        <div>
          <p className="card__figure">{money(r.total_collected)}</p>
          <p className="muted">collected</p>
        </div>
      </div>
      {r.periods.length === 0 ? (
        <p className="muted">Nothing invoiced or collected in these dates.</p>
      ) : (
        <>
          <ColumnChart
            title={`Invoiced and collected per ${range.group}`}
            format={compact}
            series={[
              { name: "Invoiced", tone: "muted" },
              { name: "Collected", tone: "primary" },
            ]}
            groups={r.periods.map((p) => ({
              label: periodLabel(p.period, range.group, fmt.day),
              values: [p.invoiced, p.collected],
              texts: [compact(p.invoiced), compact(p.collected)],
            }))}
          />
          <details className="report-table">
            <summary>Show the figures</summary>
            <div className="table-scroll">
              <table className="data-table">
                <caption className="visually-hidden">Revenue per {range.group}</caption>
                <thead>
                  <tr>
                    <th scope="col">{range.group === "month" ? "Month" : range.group === "week" ? "Week of" : "Day"}</th>
                    <th scope="col" className="num">Invoiced</th>
                    <th scope="col" className="num">Collected</th>
                  </tr>
                </thead>
                <tbody>
                  {r.periods.map((p) => (
                    <tr key={p.period}>
                      <th scope="row">{range.group === "month" ? fmt.day(p.period, { month: "long", year: "numeric" }) : fmt.day(p.period)}</th>
                      <td className="num">{money(p.invoiced)}</td>
                      <td className="num">{money(p.collected)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}

function JobsReport({ range }: { range: Range }) {
  const jobs = useJobsReport(range);
  const fmt = useFormat();
  if (jobs.isPending) return <Spinner label="Loading jobs" />;
  if (jobs.isError) return <ErrorState error={jobs.error} onRetry={() => void jobs.refetch()} />;
  const j = jobs.data;
  const total = j.by_status.reduce((sum, s) => sum + s.count, 0);
  return (
    <div className="report-grid">
      <section className="card" aria-labelledby="jobs-status-h">
        <h2 id="jobs-status-h">Jobs by status</h2>
        <p className="card__figure">{fmt.number(total)}</p>
        <p className="muted">jobs created in these dates, worth {fmt.money(j.average_job_value, { currency: j.currency })} on average</p>
        {total === 0 ? (
          <p className="muted">No jobs in these dates.</p>
        ) : (
          <BarChart
            title="Jobs by status"
            bars={j.by_status.map((s) => ({
              label: s.status.replace(/_/g, " "),
              value: s.count,
              text: fmt.number(s.count),
              tone: s.status === "cancelled" ? "warning" : s.status === "completed" ? "primary" : "muted",
            }))}
          />
        )}
        <p>
          <Link to="/jobs" className="card__link">All jobs</Link>
        </p>
      </section>
      <section className="card" aria-labelledby="jobs-tech-h">
        <h2 id="jobs-tech-h">Completed visits per technician</h2>
        {j.completed_per_technician.length === 0 ? (
          <p className="muted">No visits completed in these dates.</p>
        ) : (
          <BarChart
            title="Completed visits per technician"
            bars={j.completed_per_technician.map((t) => ({ label: t.name, value: t.completed_visits, text: fmt.number(t.completed_visits) }))}
          />
        )}
      </section>
    </div>
  );
}

function AgingReport() {
  const aging = useAging();
  const fmt = useFormat();
  if (aging.isPending) return <Spinner label="Loading aging" />;
  if (aging.isError) return <ErrorState error={aging.error} onRetry={() => void aging.refetch()} />;
  const a = aging.data;
  const money = (minor: number) => fmt.money(minor, { currency: a.currency });
  return (
    <section className="card" aria-labelledby="aging-h">
      <h2 id="aging-h">Unpaid invoices by days past due</h2>
      <p className="card__figure">{money(a.total)}</p>
      <p className="muted">
        owed on {fmt.number(a.invoices)} {a.invoices === 1 ? "invoice" : "invoices"}, as of {fmt.day(a.date)}
      </p>
      <BarChart
        title="Unpaid balances by days past due"
        bars={[
          { label: "Not yet due", value: a.current, text: money(a.current), tone: "muted" },
          { label: "1–30 days", value: a.days_0_30, text: money(a.days_0_30) },
          { label: "31–60 days", value: a.days_31_60, text: money(a.days_31_60), tone: "warning" },
          { label: "61–90 days", value: a.days_61_90, text: money(a.days_61_90), tone: "warning" },
          { label: "Over 90 days", value: a.days_over_90, text: money(a.days_over_90), tone: "warning" },
        ]}
      />
      <p>
        <Link to="/invoices" className="card__link">Invoices</Link>
      </p>
    </section>
  );
}
