/**
 * Errors that cross a layer boundary carry the HTTP status and the stable code they answer with, so every
 * function answers `{ error: { code, message } }` the same way.
 */
export class AppError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        /** Fields the answer's `error` object carries beside code and message (e.g. connectUrl). */
        readonly details?: Record<string, string>,
    ) {
        super(message);
        this.name = 'AppError';
    }
}

export const badRequest = (code: string, message: string) => new AppError(400, code, message);
export const forbidden = (code: string, message: string) => new AppError(403, code, message);
export const notFound = (code: string, message: string) => new AppError(404, code, message);
export const conflict = (code: string, message: string) => new AppError(409, code, message);
export const upstream = (code: string, message: string) => new AppError(502, code, message);

/** The source is already carrying out a decision on the approval (ISC `actionInProcess`), so nothing more can be done on it. */
export const decisionUnderWay = (system: string, action: string) =>
    conflict('decision_in_progress', `${system} is already carrying out a decision on this approval (${action.toLowerCase()}); nothing more can be done on it here.`);

/**
 * A call to another system failed after its retries; `status` is that system's answer, if any.
 * `tooLarge` says the answer was over MAX_RESPONSE_BYTES, so asking for a smaller page can succeed.
 * `detail` is what the system itself said (its error code, text and tracking id), for an operator to quote.
 */
export class UpstreamError extends Error {
    constructor(
        readonly system: string,
        message: string,
        readonly status?: number,
        readonly tooLarge?: boolean,
        readonly detail?: string,
    ) {
        super(message);
        this.name = 'UpstreamError';
    }
}

/** A call the app did not send, because the system asked it to wait (a 429's Retry-After not yet over). */
export class WaitingOutRateLimit extends UpstreamError {
    constructor(system: string) {
        super(system, `${system} is rate limiting the app; try again shortly`, 429);
        this.name = 'WaitingOutRateLimit';
    }
}
