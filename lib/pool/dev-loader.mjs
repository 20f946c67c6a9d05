// Lets threads load TypeScript when brokkr runs from source (its own tests); the build runs
// compiled JavaScript and never uses this file. On Node 20, `--import tsx` registers the ESM hook
// on the main thread only, so each thread registers both hooks itself.
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

registerEsm();
registerCjs();
