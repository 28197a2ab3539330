import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { buildArchiveDependencies } from '../../functions/commons/archive-dependencies';
import { parseServiceConfig } from '../../functions/commons/configuration';
import { makeHandler } from '../../functions/get-archive-api';
import { apiGatewayProxyEvent } from '../../local/lambda-emulation';
import { lambdaContext } from '../support/lambda';

const secretsManager = mockClient(SecretsManagerClient);

/** A handler of its own for each test, so no cached key or failure carries over. */
function archiveHandler() {
  const config = parseServiceConfig({
    TABLE_NAME: 'never-read',
    // The signing key is read before the table, so nothing listens here and nothing needs to.
    DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    ARCHIVE_TOKEN_SECRET_ID: 'thingspace-fota-history/archive-token-key',
  });
  const dependencies = buildArchiveDependencies(config);
  return makeHandler(() => dependencies);
}

beforeEach(() => {
  secretsManager.reset();
});

afterAll(() => {
  secretsManager.restore();
});

function listUpgrades(): Promise<APIGatewayProxyResult> {
  const event = apiGatewayProxyEvent({
    method: 'GET',
    resource: '/archive/{account}/upgrades',
    path: '/archive/0242078689-00001/upgrades',
    pathParameters: { account: '0242078689-00001' },
    headers: { 'user-agent': 'vitest' },
  });
  return archiveHandler()(event, lambdaContext());
}

const ARCHIVE_UNAVAILABLE = {
  errorCode: 'ARCHIVE_UNAVAILABLE',
  errorMessage: 'The history archive is unavailable; retry later',
};

describe('an archive token key that cannot be read (GET /archive/{account}/upgrades)', () => {
  it.each([
    // A binary secret has no SecretString: no key material at all.
    ['binary', () => secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array(64) })],
    [
      'access denied',
      () =>
        secretsManager
          .on(GetSecretValueCommand)
          .rejects(
            Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', $metadata: {} }),
          ),
    ],
  ])('answers a %s secret with 503 ARCHIVE_UNAVAILABLE, like a table that cannot be read', async (_case, arrange) => {
    // Prepare
    arrange();

    // Act
    const response = await listUpgrades();

    // Assess
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toEqual(ARCHIVE_UNAVAILABLE);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });
});
