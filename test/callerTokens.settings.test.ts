import { ConfigError, loadConfig } from '../shared/config';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

const valid = {
    IIQ_BASE_URL: 'https://iiq.example.com:8443/',
    IIQ_CLIENT_ID: 'client',
    IIQ_CLIENT_SECRET: 'secret',
    MOVEWORKS_EVENT_ID: '3f1d2c4b-0000-4000-8000-000000000001',
    MOVEWORKS_API_KEY: 'key',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
};
const caller = { CALLER_JWT_ISSUER: 'https://login.microsoftonline.com/tenant/v2.0', CALLER_JWT_AUDIENCE: 'api://approvals' };

describe('caller tokens: caller settings that cannot be safe', () => {
    // Signing keys over plain HTTP can be swapped by anyone on the path, who can then mint any token.
    it.each([
        ['CALLER_JWKS_URL over http to a remote host', { ...caller, CALLER_JWKS_URL: 'http://keys.example.com/jwks.json' }],
        ['an http issuer, whose discovery and keys are fetched over http', { CALLER_JWT_ISSUER: 'http://issuer.example.com', CALLER_JWT_AUDIENCE: 'api://approvals' }],
    ])('stops start-up for %s', (_label, settings) => {
        expect(() => loadConfig({ ...valid, ...settings })).toThrow(ConfigError);
    });

    // A client list that names no client would silently allow every client.
    it('stops start-up for a CALLER_ALLOWED_CLIENT_IDS that names no client', () => {
        expect(() => loadConfig({ ...valid, ...caller, CALLER_ALLOWED_CLIENT_IDS: ' , ' })).toThrow(ConfigError);
    });
});

describe('caller tokens: the OpenAPI document with caller tokens on but no email claim', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });

    it('marks approverEmail optional on GET /api/approvals only when the app treats it so', async () => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'k3y', CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: 'api://a' });
        const token = await h.simulator.callers.mint({ sub: 'mw', aud: 'api://a' });
        const response = await fetch(`${fn.url}/api/approvals`, { headers: { 'x-functions-key': 'k3y', authorization: `Bearer ${token}` } });
        const refusedWithoutIt = response.status === 400;
        const document = (await (await fetch(`${fn.url}/api/openapi.json`)).json()) as any;
        const declared = document.paths['/approvals'].get.parameters.find((p: { name: string }) => p.name === 'approverEmail');
        expect({ refusedWithoutIt, required: declared.required }).toEqual({ refusedWithoutIt: true, required: true });
    });
});
