/**
 * Stack traces that name the TypeScript source, paid for only when a stack is formatted. Node's
 * `--enable-source-maps` reads and parses a bundle's whole map as the bundle loads, on every cold start,
 * though a stack is formatted only when an error is logged; this reads a bundle's map on the first stack
 * that passes through the bundle instead.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { SourceMap, type SourceMapping } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** On the global Error, so a second copy of this module (another bundle, a re-evaluated module) installs nothing. */
const INSTALLED = Symbol.for('fota-history.source-mapped-stacks');

/** esbuild writes the map comment as a bundle's last line; only this much of a file's end is read for it. */
const COMMENT_TAIL_BYTES = 1024;
const MAP_COMMENT = /\/\/[#@] sourceMappingURL=([^\s'"]+)\s*$/;

type Formatter = (error: Error, trace: NodeJS.CallSite[]) => unknown;

/** Per file that appeared in a stack: its parsed map, or null when it has none or it cannot be read. */
const maps = new Map<string, SourceMap | null>();

/**
 * Installs the mapping once per process. The stack formatter in place before (Node's own, or a test
 * runner's) still formats each stack; it is handed call sites that name the source instead of the bundle.
 */
export function installSourceMappedStacks(): void {
  const errorConstructor = Error as typeof Error & { [INSTALLED]?: true };
  if (errorConstructor[INSTALLED]) return;
  errorConstructor[INSTALLED] = true;
  const previous = Error.prepareStackTrace as Formatter | undefined;
  Error.prepareStackTrace = (error, trace) => {
    // Node's own source maps (--enable-source-maps) already map every frame.
    const mapped = process.sourceMapsEnabled ? trace : trace.map(mapCallSite);
    return previous ? previous(error, mapped) : defaultFormat(error, mapped);
  };
}

/** V8's format, for a process whose previous formatter was removed. */
function defaultFormat(error: Error, trace: NodeJS.CallSite[]): string {
  let header: string;
  try {
    header = Error.prototype.toString.call(error);
  } catch {
    header = 'Error';
  }
  return [header, ...trace.map((callSite) => `    at ${callSite}`)].join('\n');
}

/** The call site as its source names it, or the call site itself when it has no readable map. */
function mapCallSite(callSite: NodeJS.CallSite, index: number, trace: NodeJS.CallSite[]): NodeJS.CallSite {
  try {
    const fileName = callSite.getFileName();
    const line = callSite.getLineNumber();
    const column = callSite.getColumnNumber();
    if (!fileName || !line || !column) return callSite;
    const map = sourceMapOf(fileName);
    if (!map) return callSite;
    // Source maps count lines and columns from 0, stack traces from 1.
    const entry = map.findEntry(line - 1, column - 1);
    // No entry for code before the line's first mapping (the banner esbuild puts before the sources).
    if (!('originalSource' in entry)) return callSite;
    const name = originalName(map, callSite, trace[index + 1]);
    const { originalSource, originalLine, originalColumn } = entry as SourceMapping;
    return sourceCallSite(callSite, {
      source: originalSource,
      line: originalLine + 1,
      column: originalColumn + 1,
      name,
    });
  } catch {
    return callSite;
  }
}

/**
 * Minifying renames functions; the map keeps the name at the enclosing function's start, or else at
 * the call in the caller's frame (as Node's own source map support looks it up).
 */
function originalName(
  map: SourceMap,
  callSite: NodeJS.CallSite,
  caller: NodeJS.CallSite | undefined,
): string | undefined {
  const enclosing = callSite as NodeJS.CallSite & {
    getEnclosingLineNumber?: () => number;
    getEnclosingColumnNumber?: () => number;
  };
  const line = enclosing.getEnclosingLineNumber?.();
  const column = enclosing.getEnclosingColumnNumber?.();
  if (line && column) {
    const { name } = map.findEntry(line - 1, column - 1) as { name?: string };
    if (name) return name;
  }
  if (caller && caller.getFileName() === callSite.getFileName()) {
    const callerLine = caller.getLineNumber();
    const callerColumn = caller.getColumnNumber();
    if (callerLine && callerColumn) {
      const { name } = map.findEntry(callerLine - 1, callerColumn - 1) as { name?: string };
      if (name) return name;
    }
  }
  return undefined;
}

interface SourcePosition {
  source: string;
  line: number;
  column: number;
  name: string | undefined;
}

/** A call site that answers with the source position and prints as V8 prints one (Node's serializeJSStackFrame). */
function sourceCallSite(callSite: NodeJS.CallSite, position: SourcePosition): NodeJS.CallSite {
  const typeName = callSite.getTypeName();
  const functionName = callSite.getFunctionName() ?? callSite.getMethodName();
  const prefix = callSite.isAsync() ? 'async ' : callSite.isConstructor() ? 'new ' : '';
  const typePrefix = typeName !== null && typeName !== 'global' ? `${typeName}.` : '';
  const text = `${prefix}${typePrefix}${position.name || functionName || '<anonymous>'} (${position.source}:${position.line}:${position.column})`;
  const answers: Record<string | symbol, (() => unknown) | undefined> = {
    getFileName: () => position.source,
    getScriptNameOrSourceURL: () => position.source,
    getLineNumber: () => position.line,
    getColumnNumber: () => position.column,
    getFunctionName: () => position.name ?? callSite.getFunctionName(),
    toString: () => text,
  };
  return new Proxy(callSite, {
    get(target, key) {
      const answer = answers[key];
      if (answer) return answer;
      const value: unknown = Reflect.get(target, key);
      // CallSite methods work only on the CallSite itself, not through the proxy.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The file's map, read and parsed on its first stack; null (cached too) for a file without a usable one. */
function sourceMapOf(fileName: string): SourceMap | null {
  const known = maps.get(fileName);
  if (known !== undefined) return known;
  let map: SourceMap | null;
  try {
    map = readSourceMap(fileName);
  } catch (error) {
    // Out of file handles, or of stack: this stack goes unmapped, the next one tries again.
    if (isPassing(error)) return null;
    map = null;
  }
  maps.set(fileName, map);
  return map;
}

/** A failure of the moment, not of the file or its map (missing, unreadable, not a map). */
function isPassing(error: unknown): boolean {
  if (error instanceof RangeError) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'ENOMEM';
}

function readSourceMap(fileName: string): SourceMap | null {
  // ES modules are named by file URL, CommonJS by path; anything else (node:internal, eval) has no file.
  const fileUrl = fileName.startsWith('file://')
    ? new URL(fileName)
    : fileName.startsWith('/')
      ? pathToFileURL(fileName)
      : undefined;
  if (!fileUrl) return null;
  const comment = MAP_COMMENT.exec(fileTail(fileURLToPath(fileUrl)));
  if (!comment?.[1]) return null;
  const mapUrl = new URL(comment[1], fileUrl);
  // A linked map only: inline (data:) maps would mean parsing the whole bundle's text for them.
  if (mapUrl.protocol !== 'file:') return null;
  const payload = JSON.parse(readFileSync(fileURLToPath(mapUrl), 'utf8')) as {
    sources?: unknown;
    sourceRoot?: unknown;
  };
  if (!Array.isArray(payload.sources)) return null;
  // Sources are relative to the map (and its sourceRoot); a stack names them as paths.
  const sourceRoot = typeof payload.sourceRoot === 'string' ? payload.sourceRoot : '';
  const root = sourceRoot && !sourceRoot.endsWith('/') ? `${sourceRoot}/` : sourceRoot;
  payload.sources = payload.sources.map((source: unknown) => {
    const url = new URL(`${root}${String(source)}`, mapUrl);
    return url.protocol === 'file:' ? fileURLToPath(url) : url.href;
  });
  delete payload.sourceRoot;
  return new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]);
}

function fileTail(path: string): string {
  const descriptor = openSync(path, 'r');
  try {
    const size = fstatSync(descriptor).size;
    const length = Math.min(size, COMMENT_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(descriptor, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(descriptor);
  }
}
