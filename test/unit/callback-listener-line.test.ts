import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { callbackCredentials } from '../../functions/commons/callback-dependencies';
import { parseServiceConfig } from '../../functions/commons/configuration';
import { callbackListenerLine } from '../../local/callback-listener';
import { DEMO_CREDENTIALS } from '../../local/thingspace-simulator';

const URL = 'http://127.0.0.1:3000';
const SECRET_ID = 'thingspace-fota-history/credentials';
const secretsManager = mockClient(SecretsManagerClient);

beforeEach(() => secretsManager.reset());
afterAll(() => secretsManager.restore());

const fromSecret = () => callbackCredentials(parseServiceConfig({ THINGSPACE_SECRET_ID: SECRET_ID }));

describe("npm start's banner line for the callback listener", () => {
  it('says off when the secret has no callback fields, since the route then answers 404', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(DEMO_CREDENTIALS) });

    // Act
    const line = await callbackListenerLine(URL, fromSecret());

    // Assess
    expect(line).toMatch(/^off \(set THINGSPACE_CALLBACK_CREDENTIALS/);
  });

  it('names the route when the secret has the callback pair', async () => {
    // Prepare
    const secret = { ...DEMO_CREDENTIALS, callbackUsername: 'cb-user', callbackPassword: 'cb-password-1' };
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });

    // Act
    const line = await callbackListenerLine(URL, fromSecret());

    // Assess
    expect(line).toBe(`POST ${URL}/callbacks/thingspace`);
  });

  it('says unavailable, naming the fields and never their values, when the secret holds half a pair', async () => {
    // Prepare
    const secret = { ...DEMO_CREDENTIALS, callbackPassword: 'half-a-pair-password' };
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });

    // Act
    const line = await callbackListenerLine(URL, fromSecret());

    // Assess
    expect(line).toMatch(/^unavailable: .*callbackUsername and callbackPassword/);
    expect(line).not.toContain('half-a-pair-password');
  });

  it('says off with neither THINGSPACE_CALLBACK_CREDENTIALS nor a secret', async () => {
    // Act
    const line = await callbackListenerLine(URL, callbackCredentials(parseServiceConfig({})));

    // Assess
    expect(line).toMatch(/^off /);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
