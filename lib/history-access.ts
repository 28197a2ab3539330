import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ServiceFunction } from './service-function';
import type { ThingSpaceConnection } from './thingspace-secret';

/** What a function needs to read and archive history: the table and, if it calls ThingSpace, the credentials. */
export interface HistoryAccess {
  readonly table: ITable;
  readonly thingSpace: ThingSpaceConnection;
}

/**
 * The item operations the history store issues (adapters/dynamodb/dynamodb-history-store.ts: Get, Query,
 * conditional Put) and the shared ThingSpace login guard needs (adapters/dynamodb/dynamodb-login-guard.ts:
 * consistent Get, conditional Put). Narrower than grantReadWriteData, which adds Scan, DeleteItem and stream
 * reads that no function uses; extend this list when the store starts using another operation.
 */
export const HISTORY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'] as const;

/** Gives one function the table (TABLE_NAME, item read/write) and, when it calls ThingSpace, the secret. */
export function grantHistoryAccess(fn: ServiceFunction, access: HistoryAccess, options: { callsThingSpace: boolean }): void {
  access.table.grant(fn.lambda, ...HISTORY_TABLE_ACTIONS);
  fn.lambda.addEnvironment('TABLE_NAME', access.table.tableName);
  if (!options.callsThingSpace) return;

  access.thingSpace.secret.grantRead(fn.lambda);
  fn.lambda.addEnvironment('THINGSPACE_SECRET_ID', access.thingSpace.secretId);
  fn.lambda.addEnvironment('THINGSPACE_BASE_URL', access.thingSpace.baseUrl);
}
