/**
 * The error the ONNX converter throws for a layer it cannot translate.
 *
 * @module
 */
import { IncompatibleModelError } from '../../errors';

/**
 * A layer of a tfjs-layers model has no ONNX translation (its class is not covered, or one of its settings is not,
 * such as `dataFormat: 'channelsFirst'`). `layer` and `className` repeat what the message says, for programs: the
 * `'auto'` engine reports them when it falls back to tfjs, and an explicit `engine: 'onnxruntime'` re-throws the error.
 *
 * @example
 * ```ts
 * try {
 *   await convertLayersModel(model, {});
 * } catch (err) {
 *   if (err instanceof OnnxConversionError) console.log(`${err.layer} (${err.className}) stays on tfjs`);
 * }
 * ```
 *
 * @category errors
 */
export class OnnxConversionError extends IncompatibleModelError {
  /** Name of the layer that did not convert, e.g. `'lstm_1'`. */
  readonly layer: string;
  /** Its tfjs-layers class, e.g. `'LSTM'`. */
  readonly className: string;

  /**
   * @param call - the public call that converted, e.g. `convertLayersModel`.
   * @param layer - the layer's name.
   * @param className - the layer's class name.
   * @param reason - why it did not convert, in words (`no ONNX translation for this layer class`).
   * @param options - `cause`: the underlying error.
   */
  constructor(call: string, layer: string, className: string, reason: string, options?: { cause?: unknown }) {
    super(`${call}: layer '${layer}' (${className}) cannot be converted to ONNX: ${reason}`, options);
    this.name = 'OnnxConversionError';
    this.layer = layer;
    this.className = className;
  }
}
