// The systemd-resolved backend: per-link DNS through `resolvectl`, used only when resolved runs
// (choose.ts). It never edits resolved's configuration files; `resolvectl revert` drops exactly
// what apply set, and resolved also forgets a link's settings when the link goes away.
//
//   resolvectl dns <if> <servers...>          the tunnel's resolvers on the tunnel link
//   resolvectl domain <if> '~.' <search...>   "~." routes every name to this link (more specific
//                                             routing domains of other links still win: the kill
//                                             switch keeps those queries from leaving)
//   resolvectl default-route <if> yes         where supported (systemd >= 240); ignored if not
// Undo: resolvectl revert <if>; "no such link" counts as done (the TUN was closed first).
import { CommandError, type CommandRunner } from '../exec.js';
import type { Undo } from '../undo.js';
import { checkDnsConfig, type DnsBackend, type DnsConfig } from './types.js';

const LINK_GONE = /No such device|Failed to resolve interface|Unknown interface/i;

export function resolvedBackend(run: CommandRunner): DnsBackend {
  return {
    name: 'resolved',
    async apply(cfg: DnsConfig): Promise<Undo> {
      const { interfaceName: dev, servers, searchDomains } = checkDnsConfig(cfg);
      const revert = async (): Promise<void> => {
        try {
          await run.run(['resolvectl', 'revert', dev]);
        } catch (e) {
          if (!(e instanceof CommandError && LINK_GONE.test(e.stderr))) throw e;
        }
      };
      try {
        await run.run(['resolvectl', 'dns', dev, ...servers]);
        await run.run(['resolvectl', 'domain', dev, '~.', ...searchDomains]);
      } catch (e) {
        await revert().catch(() => undefined);
        throw e;
      }
      try {
        await run.run(['resolvectl', 'default-route', dev, 'yes']);
      } catch (e) {
        // Older resolvectl has no default-route verb; "~." alone still routes every name here.
        if (!(e instanceof CommandError)) throw e;
      }
      let undone = false;
      return async () => {
        if (undone) return;
        undone = true;
        await revert();
      };
    },
  };
}
