/**
 * How the local commands read their command line (node:util's parseArgs): `-h`/`--help` prints the usage
 * and exits 0; a mistake is one line on stderr that names it and where the help is, and exit code 2.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A usage or configuration mistake. */
const EXIT_MISTAKE = 2;

/** Ends the command with `<command>: <message>` on stderr. */
export function fail(command: string, message: string, code = EXIT_MISTAKE): never {
  process.stderr.write(`${command}: ${message}\n`);
  process.exit(code);
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * The command line of `npm run <command>`, or the end of the process: the usage for --help, one line
 * for a mistake (an unknown option, a missing value, an unexpected argument).
 */
export function readCommandLine<const O extends Options, const P extends boolean = false>(
  command: string,
  usage: string,
  options: O,
  settings: { allowPositionals?: P } = {},
) {
  const help = `npm run ${command} -- --help`;
  let parsed: ReturnType<
    typeof parseArgs<{ options: O & { help: { type: 'boolean'; short: 'h' } }; allowPositionals: P }>
  >;
  try {
    parsed = parseArgs({
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: (settings.allowPositionals ?? false) as P,
    });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const named = /'([^']+)'/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') fail(command, `unknown option ${named} (${help} lists them)`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') fail(command, `unexpected argument ${named} (${help})`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') fail(command, `${message.split('.')[0]} (${help})`);
    fail(command, message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    process.exit(0);
  }
  return parsed;
}
