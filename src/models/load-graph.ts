/**
 * Builds a graph model from checked artifacts with tfjs-converter (an optional peer, imported only here, out of
 * bundlers' sight), freeing what a failed load made. tfjs-converter's `loadGraphModel` leaks the decoded weights when
 * the graph cannot be built; its synchronous loader runs inside one engine scope here, so a failure frees them and a
 * success keeps exactly the model's weights. Internal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LoadError, UnsupportedError } from '../errors';
import { importOptional } from '../internal/optional-import';
import { rootReason } from '../internal/cause';
import type { GraphModelLike } from './base-spec';

/**
 * A function that builds a graph model from an IOHandler, such as tfjs-converter's `loadGraphModel`.
 *
 * @category bases
 */
export type GraphModelLoader = (handler: tf.io.IOHandler) => Promise<GraphModelLike>;

type SyncLoader = (artifacts: tf.io.ModelArtifacts) => GraphModelLike & { readonly weights?: Record<string, tf.Tensor[]> };

interface Converter {
  loadGraphModel?: GraphModelLoader;
  loadGraphModelSync?: SyncLoader;
  default?: { loadGraphModel?: GraphModelLoader; loadGraphModelSync?: SyncLoader };
}

/**
 * Loads a graph model with the caller's loader or, in Node, the optional peer @tensorflow/tfjs-converter. Errors name
 * `call`; a failure through tfjs-converter's own loader leaves no tensor behind.
 */
export async function loadGraph(
  call: string,
  artifacts: tf.io.ModelArtifacts,
  where: string,
  loader?: GraphModelLoader,
): Promise<GraphModelLike> {
  if (loader !== undefined) {
    try {
      return await loader(tf.io.fromMemory(artifacts));
    } catch (err) {
      throw new LoadError(`${call}: ${where} is not a loadable graph model (${rootReason(err)})`, { cause: err });
    }
  }
  let converter: Converter;
  try {
    converter = await importOptional<Converter>('@tensorflow/tfjs-converter');
    if ((converter.loadGraphModel ?? converter.default?.loadGraphModel) === undefined) {
      throw new Error('@tensorflow/tfjs-converter has no loadGraphModel export');
    }
  } catch (err) {
    throw new UnsupportedError(
      `${call}: ${where} is a graph model, which needs @tensorflow/tfjs-converter: in Node install it (npm install @tensorflow/tfjs-converter@4); in a browser bundle also pass its loadGraphModel as the loadGraphModel option`,
      { cause: err },
    );
  }
  const loadSync = converter.loadGraphModelSync ?? converter.default?.loadGraphModelSync;
  // A model initializer (hash tables) runs asynchronously inside the synchronous loader, outside any scope: such
  // models take tfjs-converter's ordinary path.
  if (loadSync !== undefined && artifacts.modelInitializer == null) {
    const engine = tf.engine();
    engine.startScope();
    try {
      const model = loadSync(artifacts);
      for (const tensors of Object.values(model.weights ?? {})) for (const t of tensors) tf.keep(t);
      return model;
    } catch (err) {
      throw new LoadError(`${call}: ${where} is not a loadable graph model (${rootReason(err)})`, { cause: err });
    } finally {
      // Frees every tensor made in the scope that was not kept: all of them when the load failed.
      engine.endScope();
    }
  }
  const load = (converter.loadGraphModel ?? converter.default?.loadGraphModel) as GraphModelLoader;
  try {
    return await load(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new LoadError(`${call}: ${where} is not a loadable graph model (${rootReason(err)})`, { cause: err });
  }
}
