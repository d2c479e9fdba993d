// A one-shot child for endpoint-lookup.lab.test.ts, run inside the test's namespace:
//   ip netns exec <ns> node --import ../../platform/tun/testdata/ts-register.mjs endpoint-lookup-child.mjs '<json>'
// {op: 'resolve', stateDir, fwmark, host, port, timeoutMs?, totalTimeoutMs?}: createEndpointLookup
//   with the namespace's /etc/resolv.conf; prints {resolvers, result} or {resolvers, error}.
// {op: 'getaddrinfo', host}: node's dns.lookup (unmarked, through glibc); prints {result} or {error}.
import { lookup } from 'node:dns/promises';
import { createEndpointLookup } from '../endpoint-lookup.ts';

const args = JSON.parse(process.argv[2]);
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const errorOf = (e) => ({ name: e.name, code: e.code, message: e.message });

if (args.op === 'getaddrinfo') {
  try {
    print({ result: await lookup(args.host, { family: 4 }) });
  } catch (e) {
    print({ error: errorOf(e) });
  }
} else {
  const l = createEndpointLookup({
    stateDir: args.stateDir,
    fwmark: args.fwmark,
    resolvConfPath: '/etc/resolv.conf',
    ...(args.timeoutMs ? { timeoutMs: args.timeoutMs } : {}),
    ...(args.totalTimeoutMs ? { totalTimeoutMs: args.totalTimeoutMs } : {}),
  });
  const resolvers = await l.resolvers();
  try {
    print({ resolvers, result: await l.resolve({ host: args.host, port: args.port }) });
  } catch (e) {
    print({ resolvers, error: errorOf(e) });
  }
}
