import { Link } from "react-router";
import { Icon, type IconName } from "../../components/Icon";
import { EmptyState, PageHeader } from "../../components/States";

const sections: Record<string, { title: string; icon: IconName; text: string }> = {
  quotes: { title: "Quotes", icon: "quotes", text: "Build quotes from your catalog, send them by email and turn approved ones into jobs." },
  jobs: { title: "Jobs", icon: "jobs", text: "One-off and recurring jobs with their visits, checklists, notes and time." },
  schedule: { title: "Schedule", icon: "schedule", text: "Day, week and month views per technician, with drag and drop." },
  invoices: { title: "Invoices", icon: "invoices", text: "Invoice finished work, record payments and follow what is overdue." },
  reports: { title: "Reports", icon: "reports", text: "Revenue, jobs and aging over any date range, with CSV export." },
  settings: { title: "Settings", icon: "settings", text: "Business details, branding, taxes, team and connections." },
};

/** A section whose screens are not in the web app yet (the API already has them). */
export function ComingSoon({ section }: { section: string }) {
  const info = sections[section] ?? { title: section, icon: "dashboard" as IconName, text: "" };
  return (
    <>
      <PageHeader title={info.title} />
      <EmptyState title={`${info.title} is coming to the web app soon`} icon={<Icon name={info.icon} size={32} />}
        action={<Link to="/" className="button">Back to the dashboard</Link>}>
        <p>{info.text}</p>
        <p>Everything here already works through the API (see <a href="/api/docs">the API documentation</a>).</p>
      </EmptyState>
    </>
  );
}
