import { Link } from "react-router";
import { EmptyState } from "../../components/States";

export function NotFound() {
  return (
    <EmptyState title="There is no page here" action={<Link to="/" className="button button--primary">Go to the dashboard</Link>}>
      <p>The address may be mistyped, or the page was moved.</p>
    </EmptyState>
  );
}
