/** The entry point of every worker thread: piscina runs its default export as the thread's session. */
export { session as default } from './session';
