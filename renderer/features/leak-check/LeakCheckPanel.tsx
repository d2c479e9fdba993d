// The leak-check panel: every check (the helper's public IP, DNS, IPv6 and kill switch, and the
// page's own WebRTC check) with its verdict as an icon with a text alternative and a word (never
// colour alone), the finding in one line, and the evidence behind a disclosure button. It runs on
// "Run leak check" and by itself after each connect (the store does that); while it runs, each
// check shows its own state — waiting, running, then its result as the helper tells it.
import { useId, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { LeakCheckId, LeakCheckResult, LeakVerdict, TunnelState } from '../../api.js';
import type { LeakCheckState } from '../../store/store.js';
import { useActions, useUmbra } from '../../store/context.js';
import { ErrorNote } from '../../ui/ErrorNote.js';
import './leak-check.css';

const VERDICT_WORDS: Record<LeakVerdict, string> = { pass: 'Pass', warn: 'Warning', fail: 'Fail' };

const STATE_WORDS: Record<TunnelState, string> = {
  connected: 'connected',
  connecting: 'connecting',
  reconnecting: 'reconnecting',
  disconnected: 'disconnected',
  disconnecting: 'disconnecting',
  error: 'not connected (error)',
};

/** ✓ in a circle, ! in a triangle, ✕ in a square: told apart by shape as well as colour. */
function VerdictIcon({ verdict }: { verdict: LeakVerdict }) {
  return (
    <svg className={`verdict-icon verdict-${verdict}`} viewBox="0 0 24 24" width="22" height="22" role="img" aria-label={VERDICT_WORDS[verdict]}>
      {verdict === 'pass' && (
        <>
          <circle cx="12" cy="12" r="10" />
          <path d="M7 12.5l3.2 3.2L17 9" fill="none" strokeWidth="2.4" strokeLinecap="round" strokeLinejoin="round" />
        </>
      )}
      {verdict === 'warn' && (
        <>
          <path d="M12 2.5L22.5 21h-21z" strokeLinejoin="round" />
          <path d="M12 9v5.5" fill="none" strokeWidth="2.4" strokeLinecap="round" />
          <circle className="dot" cx="12" cy="17.6" r="1.4" />
        </>
      )}
      {verdict === 'fail' && (
        <>
          <rect x="2.5" y="2.5" width="19" height="19" rx="3" />
          <path d="M8 8l8 8M16 8l-8 8" fill="none" strokeWidth="2.4" strokeLinecap="round" />
        </>
      )}
    </svg>
  );
}

function CheckItem({ result }: { result: LeakCheckResult }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <li className={`leak-item verdict-${result.verdict}`} data-check={result.id}>
      <VerdictIcon verdict={result.verdict} />
      <div className="leak-body">
        <h3 className="leak-title">
          {result.title}
          <span className={`verdict-word verdict-${result.verdict}`} aria-hidden="true">
            {VERDICT_WORDS[result.verdict]}
          </span>
        </h3>
        <p className="leak-finding">{result.finding}</p>
        <button type="button" className="link-button evidence-toggle" aria-expanded={open} aria-controls={id} onClick={() => setOpen((o) => !o)}>
          {open ? 'Hide evidence' : 'Show evidence'}
          <span className="visually-hidden"> for {result.title}</span>
        </button>
        <dl id={id} className="leak-evidence" hidden={!open}>
          {result.evidence.map((e, i) => (
            <div key={i} className="evidence-row">
              <dt>{e.label}</dt>
              <dd>{e.text.includes('\n') ? <pre>{e.text}</pre> : e.text}</dd>
            </div>
          ))}
        </dl>
      </div>
    </li>
  );
}

/** Every check, in the order the panel lists them (the helper's, then the page's own). */
const CHECK_TITLES: Record<LeakCheckId, string> = {
  'public-ip': 'Public IP address',
  dns: 'DNS',
  ipv6: 'IPv6',
  'kill-switch': 'Kill switch',
  webrtc: 'WebRTC',
};
const HELPER_CHECKS: LeakCheckId[] = ['public-ip', 'dns', 'ipv6', 'kill-switch'];

export type ProgressRow = { id: LeakCheckId; state: 'waiting' | 'running' } | { id: LeakCheckId; state: 'done'; result: LeakCheckResult };

/**
 * Each check's state while a run is under way: the helper's as it tells them (waiting until it
 * does), WebRTC running until the helper's addresses let the page judge what it gathered.
 */
function progressRows(progress: LeakCheckState['progress']): ProgressRow[] {
  const rows = HELPER_CHECKS.map((id): ProgressRow => {
    const result = progress?.done.find((r) => r.id === id);
    if (result) return { id, state: 'done', result };
    return { id, state: progress?.running.includes(id) ? 'running' : 'waiting' };
  });
  return [...rows, { id: 'webrtc', state: 'running' }];
}

