import { z } from 'zod';
import { actionBody, actionOutcome, actionResult, auditPage, connectionBody, connectionStatus, connectLink, deepHealthBody, errorBody, healthBody, pendingList, retryRefusedBody, retryRefusedResult } from '../contract';
import { IDEMPOTENCY_HEADER, REPLAYED_HEADER } from './idempotency';

/**
 * The OpenAPI 3.1 document of every HTTP function, generated from the zod schemas the code parses and
 * answers with (shared/contract.ts), so it cannot drift from the code.
 */

const schema = (type: z.ZodType) => {
    const { $schema: _, ...rest } = z.toJSONSchema(type, { io: 'output' }) as Record<string, unknown>;
    return rest;
};

const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [String(status), { description: 'Error', ...json('Error') }]));

/** The function key, header or query, and with caller tokens on, the bearer token as well (both are required). */
const callerSecurity = (callerTokens: boolean) =>
    callerTokens ? [{ functionKey: [], callerToken: [] }, { functionKeyQuery: [], callerToken: [] }] : [{ functionKey: [] }, { functionKeyQuery: [] }];

/** Moveworks Agent Studio sends `{{meta_info.action_instance_id}}`: a retried click replays the first answer. */
const idempotencyKey = {
    name: IDEMPOTENCY_HEADER,
    in: 'header',
    required: false,
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
    description:
        `Optional, 1 to 255 visible ASCII characters. The same key with the same route, approval and approver within 24 hours answers the first answer again (status and body, with ${REPLAYED_HEADER}: true) without acting again; with anything else, 422 idempotency_key_reused; while the first request is still running, 409 idempotency_key_in_progress.`,
};

/** The 200 of an action: done, or with ACTION_REFUSALS_AS=body a refusal that is the approver's business. */
const actionAnswer = {
    description: "Done (ActionResult); with ACTION_REFUSALS_AS=body, also a refusal that is the approver's business, as { outcome, message } (ActionOutcome)",
    content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/ActionResult' }, { $ref: '#/components/schemas/ActionOutcome' }] } } },
};

const actionPath = (action: string, summary: string, body: string, callerTokens: boolean) => ({
    post: {
        operationId: `${action}Approval`,
        summary,
        security: callerSecurity(callerTokens),
        parameters: [
            { name: 'approvalId', in: 'path', required: true, schema: { type: 'string' }, description: 'The approval_id slot of the notification.' },
            { name: 'user_email', in: 'query', required: false, schema: { type: 'string' }, description: "The guide's form of approverEmail." },
            ...(action === 'reject' ? [{ name: 'reason', in: 'query', required: false, schema: { type: 'string' }, description: "The guide's form of comment." }] : []),
            idempotencyKey,
        ],
        requestBody: { required: false, description: body, ...json('ActionRequest') },
        responses: { '200': actionAnswer, ...errors(400, 401, 403, 404, 409, 415, 422, 501, 502, 503) },
    },
});

/**
 * `callerTokens`: CALLER_JWT_ISSUER is set, so the action and list routes also take a signed bearer token;
 * `emailFromToken`: CALLER_USER_EMAIL_CLAIM is set too, so the token names the person.
 */
