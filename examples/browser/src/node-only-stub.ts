/**
 * Stands in for Node-only packages in the browser bundle (see vite.config.ts). tl-kit loads sharp only on its Node
 * code path, which never runs in a browser; without this stub, Vite would follow that lazy `import('sharp')` and try to
 * bundle sharp's native loader.
 */
export default undefined;