const PROGRESS_WORDS = { waiting: 'Waiting', running: 'Running…' } as const;

function PendingItem({ id, state }: { id: LeakCheckId; state: 'waiting' | 'running' }) {
  return (
    <li className={`leak-item leak-${state}`} data-check={id} aria-busy={state === 'running' || undefined}>
      <span className={state === 'running' ? 'spinner' : 'leak-waiting-dot'} aria-hidden="true" />
      <div className="leak-body">
        <h3 className="leak-title">
          {CHECK_TITLES[id]}
          <span className="verdict-word leak-progress-word">{PROGRESS_WORDS[state]}</span>
        </h3>
      </div>
    </li>
  );
}

/** "1 failed · 1 warning · 3 passed". */
function counts(results: readonly LeakCheckResult[]): string {
  const n = (v: LeakVerdict) => results.filter((r) => r.verdict === v).length;
  const [fail, warn, pass] = [n('fail'), n('warn'), n('pass')];
  const parts = [];
  if (fail > 0) parts.push(`${fail} failed`);
  if (warn > 0) parts.push(`${warn} ${warn === 1 ? 'warning' : 'warnings'}`);
  if (pass > 0) parts.push(`${pass} passed`);
  return parts.join(' · ');
}

/** The counts, or the good news in words when every check passed. */
function summarize(results: readonly LeakCheckResult[]): string {
  if (results.every((r) => r.verdict === 'pass')) return `All ${results.length} checks passed: nothing escapes the tunnel`;
  return counts(results);
}

/**
 * The headline: good news only for the connection the results were taken on. Results taken while
 * not connected never say "nothing escapes" (no working tunnel carried that traffic), and results of an
 * earlier connection say they are out of date.
 */
function headline(
  results: readonly LeakCheckResult[],
  taken: { state: TunnelState | null; serverId?: string | undefined },
  now: { state?: TunnelState | undefined; serverId?: string | undefined },
): string {
  const failed = results.some((r) => r.verdict === 'fail');
  if (taken.state !== 'connected') return failed ? counts(results) : `Not connected when checked: these results do not show a working tunnel (${counts(results)})`;
  if (now.state !== 'connected' || now.serverId !== taken.serverId) return `Out of date: taken on an earlier connection, run it again (${counts(results)})`;
  return summarize(results);
}

export function LeakCheckPanel() {
  const { lc, serverName, nowState, nowServer } = useUmbra(
    useShallow((s) => ({
      lc: s.leakCheck,
      nowState: s.status?.state,
      nowServer: s.status?.server?.id,
      serverName: s.leakCheck.report?.serverId ? (s.servers.find((x) => x.id === s.leakCheck.report?.serverId)?.name ?? s.leakCheck.report.serverId) : undefined,
    })),
  );
  const { runLeakCheck } = useActions();
  const rows = progressRows(lc.progress);
  const when = lc.checkedAt !== null ? new Date(lc.checkedAt).toLocaleTimeString() : null;

  return (
    <section className="leak-check" aria-labelledby="leak-check-title" aria-busy={lc.running || undefined}>
      <div className="leak-check-head">
        <h2 id="leak-check-title">Leak check</h2>
        <button type="button" className="run-leak-check" onClick={() => void runLeakCheck('user')} disabled={lc.running} aria-busy={lc.running || undefined}>
          {lc.running && <span className="spinner" aria-hidden="true" />}
          Run leak check
        </button>
      </div>
      <p className="muted">
        Checks that nothing escapes the tunnel: the address websites see, where DNS goes, IPv6, the kill switch’s rules in the kernel, and what a web page can learn
        through WebRTC. It runs by itself after each connect.
      </p>
      <div role="status" aria-live="polite" className="leak-status">
        {lc.running
          ? `Checking… ${rows.filter((r) => r.state === 'done').length} of ${rows.length} done`
          : lc.results
            ? `${headline(lc.results, { state: lc.state, serverId: lc.report?.serverId }, { state: nowState, serverId: nowServer })}.`
            : 'No leak check has run yet.'}
      </div>
      <ErrorNote error={lc.error} title="The helper could not run its checks" />
      {lc.running && (
        <ul className="leak-results" aria-label="Leak check progress">
          {rows.map((r) => (r.state === 'done' ? <CheckItem key={r.id} result={r.result} /> : <PendingItem key={r.id} id={r.id} state={r.state} />))}
        </ul>
      )}
      {!lc.running && lc.results && (
        <>
          {when && lc.state && (
            <p className="muted leak-when">
              Checked at {when} while {STATE_WORDS[lc.state]}
              {serverName && lc.state !== 'disconnected' ? ` to ${serverName}` : ''}
              {lc.trigger === 'connect' ? ' (after connecting)' : ''}.
            </p>
          )}
          <ul className="leak-results" aria-label="Leak check results">
            {lc.results.map((r) => (
              <CheckItem key={r.id} result={r} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
