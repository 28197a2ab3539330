/**
 * The functions' IAM grants: each gets the table operations it issues and, if it calls ThingSpace, the
 * secret; nothing more.
 */
import { Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { ENV } from '../functions/commons/configuration';
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
const HISTORY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'] as const;

/**
 * Fleet discovery's operations (services/discover-fleet.ts): the checkpoint and the login guard (Get,
 * conditional Put), the page's sync states (BatchGetItem), a key-only Query for a never-upgraded
 * device's archive, and the sync state of such a device (Put).
 */
export const DISCOVERY_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
] as const;

/**
 * Gives one function the table (TABLE_NAME, the item operations it issues) and, when it calls
 * ThingSpace, the secret: GetSecretValue only (Powertools' SecretsProvider calls nothing else, so no
 * DescribeSecret), plus kms:Decrypt through Secrets Manager when the secret has a customer managed key.
 */
export function grantHistoryAccess(
  fn: ServiceFunction,
  access: HistoryAccess,
  options: { callsThingSpace: boolean; tableActions?: readonly string[] },
): void {
  // Not table.grant(): since the table has indexes, that would add `index/*`, which these functions never read.
  fn.lambda.addToRolePolicy(
    new PolicyStatement({
      actions: [...(options.tableActions ?? HISTORY_TABLE_ACTIONS)],
      resources: [access.table.tableArn],
    }),
  );
  fn.lambda.addEnvironment(ENV.TABLE_NAME, access.table.tableName);
  if (!options.callsThingSpace) return;

  grantThingSpaceSecretRead(fn, access.thingSpace);
  fn.lambda.addEnvironment(ENV.THINGSPACE_BASE_URL, access.thingSpace.baseUrl);
}

/**
 * Reading the ThingSpace secret (THINGSPACE_SECRET_ID): GetSecretValue only (Powertools' SecretsProvider
 * calls nothing else, so no DescribeSecret), plus kms:Decrypt through Secrets Manager when the secret has
 * a customer managed key.
 */
export function grantThingSpaceSecretRead(fn: ServiceFunction, thingSpace: ThingSpaceConnection): void {
  const { secret } = thingSpace;
  // A secret imported by name has an ARN ending in a random 6-character suffix that only the full ARN knows.
  const secretResource = secret.secretFullArn ?? `${secret.secretArn}-??????`;
  fn.lambda.addToRolePolicy(
    new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretResource] }),
  );
  if (thingSpace.kmsKeyArn) {
    fn.lambda.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [thingSpace.kmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(fn).region}.amazonaws.com` } },
      }),
    );
  }
  fn.lambda.addEnvironment(ENV.THINGSPACE_SECRET_ID, thingSpace.secretId);
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
  fn.lambda.addEnvironment(ENV.TABLE_NAME, table.tableName);
}
