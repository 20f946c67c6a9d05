// Fails when the relative imports under lib/ form a cycle, so dependencies keep pointing one way.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve('lib');
const files = [];
(function collect(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
})(root);

const graph = new Map();
for (const file of files) {
  const deps = [];
  const source = readFileSync(file, 'utf8');
  for (const m of source.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
    if (m[1]) continue; // type-only imports vanish at run time
    const target = [`${m[2]}.ts`, join(m[2], 'index.ts')].map((t) => resolve(dirname(file), t)).find(existsSync);
    if (target) deps.push(target);
  }
  graph.set(file, deps);
}

const state = new Map();
const stack = [];
function visit(node) {
  state.set(node, 'open');
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (state.get(dep) === 'open') {
      const cycle = stack
        .slice(stack.indexOf(dep))
        .concat(dep)
        .map((f) => relative(root, f));
      console.error(`import cycle in lib/: ${cycle.join(' -> ')}`);
      process.exit(1);
    }
    if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(node, 'done');
}
for (const file of files) if (!state.has(file)) visit(file);
console.log(`no import cycles among ${files.length} modules in lib/`);
