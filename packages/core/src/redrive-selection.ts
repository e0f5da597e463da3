// Which of a subscription's dead letters a redrive selection names, the same on every transport.
import type { DeadLetter, RedriveSelection } from './contracts/dead-letter-admin.js';
import { ConfigurationError } from './errors.js';

/**
 * The dead letters of `available` (oldest first) that `selection` names; handles that name none
 * are left out (already redriven, discarded, or never there).
 * @throws ConfigurationError for a selection that names nothing to select by.
 */
export function selectForRedrive(
  available: readonly DeadLetter[],
  selection: RedriveSelection,
): DeadLetter[] {
  if ('handles' in selection) {
    const wanted = new Set(selection.handles);
    return available.filter((d) => wanted.has(d.handle));
  }
  if ('code' in selection) return available.filter((d) => d.reason.code === selection.code);
  if ('all' in selection && selection.all === true) return [...available];
  throw new ConfigurationError(
    'A redrive selection needs { handles: [...] }, { code: "EDA_..." } or { all: true }.',
  );
}
