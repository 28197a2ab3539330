/** A floor part: only ThingSpace's three calls over node:http (the event carries the credentials). */
import { type DemoCredentials, deviceHistory, logIn, requestToken } from './thingspace-calls';

export async function handler(event: { account: string; deviceId: string; credentials: DemoCredentials }) {
  const token = await requestToken(event.credentials);
  const session = await logIn(event.credentials, token);
  return { statusCode: 200, body: await deviceHistory(event.account, event.deviceId, token, session) };
}
