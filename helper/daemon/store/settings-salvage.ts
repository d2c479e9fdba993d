// Reading settings.json so that what cannot be read never lowers protection. Pure.
//
// - A key this version does not know (written by a newer Umbra, before a downgrade) is ignored
//   and kept: it is written back unchanged, so the newer version finds it again.
// - A known key whose value does not check: a protection setting (kill switch, kill switch on
//   boot, lockdown, local network) takes its SAFE value (on; LAN blocked), anything else its
//   default. Rejecting the whole file instead would turn a lockdown off for one bad echo URL.
// - The trusted-networks rules stay on when they do not check: a bad rule is "untrusted".
// - No settings at all (missing, or not JSON / another schemaVersion): the kill switch is on, and
//   lockdown with the boot block are on if the boot block's file is in the state dir (it is
//   written exactly while one of them is on), so "on" survives a lost settings.json.
import { DEFAULT_SETTINGS, Settings } from '../../ipc/schema.js';
import { withoutUndefined } from './files.js';
import { salvageNetworkRules } from './network-rules-salvage.js';

type SafetyKey = 'killSwitch' | 'killSwitchOnBoot' | 'lockdown' | 'allowLan';
/** The value that blocks most, for each setting that decides what may leave the machine. */
const SAFE_VALUES: Readonly<Pick<Settings, SafetyKey>> = { killSwitch: true, killSwitchOnBoot: true, lockdown: true, allowLan: false };

export interface SalvagedSettings {
  settings: Settings;
  /** Keys this version does not know, with their values, to write back as they were. */
  unknown: Record<string, unknown>;
  /** One line per key that was ignored or replaced, for the log (values are never quoted). */
  notes: string[];
}

const shape = Settings.shape as Record<string, (typeof Settings.shape)[keyof typeof Settings.shape]>;

/** Settings from a settings.json object (its schemaVersion already checked and removed). */
export function salvageSettings(raw: Record<string, unknown>): SalvagedSettings {
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  const unknown: Record<string, unknown> = {};
  const notes: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const field = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (!field) {
      unknown[key] = value;
      notes.push(`ignored "${key.slice(0, 40)}" (not a setting this version knows; kept in the file)`);
      continue;
    }
    const parsed = field.safeParse(value);
    if (parsed.success) {
      settings[key] = parsed.data;
    } else if (key === 'networks') {
      // Trusted networks stay on with what can be read, bad rules untrusted (network-rules-salvage.ts).
      const salvaged = salvageNetworkRules(value);
      settings[key] = salvaged.rules;
      notes.push(...salvaged.notes);
    } else if (Object.hasOwn(SAFE_VALUES, key)) {
      settings[key] = SAFE_VALUES[key as SafetyKey];
      notes.push(`"${key}" could not be read; using ${String(SAFE_VALUES[key as SafetyKey])}, the safe value`);
    } else {
      notes.push(`"${key}" could not be read; using its default`);
    }
  }
  return { settings: withoutUndefined(Settings.parse(settings)), unknown, notes };
}

/** Settings when settings.json is missing, or unreadable as a whole (set aside). */
export function settingsWithoutFile(o: { unreadable: boolean; bootBlockSaved: boolean }): Settings {
  if (o.bootBlockSaved) return { ...DEFAULT_SETTINGS, ...SAFE_VALUES };
  // A first start has no settings and no boot block: the defaults. An unreadable file: the kill
  // switch on (it costs nothing until a connection drops), the rest as the missing boot block says.
  return o.unreadable ? { ...DEFAULT_SETTINGS, killSwitch: true } : { ...DEFAULT_SETTINGS };
}
