// Run inside a lab namespace by nft-library.lab.test.ts: the Firewall on libnftables (one context
// for the whole run, as in the helper) applies a spec, then must see a rule another process plants
// and put its own table back, and remove it. Prints one JSON line of what it saw.
import { execFileSync } from 'node:child_process';
import { systemRunner } from '../../exec.js';
import { Firewall } from '../firewall.js';
import { addonNftLibrary, withNftLibrary } from '../nft-library.js';
import type { FirewallSpec } from '../ruleset.js';

const spec = JSON.parse(process.argv[2]!) as FirewallSpec;
const unavailable: string[] = [];
const processes: string[][] = [];
const counting = { run: (argv: string[], o?: { input?: string }) => (processes.push(argv), systemRunner.run(argv, o)) };
const fw = new Firewall(withNftLibrary(counting, addonNftLibrary(), (why) => unavailable.push(why)));

await fw.apply(spec);
const applied = await fw.read();
execFileSync('nft', ['insert', 'rule', 'inet', 'umbra', 'output', 'accept', 'comment', '"planted"']);
const tampered = await fw.read();
const enforced = await fw.enforce(() => spec);
const restored = await fw.read();
await fw.remove();
const present = await fw.isPresent();
console.log(JSON.stringify({
  unavailable,
  processes,
  hash: applied.hash,
  plantedSeen: tampered.listing?.includes('planted') ?? false,
  enforced,
  restoredAsApplied: restored.listing === applied.listing,
  present,
}));
