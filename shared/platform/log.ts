/**
 * Structured logging. Every entry is an event name plus flat properties; callers pass ids, counts and
 * statuses, never tokens, secrets, emails' message bodies or comments.
 */
export type LogProperties = Record<string, string | number | boolean | undefined>;

export interface Logger {
    info(event: string, properties?: LogProperties): void;
    warn(event: string, properties?: LogProperties): void;
    error(event: string, properties?: LogProperties): void;
}

interface LevelledSink {
    info(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
}

/** Writes one JSON object per line to a sink with info/warn/error (an InvocationContext or the console). */
export function jsonLogger(sink: LevelledSink, base: LogProperties = {}): Logger {
    const write = (level: 'info' | 'warn' | 'error') => (event: string, properties: LogProperties = {}) =>
        sink[level](JSON.stringify({ event, ...base, ...properties }));
    return { info: write('info'), warn: write('warn'), error: write('error') };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function errorMessage(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
