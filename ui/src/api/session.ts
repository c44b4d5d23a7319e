// The browser session (cookie + CSRF token) and who is signed in.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, request, setCsrfToken, unwrap } from "./client";
import { ApiProblem } from "./problem";
import type { components } from "./schema";

export type User = components["schemas"]["User"];
export type Account = components["schemas"]["Account"];
export type Me = components["schemas"]["Me"];

export interface Session {
  csrf_token: string;
}

export interface Credentials {
  email: string;
  password: string;
  totp_code?: string;
  recovery_code?: string;
}

export const sessionKey = ["session"] as const;
export const meKey = ["me"] as const;

/** The current session, or null when signed out (401). */
export async function fetchSession(): Promise<Session | null> {
  try {
    const session = await request<Session>("GET", "/auth/session");
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
  const session = await request<Session>("POST", "/auth/session", credentials);
  setCsrfToken(session.csrf_token);
  return session;
}

export async function signOut(): Promise<void> {
  try {
    await request<void>("DELETE", "/auth/session");
  } finally {
    setCsrfToken(null);
  }
}

export function useSession() {
  return useQuery({ queryKey: sessionKey, queryFn: fetchSession, staleTime: 5 * 60_000, retry: false });
}

/** The signed-in user and their account (name, currency, time zone). */
export function useMe(enabled = true) {
  return useQuery({
    queryKey: meKey,
    queryFn: () => unwrap(api.GET("/api/v1/auth/me")),
    enabled,
    staleTime: 5 * 60_000,
  });
}

export function useSignOut() {
  const queryClient = useQueryClient();
  return async () => {
    try {
      await signOut();
    } finally {
      queryClient.clear();
      queryClient.setQueryData(sessionKey, null);
    }
  };
}
