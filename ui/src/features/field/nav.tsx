// The field app's routes: a few paths under /field, drawn without a router library
// (the technician's first load stays small). Links are real <a href>s.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

export const BASE = "/field/";

export type Route = { name: "day" } | { name: "visit"; id: string } | { name: "timesheet" } | { name: "not_found" };

export function parse(pathname: string): Route {
  const rest = pathname.replace(/^\/field\/?/, "").replace(/\/$/, "");
  if (rest === "") return { name: "day" };
  if (rest === "timesheet") return { name: "timesheet" };
  const visit = /^visits\/([0-9a-fA-F-]{36})$/.exec(rest);
  if (visit?.[1]) return { name: "visit", id: visit[1] };
  return { name: "not_found" };
}

const listeners = new Set<() => void>();
function subscribe(listener: () => void) {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

export function navigate(path: string) {
  window.history.pushState(null, "", path);
  window.scrollTo(0, 0);
  for (const listener of listeners) listener();
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  function click(event: MouseEvent<HTMLAnchorElement>) {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  }
  return <a href={href} onClick={click} {...rest} />;
}
