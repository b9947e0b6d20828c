/** The pixel module of the image store: frames as stored, decoded, rendered (issue #18). */
export { extractFrame } from './frames.js';
export { uncompressedFrame } from './decode.js';
export { transcodeToExplicitLittleEndian } from './transcode.js';
export { IMAGING_ERRORS, ImagingError, type ImagingErrorCode } from './imaging-error.js';
export {
  parseViewportParameter,
  parseWindowParameter,
  renderFrame,
  thumbnail,
  type RenderOptions,
  type Rendered,
  type Viewport,
  type VoiFunction,
  type Window,
} from './render.js';
