/** The simulator's HTTP helpers: reading request bodies, and answering in ThingSpace's shapes. */
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 1_000_000;

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function send(
  response: ServerResponse,
  status: number,
  body: string,
  contentType = 'application/json',
  headers: Record<string, string> = {},
): void {
  if (response.writableEnded || response.destroyed) return;
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  send(response, status, JSON.stringify(body), 'application/json', headers);
}

export function errorBody(errorCode: string, errorMessage: string) {
  return { errorCode, errorMessage };
}

/** The API gateway's own fault shape (WSO2), used for bearer-token problems. */
export function gatewayFault(code: string, message: string, description: string) {
  return { fault: { code, message, description } };
}

/** Gateway 404s come back as XML, not JSON: clients must cope. */
export const NOT_FOUND_XML =
  '<am:fault xmlns:am="http://wso2.org/apimanager"><am:code>404</am:code><am:type>Status report</am:type>' +
  '<am:message>Not Found</am:message><am:description>The requested resource is not available.</am:description></am:fault>';
