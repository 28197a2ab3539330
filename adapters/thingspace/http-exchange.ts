/**
 * The ThingSpace client's requests over node:http(s): kept-alive connections, one timeout per request, a
 * bounded body.
 */
import { isUtf8 } from 'node:buffer';
import http from 'node:http';
import https from 'node:https';
import { DEFAULT_MAX_BODY_BYTES, type Exchange, type RequestInit } from './exchange';

/**
 * Connections to ThingSpace are kept alive across requests and invocations. node:http rather than
 * the built-in fetch: fetch loads undici on first use (about 17 ms of every cold start) and costs
 * about half a millisecond more per request, and this client needs nothing fetch adds.
 */
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/** The text of a body that was read whole, flagged when it was not valid UTF-8. */
function decodeBody(body: Buffer): { text: string; invalidUtf8?: true } {
  const text = body.toString('utf8');
  return isUtf8(body) ? { text } : { text, invalidUtf8: true };
}

function firstHeader(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/**
 * One request with one timeout covering connection, headers and body. node:http never follows a
 * redirect, so the Authorization and VZ-M2M-Token headers stay with ThingSpace's host. A body larger
 * than maxBodyBytes (by its Content-Length or as it arrives) is not read further: the connection is
 * destroyed at once, so an endless or huge body costs at most the limit in memory, briefly.
 */
export function httpExchange(
  url: string,
  init: RequestInit,
  timeoutMs: number,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
): Promise<Exchange> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ kind: 'network' });
      return;
    }
    const protocol = target.protocol === 'https:' ? 'https:' : target.protocol === 'http:' ? 'http:' : undefined;
    if (!protocol) {
      resolve({ kind: 'network' });
      return;
    }

    let settled = false;
    const settle = (result: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);

    const request = (protocol === 'https:' ? https : http).request(
      target,
      { method: init.method, headers, agent: agents[protocol] },
      (response) => {
        const status = response.statusCode ?? 0;
        const retryAfter = firstHeader(response.headers['retry-after']);
        let chunks: Buffer[] = [];
        let size = 0;
        const tooLarge = () => {
          chunks = [];
          settle({ kind: 'answer', status, retryAfter, text: '', bodyTooLarge: true });
          request.destroy();
        };
        if (Number(response.headers['content-length']) > maxBodyBytes) {
          tooLarge();
          return;
        }
        response.on('data', (chunk: Buffer) => {
          if (settled) return;
          size += chunk.length;
          if (size > maxBodyBytes) tooLarge();
          else chunks.push(chunk);
        });
        response.on('end', () => settle({ kind: 'answer', status, retryAfter, ...decodeBody(Buffer.concat(chunks)) }));
        // A connection that closes before the whole body arrived is a network failure, not an answer.
        response.on('close', () => {
          if (!response.complete) settle({ kind: 'network' });
        });
        response.on('error', () => settle({ kind: 'network' }));
      },
    );
    const timer = setTimeout(
      () => {
        settle({ kind: 'timeout' });
        request.destroy();
      },
      Math.max(1, timeoutMs),
    );
    request.on('error', () => settle({ kind: 'network' }));
    request.end(init.body);
  });
}
