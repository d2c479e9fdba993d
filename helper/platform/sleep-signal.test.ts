import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseMonitor, DbusMonitorParser, findTool, monitorFor, parseBusctlLine, runMonitor, sleepMatchRule, type SleepEdge } from './sleep-signal.js';

// Real output, captured from busctl 252 and dbus-monitor 1.14 on a bus of their own while
// `gdbus emit` sent PrepareForSleep true, then false (and PrepareForShutdown, which the match
// keeps out; dbus-monitor shows its own NameAcquired/NameLost whatever the match).
const BUSCTL = [
  '{"type":"signal","endian":"l","flags":1,"version":1,"cookie":1,"timestamp-realtime":1796318778269649,"sender":":not.active.yet","path":"/org/freedesktop/login1","interface":"org.freedesktop.login1.Manager","member":"PrepareForSleep","payload":{"type":"b","data":[true]}}',
  '{"type":"signal","endian":"l","flags":1,"version":1,"cookie":1,"timestamp-realtime":1796318778269704,"sender":":not.active.yet","path":"/org/freedesktop/login1","interface":"org.freedesktop.login1.Manager","member":"PrepareForSleep","payload":{"type":"b","data":[false]}}',
];
const DBUS_MONITOR = `signal time=1796318777.410092 sender=org.freedesktop.DBus -> destination=:1.0 serial=2 path=/org/freedesktop/DBus; interface=org.freedesktop.DBus; member=NameAcquired
   string ":1.0"
signal time=1796318777.410122 sender=org.freedesktop.DBus -> destination=:1.0 serial=4 path=/org/freedesktop/DBus; interface=org.freedesktop.DBus; member=NameLost
   string ":1.0"
signal time=1796318778.265813 sender=:not.active.yet -> destination=(null destination) serial=1 path=/org/freedesktop/login1; interface=org.freedesktop.login1.Manager; member=PrepareForSleep
   boolean true
signal time=1796318778.269540 sender=:not.active.yet -> destination=(null destination) serial=1 path=/org/freedesktop/login1; interface=org.freedesktop.login1.Manager; member=PrepareForSleep
   boolean false
`;

describe('parsing the monitors\' output', () => {
  it('busctl --json=short: true is going to sleep, false is back', () => {
    expect(BUSCTL.map(parseBusctlLine)).toEqual(['sleeping', 'resumed']);
  });

  it('busctl: other messages, its banner and junk are nothing', () => {
    const shutdown = BUSCTL[1]!.replace('PrepareForSleep', 'PrepareForShutdown');
    const noBool = BUSCTL[1]!.replace('"type":"b","data":[false]', '"type":"s","data":["false"]');
    for (const l of ['Monitoring bus message stream.', '', '{', '{"type":"method_call"}', shutdown, noBool, 'null']) expect(parseBusctlLine(l), l).toBeUndefined();
  });

  it('dbus-monitor: the boolean on the line after logind\'s header', () => {
    const p = new DbusMonitorParser();
    expect(DBUS_MONITOR.split('\n').map((l) => p.line(l)).filter((e) => e !== undefined)).toEqual(['sleeping', 'resumed']);
  });

  it('dbus-monitor: a boolean under another signal is nothing', () => {
    const p = new DbusMonitorParser();
    const other = 'signal time=1.0 sender=:1.9 -> destination=(null destination) serial=3 path=/x; interface=org.example.Thing; member=PrepareForSleep\n   boolean false\n';
    const lines = [...other.split('\n'), ...'signal time=1.1 sender=:1.9 -> destination=(null destination) serial=4 path=/org/freedesktop/login1; interface=org.freedesktop.login1.Manager; member=PrepareForShutdown\n   boolean false'.split('\n')];
    expect(lines.map((l) => p.line(l)).filter((e) => e !== undefined)).toEqual([]);
  });
});

