import { STARTED, type ThreadData } from './protocol';

/**
 * The memory the main thread shares with every worker thread (see ThreadData): per job slot, who
 * started it and when, whether it called process.exit(), and which run may start; per seat
 * (a thread's place in the pool), its cap and queue depth. Slots and seats are handed out here.
 */
export class SharedSlots {
  private readonly startedOn: Int32Array;
  private readonly startedAtMs: Float64Array;
  private readonly exitedBy: Int32Array;
  private readonly claim: Int32Array;
  private readonly caps: Int32Array;
  private readonly depths: Int32Array;
  private readonly freeSlots: number[] = [];
  private readonly freeSeats: number[] = [];
  readonly buffers: Omit<ThreadData, 'handlers' | 'maxResultBytes'>;

  constructor(slots: number, seats: number) {
    this.buffers = {
      startedOn: new SharedArrayBuffer(4 * slots),
      startedAt: new SharedArrayBuffer(8 * slots),
      exitedBy: new SharedArrayBuffer(4 * slots),
      claim: new SharedArrayBuffer(4 * slots),
      caps: new SharedArrayBuffer(4 * seats),
      depths: new SharedArrayBuffer(4 * seats),
    };
    this.startedOn = new Int32Array(this.buffers.startedOn);
    this.startedAtMs = new Float64Array(this.buffers.startedAt);
    this.exitedBy = new Int32Array(this.buffers.exitedBy);
    this.claim = new Int32Array(this.buffers.claim);
    this.caps = new Int32Array(this.buffers.caps);
    this.depths = new Int32Array(this.buffers.depths);
    for (let slot = slots - 1; slot >= 0; slot--) this.freeSlots.push(slot);
    for (let seat = seats - 1; seat >= 0; seat--) this.freeSeats.push(seat);
  }

  get freeSlotCount(): number {
    return this.freeSlots.length;
  }

  /** A fresh slot for one run; the caller keeps within freeSlotCount. */
  takeSlot(): number {
    const slot = this.freeSlots.pop()!;
    Atomics.store(this.startedOn, slot, 0);
    Atomics.store(this.exitedBy, slot, 0);
    Atomics.store(this.claim, slot, 0);
    return slot;
  }

  returnSlot(slot: number): void {
    this.freeSlots.push(slot);
  }

  /** The handler has started (a thread marks it just before calling the handler). */
  hasStarted(slot: number): boolean {
    return Atomics.load(this.startedOn, slot) !== 0;
  }

  /** When the handler started, ms since the epoch. */
  startedAt(slot: number): number {
    return this.startedAtMs[slot] ?? 0;
  }

  /** 0, or 1 + the exit code when the run's handler called process.exit(). */
  exitedWith(slot: number): number {
    return Atomics.load(this.exitedBy, slot);
  }

  /** The run with this id may start: the thread sent that run id can claim it. */
  offer(slot: number, runId: number): void {
    Atomics.store(this.claim, slot, runId);
  }

  /** Whether the run with this id is sent and not started yet. */
  isWaiting(slot: number, runId: number): boolean {
    return Atomics.load(this.claim, slot) === runId;
  }

  /**
   * Takes an unstarted run back, renaming it `to` (0: nobody may start it); false once it has
   * started. The copy a thread holds under the old id can then never start.
   */
  takeBack(slot: number, runId: number, to: number): boolean {
    return Atomics.compareExchange(this.claim, slot, runId, to) === runId;
  }

  /** A thread swapped the run id for STARTED: the handler is being called. */
  isClaimedStarted(slot: number): boolean {
    return Atomics.load(this.claim, slot) === STARTED;
  }

  takeSeat(): number {
    return this.freeSeats.pop()!;
  }

  returnSeat(seat: number): void {
    Atomics.store(this.caps, seat, 0);
    this.freeSeats.push(seat);
  }

  cap(seat: number): number {
    return Atomics.load(this.caps, seat);
  }

  /** Sets a seat's cap and depth; true when either changed. */
  setSeat(seat: number, cap: number, depth: number): boolean {
    const oldCap = Atomics.exchange(this.caps, seat, cap);
    const oldDepth = Atomics.exchange(this.depths, seat, depth);
    return oldCap !== cap || oldDepth !== depth;
  }
}
