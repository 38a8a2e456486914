/**
 * The ONNX Runtime implementations of the frozen-base runtime: a tfjs-layers base converted to an ONNX graph in
 * memory (global pooling inside the graph, so only feature vectors cross into JavaScript), and an ONNX file used as
 * a base. Sessions use every core unless told otherwise; onnxruntime-node is imported on first use (Node only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { OnnxBaseModel } from './onnx/base-model';
import { createOnnxSession, type OnnxSession } from './onnx/session';
import { OnnxSessionCache, sessionOptions, type OnnxSessionLease } from './onnx-session-cache';
import { makeRuntime, poolFeatures } from './runtime-base';
import type { BaseRuntimeInfo, FrozenRuntime, Pooling } from './types';

/** Options of the ONNX Runtime runtimes. */
export interface OnnxRuntimeOptions {
  /** The base's image shape `[h, w, c]`. */
  readonly inputShape: readonly [number, number, number];
  /** Pooling of the base's output. */
  readonly pooling: Pooling;
  /** ONNX Runtime's intra-op threads; every core when undefined. */
  readonly threads?: number | undefined;
  /** Execution providers, passed through (`['cpu']` by default). */
  readonly executionProviders?: readonly unknown[] | undefined;
}

/** Options of {@link onnxLayersRuntime}. */
export interface OnnxLayersRuntimeOptions extends OnnxRuntimeOptions {
  /** The base's session cache, kept between calls (a tl-kit inference base has one); a private one when absent. */
  readonly sharedSessions?: OnnxSessionCache | undefined;
}

function summaryOf(info: Omit<BaseRuntimeInfo, 'summary'>, folded: number | undefined): string {
  const notes = [`${info.threads} thread${info.threads === 1 ? '' : 's'}`];
  if (folded !== undefined) notes.push(`${folded} BatchNorm${folded === 1 ? '' : 's'} folded`);
  return `onnxruntime on ${info.backend} (${notes.join(', ')})`;
}

/** Runs `session` on a batch of tfjs images and returns pooled features (the caller owns them). */
async function runPooled(session: OnnxSession, images: tf.Tensor4D, pooling: Pooling): Promise<tf.Tensor2D> {
  const pixels = await images.data<'float32'>();
  // A copy only when the backend handed out its own storage as another type; ORT reads it and keeps nothing.
  const data = pixels instanceof Float32Array ? pixels : Float32Array.from(pixels);
  const out = await session.run(data, images.shape);
  if (out.shape.length === 2) return tf.tensor2d(out.data, [out.shape[0] as number, out.shape[1] as number]);
  const map = tf.tensor(out.data, [...out.shape]);
  try {
    return tf.tidy(() => poolFeatures(map, pooling));
  } finally {
    map.dispose();
  }
}

/**
 * A tfjs-layers base on ONNX Runtime: converted from its current weights (or the session `sharedSessions` kept from an
 * earlier call), and converted again before a batch when a weight was written since (tfjs gives a variable new
 * storage on every write). The base stays its owner's.
 *
 * @throws UnsupportedError when onnxruntime-node cannot be imported (or outside Node).
 * @throws OnnxConversionError naming the first layer that has no ONNX translation.
 * @throws LoadError when ONNX Runtime refuses the converted graph.
 */
export async function onnxLayersRuntime(call: string, base: tfl.LayersModel, options: OnnxLayersRuntimeOptions): Promise<FrozenRuntime> {
  const sessions = options.sharedSessions ?? new OnnxSessionCache(base);
  const key = { pooling: options.pooling, threads: options.threads, executionProviders: options.executionProviders };
  let lease: OnnxSessionLease;
  try {
    lease = await sessions.acquire(call, key);
  } catch (err) {
    if (!options.sharedSessions) sessions.dispose();
    throw err;
  }
  const partial: Omit<BaseRuntimeInfo, 'summary'> = {
    engine: 'onnxruntime',
    implementation: 'onnxruntime',
    backend: lease.session.executionProviders.map(String).join(', '),
    threads: lease.session.threads,
  };
  return makeRuntime(options.inputShape, {
    info: { ...partial, summary: summaryOf(partial, lease.foldedBatchNorms) },
    concurrency: 1,
    run: async (images) => {
      if (!lease.isCurrent()) {
        // A weight was written since the conversion (e.g. training after unfreeze): convert the current weights.
        const next = await sessions.acquire(call, key);
        lease.release();
        lease = next;
      }
      // Pooling ran inside the graph: only [batch, features] comes back.
      return runPooled(lease.session, images, options.pooling);
    },
    close: async () => {
      lease.release();
      if (!options.sharedSessions) sessions.dispose();
    },
  });
}

/**
 * An ONNX file as a base on ONNX Runtime: tfjs's NHWC batches in (transposed for an NCHW model), the chosen output
 * out, pooled here when it is a feature map.
 *
 * @throws UnsupportedError when onnxruntime-node cannot be imported (or outside Node).
 * @throws LoadError when ONNX Runtime refuses the model.
 */
export async function onnxModelRuntime(call: string, model: OnnxBaseModel, options: OnnxRuntimeOptions): Promise<FrozenRuntime> {
  const session = await createOnnxSession(call, model.bytes, {
    ...sessionOptions(options),
    layout: model.layout,
    inputName: model.inputName,
    outputName: model.outputName,
  });
  const partial: Omit<BaseRuntimeInfo, 'summary'> = {
    engine: 'onnxruntime',
    implementation: 'onnxruntime',
    backend: session.executionProviders.map(String).join(', '),
    threads: session.threads,
  };
  return makeRuntime(options.inputShape, {
    info: { ...partial, summary: summaryOf(partial, undefined) },
    concurrency: 1,
    run: (images) => runPooled(session, images, options.pooling),
    close: () => session.release(),
  });
}
