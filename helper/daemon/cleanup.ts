// Routing rules a crashed helper left behind. Routes and addresses die with the TUN (its fd
// closes with the process), but policy rules do not; a restarted helper removes ours before
// it adds them again (`ip rule add` happily adds duplicates).
import type { CommandRunner } from '../platform/exec.js';

interface JsonRule {
  priority?: number;
  not?: null | boolean;
  fwmark?: string;
  table?: string;
  suppress_prefixlen?: number;
}

/**
 * Deletes our `not fwmark M table T` rules and, when one was found, the paired suppress rule; and
 * split tunnelling's `fwmark E table main` (E: excludedMark, a mark no one else uses).
 */
export async function removeStaleRules(run: CommandRunner, fwmark: number, table: number, excludedMark?: number): Promise<number> {
  let removed = 0;
  for (const family of ['-4', '-6']) {
    let rules: JsonRule[];
    try {
      rules = JSON.parse((await run.run(['ip', '-j', family, 'rule', 'show'])).stdout || '[]') as JsonRule[];
    } catch {
      continue;
    }
    const excluded = rules.filter((r) => excludedMark !== undefined && r.fwmark !== undefined && Number(r.fwmark) === excludedMark && r.table === 'main' && !r.not);
    for (const r of excluded) {
      await run.run(['ip', family, 'rule', 'del', 'priority', String(r.priority)]);
      removed++;
    }
    const ours = rules.filter((r) => r.fwmark !== undefined && Number(r.fwmark) === fwmark && (r.table === String(table) || Number(r.table) === table));
    if (ours.length === 0) continue;
    for (const r of ours) {
      await run.run(['ip', family, 'rule', 'del', 'priority', String(r.priority)]);
      removed++;
    }
    for (const r of rules.filter((x) => x.table === 'main' && x.suppress_prefixlen === 0)) {
      await run.run(['ip', family, 'rule', 'del', 'priority', String(r.priority)]);
      removed++;
    }
  }
  return removed;
}
