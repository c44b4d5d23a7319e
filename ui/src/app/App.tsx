import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "react-router";
import { ApiProblem } from "../api/problem";
import { sessionKey } from "../api/session";
import { router } from "./router";

// A 401 from any call means the session ended (expired, revoked, signed out in
// another tab): ask again who is signed in; the office then sends the person to
// sign in, and back here afterwards.
function onError(error: unknown, key?: readonly unknown[]) {
  if (error instanceof ApiProblem && error.status === 401 && key?.[0] !== sessionKey[0]) {
    void queryClient.invalidateQueries({ queryKey: sessionKey });
  }
}

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: (error, query) => onError(error, query.queryKey) }),
  mutationCache: new MutationCache({ onError: (error) => onError(error) }),
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      refetchOnWindowFocus: true,
      // A 4xx will not get better by asking again, except a 429 the server says will
      // pass within a few seconds: then once, when it says.
      retry: (count, error) => {
        if (!(error instanceof ApiProblem)) return count < 2;
        if (error.status === 429) return count < 1 && (error.retryAfter ?? 60) <= 10;
        return !(error.status >= 400 && error.status < 500) && count < 2;
      },
      retryDelay: (count, error) =>
        error instanceof ApiProblem && error.status === 429 && error.retryAfter !== undefined
          ? error.retryAfter * 1000
          : Math.min(1000 * 2 ** count, 30_000),
    },
  },
});

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
