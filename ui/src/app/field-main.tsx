// The technician app's entry (/field): its own bundle, so a phone downloads none of
// the office's screens. The service worker (public/field/sw.js, scope /field/) keeps
// the app's files for starting offline; the data lives in IndexedDB.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { FieldApp } from "./FieldApp";
import "../styles.css";
import "../features/field/field.css";

// The service worker's scope is /field/: a page loaded as /field is outside it and
// would never be controlled (no offline start), so it is loaded again as /field/.
const misplaced = window.location.pathname === "/field";
if (misplaced) window.location.replace(`/field/${window.location.search}${window.location.hash}`);

if ("serviceWorker" in navigator && import.meta.env.PROD && !misplaced) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" }).catch(() => {
      // Without it the app still works online; offline starts need it.
    });
  });
}

const root = document.getElementById("root");
if (root && !misplaced) {
  createRoot(root).render(
    <StrictMode>
      <FieldApp />
    </StrictMode>,
  );
}
