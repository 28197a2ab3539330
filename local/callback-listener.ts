/**
 * The callback listener on one machine: its credentials, its banner line, and the in-process syncs that
 * stand in for the sync queue.
 */
import type { CallbackCredentials } from '../domain/callback-payload';
import type { DeviceKey } from '../domain/upgrade-record';
import type { ServiceConfig } from '../functions/commons/configuration';
import type { HistoryDependencies } from '../services/observe-device';
import { DeviceSyncError, syncDevice } from '../services/sync-device';
import { CALLBACK_ROUTE } from './api-gateway-server';
import { InProcessSyncPool } from './in-process-sync-pool';

/** What `npm start` registers with its built-in simulator by default: fine locally, valid nowhere else. */
export const DEMO_CALLBACK_CREDENTIALS: CallbackCredentials = Object.freeze({
  username: 'demo-callback-user',
  password: 'demo-callback-password',
});

/** Devices synced at once because of callbacks (ThingSpace is shared with the API's requests). */
const CALLBACK_SYNC_CONCURRENCY = 4;
const DEVICE_TIMEOUT_MS = 60_000;

export interface LocalCallbackSyncs {
  /** Where callbacks' devices go: the same syncDevice the fleet pass runs, a few at a time. */
  pool: InProcessSyncPool;
  /** Resolves when every device queued so far has been synced (or has failed). */
  drain(): Promise<void>;
  /**
   * For a stop: starts no further device and resolves, with how many were left unstarted, once those in
   * flight have finished. A long backlog would otherwise hold a stop for hours.
   */
  stop(): Promise<number>;
}

/**
 * The one-machine stand-in for the sync queue behind the callback listener: devices a callback names
 * are synced in this process through syncDevice, so the archive (and events.jsonl) learn of the change
 * from ThingSpace's own history, as the deployed sync workers do.
 */
export function localCallbackSyncs(
  dependencies: HistoryDependencies,
  report: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): LocalCallbackSyncs {
  const pool = new InProcessSyncPool(async (device: DeviceKey) => {
    try {
      await syncDevice(device, dependencies, { deadline: Date.now() + DEVICE_TIMEOUT_MS });
    } catch (error) {
      const code = error instanceof DeviceSyncError ? error.errorCode : (error as Error).name;
      report(`callback sync of ${device.account}/${device.deviceId} failed: ${code}`);
    }
  }, CALLBACK_SYNC_CONCURRENCY);
  return {
    pool,
    drain: () => pool.drain(),
    stop: async () => {
      const notStarted = pool.discardBacklog();
      await pool.drain();
      return notStarted;
    },
  };
}

/**
 * npm start's banner line for POST /callbacks/thingspace. With THINGSPACE_SECRET_ID the secret is read
 * now: one without callbackUsername/callbackPassword means the route answers 404, so it says off.
 */
export async function callbackListenerLine(
  url: string,
  credentials: () => Promise<CallbackCredentials | undefined>,
): Promise<string> {
  try {
    if (await credentials()) return `POST ${url}${CALLBACK_ROUTE}`;
    return 'off (set THINGSPACE_CALLBACK_CREDENTIALS, or callbackUsername/callbackPassword in the secret, to listen)';
  } catch (error) {
    // Named without the secret's content (parseCallbackCredentials names fields, never values).
    return `unavailable: ${(error as Error).message}`;
  }
}

/**
 * With the built-in simulator and no callback credentials of one's own, npm start listens with the demo
 * pair, so the callback loop works out of the box; against a real ThingSpace the operator chooses them.
 */
export function localCallbackConfig(config: ServiceConfig, usesSimulator: boolean): ServiceConfig {
  if (!usesSimulator || config.callbackCredentials || config.thingspace.secretId) return config;
  return { ...config, callbackCredentials: DEMO_CALLBACK_CREDENTIALS };
}
