import { workerNodeOptions } from '../dev/workerNodeOptions';

/**
 * The worker's heap on each instance size Flex Consumption offers (infra/main.bicep, instanceMemoryMB; the
 * Bicep and dev/workerNodeOptions.ts agree, see infra.test.ts). Two full polls over 10,000 open approvals (the
 * benchmark's case 5b) peaked at 49 MB of heap in use, at most 30 MB of it live, under every limit from 64 to
 * 512 MB; at 48 MB they still finished but spent over ten times as long collecting garbage. Sampled every
 * 50 ms under the 512 MB instance's 128 MB (issue 25), the peak was 55 to 59 MB in three runs.
 */
const SWEEP_PEAK_HEAP_MB = 59;
const INSTANCE_SIZES_MB = [512, 2048, 4096];

const heapMB = (instanceMemoryMB: number) => Number(/--max-old-space-size=(\d+)/.exec(workerNodeOptions(instanceMemoryMB))?.[1]);

describe("the worker's heap limit", () => {
    it.each(INSTANCE_SIZES_MB)('holds twice the heap a 10,000-row sweep peaks at, on a %i MB instance', (instanceMemoryMB) => {
        expect(heapMB(instanceMemoryMB)).toBeGreaterThanOrEqual(2 * SWEEP_PEAK_HEAP_MB);
    });

    it.each(INSTANCE_SIZES_MB)('leaves at least half of a %i MB instance to the host process and the worker outside its heap', (instanceMemoryMB) => {
        expect(heapMB(instanceMemoryMB)).toBeLessThanOrEqual(instanceMemoryMB / 2);
    });
});
