/**
 * IOHandlers for Node, so that plain tfjs (`tf.loadLayersModel`, `model.save`, tfjs-converter's `loadGraphModel`)
 * reads and writes model folders and downloads models safely without tfjs-node: `fileLoadHandler`,
 * `fileSaveHandler` and `httpLoadHandler`. tl-kit's own loaders use them already; import them as `io` from tl-kit.
 *
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { io } from 'tl-kit';
 * const model = await tfl.loadLayersModel(io.fileLoadHandler('./my-model/model.json'));
 * await model.save(io.fileSaveHandler('./copy'));
 * ```
 *
 * @category saving
 * @module
 */
export { fileLoadHandler, fileSaveHandler } from './file-handler';
export type { FileSaveOptions } from './file-handler';
export { httpLoadHandler } from './http';
export type { HttpLoadOptions } from './http';
export type { FolderFile } from './atomic';
