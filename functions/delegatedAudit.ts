import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { auditReaderCredentials } from '../shared/callers/auditReaders';
import { toErrorAnswer } from '../shared/api/httpAnswers';
import { jsonLogger } from '../shared/platform/log';
import { parseAuditQuery } from '../shared/api/queryInput';

export async function delegatedAudit(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    const log = jsonLogger(context);
    try {
        const app = getApp();
        const reader = await app.authorizeAuditReader(auditReaderCredentials(request));
        const query = parseAuditQuery(request);
        log.info('audit.read', { ...reader, approvalId: query.approvalId, approverEmail: query.approverEmail });
        return { status: 200, jsonBody: await app.audit.page(query) };
    } catch (error) {
        return toErrorAnswer(error, log);
    }
}

app.http('delegatedAudit', {
    methods: ['GET'],
    // Anonymous to Azure: the function checks its own credentials (shared/callers/auditReaders.ts).
    authLevel: 'anonymous',
    route: 'audit/delegated',
    handler: delegatedAudit,
});
