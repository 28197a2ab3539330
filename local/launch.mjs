/**
 * `npm start` and `npm run sync`: runs local/<entry>.ts from a bundle that esbuild builds once into
 * .build/ and reuses until a source file changes. Loading TypeScript through tsx compiled every module
 * on every start, about half the CPU time of a start. `launch.mjs build` (npm's postinstall) builds the
 * bundles ahead, so the first start after `npm ci` is as quick as the next.
 * Plain JavaScript on purpose: it must run before anything is compiled.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// import.meta.dirname is Node 20.11+; engines allows any 20.
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const ENTRIES = ['start', 'sync'];
/** What the local entries import; a change to any .ts file in them (or to the lock file) rebuilds. */
const SOURCE_DIRS = ['local', 'functions', 'adapters', 'domain', 'services'];
const OUT_DIR = join(ROOT, '.build');
const NODE_MAJOR = process.versions.node.split('.')[0];
/** Bundles are per Node version (their syntax target is its major), so two Nodes on one checkout keep one each. */
const NODE_TAG = `node${process.versions.node}`;
/** V8's compiled code for the bundles (Node 22+), dropped with every rebuild: its entries are per bundle path. */
const COMPILE_CACHE_DIR = join(OUT_DIR, 'compile-cache');

const command = process.argv[2];
if (command !== 'build' && !ENTRIES.includes(command)) {
  process.stderr.write(`launch: expected build or one of ${ENTRIES.join(', ')}, not "${command ?? ''}"\n`);
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
  // This file too: a change to how the bundle is built rebuilds it.
  for (const file of ['package-lock.json', 'tsconfig.json', 'local/launch.mjs']) {
    const stat = statSync(join(ROOT, file), { throwIfNoEntry: false });
    if (stat) hash.update(`${file}\0${stat.mtimeMs}\0${stat.size}\n`);
  }
  hash.update(process.version);
  return hash.digest('hex').slice(0, 16);
}

/** The entry's bundle for these sources and this Node, built (and older ones removed) if missing. */
async function bundleFor(entry, stamp) {
  const prefix = `${entry}.${NODE_TAG}.`;
  const fileName = `${prefix}${stamp}.mjs`;
  const bundle = join(OUT_DIR, fileName);
  if (existsSync(bundle)) return bundle;
  const { build } = await import('esbuild');
  mkdirSync(OUT_DIR, { recursive: true });
  // Built for its own path (which its map comment names and its map's sources are relative to), then
  // written aside and renamed, so two starts building at once never load a half-written bundle.
  const { outputFiles } = await build({
    entryPoints: [join(ROOT, 'local', `${entry}.ts`)],
    outfile: bundle,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${NODE_MAJOR}`,
    // Packages bundled too: loading them from node_modules file by file (resolving, reading, telling
    // CommonJS from ESM, hundreds of small AWS SDK files) was most of a start's CPU. The store's
    // packages stay out: it runs on its own thread (local/embedded-dynamodb-thread.cjs) and LevelDB is a
    // native addon; esbuild is only needed when building.
    external: ['dynalite', 'esbuild'],
    mainFields: ['module', 'main'],
    // CommonJS packages in an ES module bundle still call require (for Node built-ins).
    banner: {
      js: "import { createRequire as __launchCreateRequire } from 'node:module'; const require = __launchCreateRequire(import.meta.url);",
    },
    // A map beside the bundle (read on the first logged stack by functions/commons/source-mapped-stacks.ts,
    // or by a profile summary), so a stack trace or a CPU profile can name the TypeScript source. Mappings
    // only: the sources' text would triple what that first stack has to parse.
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'error',
    // Powertools' Tracer never traces outside Lambda, yet loading the X-Ray SDK in its automatic mode
    // installs async hooks that track every promise: about a tenth of the server's CPU per request.
    // Manual mode, fixed in the bundle, installs none (and writes nothing into process.env).
    define: { 'process.env.AWS_XRAY_MANUAL_MODE': '"true"' },
  });
  // The map first: a start that finds the bundle finds its map.
  for (const path of [`${bundle}.map`, bundle]) {
    const output = outputFiles.find((file) => file.path === path);
    if (!output) throw new Error(`launch: esbuild built no ${path}`);
    const aside = join(OUT_DIR, `.${process.pid}.${basename(path)}`);
    writeFileSync(aside, output.contents);
    renameSync(aside, path);
  }
  for (const name of readdirSync(OUT_DIR)) {
    const file = join(OUT_DIR, name);
    // This Node's older bundles of the entry, and those named before bundles were per Node version.
    const older = name.startsWith(prefix) || (name.startsWith(`${entry}.`) && !/^[a-z]+\.node\d+\./.test(name));
    if (older && file !== bundle && file !== `${bundle}.map`) rmSync(file, { force: true });
  }
  rmSync(COMPILE_CACHE_DIR, { recursive: true, force: true });
  return bundle;
}

if (command === 'build') {
  try {
    const stamp = sourceStamp();
    for (const entry of ENTRIES) await bundleFor(entry, stamp);
  } catch (error) {
    // Only a head start, never a reason for `npm ci` to fail: the first npm start builds (and reports) it.
    process.stderr.write(`launch: could not build ahead (npm start will try again): ${error.message}\n`);
  }
} else {
  const bundle = await bundleFor(command, sourceStamp());
  // Node 22+ keeps V8's compiled code for the bundle between starts; Node 20 has no compile cache.
  module.enableCompileCache?.(COMPILE_CACHE_DIR);
  await import(pathToFileURL(bundle).href);
}
