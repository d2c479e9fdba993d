// Tuning constants of Umbra's routing (not from any spec). 0x756d is "um" in ASCII.

/** The fwmark on the helper's own encrypted UDP packets; marked packets skip the tunnel's table. */
export const UMBRA_FWMARK = 0x756d;

/** The routing table that holds the tunnel's default routes (30061; wg-quick uses 51820). */
export const UMBRA_TABLE = 0x756d;
