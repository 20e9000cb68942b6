import { createServer, IncomingMessage, request as forward, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface TableFault {
    /** Which requests fail: method and decoded path of the table request (e.g. "PUT /devstoreaccount1/t1(PartitionKey='iiq',RowKey='x')"). */
    matches: (request: { method: string; path: string }) => boolean;
    /** Answer with this error status; without one, pass the request on and trickle Azurite's answer back one byte every `dripMs`. */
    status?: number;
    dripMs?: number;
}

/**
 * A pass-through proxy in front of the run's Azurite, so a spec can make some table requests fail the way
 * Azure Storage does (an error answer with its OData body) while every other request reaches real storage.
 */
export class TableProxy {
    private server?: Server;
    private faults: TableFault[] = [];
    readonly failed: string[] = [];
    connectionString = '';

    constructor(private readonly target = process.env.TEST_STORAGE_CONNECTION_STRING ?? '') {}

    async start(): Promise<string> {
        const endpoint = /TableEndpoint=(http:\/\/127\.0\.0\.1:(\d+)\/[^;]+);/.exec(this.target);
        if (!endpoint) throw new Error('TEST_STORAGE_CONNECTION_STRING has no loopback TableEndpoint');
        const targetPort = Number(endpoint[2]);
        this.server = createServer((incoming, outgoing) => {
            const path = decodeURIComponent(incoming.url ?? '/');
            const fault = this.faults.find((candidate) => candidate.matches({ method: incoming.method ?? 'GET', path }));
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

    private pipe(incoming: IncomingMessage, port: number, outgoing: import('node:http').ServerResponse, dripMs?: number): void {
        const upstream = forward({ host: '127.0.0.1', port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: `127.0.0.1:${port}` } }, (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
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
        incoming.pipe(upstream);
    }
}
