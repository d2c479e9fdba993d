// iputils `ping -q` output read into numbers (pure). Only the summary matters: the
// "N packets transmitted, M received" line and, when anything came back, the
// "rtt min/avg/max/mdev = a/b/c/d ms" line. LC_ALL=C (the runner sets it) keeps the words English.

export interface PingSummary {
  transmitted: number;
  received: number;
  /** The average round trip in ms; undefined when nothing came back. */
  avgMs?: number;
}

const COUNTS = /^(\d+) packets transmitted, (\d+) (?:packets )?received\b/m;
// "rtt" in iputils; "round-trip" in BusyBox and older iputils.
const RTT = /^(?:rtt|round-trip) min\/avg\/max(?:\/(?:mdev|stddev))? = [\d.]+\/([\d.]+)\//m;

/** The summary of one ping run; undefined when the text has none (ping failed before sending). */
export function parsePingSummary(text: string): PingSummary | undefined {
  const counts = COUNTS.exec(text);
  if (!counts) return undefined;
  const transmitted = Number(counts[1]);
  const received = Number(counts[2]);
  const rtt = received > 0 ? RTT.exec(text) : null;
  const avg = rtt ? Number(rtt[1]) : NaN;
  return Number.isFinite(avg) ? { transmitted, received, avgMs: avg } : { transmitted, received };
}
