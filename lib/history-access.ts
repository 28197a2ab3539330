import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
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
  // Not table.grant(): since the table has indexes, that would add `index/*`, which these functions never read.
  fn.lambda.addToRolePolicy(new PolicyStatement({ actions: [...HISTORY_TABLE_ACTIONS], resources: [access.table.tableArn] }));
  fn.lambda.addEnvironment('TABLE_NAME', access.table.tableName);
  if (!options.callsThingSpace) return;

  access.thingSpace.secret.grantRead(fn.lambda);
  fn.lambda.addEnvironment('THINGSPACE_SECRET_ID', access.thingSpace.secretId);
  fn.lambda.addEnvironment('THINGSPACE_BASE_URL', access.thingSpace.baseUrl);
}

/**
 * Read-only access for the archive queries: Query on the table (a device's partition) and on each
 * archive-query index by name. No ThingSpace secret: these routes never call ThingSpace.
 */
export function grantArchiveRead(fn: ServiceFunction, table: ITable, indexNames: readonly string[]): void {
  fn.lambda.addToRolePolicy(
    new PolicyStatement({
      actions: ['dynamodb:Query'],
      resources: [table.tableArn, ...indexNames.map((name) => `${table.tableArn}/index/${name}`)],
    }),
  );
  fn.lambda.addEnvironment('TABLE_NAME', table.tableName);
}
