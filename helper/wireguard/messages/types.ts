// Message types (whitepaper §5.4): the first byte, followed by three reserved zero bytes.
export const MessageType = {
  HandshakeInitiation: 1,
  HandshakeResponse: 2,
  CookieReply: 3,
  TransportData: 4,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** The type of a datagram when its 4-byte header is well formed, else 0. */
export function messageTypeOf(d: Uint8Array): MessageType | 0 {
  if (d.length < 4 || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) return 0;
  const t = d[0]!;
  return t >= 1 && t <= 4 ? (t as MessageType) : 0;
}

export const MAC_LENGTH = 16;
