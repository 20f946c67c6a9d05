// Compiles TypeScript into dist/ and copies the Lua scripts next to the compiled broker and the
// dashboard's browser assets (client scripts, stylesheet) next to the compiled dashboard, since tsc
// only emits .js and .d.ts files; marks the `brokkr` bin executable (tsc keeps its
// shebang but not a file mode), so it runs straight from dist/ too.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
cpSync('lib/redis/lua', 'dist/lib/redis/lua', { recursive: true });
cpSync('lib/dashboard/assets', 'dist/lib/dashboard/assets', { recursive: true });
chmodSync('dist/lib/cli/main.js', 0o755);
