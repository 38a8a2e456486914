/**
 * The tl-kit version, written into saved classifiers' metadata. Kept in step with package.json by a test.
 */
export const VERSION = '0.2.0';
