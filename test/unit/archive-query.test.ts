import { describe, expect, it } from 'vitest';
import { planArchiveQuery } from '../../domain/archive-query';
import { ArchiveTokenSigner } from '../../domain/archive-token';
import { mergeShardRound } from '../../domain/shard-merge';

describe('planArchiveQuery', () => {
  it.each([
    [{ deviceId: '351756051523999', upgradeId: 'u', status: 's' }, 'device', { upgradeId: 'u', status: 's' }],
    [{ upgradeId: 'u', firmwareTo: 'f', status: 's' }, 'upgradeId', { firmwareTo: 'f', status: 's' }],
    [{ firmwareTo: 'f', firmwareFrom: 'g' }, 'firmwareTo', { firmwareFrom: 'g' }],
    [{ firmwareFrom: 'g', status: 's' }, 'firmwareFrom', { status: 's' }],
    [{ status: 's', from: '2025-01-01' }, 'status', {}],
    [{ from: '2025-01-01', to: '2025-02-01' }, 'date', {}],
  ] as const)('reads %j from the %s index and filters the rest within it', (filters, index, residual) => {
    // Act
    const plan = planArchiveQuery(filters);

    // Assess
    expect(plan.index).toBe(index);
    expect(plan.residual).toEqual(residual);
  });

  it('bounds the sort key by from and to, inclusive of every record of both days', () => {
    // Act
    const plan = planArchiveQuery({ from: '2025-01-01', to: '2025-02-01' });

    // Assess
    expect('2025-01-01#351756051523999#x' >= plan.lower).toBe(true);
    expect('2025-02-01#999999999999999#~~~' <= plan.upper).toBe(true);
    expect('2025-02-02#000000000000000#a' <= plan.upper).toBe(false);
    expect('2024-12-31#999999999999999#a' >= plan.lower).toBe(false);
  });
});

describe('ArchiveTokenSigner', () => {
  const signer = new ArchiveTokenSigner(Buffer.from('unit-test-key-0123456789abcdef'));

  it('gives back the position for the same account and filters, whatever their order', () => {
    // Act
    const token = signer.issue('1', { status: 's', firmwareTo: 'f' }, '2025-01-01#1#a');

    // Assess
    expect(signer.verify(token, '1', { firmwareTo: 'f', status: 's' })).toBe('2025-01-01#1#a');
  });

  it('refuses a token signed with another key', () => {
    // Prepare
    const token = new ArchiveTokenSigner(Buffer.from('another-key-0123456789abcdefghij')).issue('1', {}, 'p');

    // Act / Assess
    expect(() => signer.verify(token, '1', {})).toThrow(/not a token this service issued/);
  });
});

describe('mergeShardRound', () => {
  it('keeps only what every shard has read down to, highest first, and says where to continue', () => {
    // Act
    const round = mergeShardRound([
      {
        items: [
          { key: 'f', value: 1 },
          { key: 'c', value: 2 },
        ],
        frontier: 'c',
      },
      {
        items: [
          { key: 'e', value: 3 },
          { key: 'd', value: 4 },
          { key: 'b', value: 5 },
        ],
        frontier: undefined,
      },
      {
        items: [
          { key: 'g', value: 6 },
          { key: 'a', value: 7 },
        ],
        frontier: 'a',
      },
    ]);

    // Assess
    expect(round.items.map((item) => item.key)).toEqual(['g', 'f', 'e', 'd', 'c']);
    expect(round.continueBelow).toBe('c');
  });
});
