import { describe, expect, it } from 'vitest';
import { throughLanForwarder } from './lan-resolvers.js';

const FWD = { address: '127.0.80.53', source: 'nameserver in /etc/resolv.conf' };
const LAN = { domains: ['corp.example', 'lan'], servers: ['198.51.100.53'] };

describe('the DNS check sees through the LAN DNS forwarder', () => {
  it('replaces the forwarder by the tunnel servers and the LAN servers, the latter expected for their domains', () => {
    expect(throughLanForwarder([FWD], LAN, ['100.64.0.53'])).toEqual([
      { address: '100.64.0.53', source: "through Umbra's LAN DNS forwarder (nameserver in /etc/resolv.conf), every other name" },
      { address: '198.51.100.53', source: "through Umbra's LAN DNS forwarder (nameserver in /etc/resolv.conf), names under corp.example, lan", expectedFor: ['corp.example', 'lan'] },
    ]);
  });

  it('without LAN DNS set, or without the forwarder in resolv.conf, the resolvers are judged as they are', () => {
    expect(throughLanForwarder([FWD], null, ['100.64.0.53'])).toEqual([FWD]);
    const isp = { address: '198.51.100.53', source: 'nameserver in /etc/resolv.conf' };
    expect(throughLanForwarder([isp], LAN, ['100.64.0.53'])).toEqual([isp]);
  });
});
