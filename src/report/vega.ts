/**
 * Renders Vega-Lite specifications to standalone SVG documents with the optional peers `vega` and `vega-lite`,
 * imported on the first report only (out of bundlers' sight), so apps that never write a report neither bundle nor
 * load them.
 */
import type { TopLevelSpec } from 'vega-lite';
import { UnsupportedError } from '../errors';
import { importOptional } from '../internal/optional-import';

interface VegaLiteModule {
  compile(spec: TopLevelSpec): { spec: unknown };
}

interface VegaView {
  toSVG(): Promise<string>;
  finalize(): void;
}

interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => VegaView;
}

interface Renderer {
  readonly vega: VegaModule;
  readonly vegaLite: VegaLiteModule;
}

let loading: Promise<Renderer> | undefined;

async function importRenderer(): Promise<Renderer> {
  const [vega, vegaLite] = await Promise.all([importOptional<VegaModule>('vega'), importOptional<VegaLiteModule>('vega-lite')]);
  return { vega, vegaLite };
}

/** Loads vega and vega-lite once; a failed load is retried on the next call. */
async function loadRenderer(call: string): Promise<Renderer> {
  loading ??= importRenderer();
  try {
    return await loading;
  } catch (cause) {
    loading = undefined;
    throw new UnsupportedError(
      `${call}: drawing the report's charts needs the optional peer dependencies 'vega' and 'vega-lite' (npm install vega@^6 vega-lite@^6)`,
      { cause },
    );
  }
}

/**
 * Makes sure the charting packages load, so that a caller can refuse a long job up front instead of failing at its
 * end (the command-line tool checks before it trains).
 *
 * @throws {@link UnsupportedError} naming the packages to install when vega or vega-lite is missing.
 */
export async function ensureReportRenderer(call: string): Promise<void> {
  await loadRenderer(call);
}

/**
 * Compiles each Vega-Lite spec and renders it headless to an SVG document (with its `xmlns`, usable on its own or
 * inline in HTML). Text is measured by Vega's estimate, which errs wide, so labels keep their room in any font.
 *
 * @throws {@link UnsupportedError} when vega or vega-lite is not installed.
 */
export async function renderSvgs(call: string, specs: readonly TopLevelSpec[]): Promise<string[]> {
  const { vega, vegaLite } = await loadRenderer(call);
  const out: string[] = [];
  for (const spec of specs) {
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
    try {
      out.push(await view.toSVG());
    } finally {
      view.finalize();
    }
  }
  return out;
}
