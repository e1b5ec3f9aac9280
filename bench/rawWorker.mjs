// The raw-BullMQ baseline of `npm run bench`: a worker process with an empty processor, on the same
// Redis and with the concurrency of an analysis worker, so that the pipeline's analysis throughput
// can be compared with what BullMQ itself does on this machine. Plain JavaScript: no loader.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const { REDIS_URL, BENCH_PREFIX, BENCH_QUEUE, BENCH_CONCURRENCY } = process.env;
const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const worker = new Worker(BENCH_QUEUE, async () => undefined, { connection, prefix: BENCH_PREFIX, concurrency: Number(BENCH_CONCURRENCY) });
worker.on('error', (error) => process.stderr.write(`raw worker: ${error.message}\n`));
process.on('SIGTERM', () => void worker.close().then(() => connection.quit()).finally(() => process.exit(0)));
