import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  parseLocalConfig,
  parseServiceConfig,
  required,
} from '../../functions/commons/configuration';

const CREDENTIALS = { appKey: 'k-123', appSecret: 'secret-value-9', username: 'api-user', password: 'pw-value-7' };

function errorOf(parse: () => unknown): Error {
  try {
    parse();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('parseServiceConfig', () => {
  it('reads the variables the stack sets into typed settings, with the defaults for the rest', () => {
    // Act
    const config = parseServiceConfig({
      TABLE_NAME: 'fota-history',
      THINGSPACE_SECRET_ID: 'thingspace-fota-history/credentials',
      THINGSPACE_TIMEOUT_MS: '1500',
      SYNC_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/sync',
      FULL_RESYNC_DAYS: '14',
      DYNAMODB_ENDPOINT: '',
    });

    // Assess
    expect(config).toMatchObject({
      tableName: 'fota-history',
      dynamoDbEndpoint: undefined,
      thingspace: {
        baseUrl: 'https://thingspace.verizon.com',
        secretId: 'thingspace-fota-history/credentials',
        timeoutMs: 1500,
        maxAttempts: undefined,
      },
      queues: { sync: 'https://sqs.us-east-1.amazonaws.com/1/sync' },
      fullResyncDays: 14,
      eventBusName: 'default',
    });
  });

  it('refuses every bad value in one ConfigurationError that names each variable, and no credential', () => {
    // Act
    const error = errorOf(() =>
      parseServiceConfig({
        THINGSPACE_TIMEOUT_MS: 'soon',
        THINGSPACE_CREDENTIALS: JSON.stringify({ ...CREDENTIALS, password: '' }),
        THINGSPACE_CALLBACK_CREDENTIALS: '{"username":"cb-user","password":',
        FULL_RESYNC_DAYS: '31',
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('THINGSPACE_TIMEOUT_MS must be a positive whole number');
    expect(error.message).toContain(
      'THINGSPACE_CREDENTIALS: ThingSpace credentials lack non-empty string field(s): password',
    );
    expect(error.message).toContain('THINGSPACE_CALLBACK_CREDENTIALS is not valid JSON');
    expect(error.message).toContain('FULL_RESYNC_DAYS must be a whole number of days from 1 to 30');
    for (const value of [...Object.values(CREDENTIALS), 'cb-user']) expect(error.message).not.toContain(value);
  });

  it('leaves a missing setting to the function that needs it, which names it', () => {
    // Act
    const config = parseServiceConfig({});

    // Assess
    expect(() => required(config.tableName, 'TABLE_NAME')).toThrow(new ConfigurationError('TABLE_NAME is not set'));
  });
});

describe('parseLocalConfig', () => {
  it("gives npm start's defaults: port 3000 on 127.0.0.1, WARN logs, a free simulator port", () => {
    // Act
    const config = parseLocalConfig({});

    // Assess
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      simulatorPort: 0,
      logLevel: 'WARN',
      dataDir: undefined,
      thingspaceBaseUrl: undefined,
      logFormat: undefined,
    });
  });

  it('refuses a port, a log format and a webhook it cannot use, quoting only the port', () => {
    // Act
    const error = errorOf(() =>
      parseLocalConfig({ PORT: 'eighty', LOG_FORMAT: 'xml', EVENTS_WEBHOOK_URL: 'ftp://example.com/events' }),
    );

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('PORT must be a port number, not "eighty"');
    expect(error.message).toContain('LOG_FORMAT must be text or json');
    expect(error.message).toContain('EVENTS_WEBHOOK_URL must be an http(s) URL');
  });
});
