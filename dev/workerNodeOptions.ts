/**
 * The arguments the Bicep gives the worker's node process on an instance of `instanceMemoryMB`
 * (languageWorkers__node__arguments in infra/modules/functionApp.bicep), so that the benchmark measures memory
 * as it is in Azure rather than under the heap sizing of the machine it runs on. In Azure the Functions host
 * puts them on the worker's command line; a local process gets them through NODE_OPTIONS, which is how
 * dev/bench.ts passes them (infra.test.ts checks that Node takes each of them from NODE_OPTIONS too).
 */
export const workerNodeOptions = (instanceMemoryMB: number) => `--max-old-space-size=${instanceMemoryMB / 4}`;

/** The Bicep's default instance size (infra/main.bicep, instanceMemoryMB). */
export const DEFAULT_INSTANCE_MEMORY_MB = 2048;
