// The typed API client: openapi-fetch over the types generated from the server's
// OpenAPI document (schema.d.ts, `npm run gen:api`). The browser session rides on
// the HttpOnly cookie; unsafe methods carry the session's CSRF token in a header.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { ApiProblem, retryAfterSeconds, type ProblemBody } from "./problem";

let csrfToken: string | null = null;

/** Remember the CSRF token of the current session (null after logout). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const csrf: Middleware = {
  onRequest({ request }) {
    if (csrfToken && UNSAFE.has(request.method.toUpperCase())) {
      request.headers.set("X-CSRF-Token", csrfToken);
    }
    return request;
  },
};

export const api = createClient<paths>({
  // Absolute, and fetch looked up per call: the same in the browser and in tests.
  baseUrl: globalThis.location?.origin ?? "",
  credentials: "same-origin",
  fetch: (request) => globalThis.fetch(request),
});
api.use(csrf);

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of a call, or an ApiProblem thrown with the server's problem+json. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch {
    throw new ApiProblem(0, undefined);
  }
  if (result.response.ok) return result.data as T;
  throw new ApiProblem(result.response.status, result.error as ProblemBody | undefined, retryAfterSeconds(result.response.headers.get("Retry-After")));
}
