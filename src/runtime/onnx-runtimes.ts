/**
 * The ONNX Runtime implementations of the frozen-base runtime: a tfjs-layers base converted to an ONNX graph in
 * memory (global pooling inside the graph, so only feature vectors cross into JavaScript), and an ONNX file used as
 * a base. Sessions use every core unless told otherwise; onnxruntime-node is imported on first use (Node only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { OnnxBaseModel } from './onnx/base-model';
import { convertLayersModel } from './onnx/convert';
import { createOnnxSession, type OnnxSession } from './onnx/session';
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

function summaryOf(info: Omit<BaseRuntimeInfo, 'summary'>, folded: number | undefined): string {
  const notes = [`${info.threads} thread${info.threads === 1 ? '' : 's'}`];
  if (folded !== undefined) notes.push(`${folded} BatchNorm${folded === 1 ? '' : 's'} folded`);
  return `onnxruntime on ${info.backend} (${notes.join(', ')})`;
}

function sessionOptions(options: OnnxRuntimeOptions): { intraOpNumThreads?: number; executionProviders?: readonly unknown[] } {
  return {
    ...(options.threads !== undefined && options.threads > 0 ? { intraOpNumThreads: options.threads } : {}),
    ...(options.executionProviders !== undefined ? { executionProviders: options.executionProviders } : {}),
  };
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
 * A tfjs-layers base on ONNX Runtime: converted from its current weights, and converted again before a batch when a
 * weight was written since (tfjs gives a variable new storage on every write). The base stays its owner's.
 *
 * @throws UnsupportedError when onnxruntime-node cannot be imported (or outside Node).
 * @throws OnnxConversionError naming the first layer that has no ONNX translation.
 * @throws LoadError when ONNX Runtime refuses the converted graph.
 */
export async function onnxLayersRuntime(call: string, base: tfl.LayersModel, options: OnnxRuntimeOptions): Promise<FrozenRuntime> {
  const versionsOf = (): readonly object[] => base.weights.map((w) => w.read().dataId);
  const prepare = async (): Promise<{ session: OnnxSession; versions: readonly object[]; folded: number }> => {
    const versions = versionsOf();
    const conversion = await convertLayersModel(base, { pooling: options.pooling === 'none' ? 'none' : options.pooling });
    const session = await createOnnxSession(call, conversion.bytes, sessionOptions(options));
    return { session, versions, folded: conversion.stats.foldedBatchNorms };
  };
  let current = await prepare();
  const partial: Omit<BaseRuntimeInfo, 'summary'> = {
    engine: 'onnxruntime',
    implementation: 'onnxruntime',
    backend: current.session.executionProviders.map(String).join(', '),
    threads: current.session.threads,
  };
  return makeRuntime(options.inputShape, {
    info: { ...partial, summary: summaryOf(partial, current.folded) },
    concurrency: 1,
    run: async (images) => {
      const versions = versionsOf();
      if (versions.length !== current.versions.length || versions.some((v, i) => v !== current.versions[i])) {
        const stale = current.session;
        current = await prepare();
        await stale.release();
      }
      // Pooling ran inside the graph: only [batch, features] comes back.
      return runPooled(current.session, images, options.pooling);
    },
    close: () => current.session.release(),
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
