/**
 * Class indices of a dataset: the order of folder classes (Keras's sort, or `labelNames`) and what happens to a class
 * without a usable sample (`emptyClasses`).
 *
 * @module
 */
import { DatasetError, InvalidArgumentError } from '../errors';
import type { SampleStore } from './batches';
import type { ResolvedOptions } from './loader-options';
import type { SkippedFile } from './loader-types';
import { compareCodePoints } from './label-order';

/**
 * Class ids for a folder dataset. Folder names sort as Keras sorts them; a `labelNames` option (Keras's `class_names`)
 * must name the same folders and sets their order.
 */
export function orderFolderLabels(
  call: string,
  labels: readonly number[],
  folders: readonly string[],
  wanted: readonly string[] | undefined,
): { labels: number[]; labelNames: readonly string[] } {
  if (wanted === undefined) return { labels: [...labels], labelNames: folders };
  const sortedKey = (names: readonly string[]): string => [...names].sort(compareCodePoints).join('\u0000');
  if (wanted.length !== folders.length || sortedKey(wanted) !== sortedKey(folders)) {
    throw new InvalidArgumentError(call, 'labelNames', `the class folder names in the order you want, ${JSON.stringify(folders)}`, wanted);
  }
  const newId = folders.map((name) => wanted.indexOf(name));
  return { labels: labels.map((l) => newId[l] as number), labelNames: [...wanted] };
}

/**
 * Refuses classes without a usable sample (`emptyClasses: 'error'`), or leaves them out and renumbers the others in
 * order (`'drop'`). A class that silently stayed would widen the head, shift nothing visible and skew macro metrics.
 */
export function keepUsableClasses(
  call: string,
  policy: ResolvedOptions['emptyClasses'],
  store: SampleStore,
  labelNames: readonly string[],
  skipped: readonly SkippedFile[],
  classKind: 'folder' | 'label',
): { store: SampleStore; labelNames: readonly string[]; dropped: readonly string[] } {
  const counts = new Array<number>(labelNames.length).fill(0);
  for (const label of store.labels) counts[label] = (counts[label] as number) + 1;
  const empty = labelNames.flatMap((name, i) => (counts[i] === 0 ? [{ name, index: i }] : []));
  if (empty.length === 0) return { store, labelNames, dropped: [] };
  if (policy === 'error') {
    const describe = ({ name, index }: { name: string; index: number }): string => {
      if (classKind === 'label') return `${JSON.stringify(name)} (index ${index})`;
      const under = skipped.filter((s) => s.path === name || s.path.startsWith(`${name}/`)).length;
      return `${JSON.stringify(name)} (${under === 0 ? 'no image files' : `all ${under} files skipped, see skipped`})`;
    };
    const what = classKind === 'folder' ? 'class folder' : 'class';
    const list = empty.slice(0, 10).map(describe).join(', ') + (empty.length > 10 ? `, and ${empty.length - 10} more` : '');
    throw new DatasetError(
      `${call}: ${empty.length === 1 ? `${what} ${list} has` : `${what}s ${list} have`} no usable image; ` +
        `remove ${empty.length === 1 ? 'it' : 'them'} or pass emptyClasses: 'drop' to leave ${empty.length === 1 ? 'it' : 'them'} out (the other classes are then renumbered)`,
    );
  }
  const newIndex = counts.map((_, i) => -1);
  const kept: string[] = [];
  labelNames.forEach((name, i) => {
    if (counts[i] !== 0) newIndex[i] = kept.push(name) - 1;
  });
  return {
    store: { ...store, labels: store.labels.map((l) => newIndex[l] as number) },
    labelNames: kept,
    dropped: empty.map((e) => e.name),
  };
}
