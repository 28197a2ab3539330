import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, readFotaHistoryConfig } from '../../lib/fota-history-config';

const configFrom = (context: Record<string, unknown>) => readFotaHistoryConfig(new App({ context }).node);

describe('readFotaHistoryConfig', () => {
  it('falls back to the documented defaults', () => {
    // Act
    const config = configFrom({});

    // Assess
    expect(config).toEqual({ ...DEFAULT_CONFIG, thingSpaceSecretArn: undefined });
    expect(config).toMatchObject({
      thingSpaceSecretName: 'thingspace-fota-history/credentials',
      thingSpaceBaseUrl: 'https://thingspace.verizon.com',
      fleetAccounts: [],
      syncSchedule: 'rate(1 day)',
      syncMaxConcurrency: 5,
    });
  });

  it('reads accounts from a comma-separated string or an array, trimmed and deduplicated', () => {
    // Act
    const fromString = configFrom({ fleetAccounts: ' 0242078689-00001, 0342078689-00002 ,0242078689-00001,' });
    const fromArray = configFrom({ fleetAccounts: ['0242078689-00001'] });

    // Assess
    expect(fromString.fleetAccounts).toEqual(['0242078689-00001', '0342078689-00002']);
    expect(fromArray.fleetAccounts).toEqual(['0242078689-00001']);
  });

  it('reads numbers given as strings by -c and keeps the leading zeros of accounts', () => {
    // Act
    const config = configFrom({ syncMaxConcurrency: '8', fleetAccounts: '0000000001' });

    // Assess
    expect(config.syncMaxConcurrency).toBe(8);
    expect(config.fleetAccounts).toEqual(['0000000001']);
  });

  it.each([
    [{ syncMaxConcurrency: 1 }, /syncMaxConcurrency/],
    [{ syncMaxConcurrency: 'many' }, /syncMaxConcurrency/],
    [{ fleetAccounts: 'abc' }, /fleetAccounts/],
    [{ thingSpaceBaseUrl: 'http://thingspace.verizon.com' }, /https/],
    [{ thingSpaceBaseUrl: 'not a url' }, /thingSpaceBaseUrl/],
    [{ logLevel: 'LOUD' }, /logLevel/],
    [{ thingSpaceSecretArn: '' }, /thingSpaceSecretArn/],
  ])('refuses %j', (context, message) => {
    // Act + Assess
    expect(() => configFrom(context)).toThrow(message);
  });

  it('strips a trailing slash from the base URL and keeps a configured secret ARN', () => {
    // Act
    const config = configFrom({
      thingSpaceBaseUrl: 'https://sandbox.example.com/',
      thingSpaceSecretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf',
    });

    // Assess
    expect(config.thingSpaceBaseUrl).toBe('https://sandbox.example.com');
    expect(config.thingSpaceSecretArn).toBe('arn:aws:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf');
  });
});
