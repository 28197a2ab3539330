/**
 * Where a `node --cpu-prof` profile spent its time, by package: samples in a bundle are mapped back
 * through its source map (Node's own SourceMap), so a minified Lambda bundle reads as
 * `@smithy/core`, `zod`, `node:internal/...`, and so on.
 * `npx tsx bench/cpu-profile-summary.ts <profile.cpuprofile> [bundle.mjs]`
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string; lineNumber: number; columnNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(profileFile: string, bundleFile?: string): Array<{ where: string; ms: number }> {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile;
  const map = bundleFile ? new SourceMap(JSON.parse(readFileSync(`${bundleFile}.map`, 'utf8'))) : undefined;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const { url, functionName, lineNumber, columnNumber } = nodes.get(id)!.callFrame;
    let where: string;
    if (!url) {
      where = `(${functionName || 'native'})`;
    } else if (map && bundleFile && url.endsWith(bundleFile.split('/').pop()!)) {
      const source = map.findEntry(lineNumber, columnNumber) as { originalSource?: string };
      const original = source.originalSource ?? '(bundle, unmapped)';
      where =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(original)?.[1] ??
        `own: ${original.replace(/^.*?\/(functions|adapters|services|domain)\//, '$1/')}`;
    } else {
      where = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? url.replace(/^node:internal\/(deps\/)?/, 'node:');
    }
    totals.set(where, (totals.get(where) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return [...totals].map(([where, ms]) => ({ where, ms })).sort((a, b) => b.ms - a.ms);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [profileFile, bundleFile] = process.argv.slice(2);
  if (!profileFile) throw new Error('usage: cpu-profile-summary.ts <profile.cpuprofile> [bundle.mjs]');
  const rows = summarizeProfile(profileFile, bundleFile);
  const busy = rows
    .filter((row) => row.where !== '((idle))' && row.where !== '((program))')
    .reduce((sum, row) => sum + row.ms, 0);
  process.stdout.write(`busy ${busy.toFixed(1)} ms\n`);
  for (const row of rows.slice(0, 25)) process.stdout.write(`${row.ms.toFixed(1).padStart(8)} ms  ${row.where}\n`);
}
