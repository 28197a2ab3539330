import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type LoginGuardRecord, type LoginGuardStore, MAX_LOGIN_ATTEMPTS } from '../thingspace/login-guard';
import { isConditionalCheckFailed } from './request-errors';
import { ITEM_TYPES, loginGuardKey } from './table-schema';

export interface DynamoDbLoginGuardOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

const NUMBERS = ['version', 'attempts', 'pausedUntil', 'leaseUntil', 'lastAttemptAt', 'lastSuccessAt'] as const;
const STRINGS = ['fingerprint', 'salt', 'leaseOwner', 'lastOutcome'] as const;

/**
 * The login guard's records in the history table (pk THINGSPACE#LOGIN, sk GUARD#<hash of the username>):
 * a consistent GetItem and a PutItem conditional on the version read. The same code serves Lambda,
 * `npm start` and `npm run sync` (whose embedded store speaks the DynamoDB API too), so every process
 * shares one count per user.
 */
export class DynamoDbLoginGuard implements LoginGuardStore {
  constructor(private readonly options: DynamoDbLoginGuardOptions) {}

  async read(userKey: string): Promise<LoginGuardRecord | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: loginGuardKey(userKey), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parseRecord(Item);
  }

  async write(userKey: string, record: LoginGuardRecord, expectedVersion: number | undefined): Promise<boolean> {
    const item = {
      ...record,
      ...loginGuardKey(userKey),
      type: ITEM_TYPES.loginGuard,
      updatedAt: new Date().toISOString(),
    };
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: item,
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': expectedVersion },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** The operator's reset: the record goes, and the user's next login may be tried at once. */
  async reset(userKey: string): Promise<LoginGuardRecord | undefined> {
    const { Attributes } = await this.options.client.send(
      new DeleteCommand({ TableName: this.options.tableName, Key: loginGuardKey(userKey), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes === undefined ? undefined : parseRecord(Attributes);
  }
}

/**
 * Read defensively: anyone with table access can edit the item, and one that cannot be trusted throws
 * (then nobody logs in). An item of the earlier guard (`refusals`, `stopped`) keeps its count.
 */
function parseRecord(raw: Record<string, unknown>): LoginGuardRecord {
  const record: Record<string, unknown> = {};
  for (const name of NUMBERS) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new Error(`The login guard item's ${name} is not a number`);
    record[name] = value;
  }
  for (const name of STRINGS) if (typeof raw[name] === 'string') record[name] = raw[name];
  if (record.version === undefined) throw new Error('The login guard item has no version');
  const earlier = typeof raw.refusals === 'number' ? raw.refusals : 0;
  const attempts = Math.max(
    (record.attempts as number | undefined) ?? 0,
    earlier,
    raw.stopped === true ? MAX_LOGIN_ATTEMPTS : 0,
  );
  return { ...(record as unknown as LoginGuardRecord), attempts };
}
