import { Link } from "react-router";
import { BarChart } from "../../components/Charts";
import { ErrorState, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { useAging } from "./api";
import { InvoiceTabs } from "./InvoiceTabs";
import "./invoices.css";

/** What clients owe, by how late it is (GET /reports/aging). */
export function Aging() {
  const fmt = useFormat();
  const aging = useAging();
  return (
    <>
      <PageHeader title="Invoices" />
      <InvoiceTabs />
      <h2 className="section-title">Aging of receivables</h2>
      {aging.isPending ? (
        <Spinner label="Loading aging" />
      ) : aging.isError ? (
        <ErrorState error={aging.error} onRetry={() => void aging.refetch()} />
      ) : (
        (() => {
          const a = aging.data;
          const money = (minor: number) => fmt.money(minor, { currency: a.currency });
          const buckets = [
            { label: "Not yet due", value: a.current, tone: "primary" as const },
            { label: "1–30 days late", value: a.days_0_30, tone: "warning" as const },
            { label: "31–60 days late", value: a.days_31_60, tone: "warning" as const },
            { label: "61–90 days late", value: a.days_61_90, tone: "warning" as const },
            { label: "Over 90 days", value: a.days_over_90, tone: "warning" as const },
          ];
          return (
            <div className="detail-grid">
              <section className="card" aria-labelledby="aging-chart-h">
                <h3 id="aging-chart-h">Owed by age, as of {fmt.day(a.date)}</h3>
                <p className="card__figure">{money(a.total)}</p>
                <p className="muted">
                  {a.invoices} open {a.invoices === 1 ? "invoice" : "invoices"}
                </p>
                <BarChart title="Receivables by age" bars={buckets.map((b) => ({ label: b.label, value: b.value, text: money(b.value), tone: b.tone }))} />
              </section>
              <section className="card" aria-labelledby="aging-table-h">
                <h3 id="aging-table-h">Buckets</h3>
                <table className="lines">
                  <thead>
                    <tr>
                      <th scope="col">Age</th>
                      <th scope="col" className="num">
                        Owed
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {buckets.map((b) => (
                      <tr key={b.label}>
                        <td>{b.label}</td>
                        <td className="num">{money(b.value)}</td>
                      </tr>
                    ))}
                  </tbody>
                  <tfoot>
                    <tr>
                      <th scope="row">Total</th>
                      <td className="num">
                        <strong>{money(a.total)}</strong>
                      </td>
                    </tr>
                  </tfoot>
                </table>
                <p>
                  <Link to="/invoices?status=sent">Invoices awaiting payment</Link>
                </p>
              </section>
            </div>
          );
        })()
      )}
    </>
  );
}
