// The strict per-key order check of the fault tests. At least once allows a key's records to be
// handled again after a crash or rebalance, but only as a replay: the new owner starts again at
// an earlier record and runs forward in order. A stale member finishing record n after the new
// owner handled n+1 is not a replay, and must fail the check.

/** One handled record: its key, its position `n` within the key, and who handled it. */
export interface Handled {
  readonly key: string;
  readonly n: number;
  readonly member: string;
}

/**
 * What breaks per-key order in `log` (in the order records were handled), as readable lines;
 * empty when the order holds. Per key, each record must be the next one (previous + 1) or the
 * start of a replay (at most the previous one), never a skip ahead, and the key's last handled
 * record must be its highest, so a replay always runs through to where the key had got.
 */
export function orderViolations(log: readonly Handled[]): string[] {
  const last = new Map<string, Handled>();
  const highest = new Map<string, number>();
  const problems: string[] = [];
  for (const entry of log) {
    const previous = last.get(entry.key);
    // Measured from the previous record of the key, not its highest: after a late repeat of n,
    // the owner's n + 2 is a skip.
    if (entry.n > (previous?.n ?? -1) + 1) {
      problems.push(
        `key ${entry.key}: ${entry.n} (by ${entry.member}) came right after ${previous ? `${previous.n} (by ${previous.member})` : 'nothing'}`,
      );
    }
    last.set(entry.key, entry);
    highest.set(entry.key, Math.max(highest.get(entry.key) ?? -1, entry.n));
  }
  for (const [key, end] of last) {
    if (end.n !== highest.get(key)) {
      problems.push(
        `key ${key}: the last record handled was ${end.n} (by ${end.member}) after ${highest.get(key)} had been: a late repeat`,
      );
    }
  }
  return problems;
}
