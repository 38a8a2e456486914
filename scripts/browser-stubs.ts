/**
 * esbuild plugin of tl-kit's browser build (tsup.config.ts): swaps every Node-only module for a stub whose evaluation
 * throws tl-kit's UnsupportedError, so `dist/browser` holds no Node code and no `node:` import for an app's bundler
 * to externalize (Vite prints a warning for each, and ships a Node-only chunk).
 *
 * Node-only modules are Node's built-ins (`node:fs/promises`, `path`, ...) and tl-kit's own `src/**\/node-*.ts`
 * files. Both may only be reached through a dynamic `import()`, which rejects with the stub's error in a browser; a
 * static import would throw as the app starts, so the build refuses it.
 */
import { dirname } from 'node:path';
import type { Plugin } from 'esbuild';

/** What the plugin needs to know. */
export interface BrowserStubOptions {
  /** Names of Node's built-in modules (`builtinModules` of `node:module`). */
  readonly builtins: readonly string[];
  /** Absolute path of src/errors.ts, whose UnsupportedError the stubs throw. */
  readonly errorsModule: string;
}

const NAMESPACE = 'tl-kit-node-only';

/** Builds the plugin. */
export function browserStubs(options: BrowserStubOptions): Plugin {
  const builtins = new Set(options.builtins.flatMap((name) => [name, `node:${name}`]));
  return {
    name: 'tl-kit-browser-stubs',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        const builtin = builtins.has(args.path) || args.path.startsWith('node:');
        const ownNodeModule = /(^|\/)node-[\w-]+(\.ts)?$/.test(args.path) && /[\\/]src[\\/]/.test(args.importer);
        if (!builtin && !ownNodeModule) return undefined;
        if (args.kind !== 'dynamic-import') {
          return {
            errors: [
              {
                text: `${args.path} is Node-only and imported statically by ${args.importer}: use a dynamic import() so the browser build can swap it for a stub`,
              },
            ],
          };
        }
        // One stub for all of them: an app gets a single tiny chunk, named after this path.
        return { path: 'node-only-browser-stub', namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({
        contents:
          `import { UnsupportedError } from ${JSON.stringify(options.errorsModule)};\n` +
          `throw new UnsupportedError('tl-kit: this call needs Node (files, worker threads or native modules), which a browser does not have');\n`,
        loader: 'js',
        resolveDir: dirname(options.errorsModule),
      }));
    },
  };
}
