// Who gets one of the server's connection slots when a caller has passed the permission check.
// Pure: the server describes its connections, this says admit, admit after evicting one, or
// refuse.
//
// Why it is shaped like this: every member of the umbra group may connect, so a hostile process
// in the user's session can open connections and keep them. Three rules keep the app able to
// connect anyway:
// - one uid holds at most `maxPerUid` slots (root excepted: it may do anything anyway), so other
//   users and root keep their room;
// - the app runs as the same uid as a hostile process of the same user, so a uid at its share
//   makes room by evicting its own least recently active idle connection instead of being
//   refused;
// - when all slots are taken, the least recently active idle connection (of anyone) makes room.
// "Idle" means: not subscribed (the app's own connection is subscribed and is never evicted), no
// request being handled or waiting. What stays out of reach: a uid that fills its share with
// subscribed or busy connections keeps them; that is bounded by the share, and a process of the
// same uid could harm the app directly anyway (signals, ptrace).

export interface Slot {
  readonly id: number;
  readonly uid: number;
  /** Not subscribed, nothing in flight or queued. */
  readonly idle: boolean;
  /** When it last sent a request or was answered (any monotonic clock). */
  readonly lastActive: number;
}

export interface AdmissionLimits {
  maxClients: number;
  /** Slots one uid other than root may hold. */
  maxPerUid: number;
}

export type Admission =
  | { admit: true; evict?: number }
  | { admit: false; reason: 'uid-share' | 'full' };

/** What to do with a newcomer of `uid`, given the connections open now. */
export function admit(slots: readonly Slot[], uid: number, limits: AdmissionLimits): Admission {
  if (uid !== 0) {
    const mine = slots.filter((s) => s.uid === uid);
    if (mine.length >= limits.maxPerUid) {
      const victim = leastRecentlyActiveIdle(mine);
      return victim ? { admit: true, evict: victim.id } : { admit: false, reason: 'uid-share' };
    }
  }
  if (slots.length >= limits.maxClients) {
    const victim = leastRecentlyActiveIdle(slots);
    return victim ? { admit: true, evict: victim.id } : { admit: false, reason: 'full' };
  }
  return { admit: true };
}

/** The default share of one uid: a quarter of the slots, at least one. */
export function defaultMaxPerUid(maxClients: number): number {
  return Math.max(1, Math.floor(maxClients / 4));
}

function leastRecentlyActiveIdle(slots: readonly Slot[]): Slot | undefined {
  let best: Slot | undefined;
  for (const s of slots) if (s.idle && (!best || s.lastActive < best.lastActive)) best = s;
  return best;
}
