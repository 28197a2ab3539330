/** The shapes of ThingSpace's 2xx answers (token, login, history, device list), and their parsing. */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { MAX_LISTED_FIELD_LENGTH } from '../../domain/fleet-selection';
import type { DeviceListPage } from '../../domain/ports';
import { ThingSpaceError } from '../../domain/thingspace-error';
import type { DeviceKey } from '../../domain/upgrade-record';
import {
  type DropCounts,
  type ScreenedRecords,
  type ScreenOptions,
  screenDeviceIds,
  screenUpgradeRecords,
} from '../../domain/upstream-record';
import { IN_ENGLISH } from '../zod-english';

/** A documented string field that ThingSpace may leave out or null: it becomes ''. */
const optionalText = z.pipe(
  z.nullish(z.string()),
  z.transform((value: string | null | undefined) => value ?? ''),
);

/**
 * Only the outer shape is checked here: each record (or device) is screened on its own by the domain's
 * rules (domain/upstream-record.ts), so one bad record is dropped alone instead of failing the answer.
 */
const historySchema = z.array(z.unknown());

const deviceListPageSchema = z
  .object({
    hasMoreData: z.boolean(),
    lastSeenDeviceId: optionalText,
    deviceList: z.pipe(
      z.nullish(z.array(z.unknown())),
      z.transform((devices: unknown[] | null | undefined) => devices ?? []),
    ),
  })
  .check(
    z.refine((page) => !page.hasMoreData || page.lastSeenDeviceId !== '', {
      error: 'lastSeenDeviceId is required when hasMoreData is true',
      path: ['lastSeenDeviceId'],
    }),
  );

const expiresInSeconds = z.union([
  z.number().check(z.positive()),
  z.pipe(z.string().check(z.regex(/^[0-9]+$/)), z.transform(Number)),
]);

export const tokenAnswerSchema = z.object({
  access_token: z.string().check(z.minLength(1)),
  expires_in: z.optional(expiresInSeconds),
});

export const loginAnswerSchema = z.object({ sessionToken: z.string().check(z.minLength(1)) });

/** Parses and validates a 2xx body; anything but the documented JSON is a 'malformed' failure. */
export function parseAnswer<T>(text: string, schema: z.ZodMiniType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ThingSpaceError('malformed', `ThingSpace ${what} answer is not valid JSON`);
  }
  const result = schema.safeParse(value, IN_ENGLISH);
  if (!result.success) {
    // Paths and expectations only: zod issues do not carry the offending values.
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ThingSpaceError(
      'malformed',
      `ThingSpace ${what} answer is not the documented shape${where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return result.data;
}

/** The device's well-formed records, and how many others were dropped, by reason. */
export function parseHistory(text: string, device: DeviceKey, options: ScreenOptions = {}): ScreenedRecords {
  return screenUpgradeRecords(parseAnswer(text, historySchema, 'history'), device, options);
}

export function parseDeviceListPage(
  text: string,
  options: ScreenOptions = {},
): { page: DeviceListPage; dropped: DropCounts } {
  const page = parseAnswer(text, deviceListPageSchema, 'device list');
  const { deviceIds, dropped } = screenDeviceIds(page.deviceList, options);
  // firmware and upgradeTime tell the fleet sync which devices can have a new upgrade; only listed ids
  // that passed the screen above are used (discovery matches on deviceIds).
  const devices = page.deviceList.flatMap((entry) => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { deviceId, firmware, upgradeTime } = entry as Record<string, unknown>;
    if (typeof deviceId !== 'string') return [];
    return [{ deviceId, firmware: boundedListed(firmware), upgradeTime: boundedListed(upgradeTime) }];
  });
  return {
    page: { deviceIds, hasMoreData: page.hasMoreData, lastSeenDeviceId: page.lastSeenDeviceId, devices },
    dropped,
  };
}

/**
 * A device-list value as the fleet sync stores and compares it: a longer one (hostile or broken) becomes
 * its digest, short, stable across passes, and still different when the value changes.
 */
function boundedListed(value: unknown): string {
  if (typeof value !== 'string') return '';
  return value.length <= MAX_LISTED_FIELD_LENGTH ? value : `sha256:${createHash('sha256').update(value).digest('hex')}`;
}
