/** Pickup latency: from the enqueue call (`at`, on the clock all threads of a process share) to the handler's start. */
export default function stamp(data: { at: number }): number {
  return performance.timeOrigin + performance.now() - data.at;
}
