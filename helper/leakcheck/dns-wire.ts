// The DNS wire code lives in helper/platform/dns/wire.ts (the endpoint lookups use it too); this
// name stays for the leak test's imports.
export {
  DnsWireError,
  encodeQuery,
  normalizeName,
  parseResponseHead,
  rcodeName,
  TYPE_A,
  TYPE_AAAA,
} from '../platform/dns/wire.js';
