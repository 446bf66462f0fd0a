// The control block of a steps task (protocol.ts StepsTask): the shared memory where the workers
// of a synchronous step meet, and where they leave what the coordinator reports. One per trainer,
// made by the coordinator, reset before each task:
//
//   ints     Int32[12]    [0] arrived at the barrier  [1] barrier generation  [2] abort (coordinator)
//                         [3] stop after this step (coordinator)  [4] steps committed  [5] outcome
//                         [6] go on (the barrier's last arrival decides)  [7] W  [8] S  [9] room for W
//                         [10] how long a waiter spins before it sleeps, in microseconds
//   losses   F64[S]       this step's micro-batch s: its mean loss (its size every worker knows: cutShards)
//   workers  F64[room][3] this step's worker w: compute ms, update ms, 1 if its averaged range is finite
//   records  F64[max][4]  committed step k of the task: loss, slowest worker's compute ms, slowest
//                         update ms, when it was committed (ms since the epoch of performance.timeOrigin)
//   started  F64          when the coordinator sent the task (same clock)
//
// The barrier is a counter and a generation: the last of W to arrive runs the step's serial part
// (a few comparisons and the commit), resets the counter and bumps the generation, which
// releases the others. Waiters spin first: a peer usually arrives within a fraction of a
// millisecond, and a thread put to sleep takes longer than that to wake, the more so on a virtual
// machine, whose idle virtual CPU the host hands to another guest. The spin is long when every
// worker has a core of its own, and short when workers outnumber cores (a spinner would hold the
// core its late peer needs).

const ARRIVED = 0;
const GEN = 1;
const ABORT = 2;
const STOP = 3;
const DONE = 4;
const OUTCOME = 5;
const GO_ON = 6;
const SPIN = 10;
const INTS = 12;

/** How a task ended: every step committed as asked, or a step diverged (nothing of it committed). */
export const Outcome = { ok: 0, gradient: 1, loss: 2 } as const;

/** The most steps one task runs (its records' room). */
export const MAX_TASK_STEPS = 256;

/** How long a waiter spins before it sleeps (every worker on a core of its own, or not), and how long a sleep lasts before it looks for an abort. */
const SPIN_US = { ownCore: 2000, shared: 100 };
const SLEEP_MS = 20;

/** Wall time comparable between threads. */
export const wallMs = () => performance.timeOrigin + performance.now();

export class StepControl {
  readonly buffer: SharedArrayBuffer;
  /** The most workers the block has room for (the trainer's options.workers). */
  readonly capacity: number;
  readonly shards: number;
  private readonly ints: Int32Array;
  /** [S]: the mean loss of this step's micro-batches. */
  readonly losses: Float64Array;
  /** [W][3]: compute ms, update ms, finite (1/0) of this step's workers. */
  readonly perWorker: Float64Array;
  /** [MAX_TASK_STEPS][4]: loss, compute ms, update ms, committed at, of each committed step. */
  readonly records: Float64Array;
  private readonly startedAt: Float64Array;

  static create(capacity: number, shards: number): StepControl {
    const floats = shards + 3 * capacity + 4 * MAX_TASK_STEPS + 1;
    const buffer = new SharedArrayBuffer(INTS * 4 + floats * 8);
    const ints = new Int32Array(buffer, 0, INTS);
    ints[7] = capacity;
    ints[8] = shards;
    ints[9] = capacity;
    ints[SPIN] = SPIN_US.shared;
    return new StepControl(buffer);
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.ints = new Int32Array(buffer, 0, INTS);
    this.capacity = this.ints[9];
    this.shards = this.ints[8];
    let at = INTS * 4;
    const f64 = (n: number) => {
      const v = new Float64Array(buffer, at, n);
      at += n * 8;
      return v;
    };
    this.losses = f64(this.shards);
    this.perWorker = f64(3 * this.capacity);
    this.records = f64(4 * MAX_TASK_STEPS);
    this.startedAt = f64(1);
  }

  /** The workers that meet at the barrier: the pool's threads, set by the coordinator before any task. */
  get workers(): number {
    return Atomics.load(this.ints, 7);
  }

  /** Sets the workers that meet at the barrier, and how long they spin there: `cores` is the host's. */
  setParties(w: number, cores: number): void {
    if (!(Number.isInteger(w) && w >= 1 && w <= this.capacity)) throw new RangeError(`workers must be 1..${this.capacity}, got ${w}`);
    Atomics.store(this.ints, 7, w);
    Atomics.store(this.ints, SPIN, w <= cores ? SPIN_US.ownCore : SPIN_US.shared);
  }

  /** Before a task: nobody at the barrier, no steps, no stop or abort; the task's clock starts now. */
  reset(): void {
    for (const i of [ARRIVED, ABORT, STOP, DONE, OUTCOME, GO_ON]) Atomics.store(this.ints, i, 0);
    this.startedAt[0] = wallMs();
  }

  get started(): number {
    return this.startedAt[0];
  }

  /** Asks the workers to end the task after the step they are in (the coordinator: other work is waiting, or the run was stopped). */
  stop(): void {
    Atomics.store(this.ints, STOP, 1);
  }

  get stopping(): boolean {
    return Atomics.load(this.ints, STOP) === 1;
  }

  /** Ends the task now, uncommitted step abandoned: a worker failed, and its peers must not wait for it. */
  abort(): void {
    Atomics.store(this.ints, ABORT, 1);
    Atomics.add(this.ints, GEN, 1);
    Atomics.notify(this.ints, GEN);
  }

  get aborted(): boolean {
    return Atomics.load(this.ints, ABORT) === 1;
  }

  get done(): number {
    return Atomics.load(this.ints, DONE);
  }

  get outcome(): number {
    return Atomics.load(this.ints, OUTCOME);
  }

  /** The last arrival's decision, read after the barrier. */
  get goOn(): boolean {
    return Atomics.load(this.ints, GO_ON) === 1;
  }

  /** Step k of the task committed (records[k] written): the last arrival at the step's second barrier. */
  commit(k: number, goOn: boolean): void {
    Atomics.store(this.ints, DONE, k + 1);
    Atomics.store(this.ints, GO_ON, goOn ? 1 : 0);
  }

  /** The step diverged: nothing of it is committed, and the task ends. */
  diverge(outcome: number): void {
    Atomics.store(this.ints, OUTCOME, outcome);
    Atomics.store(this.ints, GO_ON, 0);
  }

  /**
   * Waits until all W workers have arrived; the last one runs `last` first (alone: the others
   * are still waiting). Returns false when the task was aborted meanwhile, or when `deadline`
   * (performance.now()) passes first: then it aborts the task itself, so that a hung peer, not
   * this waiter, is the one the task timeout stops.
   */
  arrive(last: () => void, deadline = Infinity): boolean {
    const gen = Atomics.load(this.ints, GEN);
    if (this.aborted) return false;
    if (Atomics.add(this.ints, ARRIVED, 1) === this.workers - 1) {
      last();
      Atomics.store(this.ints, ARRIVED, 0);
      Atomics.add(this.ints, GEN, 1);
      Atomics.notify(this.ints, GEN);
      return !this.aborted;
    }
    const spinUntil = performance.now() + Atomics.load(this.ints, SPIN) / 1000;
    while (Atomics.load(this.ints, GEN) === gen && performance.now() < spinUntil);
    while (Atomics.load(this.ints, GEN) === gen) {
      if (performance.now() > deadline) {
        this.abort();
        return false;
      }
      Atomics.wait(this.ints, GEN, gen, SLEEP_MS);
    }
    return !this.aborted;
  }
}
