import { badRequest } from '../fhir/outcome.js';
import { type Rendered, type RenderOptions, ImagingError, parseViewportParameter, parseWindowParameter, renderFrame, thumbnail } from './pixels/index.js';
import type { ImagingContext } from './stow.js';
import { type Target, type WadoAnswer, mediaRanges, withPart10, withSeenInstances } from './wado.js';

/**
 * Rendered resources and thumbnails (PS3.18 10.4.1.1.3, 10.7, 8.3.5): a frame as a consumer
 * image. A series or a study is shown by its representative: the first instance in series
 * number then instance number order (the first series' first image), rendered at its first
 * frame; a thumbnail shows that instance's middle frame. Medical images are never stored by
 * shared caches.
 * https://dicom.nema.org/medical/dicom/current/output/html/part18.html#sect_8.3.5
 */

type ImageType = RenderOptions['mediaType'];

const CACHE = { 'cache-control': 'private, no-store' };

/** The image type asked for (PS3.18 8.3.5.1.1): JPEG by default and for wildcards, or PNG; else 406. */
function imageType(accept: string | undefined): ImageType {
  for (const range of mediaRanges(accept)) {
    if (range.type === 'image/png') return 'image/png';
    if (range.type === 'image/jpeg' || range.type === 'image/*' || range.type === '*/*') return 'image/jpeg';
  }
  throw new ImagingError('unsupported-media-type', `rendered images are image/jpeg or image/png, not ${accept}`);
}

/** The query of a rendered request (PS3.18 8.3.5.1): window, viewport and quality; anything else is a 400. */
function renderOptions(query: readonly [string, string][], mediaType: ImageType): RenderOptions {
  const options: RenderOptions = { mediaType };
  for (const [name, value] of query) {
    if (name === 'window') options.window = parseWindowParameter(value);
    else if (name === 'viewport') options.viewport = parseViewportParameter(value);
    else if (name === 'quality') {
      const quality = Number(value);
      if (!/^\d+$/.test(value) || quality < 1 || quality > 100) throw new ImagingError('invalid-quality', 'expected a whole number from 1 to 100');
      options.quality = quality;
    } else throw badRequest(`Unknown query parameter "${name}": rendered resources take window, viewport and quality`, name);
  }
  return options;
}

/** A frame (1-based; the first when `frame` is undefined) of the target's representative instance, rendered. */
export async function retrieveRendered(target: Target, frame: string | undefined, query: readonly [string, string][], accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  if (frame !== undefined && !/^[1-9]\d*$/.test(frame)) throw badRequest(`A rendered frame is one number from 1, not "${frame}"`, 'frames');
  const options = renderOptions(query, imageType(accept));
  return representative(target, context, (part10) => renderFrame(part10, frame === undefined ? 1 : Number(frame), options));
}

/**
 * The thumbnail of the target's representative instance (PS3.18 10.7): JPEG unless PNG is asked
 * for, 128 px square by default; `viewport=vw,vh` (no region) makes it fit the smaller side.
 */
export async function retrieveThumbnail(target: Target, query: readonly [string, string][], accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  let size: number | undefined;
  for (const [name, value] of query) {
    if (name !== 'viewport') throw badRequest(`Unknown query parameter "${name}": thumbnails take viewport`, name);
    const viewport = parseViewportParameter(value);
    if (viewport.region) throw new ImagingError('invalid-viewport', 'a thumbnail shows the whole image: vw,vh');
    size = Math.min(viewport.width, viewport.height);
  }
  const mediaType = imageType(accept);
  return representative(target, context, (part10) => thumbnail(part10, { mediaType, ...(size ? { size } : {}) }));
}

/** The target's representative instance as `render` makes it, while the access's audit record commits; sent once it has. */
async function representative(target: Target, context: ImagingContext, render: (part10: Buffer) => Promise<Rendered>): Promise<WadoAnswer> {
  const rendered = await withSeenInstances(target, context, ([row]) => withPart10(row!, context, render));
  return { status: 200, contentType: rendered.contentType, body: rendered.body, headers: CACHE };
}
