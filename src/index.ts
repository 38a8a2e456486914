/**
 * tl-kit: transfer learning on TensorFlow.js. Load an image dataset, freeze a pretrained base, train a new head,
 * and measure what it learned.
 *
 * @packageDocumentation
 */

export { VERSION } from './version';
export {
  TlKitError,
  InvalidArgumentError,
  DatasetError,
  DecodeError,
  IncompatibleModelError,
  LoadError,
  UnsafeModelError,
  TrainingError,
  UnsupportedError,
} from './errors';
export type { TlKitErrorCode } from './errors';
