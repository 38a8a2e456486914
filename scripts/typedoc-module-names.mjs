// TypeDoc plugin: names each entry point's module as users import it ('tl-kit', 'tl-kit/nsfwjs') instead of after its
// file ('index', 'nsfwjs'). The names come from the `moduleNames` option of typedoc.json: { "src/...ts": "name" }.
import { resolve } from 'node:path';
import { Converter, ParameterType, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.options.addDeclaration({
    name: 'moduleNames',
    help: 'Module name per entry point file, e.g. { "src/index.ts": "tl-kit" }',
    type: ParameterType.Object,
    defaultValue: {},
  });
  /** @type {Map<import('typedoc').Reflection, string>} */
  const renames = new Map();
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
    const names = /** @type {Record<string, string>} */ (app.options.getValue('moduleNames'));
    const name = Object.entries(names).find(([entry]) => file !== undefined && resolve(entry) === resolve(file))?.[1];
    if (name !== undefined) renames.set(reflection, name);
  });
  // After TypeDoc has read the comments (a @module tag would name the module there), so this name is the last word.
  app.converter.on(Converter.EVENT_RESOLVE_END, () => {
    for (const [reflection, name] of renames) reflection.name = name;
    renames.clear();
  });
}
