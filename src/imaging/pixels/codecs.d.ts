/** The parts of the (untyped) image codec packages the pixel module uses. */

/** What the Cornerstone WASM decoders report about a decoded frame. */
interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** Where an Emscripten module writes its stdout and stderr (OpenJPEG logs every header it reads). */
interface EmscriptenOptions {
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

/** An Emscripten/embind decoder: the caller fills the encoded buffer, decodes, copies the result out, deletes. */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  delete(): void;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  interface JpegLSDecoder extends WasmDecoder {
    /** 0: planes one after another; 1 (line) and 2 (sample): interleaved output. */
    getInterleaveMode(): number;
  }
  const factory: (module?: EmscriptenOptions) => Promise<{ JpegLSDecoder: new () => JpegLSDecoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  interface J2KDecoder extends WasmDecoder {
    /** Decodes at a lower resolution: level n halves the image n times; layer 0: all quality layers. */
    decodeSubResolution(level: number, layer: number): void;
  }
  const factory: (module?: EmscriptenOptions) => Promise<{ J2KDecoder: new () => J2KDecoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (module?: EmscriptenOptions) => Promise<{ JPEGDecoder: new () => WasmDecoder }>;
  export default factory;
}

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    /** `numBytes` per sample (1 or 2); the samples of all components interleaved. */
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes: number): Uint8Array | Uint16Array;
    numComp: number;
  }
}
