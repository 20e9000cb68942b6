import { CheckResult } from '../shared/contract';
import { normalizeEmail } from '../shared/platform/email';
import { checkSettings, runPreflight } from '../shared/ops/preflight';
import { loadLocalSettings } from './localSettings';

/**
 * `npm run check [-- --send-test you@example.com]`: the preflight. Reads the settings as `npm start`
 * does (environment, then local.settings.json), reports every bad one, then tries each configured
 * dependency (shared/ops/preflight.ts) and prints one line per check and a summary. Exits 1 when a check
 * failed, 2 on a usage error, 0 otherwise.
 */

const USAGE = 'usage: npm run check [-- --send-test you@example.com]';

export function formatCheck(check: CheckResult): string {
    return check.ok ? `ok   ${check.name}` : `FAIL ${check.name}: ${check.cause} — ${check.fix}`;
}

/** `--send-test <email>` or `--send-test=<email>`: whom to send the one test message; an error for anything else. */
function parseArguments(argv: string[]): { sendTestTo?: string } | { error: string } {
    let sendTestTo: string | undefined;
    for (let index = 0; index < argv.length; index++) {
        const [flag, inline] = argv[index].split(/=(.*)/s);
        if (flag !== '--send-test' || sendTestTo !== undefined) return { error: `unknown or repeated argument ${argv[index]}` };
        const given = inline ?? argv[++index];
        const email = normalizeEmail(given ?? '');
        if (!email) return { error: '--send-test takes the email address of one Moveworks user' };
        sendTestTo = email;
    }
    return { sendTestTo };
}

/** The whole check against these settings and arguments, each line to `out`; answers the exit status. */
export async function runCheck(env: NodeJS.ProcessEnv, argv: string[], out: (line: string) => void): Promise<number> {
    const parsed = parseArguments(argv);
    if ('error' in parsed) {
        out(parsed.error);
        out(USAGE);
        return 2;
    }
    const settings = checkSettings(env);
    const checks = [...settings.checks, ...(settings.config ? (await runPreflight(settings.config, { sendTestTo: parsed.sendTestTo })).checks : [])];
    for (const check of checks) out(formatCheck(check));
    const failed = checks.filter((check) => !check.ok).length;
    out(failed === 0 ? `${checks.length} checks, all ok` : `${checks.length} checks, ${failed} failed${settings.config ? '' : ' (dependencies not tried until the settings are valid)'}`);
    return failed === 0 ? 0 : 1;
}

if (require.main === module) {
    loadLocalSettings(process.env);
    runCheck(process.env, process.argv.slice(2), (line) => console.log(line)).then(
        // Exit at once: a call that ignored its deadline must not hold the process after the answer.
        (status) => process.exit(status),
        (error: unknown) => {
            console.error(error instanceof Error ? error.stack : error);
            process.exit(1);
        },
    );
}
