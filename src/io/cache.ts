/**
 * Where downloaded models live in Node (like Keras's `~/.keras/models`): one folder per model URL, named after the
 * URL's host and path plus a hash, holding `model.json` and its shards under their manifest names.
 */
import { InvalidArgumentError } from '../errors';

/**
 * The cache folder to use: `option` when it is a string, nothing when `false`, else `$TLKIT_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/tl-kit/models`, else `~/.cache/tl-kit/models`.
 */
export async function resolveCacheDir(option: string | false | undefined): Promise<string | undefined> {
  if (option === false) return undefined;
  if (option !== undefined) {
    if (typeof option !== 'string' || option.length === 0) {
      throw new InvalidArgumentError('loadBase', 'cacheDir', 'a folder path or false', option);
    }
    return option;
  }
  const env = process.env;
  if (env['TLKIT_CACHE_DIR']) return env['TLKIT_CACHE_DIR'];
  const path = await import('node:path');
  if (env['XDG_CACHE_HOME']) return path.join(env['XDG_CACHE_HOME'], 'tl-kit', 'models');
  const os = await import('node:os');
  return path.join(os.homedir(), '.cache', 'tl-kit', 'models');
}

/** The cache folder of one model URL: `<cacheDir>/<host_path_slug>-<sha256(url) prefix>`. */
export async function cacheEntryDir(cacheDir: string, url: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const path = await import('node:path');
  const parsed = new URL(url);
  const slug = `${parsed.host}${parsed.pathname}`
    .replace(/\/model\.json$/, '')
    .replace(/[^a-zA-Z0-9._-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(-80);
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return path.join(cacheDir, `${slug}-${hash}`);
}
