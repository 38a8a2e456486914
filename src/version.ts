/**
 * The tl-kit version, written into saved classifiers' metadata. Kept in step with package.json by a test.
 *
 * @example
 * ```ts
 * import { VERSION } from 'tl-kit';
 * console.log(`tl-kit ${VERSION}`); // e.g. "tl-kit 0.2.0"
 * ```
 */
export const VERSION = '0.2.0';
