import { describe, expect, it } from 'vitest';
import { buildStack, resourcesOfType } from './stack-template';

// Prepare (once per file)
const { template } = buildStack();

describe('history table', () => {
  it('is keyed pk/sk, on demand, point-in-time recoverable, encrypted, protected and retained', () => {
    // Act
    const tables = Object.values(resourcesOfType(template, 'AWS::DynamoDB::Table'));
    const [table] = tables;

    // Assess
    expect(tables).toHaveLength(1);
    expect(table?.DeletionPolicy).toBe('Retain');
    expect(table?.UpdateReplacePolicy).toBe('Retain');
    expect(table?.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
    });
  });
});
