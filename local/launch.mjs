/**
 * `npm start` and `npm run sync`: runs local/<entry>.ts from a bundle that esbuild builds once into
 * .build/ and reuses until a source file changes. Loading TypeScript through tsx compiled every module
 * on every start, about half the CPU time of a start.
 * Plain JavaScript on purpose: it must run before anything is compiled.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const ENTRIES = ['start', 'sync'];
/** What the local entries import; a change to any .ts file in them (or to the lock file) rebuilds. */
const SOURCE_DIRS = ['local', 'functions', 'adapters', 'domain', 'services'];
const OUT_DIR = join(ROOT, '.build');

const entry = process.argv[2];
if (!ENTRIES.includes(entry)) {
  process.stderr.write(`launch: expected one of ${ENTRIES.join(', ')}, not "${entry ?? ''}"\n`);
  process.exit(2);
}
// The entry parses its own options from process.argv.slice(2).
process.argv.splice(2, 1);

function sourceStamp() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const item of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, item.name);
      if (item.isDirectory()) walk(path);
      else if (item.name.endsWith('.ts') || item.name.endsWith('.json')) {
        const stat = statSync(path);
        hash.update(`${path}\0${stat.mtimeMs}\0${stat.size}\n`);
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(ROOT, dir));
  for (const file of ['package-lock.json', 'tsconfig.json']) {
    const stat = statSync(join(ROOT, file), { throwIfNoEntry: false });
    if (stat) hash.update(`${file}\0${stat.mtimeMs}\0${stat.size}\n`);
  }
  hash.update(process.version);
  return hash.digest('hex').slice(0, 16);
}

const bundle = join(OUT_DIR, `${entry}.${sourceStamp()}.mjs`);
if (!existsSync(bundle)) {
  const { build } = await import('esbuild');
  mkdirSync(OUT_DIR, { recursive: true });
  // Written aside and renamed, so two starts building at once never load a half-written bundle.
  const temporary = `${bundle}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(ROOT, 'local', `${entry}.ts`)],
    outfile: temporary,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    // node_modules load as they are: only this project's TypeScript needs compiling.
    packages: 'external',
    logLevel: 'error',
  });
  renameSync(temporary, bundle);
  for (const name of readdirSync(OUT_DIR)) {
    if (name.startsWith(`${entry}.`) && join(OUT_DIR, name) !== bundle && !name.endsWith('.tmp')) {
      rmSync(join(OUT_DIR, name), { force: true });
    }
  }
}
await import(pathToFileURL(bundle).href);
