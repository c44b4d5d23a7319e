import { useState } from "react";
import { ApiProblem, describeError } from "../../api/problem";
import { whoChanged } from "../../components/staleDiff";

/** A save's outcome as a form shows it: busy, a message, the fields at fault, a stale version. */
export interface SaveState {
  busy: boolean;
  error?: string;
  fields: Record<string, string>;
  conflict: boolean;
  saved: boolean;
}

const idle: SaveState = { busy: false, fields: {}, conflict: false, saved: false };

export function isStale(error: unknown): boolean {
  return error instanceof ApiProblem && (error.code === "version_conflict" || error.code === "precondition_failed");
}

/**
 * Run a save and keep what a form needs to show about it: field errors from
 * problem+json at their fields, a 409/412 as a conflict (the form offers a reload,
 * never overwrites), anything else as one sentence. A form that shows the conflict
 * itself (components/StaleEdit) passes `onStale`, which takes it when it answers true.
 */
export function useSave() {
  const [state, setState] = useState<SaveState>(idle);
  async function run<T>(action: () => Promise<T>, onStale?: (error: unknown) => boolean): Promise<T | undefined> {
    setState({ ...idle, busy: true });
    try {
      const result = await action();
      setState({ ...idle, saved: true });
      return result;
    } catch (e) {
      if (isStale(e) && onStale?.(e)) {
        setState(idle);
      } else if (isStale(e)) {
        setState({
          ...idle,
          conflict: true,
          error: `${whoChanged(e instanceof ApiProblem ? e.stale?.updatedBy : undefined)} changed this while you were editing. Reload to see their changes; yours are not saved.`,
        });
      } else if (e instanceof ApiProblem && e.errors.length > 0) {
        setState({ ...idle, fields: e.messagesBy(), error: "Please correct the fields marked below." });
      } else {
        setState({ ...idle, error: describeError(e) });
      }
      return undefined;
    }
  }
  return { ...state, run, reset: () => setState(idle) };
}
