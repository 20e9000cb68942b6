import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { auditReaderCredentials } from '../shared/callers/auditReaders';
import { toErrorAnswer } from '../shared/api/httpAnswers';
import { jsonLogger } from '../shared/platform/log';
import { parseHealthQuery } from '../shared/api/queryInput';

/**
 * Plain: anonymous, which sources are configured. `?deep=true`: every dependency tried (shared/ops/preflight.ts),
 * for the same credentials as `audit/delegated`. A failed check still answers 200 (status `failed`): the
 * app answered, and the body names what is wrong; 503 would have load balancers and availability probes
 * take a wrong Moveworks key for an app that is down.
 */
export async function health(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    const log = jsonLogger(context);
    try {
        const app = getApp();
        if (!parseHealthQuery(request).deep) return { status: 200, jsonBody: app.health() };
        const reader = await app.authorizeAuditReader(auditReaderCredentials(request));
        const report = await app.preflight();
        log.info('health.deep', { ...reader, status: report.status, failed: report.checks.filter((check) => !check.ok).length });
        return { status: 200, jsonBody: report };
    } catch (error) {
        return toErrorAnswer(error, log);
    }
}

app.http('health', {
    methods: ['GET'],
    // Anonymous to Azure: the deep check verifies its own credentials (shared/callers/auditReaders.ts).
    authLevel: 'anonymous',
    route: 'health',
    handler: health,
});
