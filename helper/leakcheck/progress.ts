// A leak check's progress as it runs: which of the helper's checks still run, and the results so
// far, told once when the run begins and again as each check finishes (the panel and
// `umbra leak-check` show each as it comes; the report is still the call's answer).
import type { LeakCheckId, LeakCheckProgress, LeakCheckResult } from '../ipc/schema.js';

/** The helper's checks, in the report's order. */
const HELPER_CHECKS: readonly LeakCheckId[] = ['public-ip', 'dns', 'ipv6', 'kill-switch'];

/** Tells `tell` the run has begun, then each result as it is passed in (and hands the result back). */
export function progressReporter(checkedAt: number, tell: ((p: LeakCheckProgress) => void) | undefined): (r: LeakCheckResult) => LeakCheckResult {
  const done = new Map<LeakCheckId, LeakCheckResult>();
  const send = () => tell?.({ checkedAt, running: HELPER_CHECKS.filter((id) => !done.has(id)), done: HELPER_CHECKS.flatMap((id) => done.get(id) ?? []) });
  send();
  return (r) => {
    done.set(r.id, r);
    send();
    return r;
  };
}
