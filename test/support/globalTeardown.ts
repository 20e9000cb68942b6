export default async function globalTeardown(): Promise<void> {
    await (globalThis as { azurite?: { stop(): Promise<void> } }).azurite?.stop();
}
