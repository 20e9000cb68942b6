import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** local.settings.json at the project root (this file runs from dist/dev/). */
export const LOCAL_SETTINGS_FILE = join(__dirname, '..', '..', 'local.settings.json');

/**
 * Fills the settings the environment leaves unset from local.settings.json's `Values`, as `func start`
 * does: the environment wins. `npm start` and `npm run check` both read settings this way, so the check
 * sees exactly what the app will run with.
 */
export function loadLocalSettings(env: NodeJS.ProcessEnv = process.env, file = LOCAL_SETTINGS_FILE): void {
    if (!existsSync(file)) return;
    const values = (JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> }).Values ?? {};
    for (const [name, value] of Object.entries(values)) if (env[name] === undefined) env[name] = value;
}