describe('choosing a monitor', () => {
  const probe = { systemBus: true, logind: true, busctl: '/usr/bin/busctl', dbusMonitor: '/usr/bin/dbus-monitor' };

  it('busctl first, on the system bus, matching logind\'s signal only', () => {
    const m = chooseMonitor(probe);
    expect('argv' in m && m.argv).toEqual(['/usr/bin/busctl', '--json=short', 'monitor', '--system', '--match', sleepMatchRule()]);
    expect(sleepMatchRule()).toBe("type='signal',sender='org.freedesktop.login1',path='/org/freedesktop/login1',interface='org.freedesktop.login1.Manager',member='PrepareForSleep'");
  });

  it('dbus-monitor without busctl', () => {
    const m = chooseMonitor({ ...probe, busctl: undefined });
    expect('argv' in m && m.argv).toEqual(['/usr/bin/dbus-monitor', '--system', sleepMatchRule()]);
  });

  it('says why nothing runs', () => {
    expect(chooseMonitor({ ...probe, systemBus: false })).toEqual({ absent: expect.stringContaining('no system bus') });
    expect(chooseMonitor({ ...probe, logind: false })).toEqual({ absent: expect.stringContaining('logind') });
    expect(chooseMonitor({ ...probe, busctl: undefined, dbusMonitor: undefined })).toEqual({ absent: expect.stringContaining('neither') });
  });

  it('finds a tool in PATH, absolute directories only, then the usual places', () => {
    const have = new Set(['/opt/x/busctl', '/usr/bin/dbus-monitor']);
    expect(findTool('busctl', 'bin:/opt/x:/usr/bin', (f) => have.has(f))).toBe('/opt/x/busctl');
    expect(findTool('dbus-monitor', undefined, (f) => have.has(f))).toBe('/usr/bin/dbus-monitor');
    expect(findTool('busctl', './', () => false)).toBeUndefined();
  });
});

// The edge itself, against a bus of its own (no system bus, no root needed): the monitor runs,
// a resume sent on the bus calls back, and stop() ends the child.
const executable = (name: string) => findTool(name, process.env.PATH, (f) => {
  try {
    accessSync(f, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
const tools = { daemon: executable('dbus-daemon'), send: executable('dbus-send'), busctl: executable('busctl'), monitor: executable('dbus-monitor') };
const noBus = !tools.daemon || !tools.send ? 'dbus-daemon or dbus-send is not installed' : '';

describe.skipIf(noBus !== '')(`on a D-Bus of its own${noBus ? ` — skipped: ${noBus}` : ''}`, () => {
  let dir: string;
  let bus: ChildProcess;
  let address: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'umbra-dbus-'));
    address = `unix:path=${join(dir, 'bus')}`;
    bus = spawn(tools.daemon!, ['--session', '--nofork', `--address=${address}`, '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve, reject) => {
      bus.stdout!.once('data', () => resolve());
      bus.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code})`)));
    });
  });
  afterAll(() => {
    bus?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (asleep: boolean) => execFileSync(tools.send!, [`--address=${address}`, '--type=signal', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager.PrepareForSleep', `boolean:${asleep}`]);
  const pidAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  for (const name of ['busctl', 'dbus-monitor'] as const) {
    const path = name === 'busctl' ? tools.busctl : tools.monitor;
    it.skipIf(!path)(`${name}: a resume calls back; stop() kills the monitor${path ? '' : ` — skipped: no ${name}`}`, async () => {
      const edges: SleepEdge[] = [];
      const logs: string[] = [];
      // dbus-send is no name owner: the test's match leaves the sender out.
      const w = runMonitor(monitorFor({ name, path: path! }, { address }), { onResume: () => edges.push('resumed'), onSleep: () => edges.push('sleeping'), log: (l) => logs.push(l) });
      const pid = w.pid!;
      expect(pid).toBeGreaterThan(0);
      // The monitor subscribes after it starts: send until the first edge arrives.
      for (let i = 0; i < 40 && edges.length === 0; i++) {
        send(true);
        await new Promise((r) => setTimeout(r, 50));
      }
      send(false);
      for (let i = 0; i < 40 && !edges.includes('resumed'); i++) await new Promise((r) => setTimeout(r, 25));
      expect(edges[0]).toBe('sleeping');
      expect(edges.at(-1)).toBe('resumed');
      w.stop();
      for (let i = 0; i < 40 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
      expect(pidAlive(pid), 'the monitor is gone').toBe(false);
      expect(logs).toEqual([]); // stopped on purpose: nothing to say
    });
  }
});
