// What "nothing leaves outside the tunnel" means in a helper lab test: ordinary traffic (HTTP to
// the echo service, DNS to the ISP resolver, a ping) tried from the client while a capture on the
// lab's router records what left the client other than tunnel traffic to the servers' endpoints.
import type { AllowedEndpoint, CapturedPacket, Lab } from './lab/lab.js';

/** HTTP to the echo service, DNS to the ISP resolver, ping to the echo host: which got an answer. */
export async function probeOutside(lab: Lab): Promise<string[]> {
  const i = lab.internet;
  const ok = await Promise.all([
    lab.http(lab.client.ns, i.echoUrl, { timeoutMs: 800 }).then((r) => r.status === 200, () => false),
    lab.dnsQuery(lab.client.ns, i.ispResolver, `bait${Date.now()}.${i.dnsZone}`, { timeoutMs: 500 }).then((r) => r.ok, () => false),
    lab.ping(lab.client.ns, i.serviceAddress, { count: 1, timeoutSec: 1 }),
  ]);
  return ['http', 'dns', 'ping'].filter((_, n) => ok[n]);
}

/** The lab's servers' endpoints: tunnel traffic to them is not a leak. */
export function serverEndpoints(lab: Lab): AllowedEndpoint[] {
  return lab.servers.map((s) => ({ address: s.endpoint.host, port: s.endpoint.port, protocol: 'udp' }));
}

export const packetSummary = (p: CapturedPacket[]): string => p.map((x) => x.summary).join('\n') || '(none)';

/** The probes under a capture: which got an answer, and what left outside the tunnel. */
export async function probeUnderCapture(lab: Lab, allowed: AllowedEndpoint[] = []): Promise<{ answered: string[]; leaked: CapturedPacket[] }> {
  const capture = await lab.startCapture();
  try {
    const answered = await probeOutside(lab);
    await capture.stop();
    return { answered, leaked: capture.leaks([...serverEndpoints(lab), ...allowed]) };
  } catch (e) {
    await capture.stop().catch(() => undefined);
    throw e;
  }
}
