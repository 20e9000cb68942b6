import { InvocationContext } from '@azure/functions';
import { App, getApp } from '../app';
import { ConfigError } from '../config';
import { jsonLogger } from '../platform/log';

/**
 * The app for a timer's invocation. A setting it cannot use (on a first deployment, typically a Key Vault
 * reference App Service could not resolve while the identity's role assignment was still on its way) is
 * logged as `config.invalid`, as the HTTP routes log it, and the invocation fails; the next tick tries again.
 */
export function appFor(context: InvocationContext): App {
    try {
        return getApp();
    } catch (error) {
        if (error instanceof ConfigError) jsonLogger(context).error('config.invalid', { problems: error.problems.join('; ') });
        throw error;
    }
}
