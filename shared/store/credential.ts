import type { TokenCredential } from '@azure/identity';
import { Config } from '../config';

type EndpointStorage = Extract<Config['storage'], { endpoint: string }>;

/**
 * In Azure, the managed identity alone: DefaultAzureCredential would try environment and developer
 * credentials first, so a stray AZURE_CLIENT_SECRET or a slow probe could decide who the app is. Locally,
 * DefaultAzureCredential finds `az login` and the like. @azure/identity is loaded only here: it adds about
 * 100 ms to every cold start that does not use it.
 */
export function toStorageCredential(storage: EndpointStorage): TokenCredential {
    const identity = require('@azure/identity') as typeof import('@azure/identity');
    if (storage.credential === 'developer') return new identity.DefaultAzureCredential();
    return storage.managedIdentityClientId ? new identity.ManagedIdentityCredential({ clientId: storage.managedIdentityClientId }) : new identity.ManagedIdentityCredential();
}
