import { ImagingError } from './imaging-error.js';

/**
 * RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits segment per
 * byte plane, most significant byte first within each sample. Returns the samples interleaved
 * (pixel by pixel), little endian for 16- and 32-bit samples.
 * https://dicom.nema.org/medical/dicom/current/output/html/part05.html#chapter_G
 */
export function decodeRle(frame: Buffer, pixels: number, samplesPerPixel: number, bytesPerSample: number): Buffer {
  if (frame.length < 64) throw new ImagingError('invalid-dicom', 'an RLE frame without its header');
  const segments = frame.readUInt32LE(0);
  if (segments !== samplesPerPixel * bytesPerSample || segments > 15) throw new ImagingError('invalid-dicom', 'the RLE segments do not match the pixel module');
  const out = Buffer.alloc(pixels * samplesPerPixel * bytesPerSample);
  const stride = samplesPerPixel * bytesPerSample;
  for (let s = 0; s < segments; s++) {
    const start = frame.readUInt32LE(4 + 4 * s);
    const end = s + 1 < segments ? frame.readUInt32LE(8 + 4 * s) : frame.length;
    const sample = Math.floor(s / bytesPerSample);
    // Segment 0 of a sample is its most significant byte; little endian puts that byte last.
    const byte = bytesPerSample - 1 - (s % bytesPerSample);
    let position = sample * bytesPerSample + byte;
    let written = 0;
    let i = start;
    while (i < end && written < pixels) {
      const n = frame[i++]!;
      if (n < 128) {
        const count = Math.min(n + 1, pixels - written, end - i);
        for (let k = 0; k < count; k++, position += stride) out[position] = frame[i++]!;
        written += count;
      } else if (n > 128) {
        const count = Math.min(257 - n, pixels - written);
        const value = frame[i++]!;
        for (let k = 0; k < count; k++, position += stride) out[position] = value;
        written += count;
      }
    }
    if (written < pixels) throw new ImagingError('invalid-dicom', 'an RLE segment is shorter than the frame');
  }
  return out;
}
