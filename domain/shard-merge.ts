/**
 * Merging one round of descending reads from several shards of an index into one ordered run.
 * Each shard was read downward from the same upper bound; a shard that has more below stopped at its
 * `frontier` (the last key it evaluated). Every shard has read everything at or above the highest
 * frontier, so only keys at or above it are known to be complete and in order; the rest waits for the
 * next round, which starts below that key. This keeps the order total without a cursor per shard.
 */
export interface ShardRead<T> {
  items: Array<{ key: string; value: T }>;
  /** Undefined when the shard has nothing more below what it returned. */
  frontier: string | undefined;
}

export interface MergedRound<T> {
  /** Complete and ordered: highest key first. */
  items: Array<{ key: string; value: T }>;
  /** Where the next round continues (exclusive); undefined when every shard is exhausted. */
  continueBelow: string | undefined;
}

export function mergeShardRound<T>(reads: ReadonlyArray<ShardRead<T>>): MergedRound<T> {
  let cutoff: string | undefined;
  for (const read of reads) {
    if (read.frontier !== undefined && (cutoff === undefined || read.frontier > cutoff)) cutoff = read.frontier;
  }
  const items = reads
    .flatMap((read) => read.items)
    .filter((item) => cutoff === undefined || item.key >= cutoff)
    .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  return { items, continueBelow: cutoff };
}
