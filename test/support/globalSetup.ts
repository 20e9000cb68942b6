import { startAzurite } from '../../dev/azurite';

/** One Azurite (in memory) for the whole run; each test uses its own table. */
export default async function globalSetup(): Promise<void> {
    const azurite = await startAzurite();
    process.env.TEST_STORAGE_CONNECTION_STRING = azurite.connectionString;
    (globalThis as { azurite?: typeof azurite }).azurite = azurite;
}
