/**
 * The ONNX Runtime session of a tfjs-layers base, kept between calls: `evaluateBaseline`, `fit`, `evaluate` and
 * `Classifier.predict` on one model convert the base and open a session once, not once per call. The session follows
 * the base's weights the way the fused executor does (tfjs gives a variable new storage on every write): a write makes
 * the next lease convert again. A session still leased by a running extraction is released when its last lease is.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { UnsupportedError } from '../errors';
import { convertLayersModel } from './onnx/convert';
import { OnnxConversionError } from './onnx/errors';
import { createOnnxSession, type OnnxSession } from './onnx/session';
import type { Pooling } from './types';

/** What a session depends on besides the weights. */
export interface OnnxSessionKey {
  /** Pooling inside the graph. */
  readonly pooling: Pooling;
  /** ONNX Runtime's intra-op threads; every core when undefined. */
  readonly threads?: number | undefined;
  /** Execution providers, passed through (`['cpu']` by default). */
  readonly executionProviders?: readonly unknown[] | undefined;
}

/** A session lent to one runtime; `release()` once, when the runtime is done with it. */
export interface OnnxSessionLease {
  readonly session: OnnxSession;
  /** BatchNorm layers folded by the conversion. */
  readonly foldedBatchNorms: number;
  /** True while the base's weights are the ones this session was converted from (it stays usable until released). */
  isCurrent(): boolean;
  release(): void;
}

interface Entry {
  readonly key: string;
  readonly versions: readonly object[];
  readonly ready: Promise<{ session: OnnxSession; folded: number }>;
  users: number;
  stale: boolean;
}

/** One converted session of `model` at a time, for its current weights and the last key asked for. */
export class OnnxSessionCache {
  private readonly model: tfl.LayersModel;
  private current: Entry | undefined;
  /** A conversion or install failure for the current weights and key: asking again would fail the same way. */
  private failure: { key: string; versions: readonly object[]; error: unknown } | undefined;

  /** @param model - the frozen base to convert; it stays its owner's. */
  constructor(model: tfl.LayersModel) {
    this.model = model;
  }

  /**
   * A lease on a session for the base's current weights and `key`: the cached one, or a new conversion.
   *
   * @throws UnsupportedError when onnxruntime-node or onnx-proto cannot be imported (or outside Node).
   * @throws OnnxConversionError naming the first layer that has no ONNX translation.
   * @throws LoadError when ONNX Runtime refuses the converted graph.
   */
  async acquire(call: string, key: OnnxSessionKey): Promise<OnnxSessionLease> {
    const keyText = keyOf(key);
    const versions = this.versions();
    const failure = this.failure;
    if (failure && failure.key === keyText && sameVersions(failure.versions, versions)) throw failure.error;
    let entry = this.current;
    if (!entry || entry.key !== keyText || !sameVersions(entry.versions, versions)) {
      if (entry) this.retire(entry);
      entry = { key: keyText, versions, ready: this.open(call, key), users: 0, stale: false };
      this.current = entry;
    }
    entry.users++;
    let prepared: { session: OnnxSession; folded: number };
    try {
      prepared = await entry.ready;
    } catch (err) {
      entry.users--;
      if (this.current === entry) this.current = undefined;
      if (err instanceof OnnxConversionError || err instanceof UnsupportedError) this.failure = { key: keyText, versions, error: err };
      throw err;
    }
    const held = entry;
    let released = false;
    return {
      session: prepared.session,
      foldedBatchNorms: prepared.folded,
      // Weights only: a session retired because another caller asked for other threads stays right for this one.
      isCurrent: () => sameVersions(held.versions, this.versions()),
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.stale && held.users === 0) closeEntry(held);
      },
    };
  }

  /** Releases the cached session once no runtime uses it; the next {@link acquire} converts again. Idempotent. */
  dispose(): void {
    if (this.current) this.retire(this.current);
    this.current = undefined;
    this.failure = undefined;
  }

  private versions(): readonly object[] {
    return this.model.weights.map((w) => w.read().dataId);
  }

  private retire(entry: Entry): void {
    if (entry.stale) return;
    entry.stale = true;
    if (entry.users === 0) closeEntry(entry);
  }

  private async open(call: string, key: OnnxSessionKey): Promise<{ session: OnnxSession; folded: number }> {
    const conversion = await convertLayersModel(this.model, { pooling: key.pooling });
    const session = await createOnnxSession(call, conversion.bytes, sessionOptions(key));
    return { session, folded: conversion.stats.foldedBatchNorms };
  }
}

/** ONNX Runtime session options for a thread count and execution providers. */
export function sessionOptions(key: Omit<OnnxSessionKey, 'pooling'>): { intraOpNumThreads?: number; executionProviders?: readonly unknown[] } {
  return {
    ...(key.threads !== undefined && key.threads > 0 ? { intraOpNumThreads: key.threads } : {}),
    ...(key.executionProviders !== undefined ? { executionProviders: key.executionProviders } : {}),
  };
}

function closeEntry(entry: Entry): void {
  entry.ready.then((p) => p.session.release()).catch(() => undefined);
}

function sameVersions(a: readonly object[], b: readonly object[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

let unserialisableKeys = 0;

/** Execution providers may be objects with options: compared by their JSON text, or never equal when they have none. */
function keyOf(key: OnnxSessionKey): string {
  let providers: string;
  try {
    providers = JSON.stringify(key.executionProviders ?? null);
  } catch {
    providers = `unserialisable-${++unserialisableKeys}`;
  }
  return `${key.pooling}|${key.threads ?? 'all'}|${providers}`;
}
