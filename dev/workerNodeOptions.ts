/**
 * The NODE_OPTIONS the Bicep gives the worker on an instance of `instanceMemoryMB` (infra/modules/functionApp.bicep),
 * so that the benchmark measures memory as it is in Azure rather than under the heap sizing of the machine it runs on.
 */
export const workerNodeOptions = (instanceMemoryMB: number) => `--max-old-space-size=${instanceMemoryMB / 4}`;

/** The Bicep's default instance size (infra/main.bicep, instanceMemoryMB). */
export const DEFAULT_INSTANCE_MEMORY_MB = 2048;
