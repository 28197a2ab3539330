import * as z from 'zod';
import type { DeviceListPage } from '../../domain/ports';
import { ThingSpaceError } from '../../domain/thingspace-error';
import { toUpgradeRecord, type UpgradeRecord } from '../../domain/upgrade-record';

/** A documented string field that ThingSpace may leave out or null: it becomes ''. */
const optionalText = z
  .string()
  .nullish()
  .transform((value) => value ?? '');

/** Unknown fields are dropped (zod's default), so nothing undocumented is archived or served. */
const upgradeRecordSchema = z.object({
  id: z.string().min(1),
  deviceId: optionalText,
  accountName: optionalText,
  firmwareFrom: optionalText,
  firmwareTo: optionalText,
  startDate: optionalText,
  upgradeStartTime: optionalText,
  status: optionalText,
  reason: optionalText,
});

const historySchema = z.array(upgradeRecordSchema);

const deviceListPageSchema = z
  .object({
    hasMoreData: z.boolean(),
    lastSeenDeviceId: optionalText,
    deviceList: z
      // firmware and upgradeTime tell the fleet sync which devices can have a new upgrade.
      .array(z.object({ deviceId: z.string().min(1), firmware: optionalText, upgradeTime: optionalText }))
      .nullish()
      .transform((devices) => devices ?? []),
  })
  .refine((page) => !page.hasMoreData || page.lastSeenDeviceId !== '', {
    message: 'lastSeenDeviceId is required when hasMoreData is true',
    path: ['lastSeenDeviceId'],
  });

const expiresInSeconds = z.union([z.number().positive(), z.string().regex(/^[0-9]+$/).transform(Number)]);

export const tokenAnswerSchema = z.object({
  access_token: z.string().min(1),
  expires_in: expiresInSeconds.optional(),
});

export const loginAnswerSchema = z.object({ sessionToken: z.string().min(1) });

/** Parses and validates a 2xx body; anything but the documented JSON is a 'malformed' failure. */
export function parseAnswer<T>(text: string, schema: z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ThingSpaceError('malformed', `ThingSpace ${what} answer is not valid JSON`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    // Paths and expectations only: zod issues do not carry the offending values.
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ThingSpaceError('malformed', `ThingSpace ${what} answer is not the documented shape${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

export function parseHistory(text: string): UpgradeRecord[] {
  return parseAnswer(text, historySchema, 'history').map((record) => toUpgradeRecord(record));
}

export function parseDeviceListPage(text: string): DeviceListPage {
  const page = parseAnswer(text, deviceListPageSchema, 'device list');
  return {
    deviceIds: page.deviceList.map((device) => device.deviceId),
    hasMoreData: page.hasMoreData,
    lastSeenDeviceId: page.lastSeenDeviceId,
    devices: page.deviceList.map(({ deviceId, firmware, upgradeTime }) => ({ deviceId, firmware, upgradeTime })),
  };
}
