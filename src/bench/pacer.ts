/**
 * Releases scheduled requests on time. Node's timers have millisecond granularity and fire late
 * when the event loop is busy, which at 1,000 req/s is most of a gap. A pacer thread instead
 * sleeps in `Atomics.wait` (sub-millisecond, no CPU while waiting) until each scheduled time and
 * posts the highest due index to the main thread, which sends everything up to it. The main
 * thread never blocks, so response bytes keep being timestamped as they arrive. Whenever the main
 * thread is awake anyway (response bytes arriving) it checks the schedule itself and tells the
 * thread, which then posts nothing: under load most requests leave without a message.
 *
 * Both threads read the same monotonic clock (`process.hrtime`), so a schedule crosses the thread
 * boundary without depending on either thread's `performance.timeOrigin`.
 */
import { Worker } from "node:worker_threads";

/** Milliseconds on the monotonic clock shared by all threads of the process. */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

// Plain JavaScript, evaluated in the thread: it must not depend on a TypeScript loader.
// flags[0]: stop; flags[1]: set once the start time is in startAt[0]; flags[2]: how many indices
// the main thread has already released on its own (it checks the schedule whenever it is awake).
const THREAD_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { control, times, start } = workerData;
const flags = new Int32Array(control);
const startAt = new Float64Array(start);
const at = new Float64Array(times);
const now = () => { const t = process.hrtime(); return t[0] * 1e3 + t[1] / 1e6; };
parentPort.postMessage(-1);
while (Atomics.load(flags, 1) === 0 && Atomics.load(flags, 0) === 0) Atomics.wait(flags, 1, 0, 1000);
const startMs = startAt[0];
// A futex wait oversleeps by a fairly steady amount (timer slack, scheduling): wake that much
// early, learned as a moving average, and spin the small remainder.
let slack = 0.05;
let i = 0;
while (i < at.length && Atomics.load(flags, 0) === 0) {
  const done = Atomics.load(flags, 2);
  if (done > i) { i = done; continue; }
  const target = startMs + at[i];
  const wait = target - now() - slack;
  if (wait > 0) {
    const asked = now() + wait;
    Atomics.wait(flags, 0, 0, wait);
    const over = now() - asked;
    slack = Math.min(0.3, Math.max(0.01, slack * 0.9 + over * 0.1));
    continue;
  }
  while (now() < target && Atomics.load(flags, 0) === 0) {}
  if (Atomics.load(flags, 2) > i) continue;
  const t = now() - startMs;
  let j = i;
  while (j + 1 < at.length && at[j + 1] <= t) j++;
  parentPort.postMessage(j);
  i = j + 1;
}
parentPort.close();
`;

export interface Pacer {
  /** Starts the schedule at `startMs` (a `monotonicMs()` value). */
  start(startMs: number): void;
  /** Tells the thread the main thread has released indices below `count` itself. */
  released(count: number): void;
  stop(): void;
  /** Resolves when every index has been released or the pacer was stopped. */
  readonly finished: Promise<void>;
}

/**
 * Starts the pacer thread and resolves once it is running, so thread start-up never delays the
 * first request. After `start`, `release(upTo)` is called on the main thread each time scheduled
 * indices fall due; `times` are offsets in ms, nondecreasing.
 */
export async function createPacer(times: Float64Array, release: (upTo: number) => void): Promise<Pacer> {
  const control = new SharedArrayBuffer(12);
  const start = new SharedArrayBuffer(8);
  const shared = new SharedArrayBuffer(Math.max(8, times.length * 8));
  new Float64Array(shared).set(times);
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { control, times: shared, start } });
  const flags = new Int32Array(control);
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  worker.on("message", (upTo: number) => {
    if (upTo < 0) ready();
    else release(upTo);
  });
  const finished = new Promise<void>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("exit", () => resolve());
  });
  await Promise.race([isReady, finished]);
  return {
    start(startMs: number) {
      new Float64Array(start)[0] = startMs;
      Atomics.store(flags, 1, 1);
      Atomics.notify(flags, 1);
    },
    released(count: number) {
      Atomics.store(flags, 2, count);
    },
    stop() {
      Atomics.store(flags, 0, 1);
      Atomics.notify(flags, 0);
      Atomics.notify(flags, 1);
    },
    finished,
  };
}
