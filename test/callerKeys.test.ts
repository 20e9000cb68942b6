import { CallerVerifier } from '../shared/callers/callerAuth';
import { loadConfig } from '../shared/config';
import { AUDIENCE, callerApp } from './support/callerApp';
import { capturingLogger, Harness, manualClock, startHarness } from './support/harness';

/** How the app picks the issuer's key for a caller token, and when it fetches the key set again. */

describe('a caller token without kid', () => {
    const app = callerApp();
    /** The issuer's header names no key: the token carries only its alg. */
    const withoutKid = { header: { kid: undefined } };

    it('is accepted when signed by the second of two RS256 keys the issuer publishes', async () => {
        const id = await app.begin();
        await app.token();
        await app.h.simulator.callers.rotate('RS256');

        const answer = await app.approve(id, await app.bearer({}, withoutKid));

        expect(answer.status).toBe(200);
    });

    it('is refused 401 when signed by a key the issuer does not publish, beside two RS256 keys that it does', async () => {
        const id = await app.begin();
        await app.token();
        await app.h.simulator.callers.rotate('RS256');

        const answer = await app.approve(id, await app.bearer({}, { ...withoutKid, unpublishedKey: true }));

        expect(answer).toMatchObject({ status: 401, code: 'invalid_token' });
        expect(app.h.simulator.decisions).toEqual([]);
    });
});

describe('the key set, ten minutes after it was fetched', () => {
    const TEN_MINUTES = 10 * 60_000;
    let h: Harness;
    afterEach(() => h.stop());

    /** A verifier as the app makes one, on a clock the spec moves, that has already fetched the key set once. */
    async function verifierWithKeys() {
        h = await startHarness();
        const clock = manualClock();
        const log = capturingLogger();
        const { caller } = loadConfig({ ...h.settings, CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE });
        const verifier = new CallerVerifier(caller!, 3_000, clock.now, log);
        const bearer = async () => `Bearer ${await h.simulator.callers.mint({ sub: 'moveworks-connector', aud: AUDIENCE })}`;
        await verifier.verify(await bearer());
        return { verifier, clock, log, bearer, fetches: () => h.simulator.calls['caller.keys'] };
    }

    it('still verifies tokens at once while a slow issuer is asked for it again, once, in the background', async () => {
        const { verifier, clock, bearer, fetches } = await verifierWithKeys();
        const tokens = await Promise.all(Array.from({ length: 5 }, bearer));
        h.simulator.failNext('caller.keys', { delayMs: 2_000 });
        clock.advance(TEN_MINUTES + 1);

        const started = Date.now();
        const callers = await Promise.all(tokens.map((token) => verifier.verify(token)));

        expect(Date.now() - started).toBeLessThan(1_000);
        expect(callers).toHaveLength(5);
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        expect(fetches()).toBe(2);
    });

    it('logs a background refresh that fails, and keeps verifying with the keys it has', async () => {
        const { verifier, clock, log, bearer } = await verifierWithKeys();
        h.simulator.callers.down = true;
        clock.advance(TEN_MINUTES + 1);

        await expect(verifier.verify(await bearer())).resolves.toMatchObject({ subject: 'moveworks-connector' });

        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(log.entries).toContainEqual(expect.objectContaining({ level: 'warn', event: 'caller.keys_refresh_failed' }));
        await expect(verifier.verify(await bearer())).resolves.toMatchObject({ subject: 'moveworks-connector' });
    });
});
