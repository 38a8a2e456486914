/**
 * Imports an optional peer dependency so that an app's bundler does not follow it.
 *
 * A literal `import('sharp')` is followed by Vite, webpack or Rollup when they bundle an app that uses tl-kit: the
 * build then pulls a Node-only package into a browser bundle (sharp) or fails when the package is not installed. A
 * specifier held in a variable is left alone by bundlers (the comments silence Vite's and webpack's notices).
 *
 * tsup's CommonJS build turns `import(x)` into `require(x)`, which Node 20 refuses for ES-module-only packages such as
 * h5wasm; there, and only in Node, the import is retried through a function built at run time, which the transform
 * cannot see.
 */
import { isNode } from './env';

type DynamicImport = (specifier: string) => Promise<unknown>;

let nativeImport: DynamicImport | undefined;

/**
 * Imports `specifier` at run time, hidden from bundlers, and returns its namespace. Rejects like `import()` when the
 * package is missing. A CommonJS package's `module.exports` may sit in the namespace's `default`: see
 * {@link interopDefault}.
 */
export async function importOptional<T>(specifier: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as T;
  } catch (err) {
    if (!isNode()) throw err;
    // In the CommonJS build the import above was a require(): ES-module-only packages refuse it
    // (ERR_REQUIRE_ESM, or ERR_PACKAGE_PATH_NOT_EXPORTED when they export no require condition). Node's own import
    // takes them. Where that is unavailable (a vm context without an import hook), the first error stands.
    nativeImport ??= new Function('specifier', 'return import(specifier)') as DynamicImport;
    try {
      return (await nativeImport(specifier)) as T;
    } catch (nativeErr) {
      throw (nativeErr as { code?: string } | null)?.code === 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING' ? err : nativeErr;
    }
  }
}

/** The `module.exports` of a CommonJS package imported as ESM (its `default`), or the namespace of an ES module. */
export function interopDefault<T>(namespace: unknown): T {
  const ns = namespace as { default?: unknown };
  return (ns.default ?? ns) as T;
}

/** True when `err` says the module itself is not installed (as opposed to a failure while loading it). */
export function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
