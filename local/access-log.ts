/**
 * One line per request on stdout: `12:03:04 GET /reports/.../devices/... 200 14.2 ms, 3 records` on a
 * terminal, one JSON object per line otherwise (LOG_FORMAT chooses).
 */
import type { LogFormat } from '../functions/commons/configuration';
import type { AccessEntry } from './api-gateway-server';

export function accessLogger(format: LogFormat, write: (line: string) => void = (line) => process.stdout.write(line)) {
  return (entry: AccessEntry): void => {
    const time = new Date();
    if (format === 'json') {
      write(`${JSON.stringify({ time: time.toISOString(), ...entry })}\n`);
      return;
    }
    const details = [
      ...(entry.records === undefined ? [] : [`${entry.records} record${entry.records === 1 ? '' : 's'}`]),
      ...(entry.stale ? ['stale'] : []),
    ];
    write(
      `${time.toTimeString().slice(0, 8)} ${entry.method} ${entry.path} ${entry.status} ${entry.ms} ms${details.length > 0 ? `, ${details.join(', ')}` : ''}\n`,
    );
  };
}
