// What the app's window and its main process (or the browser-mode host) say about split
// tunnelling's apps: installed desktop apps by their desktop file id, the user's list of apps to
// run outside the VPN, and a launch. Not helper methods: main reads the .desktop files as the user
// and starts the program itself, asking the helper only to move it (excludeProcess). The page
// sends ids, never a command line, so it can start nothing that is not an app on the list.
import { z } from 'zod';

/** A desktop file id (org.gnome.Calculator.desktop, kde4-kate.desktop): a file name, no path. */
export const DesktopAppId = z.string().max(255).regex(/^[A-Za-z0-9_][A-Za-z0-9_.+-]*\.desktop$/, 'a desktop file id such as org.gnome.Calculator.desktop');

/** An installed app as the page shows it. */
const DesktopAppInfo = z.strictObject({
  id: DesktopAppId,
  name: z.string().max(200),
  /** data:image/png or data:image/svg+xml; absent when the app has none Umbra can show. */
  iconUrl: z.string().max(100_000).optional(),
});
export type DesktopAppInfo = z.infer<typeof DesktopAppInfo>;

/** One app of the user's list: `installed` false when its .desktop file is gone (it cannot be launched). */
const ExcludedApp = DesktopAppInfo.extend({ installed: z.boolean() });
export type ExcludedApp = z.infer<typeof ExcludedApp>;

/** Most apps on the list; more is a page gone wrong, not a person's choice. */
export const MAX_EXCLUDED_APPS = 200;

const AppIdParams = z.strictObject({ id: DesktopAppId });
const ExcludedList = z.array(ExcludedApp).max(MAX_EXCLUDED_APPS);

/** The split-tunnel app methods, params checked by main before anything is read or started. */
export const splitAppMethods = {
  listInstalledApps: { params: z.strictObject({}), result: z.array(DesktopAppInfo) },
  listExcludedApps: { params: z.strictObject({}), result: ExcludedList },
  addExcludedApp: { params: AppIdParams, result: ExcludedList },
  removeExcludedApp: { params: AppIdParams, result: ExcludedList },
  /** Starts the app outside the VPN; resolves once the helper has moved it, with its pid. */
  launchExcludedApp: { params: AppIdParams, result: z.strictObject({ pid: z.number().int().positive() }) },
} as const;
export type SplitAppMethodName = keyof typeof splitAppMethods;
export type SplitAppParams<M extends SplitAppMethodName> = z.infer<(typeof splitAppMethods)[M]['params']>;
export type SplitAppResult<M extends SplitAppMethodName> = z.infer<(typeof splitAppMethods)[M]['result']>;
