/** A bug that never yields: only terminating its thread can stop it. */
export default function stuck(): never {
  for (;;) {
    // spinning forever
  }
}
