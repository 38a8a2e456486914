/**
 * The one shape in which tl-kit reports the progress of a long call (`onProgress` options).
 *
 * @module
 */

/**
 * Progress of a long call: which phase it is in, and how far. `done` and `total` count the phase's units, which the
 * option that reports it names (files for a folder scan and for a model's download, bytes for an ONNX download).
 *
 * @example
 * ```ts
 * await DataLoader.fromDirectory('photos', {
 *   onProgress: ({ phase, done, total }) => console.log(phase, done, total ?? '?'),
 * });
 * await loadBase('https://example.com/base/model.json', {
 *   onProgress: ({ done, total }) => console.log(`downloaded ${done} of ${total} files`),
 * });
 * ```
 *
 * @category data
 */
export interface Progress<Phase extends string = string> {
  /** What the call is doing, e.g. `'list'`, `'validate'` or `'download'`. */
  readonly phase: Phase;
  /** Units done so far in this phase. */
  readonly done: number;
  /** Units in this phase; undefined while it is not known yet. */
  readonly total: number | undefined;
}
