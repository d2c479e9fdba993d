// `npm run demo` (root): Umbra for real, against the local lab. Builds the lab (wireguard-go
// servers in their own "cities" with their own exit addresses, an internet with an IP-echo
// service), brings Umbra's tunnel up in the lab's client namespace, shows that the internet sees
// the server's address, and keeps the tunnel up until Ctrl-C. Nothing touches this machine's
// own network.
import { createLab, cleanupStaleLabs, labAvailable, type Lab } from './lab/lab.js';
import { startUmbradUp, type UmbradRun } from './umbrad-process.js';

async function main(): Promise<number> {
  const avail = labAvailable();
  if (!avail.ok) {
    console.error(`umbra demo: cannot build the lab: ${avail.reason}`);
    return 1;
  }
  cleanupStaleLabs();
  let lab: Lab | undefined;
  let umbrad: UmbradRun | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\numbra demo: stopping Umbra and removing the lab');
    await umbrad?.stop('SIGTERM').catch(() => undefined);
    umbrad?.cleanup();
    await lab?.destroy();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  try {
    console.log('umbra demo: building the lab (client, internet, 2 wireguard-go servers)…');
    lab = await createLab({ servers: 2 });
    const direct = await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 5000 });
    console.log(`  without the VPN the internet sees: ${direct.body?.trim()}`);
    const server = lab.servers[0]!;
    umbrad = startUmbradUp(lab, lab.client.ns, lab.clientConfig(0));
    console.log(`  ${(await umbrad.waitFor(/handshake complete/, 15_000)).trim()}`);
    const via = await lab.http(lab.client.ns, lab.internet.echoUrl, { timeoutMs: 5000 });
    console.log(`  with Umbra the internet sees:      ${via.body?.trim()} (server ${server.index}'s exit address ${server.exitAddress})`);
    console.log('\nThe tunnel is up. Try it from another terminal:');
    console.log(`  sudo ip netns exec ${lab.client.ns} ping -c 3 ${server.tunnelAddress}`);
    console.log(`  sudo ip netns exec ${lab.client.ns} ip route get ${lab.internet.serviceAddress}`);
    console.log(`  sudo ip netns exec ${lab.client.ns} ip rule`);
    console.log('Ctrl-C stops Umbra (it removes its interface, routes and rules) and deletes the lab.');
    const code = await new Promise<number | null>((r) => umbrad!.child.once('exit', r));
    if (!stopping) {
      console.error(`umbra demo: umbrad exited (${code}) on its own:\n${umbrad.stderr()}`);
      await stop();
      return 1;
    }
    return 0;
  } catch (e) {
    console.error(`umbra demo: ${(e as Error).message}`);
    await stop();
    return 1;
  }
}

main().then((code) => process.exit(code));
