/**
 * The one definition of how every Lambda is bundled. The stack uses `lambdaBundlingOptions`
 * (NodejsFunction, local esbuild) and the benchmark uses `esbuildOptionsFor` (plain esbuild), so a
 * measured bundle is byte-for-byte the bundle that gets deployed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** NodejsFunction names an ESM bundle `index.mjs`; the `.mjs` extension makes Lambda load it as ESM. */
export const BUNDLED_HANDLER_FILE = 'index.mjs';

/** The syntax level esbuild lowers to; every runtime we deploy on (Node 22 and newer) runs it natively. */
const BUNDLE_TARGET = 'node22';

/** Prefer packages' ESM builds: esbuild can only tree-shake what it sees as ES modules. */
const BUNDLE_MAIN_FIELDS = ['module', 'main'];

/**
 * CommonJS dependencies bundled into an ES module still call `require` for Node built-ins; ESM has no
 * `require`, so the bundle defines one. The alias avoids clashing with a bundled `createRequire`.
 */
export const ESM_REQUIRE_SHIM =
  "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);";

/**
 * Nothing is external, not even `@aws-sdk/*`: the SDK version is then the one pinned in package-lock.json
 * (not whatever the runtime ships that month), and esbuild keeps only the clients and commands we import.
 */
const EXTERNAL_MODULES: readonly string[] = [];

/**
 * The credential providers the SDK's default chain imports only after `fromEnv` has failed resolve to a
 * stand-in that declines (functions/commons/credential-providers-not-bundled.ts): Lambda puts the role's
 * keys in the environment, and bundled they (with the STS and SSO clients they use) were a sixth of every
 * bundle for each cold start to compile. Left external instead, a chain that got past `fromEnv` (a
 * container, an AWS_PROFILE) would stop at a missing module rather than reach the providers after them.
 */
export const STAND_IN_MODULES: readonly string[] = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
];
const STAND_IN = fileURLToPath(new URL('../functions/commons/credential-providers-not-bundled.ts', import.meta.url));
const STAND_IN_ALIASES = Object.fromEntries(STAND_IN_MODULES.map((name) => [name, STAND_IN]));

/**
 * Source maps carry mappings only, not a copy of every source file: stack traces need just the mappings
 * (functions/commons/source-mapped-stacks.ts reads the map for the first stack that needs it), so the
 * sources' text (two thirds of the map) would only slow that read and enlarge the asset.
 */
const SOURCES_CONTENT = false;

export const lambdaBundlingOptions: BundlingOptions = {
  format: OutputFormat.ESM,
  target: BUNDLE_TARGET,
  minify: true,
  sourceMap: true,
  sourcesContent: SOURCES_CONTENT,
  mainFields: [...BUNDLE_MAIN_FIELDS],
  banner: ESM_REQUIRE_SHIM,
  externalModules: [...EXTERNAL_MODULES],
  esbuildArgs: Object.fromEntries(Object.entries(STAND_IN_ALIASES).map(([name, path]) => [`--alias:${name}`, path])),
};

/** The plain esbuild equivalent of `lambdaBundlingOptions` for one handler entry. */
export function esbuildOptionsFor(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile: path.join(outdir, BUNDLED_HANDLER_FILE),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE_TARGET,
    minify: true,
    sourcemap: true,
    sourcesContent: SOURCES_CONTENT,
    mainFields: [...BUNDLE_MAIN_FIELDS],
    banner: { js: ESM_REQUIRE_SHIM },
    external: [...EXTERNAL_MODULES],
    alias: STAND_IN_ALIASES,
  };
}
