// The state store's imports fuzzed end to end, as the importConfig and loadCatalog handlers run
// them: mutated configs and catalogs (with odd server names) into a real store in a temp dir.
// Each resolves with a result the IPC schema accepts, or rejects with an RpcError a client can
// show; whatever was accepted must read back when the store opens again (nothing set aside as
// unreadable), and no log line holds a secret. Fewer inputs than the parsers' fuzzers get: each
// one here writes files.
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutatedConfig, SECRETS } from '../../config/testing/hostile-configs.js';
import { ErrorCode, methods, RpcError } from '../../ipc/schema.js';
import { fail, fuzzAsync } from '../../testing/fuzz-run.js';
import { hostileString } from '../../testing/hostile-values.js';
import { readCatalog } from './catalog-source.js';
import { StateStore } from './state-store.js';
import { PROVIDER_CONF } from './testdata/configs.js';
import { hostileCatalogText, VALID_CATALOGS } from './testing/hostile-catalogs.js';

let root: string;
const logs: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'umbra-store-fuzz-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const open = (dir: string) => StateStore.open(dir, (l) => logs.push(l));

type Input = { kind: 'config'; text: string; name: string | undefined } | { kind: 'catalog'; text: string };

const input: fc.Arbitrary<Input> = fc.oneof(
  fc.record({ kind: fc.constant('config' as const), text: mutatedConfig, name: fc.option(hostileString(120), { nil: undefined }) }),
  fc.record({ kind: fc.constant('catalog' as const), text: hostileCatalogText() }),
);

function checkRejection(e: unknown, codes: readonly number[]): void {
  if (!(e instanceof RpcError)) fail(`threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  if (!codes.includes(e.code)) fail(`code ${e.code}: ${e.message.slice(0, 300)}`);
}

describe('fuzz: imports into the state store', () => {
  it('accepts a result the schema sends and that reads back, or refuses with an RpcError', async () => {
    const dir = join(root, 'state');
    let store = await open(dir);
    await store.importConfig(PROVIDER_CONF);
    const baseline = new Set(store.servers().map((s) => s.id));
    const smallCatalog = JSON.stringify(VALID_CATALOGS[0]);

    await fuzzAsync(input, async (i) => {
      let accepted = false;
      if (i.kind === 'config') {
        try {
          const result = await store.importConfig(i.text, i.name);
          accepted = true;
          if (!methods.importConfig.result.safeParse(result).success) fail(`importConfig returned what the schema refuses: ${JSON.stringify(result).slice(0, 300)}`);
        } catch (e) {
          checkRejection(e, [ErrorCode.InvalidConfig, ErrorCode.InvalidParams]);
        }
      } else {
        try {
          const servers = await store.loadCatalog((await readCatalog({ text: i.text })).json);
          accepted = true;
          if (!methods.loadCatalog.result.safeParse({ servers }).success) fail('loadCatalog returned what the schema refuses');
        } catch (e) {
          checkRejection(e, [ErrorCode.InvalidConfig, ErrorCode.InvalidParams, ErrorCode.NoProfile]);
        }
      }
      for (const line of logs) for (const s of SECRETS) if (line.includes(s.slice(0, 20))) fail(`a log line holds a secret: ${line.slice(0, 300)}`);
      logs.length = 0;
      if (!accepted) return;
      // What was saved is read back whole: nothing set aside, the same servers.
      const before = store.servers();
      store = await open(dir);
      if (store.unreadableAtOpen.length > 0) fail(`after this input the store set aside ${store.unreadableAtOpen.join(', ')} at open`);
      if (JSON.stringify(store.servers()) !== JSON.stringify(before)) fail('the servers read back differ from those saved');
      // Back to the baseline, so that the store does not grow with the run.
      if (i.kind === 'catalog') await store.loadCatalog((await readCatalog({ text: smallCatalog })).json);
      for (const s of store.servers()) if (s.source === 'import' && !baseline.has(s.id)) await store.removeServer(s.id);
      logs.length = 0;
    }, { runs: 800, maxMsPerInput: 5000, show: (i) => JSON.stringify(i).slice(0, 600) });
    expect(store.servers().filter((s) => s.source === 'import').map((s) => s.id).sort()).toEqual([...baseline].sort());
  }, 180_000);
});
