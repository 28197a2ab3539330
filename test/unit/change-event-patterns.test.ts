import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { changeEventForWrite } from '../../adapters/events/change-event-emitting-store';
import { planUpgradeWrite } from '../../domain/archive-plan';
import { type ChangeEvent, UPGRADE_STATUS_CHANGED } from '../../domain/change-event';
import { upgradeRecord } from '../support/records';

/**
 * The README's event patterns for the common rules, read from the README itself and matched against
 * events the mapping produces. The matcher implements EventBridge's exact-value matching, the only kind
 * the README's patterns use: every field named in the pattern must be in the event; a leaf is an array
 * of accepted values, and an array in the event matches if any of its elements is accepted.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 */
type Pattern = { [field: string]: Pattern | Array<string | number | boolean | null> };

function assertValidPattern(pattern: unknown, path = 'pattern'): asserts pattern is Pattern {
  expect(typeof pattern === 'object' && pattern !== null && !Array.isArray(pattern), `${path} is an object`).toBe(true);
  for (const [field, value] of Object.entries(pattern as Record<string, unknown>)) {
    if (Array.isArray(value)) {
      expect(value.length, `${path}.${field} lists at least one value`).toBeGreaterThan(0);
      for (const item of value)
        expect(
          ['string', 'number', 'boolean'].includes(typeof item) || item === null,
          `${path}.${field} holds exact values`,
        ).toBe(true);
    } else {
      assertValidPattern(value, `${path}.${field}`);
    }
  }
}

function matches(pattern: Pattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const fields = event as Record<string, unknown>;
  return Object.entries(pattern).every(([field, expected]) => {
    if (!(field in fields)) return false;
    const actual = fields[field];
    if (!Array.isArray(expected)) return matches(expected, actual);
    const candidates = Array.isArray(actual) ? actual : [actual];
    return candidates.some((candidate) => expected.includes(candidate as never));
  });
}

function readmePatterns(): { failures: Pattern; firmware: Pattern; campaign: Pattern; failedThenSucceeded: Pattern } {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('Event patterns for common rules'), readme.indexOf('**One machine:**'));
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1]!) as unknown);
  expect(blocks).toHaveLength(3);
  const inline = /matches `([^`]+)`/.exec(section.replace(/\n/g, ' '))?.[1];
  expect(inline).toBeDefined();
  const [failures, firmware, campaign] = blocks;
  const failedThenSucceeded = { source: ['thingspace-fota-history'], ...(JSON.parse(`{${inline}}`) as object) };
  for (const pattern of [failures, firmware, campaign, failedThenSucceeded]) assertValidPattern(pattern);
  return { failures, firmware, campaign, failedThenSucceeded } as never;
}

const device = { account: '0242078689-00001', deviceId: '990000473475989' };
const CAMPAIGN = '0b1a6f5e-3c51-4e8e-9d7a-1f2c3d4e5f60';
const failedRecord = upgradeRecord({
  deviceId: device.deviceId,
  id: CAMPAIGN,
  firmwareTo: 'VerizonFirmwareVersion-04',
  status: 'UpgradeFailed',
  reason: 'Device did not respond',
});
const firstFailed = planUpgradeWrite(failedRecord, undefined, '2026-06-01T00:00:00.000Z')!;
const succeeded = planUpgradeWrite(
  { ...failedRecord, status: 'UpgradeSuccess', reason: 'success' },
  firstFailed.next,
  '2026-06-02T00:00:00.000Z',
)!;
const otherFirmware = planUpgradeWrite(
  upgradeRecord({
    deviceId: device.deviceId,
    id: 'other-campaign',
    firmwareTo: 'VerizonFirmwareVersion-05',
    status: 'RequestFailed',
  }),
  undefined,
  '2026-06-01T00:00:00.000Z',
)!;

const event = (write: Parameters<typeof changeEventForWrite>[1]): ChangeEvent => changeEventForWrite(device, write)!;

describe("the README's event patterns", () => {
  const patterns = readmePatterns();
  const failedSighting = event(firstFailed);
  const success = event(succeeded);
  const otherFailure = event(otherFirmware);

  it('failures: matches failed upgrades, first sightings and changes alike, and not a success', () => {
    expect(matches(patterns.failures, failedSighting)).toBe(true);
    expect(matches(patterns.failures, otherFailure)).toBe(true);
    expect(matches(patterns.failures, success)).toBe(false);
  });

  it('a firmware: matches upgrades to that firmware only', () => {
    expect(matches(patterns.firmware, failedSighting)).toBe(true);
    expect(matches(patterns.firmware, success)).toBe(true);
    expect(matches(patterns.firmware, otherFailure)).toBe(false);
  });

  it('a campaign: matches every event of that upgrade id only', () => {
    expect([failedSighting, success].every((candidate) => matches(patterns.campaign, candidate))).toBe(true);
    expect(matches(patterns.campaign, otherFailure)).toBe(false);
  });

  it('failed then succeeded: matches only the change from failure to success', () => {
    expect(success['detail-type']).toBe(UPGRADE_STATUS_CHANGED);
    expect(matches(patterns.failedThenSucceeded, success)).toBe(true);
    expect(matches(patterns.failedThenSucceeded, failedSighting)).toBe(false);
    expect(matches(patterns.failedThenSucceeded, otherFailure)).toBe(false);
  });
});
