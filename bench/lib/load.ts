/** The benchmarks' HTTP load generator (autocannon). */
import autocannon from 'autocannon';

/** One autocannon run, with a listener for each response (status and latency in ms). */
export function runLoad(
  options: autocannon.Options,
  onResponse: (statusCode: number, latencyMs: number) => void,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, result) => (error ? reject(error) : resolve(result)));
    instance.on('response', (_client, statusCode, _bytes, responseTime) => onResponse(statusCode, responseTime));
  });
}
