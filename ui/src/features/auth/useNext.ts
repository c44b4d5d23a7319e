import { useSearchParams } from "react-router";

/** Where to go after signing in: `?next=` when it is a path of this app, else home. */
export function useNext(): string {
  const [params] = useSearchParams();
  const next = params.get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}
