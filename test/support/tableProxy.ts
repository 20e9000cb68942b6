import { createServer, IncomingMessage, request as forward, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface TableFault {
    /** Which requests fail: method and decoded path of the table request (e.g. "PUT /devstoreaccount1/t1(PartitionKey='iiq',RowKey='x')"). */
    matches: (request: { method: string; path: string }) => boolean;
    /** Answer with this error status; without one, pass the request on and trickle Azurite's answer back one byte every `dripMs`. */
    status?: number;
    dripMs?: number;
    /** Only requests whose body this accepts (e.g. a transaction of replaces, not of inserts); the body is read first. */
    bodyMatches?: (body: string) => boolean;
    /** Pass the request on to Azurite, which acts on it, then drop the connection before any byte of its answer. */
    loseAnswer?: boolean;
    /** How many requests it fails before it stops; every matching one without it. */
    times?: number;
}

/**
 * A pass-through proxy in front of the run's Azurite, so a spec can make some table requests fail the way
 * Azure Storage does (an error answer with its OData body) while every other request reaches real storage.
 */
export class TableProxy {
    private server?: Server;
    private faults: TableFault[] = [];
    readonly failed: string[] = [];
    /** Bytes of the table's answers passed back so far, for specs that weigh what a request reads. */
    answeredBytes = 0;
    connectionString = '';

    constructor(private readonly target = process.env.TEST_STORAGE_CONNECTION_STRING ?? '') {}

    async start(): Promise<string> {
        const endpoint = /TableEndpoint=(http:\/\/127\.0\.0\.1:(\d+)\/[^;]+);/.exec(this.target);
        if (!endpoint) throw new Error('TEST_STORAGE_CONNECTION_STRING has no loopback TableEndpoint');
        const targetPort = Number(endpoint[2]);
        this.server = createServer(async (incoming, outgoing) => {
            const path = decodeURIComponent(incoming.url ?? '/');
            const candidates = this.faults.filter((candidate) => candidate.matches({ method: incoming.method ?? 'GET', path }) && candidate.times !== 0);
            let body: Buffer | undefined;
            if (candidates.some((candidate) => candidate.bodyMatches)) {
                const chunks: Buffer[] = [];
                for await (const chunk of incoming) chunks.push(chunk as Buffer);
                body = Buffer.concat(chunks);
            }
            const fault = candidates.find((candidate) => !candidate.bodyMatches || candidate.bodyMatches(body!.toString('utf8')));
            if (fault?.times !== undefined) fault.times--;
            if (fault?.loseAnswer) {
                this.failed.push(`${incoming.method} ${path}`);
                this.forwardThenDrop(incoming, body, targetPort, outgoing);
                return;
            }
            if (body !== undefined && !fault?.status) {
                this.pipe(incoming, targetPort, outgoing, fault?.dripMs, body);
                if (fault?.dripMs) this.failed.push(`${incoming.method} ${path}`);
                return;
            }
            if (fault?.dripMs) {
                this.failed.push(`${incoming.method} ${path}`);
                this.pipe(incoming, targetPort, outgoing, fault.dripMs);
                return;
            }
            if (fault?.status) {
                this.failed.push(`${incoming.method} ${path}`);
                incoming.resume();
                outgoing.writeHead(fault.status, { 'Content-Type': 'application/json;odata=minimalmetadata' });
                outgoing.end(JSON.stringify({ 'odata.error': { code: fault.status === 403 ? 'AuthorizationFailure' : 'InternalError', message: { lang: 'en-US', value: 'Injected fault' } } }));
                return;
            }
            this.pipe(incoming, targetPort, outgoing);
        });
        await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
        const { port } = this.server.address() as AddressInfo;
        this.connectionString = this.target.replace(`127.0.0.1:${targetPort}`, `127.0.0.1:${port}`);
        return this.connectionString;
    }

    fail(fault: TableFault): void {
        this.faults.push(fault);
    }

    heal(): void {
        this.faults = [];
    }

    async stop(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        if (!server) return;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    private forwardThenDrop(incoming: IncomingMessage, body: Buffer | undefined, port: number, outgoing: import('node:http').ServerResponse): void {
        const upstream = forward({ host: '127.0.0.1', port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: `127.0.0.1:${port}` } }, (answer) => {
            answer.resume();
            answer.once('end', () => outgoing.socket?.destroy());
        });
        upstream.on('error', () => outgoing.destroy());
        if (body === undefined) incoming.pipe(upstream);
        else upstream.end(body);
    }

    private pipe(incoming: IncomingMessage, port: number, outgoing: import('node:http').ServerResponse, dripMs?: number, body?: Buffer): void {
        const upstream = forward({ host: '127.0.0.1', port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: `127.0.0.1:${port}` } }, (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.on('data', (chunk: Buffer) => (this.answeredBytes += chunk.length));
            if (!dripMs) {
                answer.pipe(outgoing);
                return;
            }
            const chunks: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => chunks.push(chunk));
            answer.on('end', () => {
                const body = Buffer.concat(chunks);
                let sent = 0;
                const timer = setInterval(() => {
                    if (sent >= body.length) {
                        clearInterval(timer);
                        outgoing.end();
                        return;
                    }
                    outgoing.write(body.subarray(sent, ++sent));
                }, dripMs);
                outgoing.once('close', () => clearInterval(timer));
            });
        });
        upstream.on('error', () => outgoing.destroy());
        if (body === undefined) incoming.pipe(upstream);
        else upstream.end(body);
    }
}
