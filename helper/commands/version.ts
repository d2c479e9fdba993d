// What the helper runs on: the AEAD backend of its data path and its JavaScript runtime. Shown by
// `umbrad --version`, reported in status (`engine`), and checked at start: a helper left with
// only the pure-JS AEAD refuses to run unless told otherwise (see slowAeadRefusal).
import { packageVersion } from '../platform/fs/package-version.js';
import { nativeAddonPath } from '../platform/native.js';
import { engineInfo, systemAead, type AeadChoice } from '../tunnel/aead-choice.js';

/** `umbrad --version`: the version, the runtime and the AEAD; as JSON with `json`. */
export function versionReport(json: boolean, choice: AeadChoice = systemAead()): string {
  const engine = engineInfo(choice);
  const version = packageVersion();
  const addon = nativeAddonPath();
  if (json) return JSON.stringify({ version, engine, aeadDetail: choice.detail, execPath: process.execPath, addon });
  return [`umbrad ${version}`, `runtime: ${engine.runtime} (${process.execPath})`, `aead: ${engine.aead}: ${choice.detail}`, `addon: ${addon}`].join('\n');
}
