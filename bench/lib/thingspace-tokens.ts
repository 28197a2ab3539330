/** The two headers every FOTA call needs, obtained the documented way (OAuth token, then M2M login). */
import type { ThingSpaceCredentials } from '../../adapters/thingspace/credentials';

export async function fotaHeaders(
  baseUrl: string,
  credentials: ThingSpaceCredentials,
): Promise<Record<string, string>> {
  const basic = Buffer.from(`${credentials.appKey}:${credentials.appSecret}`).toString('base64');
  const tokenResponse = await fetch(`${baseUrl}/api/ts/v1/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (!tokenResponse.ok) throw new Error(`token request failed: HTTP ${tokenResponse.status}`);
  const { access_token: accessToken } = (await tokenResponse.json()) as { access_token: string };
  const loginResponse = await fetch(`${baseUrl}/api/m2m/v1/session/login`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: credentials.username, password: credentials.password }),
  });
  if (!loginResponse.ok) throw new Error(`login failed: HTTP ${loginResponse.status}`);
  const { sessionToken } = (await loginResponse.json()) as { sessionToken: string };
  return { authorization: `Bearer ${accessToken}`, 'VZ-M2M-Token': sessionToken, accept: 'application/json' };
}
