/**
 * The generator's only source of chance. sfc32 (Chris Doty-Humphrey's Small
 * Fast Chaotic generator): 128 bits of state, so UUID-shaped ids drawn from it
 * do not repeat within billions of resources, which a 32-bit-state generator
 * such as mulberry32 cannot promise. Same seed, same sequence, same bytes.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `streams` pick independent sequences for the same seed, e.g. one per patient. */
  constructor(seed: number, ...streams: number[]) {
    // splitmix32 spreads seed and stream numbers over the whole state.
    let h = (seed >>> 0) ^ Math.floor(seed / 0x1_0000_0000);
    const mix = (): number => {
      h = (h + 0x9e3779b9) | 0;
      let z = h;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (const stream of streams) {
      h ^= mix() ^ (stream >>> 0) ^ Math.imul(Math.floor(stream / 0x1_0000_0000), 0x27d4eb2d);
    }
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) {
      this.uint32();
    }
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [low, high]. */
  between(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Normal deviate (Box–Muller), for lab values and vital signs. */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Index drawn by a cumulative weight table (see {@link cumulative}). */
  weighted(cumulativeWeights: Float64Array): number {
    const x = this.next() * cumulativeWeights[cumulativeWeights.length - 1];
    let low = 0;
    let high = cumulativeWeights.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (cumulativeWeights[mid] > x) {
        high = mid;
      } else {
        low = mid + 1;
      }
    }
    return low;
  }

  /** A version-4-shaped UUID, so ids look like the ones servers assign. */
  uuid(): string {
    const a = this.uint32();
    const b = this.uint32();
    const c = this.uint32();
    const d = this.uint32();
    return (
      HEX[a >>> 24] + HEX[(a >>> 16) & 255] + HEX[(a >>> 8) & 255] + HEX[a & 255] + '-' +
      HEX[b >>> 24] + HEX[(b >>> 16) & 255] + '-' +
      HEX[0x40 | ((b >>> 8) & 15)] + HEX[b & 255] + '-' +
      HEX[0x80 | ((c >>> 24) & 63)] + HEX[(c >>> 16) & 255] + '-' +
      HEX[(c >>> 8) & 255] + HEX[c & 255] +
      HEX[d >>> 24] + HEX[(d >>> 16) & 255] + HEX[(d >>> 8) & 255] + HEX[d & 255]
    );
  }

  /** Decimal digits for DICOM UIDs under the 2.25 (UUID-derived) root. */
  digits(count: number): string {
    let out = String(1 + this.int(9));
    while (out.length < count) {
      out += String(this.uint32() % 1_000_000).padStart(6, '0');
    }
    return out.slice(0, count);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Running totals of weights, for {@link Random.weighted}. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i];
    out[i] = sum;
  }
  return out;
}
