// Tuning constants of Umbra's routing (not from any spec). 0x756d is "um" in ASCII.

/** The fwmark on the helper's own encrypted UDP packets; marked packets skip the tunnel's table. */
export const UMBRA_FWMARK = 0x756d;

/** The routing table that holds the tunnel's default routes (30061; wg-quick uses 51820). */
export const UMBRA_TABLE = 0x756d;

/** The mark of excluded (split-tunnelled) traffic, set by the firewall for sockets of the excluded
 *  cgroup; the rule `fwmark <it> lookup main` sends it past the tunnel's table. "ux" in ASCII. */
export const EXCLUDED_FWMARK = 0x7578;
