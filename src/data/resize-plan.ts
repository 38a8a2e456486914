/**
 * The geometry of the three resize modes, shared by the tfjs path ({@link prepareImages}) and the sharp path, so that
 * both crop and pad exactly the same pixels. Pure numbers, no tensors.
 *
 * @module
 */
import type { ResizeMode } from './types';

/** Where to crop the source, what size to resample the crop to, and how much black padding to add around it. */
export interface ResizePlan {
  /** Crop of the source image (whole image unless `center-crop`). */
  readonly crop: { readonly top: number; readonly left: number; readonly height: number; readonly width: number };
  /** Size the crop is resampled to. */
  readonly scaled: { readonly height: number; readonly width: number };
  /** Black padding around the resampled crop (only `pad`); top/left get the smaller half of an odd remainder. */
  readonly pad: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };
}

/**
 * Computes the plan that brings a `srcH x srcW` image to `dstH x dstW`:
 * - `stretch`: the whole image resampled to the target size (aspect ratio not kept).
 * - `center-crop`: the largest centred crop with the target's aspect ratio, resampled to the target size
 *   (Keras `crop_to_aspect_ratio`).
 * - `pad`: the whole image scaled to fit inside the target, centred, the rest filled with black (value 0 before
 *   preprocessing; Keras `pad_to_aspect_ratio`).
 */
export function resizePlan(srcH: number, srcW: number, dstH: number, dstW: number, mode: ResizeMode): ResizePlan {
  const none = { top: 0, bottom: 0, left: 0, right: 0 };
  if (mode === 'center-crop') {
    const targetAspect = dstW / dstH;
    let height = srcH;
    let width = srcW;
    if (srcW / srcH > targetAspect) width = Math.max(1, Math.min(srcW, Math.round(srcH * targetAspect)));
    else height = Math.max(1, Math.min(srcH, Math.round(srcW / targetAspect)));
    const crop = { top: Math.floor((srcH - height) / 2), left: Math.floor((srcW - width) / 2), height, width };
    return { crop, scaled: { height: dstH, width: dstW }, pad: none };
  }
  const crop = { top: 0, left: 0, height: srcH, width: srcW };
  if (mode === 'pad') {
    const scale = Math.min(dstH / srcH, dstW / srcW);
    const height = Math.max(1, Math.min(dstH, Math.round(srcH * scale)));
    const width = Math.max(1, Math.min(dstW, Math.round(srcW * scale)));
    const top = Math.floor((dstH - height) / 2);
    const left = Math.floor((dstW - width) / 2);
    return {
      crop,
      scaled: { height, width },
      pad: { top, bottom: dstH - height - top, left, right: dstW - width - left },
    };
  }
  return { crop, scaled: { height: dstH, width: dstW }, pad: none };
}
