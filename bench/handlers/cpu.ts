/** Busy-loops for 2 ms without yielding: the CPU-bound benchmark job. */
export default function cpu(): null {
  const until = performance.now() + 2;
  while (performance.now() < until) {
    // busy
  }
  return null;
}
