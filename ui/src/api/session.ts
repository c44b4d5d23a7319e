// The browser session: an HttpOnly cookie set by POST /auth/session, plus a CSRF
// token the app sends with every unsafe request (api/client.ts). The session answer
// carries who is signed in and their account (name, currency, time zone).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, setCsrfToken, unwrap } from "./client";
import { stopLive } from "./live";
import { ApiProblem } from "./problem";
import type { components } from "./schema";

export type User = components["schemas"]["User"];
export type Account = components["schemas"]["Account"];
export type Session = components["schemas"]["SessionResponse"];
export type Credentials = components["schemas"]["LoginRequest"];

export const sessionKey = ["session"] as const;

/** The current session, or null when signed out (401). */
export async function fetchSession(): Promise<Session | null> {
  try {
    const session = await unwrap(api.GET("/api/v1/auth/session"));
    setCsrfToken(session.csrf_token);
    return session;
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw error;
  }
}

export async function signIn(credentials: Credentials): Promise<Session> {
  const session = await unwrap(api.POST("/api/v1/auth/session", { body: credentials }));
  setCsrfToken(session.csrf_token);
  return session;
}

/**
 * Sign the browser in after a call that answered with API tokens (sign-up, an accepted
 * invitation): a cookie session like any sign-in, then the token login is ended, so
 * the person's list of sign-ins shows the browser they use and no API login they
 * never made.
 */
export async function signInInstead(credentials: Credentials, tokens: { refresh_token: string }): Promise<Session> {
  const session = await signIn(credentials);
  // The token login is unused either way: a failure to end it is not the person's problem.
  await unwrap(api.POST("/api/v1/auth/logout", { body: { refresh_token: tokens.refresh_token } })).catch(() => undefined);
  return session;
}

export async function signOut(): Promise<void> {
  try {
    await unwrap(api.DELETE("/api/v1/auth/session"));
  } finally {
    setCsrfToken(null);
  }
}

export function useSession() {
  return useQuery({ queryKey: sessionKey, queryFn: fetchSession, staleTime: 5 * 60_000, retry: false });
}

/** The signed-in user and account; only under the office layout, which waits for them. */
export function useSignedIn(): { user: User; account: Account } {
  const session = useSession();
  if (!session.data) throw new Error("useSignedIn outside a signed-in screen");
  return { user: session.data.user, account: session.data.account };
}

export function useSignOut() {
  const queryClient = useQueryClient();
  return async () => {
    try {
      await signOut();
    } finally {
      stopLive();
      queryClient.clear();
      queryClient.setQueryData(sessionKey, null);
    }
  };
}
