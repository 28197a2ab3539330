/** ThingSpace's three calls of a first event (token, session, history) over node:http/https, unchecked. */
import http from 'node:http';
import https from 'node:https';

export interface DemoCredentials {
  appKey: string;
  appSecret: string;
  username: string;
  password: string;
}

const BASE = new URL(process.env.THINGSPACE_BASE_URL ?? 'http://127.0.0.1:9');

function exchange(method: string, path: string, headers: Record<string, string>, body?: string): Promise<string> {
  const client = BASE.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(new URL(path, BASE), { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        // A refusal must fail the row, not carry on with an undefined token.
        if ((response.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: HTTP ${response.statusCode}`));
        else resolve(text);
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

export async function requestToken(credentials: DemoCredentials): Promise<string> {
  const basic = Buffer.from(`${credentials.appKey}:${credentials.appSecret}`).toString('base64');
  const answer = await exchange(
    'POST',
    '/api/ts/v1/oauth2/token',
    { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    'grant_type=client_credentials',
  );
  return JSON.parse(answer).access_token;
}

export async function logIn(credentials: DemoCredentials, token: string): Promise<string> {
  const answer = await exchange(
    'POST',
    '/api/m2m/v1/session/login',
    { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    JSON.stringify({ username: credentials.username, password: credentials.password }),
  );
  return JSON.parse(answer).sessionToken;
}

export function deviceHistory(account: string, deviceId: string, token: string, session: string): Promise<string> {
  return exchange('GET', `/api/fota/v1/reports/${account}/devices/${deviceId}`, {
    authorization: `Bearer ${token}`,
    'vz-m2m-token': session,
  });
}