const auditParameters = [
    { name: 'approvalId', in: 'query', required: false, schema: { type: 'string' } },
    { name: 'approverEmail', in: 'query', required: false, schema: { type: 'string' } },
    { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
    { name: 'pageToken', in: 'query', required: false, schema: { type: 'string' } },
];

export function openApiDocument(options: { callerTokens: boolean; emailFromToken: boolean } = { callerTokens: false, emailFromToken: false }) {
    const { callerTokens, emailFromToken } = options;
    return {
        openapi: '3.1.0',
        info: { title: 'SailPoint approvals in Moveworks', version: '1.0.0', description: 'Approve, reject, comment on and reassign SailPoint approvals from Moveworks.' },
        servers: [{ url: '/api' }],
        paths: {
            '/approvals/{approvalId}/approve': actionPath('approve', 'Approve as the approver', '{ approverEmail, comment? }', callerTokens),
            '/approvals/{approvalId}/reject': actionPath('reject', 'Reject as the approver', '{ approverEmail, comment } (comment required when REQUIRE_REJECT_REASON=true)', callerTokens),
            '/approvals/{approvalId}/comment': actionPath('comment', 'Comment without deciding (Identity Security Cloud)', '{ approverEmail, comment }', callerTokens),
            '/approvals/{approvalId}/reassign': actionPath('reassign', 'Reassign to someone else (Identity Security Cloud)', '{ approverEmail, reassignToEmail, comment? }', callerTokens),
            '/approvals': {
                get: {
                    operationId: 'listApprovals',
                    summary: "The person's pending approvals, newest first",
                    security: callerSecurity(callerTokens),
                    parameters: [
                        { name: 'approverEmail', in: 'query', required: !emailFromToken, schema: { type: 'string' }, description: 'Optional when the caller token names the person (CALLER_USER_EMAIL_CLAIM).' },
                        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
                        { name: 'offset', in: 'query', required: false, schema: { type: 'integer', minimum: 0, default: 0 } },
                    ],
                    responses: { '200': { description: 'Pending approvals', ...json('PendingList') }, ...errors(400, 401, ...(callerTokens ? [403] : []), 503) },
                },
            },
            '/audit': {
                get: {
                    operationId: 'audit',
                    summary: 'Every action attempt, newest first (admin key)',
                    security: [{ functionKey: [] }],
                    parameters: auditParameters,
                    responses: { '200': { description: 'Audit entries', ...json('AuditPage') }, ...errors(400, 401, 503) },
                },
            },
            '/audit/delegated': {
                get: {
                    operationId: 'delegatedAudit',
                    summary: 'The same entries, for the holder of AUDIT_READER_KEY or a caller token with CALLER_ADMIN_ROLE; no function key',
                    security: [{ auditReaderKey: [] }, ...(callerTokens ? [{ callerToken: [] }] : [])],
                    parameters: auditParameters,
                    responses: { '200': { description: 'Audit entries', ...json('AuditPage') }, ...errors(400, 401, 403, 404, 503) },
                },
            },
            '/refused/retry': {
                post: {
                    operationId: 'retryRefused',
                    summary: 'Send again to recipients Moveworks refused (admin key), e.g. once they were added to Moveworks',
                    security: [{ functionKey: [] }],
                    requestBody: { required: false, description: '{ approvalId?, email? }: narrow to one approval or one person; neither means every refused recipient', ...json('RetryRefusedRequest') },
                    responses: { '200': { description: 'Cleared; the next poll sends', ...json('RetryRefusedResult') }, ...errors(400, 401, 503) },
                },
            },
            '/health': {
                get: {
                    operationId: 'health',
                    summary: 'Which sources are configured (anonymous); with deep=true, every dependency tried, for the audit reader key or a caller token with CALLER_ADMIN_ROLE',
                    // Anonymous without deep; the deep check takes the credentials of /audit/delegated.
                    security: [{}, { auditReaderKey: [] }, ...(callerTokens ? [{ callerToken: [] }] : [])],
                    parameters: [
                        {
                            name: 'deep',
                            in: 'query',
                            required: false,
                            schema: { type: 'string', default: 'false' },
                            description: 'true or 1: try each configured dependency read-only (tokens, IdentityIQ plugin, ISC, the tables, Moveworks) and answer DeepHealth, 200 even when a check failed (status "failed"), reused for 30 s. Any other value: the plain answer.',
                        },
                    ],
                    responses: {
                        '200': { description: 'Health, or with deep=true the checks', content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Health' }, { $ref: '#/components/schemas/DeepHealth' }] } } } },
                        ...errors(400, 401, 403, 404, 500),
                    },
                },
            },
            '/connections/isc/link': {
                post: {
                    operationId: 'linkIscConnection',
                    summary: 'The link an approver opens once to connect their SailPoint account (ISC_DECIDE_AS=user)',
                    security: callerSecurity(callerTokens),
                    parameters: [idempotencyKey],
                    requestBody: { required: !emailFromToken, description: '{ approverEmail }', ...json('ConnectionRequest') },
                    responses: { '200': { description: 'The connect link', ...json('ConnectLink') }, ...errors(400, 401, 403, 404, 409, 415, 422, 503) },
                },
            },
            '/connections/isc': {
                get: {
                    operationId: 'iscConnectionStatus',
                    summary: "Whether the approver's SailPoint account is connected (ISC_DECIDE_AS=user)",
                    security: callerSecurity(callerTokens),
                    parameters: [{ name: 'approverEmail', in: 'query', required: !emailFromToken, schema: { type: 'string' } }],
                    responses: { '200': { description: 'The connection', ...json('ConnectionStatus') }, ...errors(400, 401, 403, 404, 503) },
                },
            },
            '/connections/isc/disconnect': {
                post: {
                    operationId: 'disconnectIscConnection',
                    summary: "Deletes the approver's stored SailPoint tokens (ISC_DECIDE_AS=user)",
                    security: callerSecurity(callerTokens),
                    parameters: [idempotencyKey],
                    requestBody: { required: !emailFromToken, description: '{ approverEmail }', ...json('ConnectionRequest') },
                    responses: { '200': { description: 'Disconnected', content: { 'application/json': { schema: { type: 'object', properties: { disconnected: { type: 'boolean' } }, required: ['disconnected'] } } } }, ...errors(400, 401, 403, 404, 409, 415, 422, 503) },
                },
            },
            '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
        },
        components: {
            securitySchemes: {
                functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
                functionKeyQuery: { type: 'apiKey', in: 'query', name: 'code' },
                auditReaderKey: { type: 'apiKey', in: 'header', name: 'x-audit-key', description: 'AUDIT_READER_KEY' },
                ...(callerTokens ? { callerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A token from CALLER_JWT_ISSUER for CALLER_JWT_AUDIENCE (RS256 or ES256).' } } : {}),
            },
            schemas: {
                ActionRequest: schema(actionBody),
                ActionResult: schema(actionResult),
                ActionOutcome: schema(actionOutcome),
                PendingList: schema(pendingList),
                AuditPage: schema(auditPage),
                RetryRefusedRequest: schema(retryRefusedBody),
                RetryRefusedResult: schema(retryRefusedResult),
                Health: schema(healthBody),
                DeepHealth: schema(deepHealthBody),
                Error: schema(errorBody),
                ConnectionRequest: schema(connectionBody),
                ConnectLink: schema(connectLink),
                ConnectionStatus: schema(connectionStatus),
            },
        },
    };
}
