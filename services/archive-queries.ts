/**
 * What the archive routes do: answer from the archive alone, one device's whole archive or one page of an
 * account's upgrades.
 */
import type { ArchiveReader } from '../domain/archive-ports';
import { type ArchiveQuery, type IndexKind, planArchiveQuery } from '../domain/archive-query';
import type { ArchiveTokenSigner } from '../domain/archive-token';
import { type DeviceArchiveView, deviceArchiveView } from '../domain/device-archive';
import { FailureError } from '../domain/failure';
import type { CallOptions } from '../domain/ports';
import type { DeviceKey, UpgradeRecord } from '../domain/upgrade-record';

export interface ArchiveQueryDependencies {
  reader: ArchiveReader;
  /**
   * Resolved lazily: in AWS the signing key is read from its secret on first use. A key that cannot be
   * read (or is no usable key) leaves the archive unanswerable, like a table that cannot be read.
   */
  tokenSigner: () => Promise<ArchiveTokenSigner>;
}

export interface UpgradesPage {
  upgrades: UpgradeRecord[];
  nextToken?: string;
  /** Which index answered, for metrics and logs. */
  index: IndexKind;
}

/** What the archive knows about one device: its sync state and every upgrade with its whole status log. */
export async function getDeviceArchive(
  device: DeviceKey,
  dependencies: Pick<ArchiveQueryDependencies, 'reader'>,
  options: CallOptions = {},
): Promise<DeviceArchiveView> {
  const partition = await readArchive(() => dependencies.reader.readDevice(device, options));
  return deviceArchiveView(device, partition.upgrades, partition.detachedLog, partition.sync);
}

/**
 * One page of an account's archived upgrades matching every filter, newest first. The token names
 * where the page ended, so following it to the end visits each record's position exactly once.
 */
export async function listArchivedUpgrades(
  query: ArchiveQuery,
  dependencies: ArchiveQueryDependencies,
  options: CallOptions = {},
): Promise<UpgradesPage> {
  const signer = await readArchive(() => dependencies.tokenSigner(), 'the archive token key could not be read');
  const after =
    query.nextToken === undefined ? undefined : signer.verify(query.nextToken, query.account, query.filters);
  const plan = planArchiveQuery(query.filters);
  const page = await readArchive(() => dependencies.reader.queryPage(query.account, plan, after, query.limit, options));
  return {
    upgrades: page.records,
    ...(page.next === undefined ? {} : { nextToken: signer.issue(query.account, query.filters, page.next) }),
    index: plan.index,
  };
}

async function readArchive<T>(read: () => Promise<T>, why = 'the history archive could not be read'): Promise<T> {
  try {
    return await read();
  } catch (cause) {
    throw new FailureError({ kind: 'archive-unavailable' }, why, { cause });
  }
}
