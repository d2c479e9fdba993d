// The leak matrix (issue 10), after Mullvad's leak tests: for every tunnel state × kill switch
// on/off × allow LAN on/off, TCP, UDP and ICMP probes to internet addresses (the echo/DNS host,
// the ISP resolver, plus TCP over IPv6) and to the LAN gateway, and DNS over UDP and TCP to each,
// while a capture on the lab router counts what leaves the client outside the tunnel.
//
// - disconnected: every probe must be seen (the capture can see a leak);
// - kill switch on, any state where the user wants a connection (and the boot / adopted blocks):
//   nothing but the encrypted UDP to the endpoints. Allow LAN opens only the fixed private and
//   link-local ranges; the lab's LAN (198.51.100.0/24, the subnet the lease hands out, and a wide
//   public one in the allow-LAN combination) is public, so nothing to its gateway may pass either;
// - kill switch off, connected and reconnecting (tunnel up, routes into it): nothing to the
//   internet outside the tunnel; the LAN gateway may be reached.
// The table is in leak-matrix/cells.ts, the way into each state in leak-matrix/steps.ts.
//
// Cost: each combination has its own lab (two wireguard-go servers) and helper, and the four walk
// their states concurrently (suites concurrent, the cells of one suite in order).
import { afterAll, beforeAll, describe, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { captureAvailable, cleanupStaleLabs, labAvailable } from './lab/lab.js';
import { PROJECT_ROOT } from './umbrad-process.js';
import { COMBOS, comboName, expectationFor, judge, STATE_TITLES, STATES } from './leak-matrix/cells.js';
import { MatrixSession } from './leak-matrix/session.js';
import { STEPS } from './leak-matrix/steps.js';

const avail = labAvailable();
const capture = captureAvailable();
const built = existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'main.js'));
const why = !avail.ok ? avail.reason : !capture.ok ? capture.reason : !built ? 'not built (npx tsc -p tsconfig.build.json)' : '';

describe.skipIf(why !== '')(`leak matrix${why ? ` — skipped: ${why}` : ''}`, () => {
  beforeAll(() => {
    cleanupStaleLabs();
  });

  for (const combo of COMBOS) {
    describe.concurrent(comboName(combo), () => {
      const session = new MatrixSession(combo);
      beforeAll(() => session.setup());
      afterAll(() => session.teardown());

      for (const state of STATES) {
        const exp = expectationFor(state, combo);
        const title = `${state}: ${STATE_TITLES[state]}`;
        if (exp.kind === 'absent') continue;
        if (exp.kind === 'skip') {
          // Not asserted, by design: see exp.why.
          it.skip(`${title} — ${exp.why}`, () => undefined);
          continue;
        }
        it.sequential(title, async ({ expect }) => {
          const evidence = await STEPS[state](session);
          const verdict = judge(exp, evidence);
          expect(verdict.ok, `[${comboName(combo)}] ${state}:\n${verdict.message}`).toBe(true);
        });
      }
    });
  }
});
