// Compiles TypeScript into dist/ and copies the Lua scripts next to the compiled broker,
// since tsc only emits .js and .d.ts files.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
cpSync('lib/redis/lua', 'dist/lib/redis/lua', { recursive: true });
