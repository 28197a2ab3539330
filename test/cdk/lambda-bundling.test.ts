import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_HANDLER_FILE, ESM_REQUIRE_SHIM, esbuildOptionsFor, STAND_IN_MODULES } from '../../lib/lambda-bundling';
import { functionEntry, ServiceFunction } from '../../lib/service-function';

// Bundles for real (local esbuild, no Docker): proves the deployed artifact is an ESM .mjs and that
// the benchmark's plain-esbuild options produce the same code as the stack.
const ENTRY_FILE = 'get-history-api.ts';
const workDir = mkdtempSync(path.join(tmpdir(), 'fota-bundle-'));
let stackBundle: string;
let stackAssetFiles: string[];
let benchmarkBundle: string;
let externalImports: string[];
let bundledInputs: string[];

beforeAll(async () => {
  // Prepare + Act (once): one function synthesized by CDK, the same entry bundled by plain esbuild.
  const app = new App({ outdir: path.join(workDir, 'cdk.out') });
  const stack = new Stack(app, 'BundleProbe');
  new ServiceFunction(stack, 'Probe', {
    entryFile: ENTRY_FILE,
    description: 'bundling probe',
    timeout: Duration.seconds(10),
    logLevel: 'INFO',
  });
  const assembly = app.synth();
  const assetDirs = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
  if (assetDirs.length !== 1) throw new Error(`expected one asset, found ${assetDirs.join(', ')}`);
  const assetDir = path.join(assembly.directory, assetDirs[0]!);
  stackAssetFiles = readdirSync(assetDir).sort();
  stackBundle = readFileSync(path.join(assetDir, BUNDLED_HANDLER_FILE), 'utf8');

  const benchmarkDir = path.join(workDir, 'bench');
  const result = await build({
    ...esbuildOptionsFor(functionEntry(ENTRY_FILE), benchmarkDir),
    metafile: true,
    logLevel: 'silent',
  });
  benchmarkBundle = readFileSync(path.join(benchmarkDir, BUNDLED_HANDLER_FILE), 'utf8');
  bundledInputs = Object.keys(result.metafile.inputs);
  externalImports = Object.values(result.metafile.outputs)
    .flatMap((output) => output.imports)
    .filter((imported) => imported.external)
    .map((imported) => imported.path);
}, 60_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('Lambda bundling', () => {
  it('deploys a minified ESM index.mjs with its source map', () => {
    // Assess
    expect(stackAssetFiles).toEqual(['index.mjs', 'index.mjs.map']);
    expect(stackBundle.startsWith(ESM_REQUIRE_SHIM)).toBe(true);
    expect(/export\s*\{[^}]*\bhandler\b[^}]*\}/.test(stackBundle)).toBe(true);
    expect(stackBundle.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
  });

  it('is valid ES module syntax for Node', () => {
    // Prepare
    const file = path.join(workDir, 'check.mjs');
    writeFileSync(file, stackBundle);

    // Act + Assess: throws on a syntax error
    expect(() => execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' })).not.toThrow();
  });

  it('bundles the AWS SDK and every other package, leaving only Node built-ins external', () => {
    // Assess
    expect(externalImports.length).toBeGreaterThan(0);
    const nonBuiltins = externalImports.filter((imported) => !isBuiltin(imported));
    expect(nonBuiltins).toEqual([]);
  });

  it('puts a stand-in where the credential providers Lambda never reaches would be', () => {
    // Assess
    for (const name of STAND_IN_MODULES) expect(bundledInputs.some((input) => input.includes(`${name}/`))).toBe(false);
    expect(bundledInputs).toContain('functions/commons/credential-providers-not-bundled.ts');
  });

  it('produces the same code from the plain esbuild options the benchmark uses', () => {
    // Assess
    expect(benchmarkBundle === stackBundle).toBe(true);
  });
});
