// DNS while connected (DESIGN.md, "DNS"): systemd-resolved when it runs, else /etc/resolv.conf,
// with the original restored on disconnect and after a crash.
export { chooseDnsBackend, pointsIntoResolved, type ChooseDnsOptions, type RecoverableDnsBackend } from './choose.js';
export { DEFAULT_RESOLV_CONF, RESOLV_CONF_BACKUP, RESOLV_CONF_HEADER, renderResolvConf, resolvConfBackend, type ResolvConfBackend, type ResolvConfOptions } from './resolv-conf.js';
export { resolvedBackend } from './resolved.js';
export { checkDnsConfig, type DnsBackend, type DnsConfig } from './types.js';
