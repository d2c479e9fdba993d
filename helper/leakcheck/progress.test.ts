import { describe, expect, it } from 'vitest';
import type { LeakCheckProgress, LeakCheckResult } from '../ipc/schema.js';
import { progressReporter } from './progress.js';

const result = (id: LeakCheckResult['id']): LeakCheckResult => ({ id, title: id, verdict: 'pass', finding: `${id} holds`, evidence: [] });

describe('progressReporter', () => {
  it('tells the start, then each result as it comes, listed in the report\'s order', () => {
    const told: LeakCheckProgress[] = [];
    const finished = progressReporter(7, (p) => told.push(p));
    expect(told).toEqual([{ checkedAt: 7, running: ['public-ip', 'dns', 'ipv6', 'kill-switch'], done: [] }]);
    const ks = result('kill-switch');
    expect(finished(ks)).toBe(ks);
    finished(result('ipv6'));
    expect(told.at(-1)).toEqual({ checkedAt: 7, running: ['public-ip', 'dns'], done: [result('ipv6'), ks] });
    finished(result('dns'));
    finished(result('public-ip'));
    expect(told.at(-1)).toEqual({ checkedAt: 7, running: [], done: ['public-ip', 'dns', 'ipv6', 'kill-switch'].map((id) => result(id as LeakCheckResult['id'])) });
  });

  it('without a listener it only hands the results back', () => {
    const r = result('dns');
    expect(progressReporter(1, undefined)(r)).toBe(r);
  });
});
