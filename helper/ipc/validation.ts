// Validation against the schema with messages a person can act on ("path: problem"), shared by
// the server (params in, results out) and the client (params out, results and events in).
import type { z } from 'zod';
import { ErrorCode, HelperEvent, methods, RpcError, type MethodName, type Params, type Result } from './schema.js';

type Issue = z.ZodError['issues'][number];

const MAX_MESSAGE_CHARS = 1000;
/**
 * The reply to bad params stays small however the params are built: zod's "Unrecognized keys"
 * lists every unknown key, so 20,000 of them would otherwise come back as a 200 KB reply.
 */
const MAX_DATA_ISSUES = 20;
const MAX_ISSUE_CHARS = 200;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** "servers[0].id", or `root` for the value itself. */
export function issuePath(path: readonly PropertyKey[], root: string): string {
  if (path.length === 0) return root;
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** All issues as "path: problem; path: problem", unions spelled out branch by branch. */
export function describeIssues(issues: readonly Issue[], root = '(value)', prefix: readonly PropertyKey[] = []): string {
  const parts = issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((branch, i) => `(${i + 1}) ${describeIssues(branch, root, path)}`);
      return `${issuePath(path, root)}: none of the accepted forms matched: ${branches.join(' or ')}`;
    }
    return `${issuePath(path, root)}: ${issue.message}`;
  });
  return cut(parts.join('; '), MAX_MESSAGE_CHARS);
}

export type Validated<T> = { ok: true; value: T } | { ok: false; error: RpcError };

/** Checks a method's params (absent params count as {}); the error is InvalidParams. */
export function validateParams<M extends MethodName>(method: M, params: unknown): Validated<Params<M>> {
  const parsed = methods[method].params.safeParse(params === undefined ? {} : params);
  if (parsed.success) return { ok: true, value: parsed.data as Params<M> };
  const all = parsed.error.issues;
  const issues = all.slice(0, MAX_DATA_ISSUES).map((i) => ({ path: cut(issuePath(i.path, 'params'), MAX_ISSUE_CHARS), message: cut(i.message, MAX_ISSUE_CHARS) }));
  const data = { reason: 'invalid-params', issues, ...(all.length > MAX_DATA_ISSUES ? { moreIssues: all.length - MAX_DATA_ISSUES } : {}) };
  return { ok: false, error: new RpcError(ErrorCode.InvalidParams, `invalid params for ${method}: ${describeIssues(all, 'params')}`, data) };
}

/** Checks a method's result; `problem` says what is wrong with it (paths and problems, no values). */
export function validateResult<M extends MethodName>(method: M, result: unknown): { ok: true; value: Result<M> } | { ok: false; problem: string } {
  const parsed = methods[method].result.safeParse(result);
  return parsed.success ? { ok: true, value: parsed.data as Result<M> } : { ok: false, problem: describeIssues(parsed.error.issues, 'result') };
}

/** Checks a pushed event. */
export function validateEvent(event: unknown): { ok: true; value: HelperEvent } | { ok: false; problem: string } {
  const parsed = HelperEvent.safeParse(event);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problem: describeIssues(parsed.error.issues, 'event') };
}
