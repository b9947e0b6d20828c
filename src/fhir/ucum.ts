import { createRequire } from 'node:module';

/** The UCUM code system (https://hl7.org/fhir/R4/datatypes.html#Quantity). */
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** A quantity in UCUM base units: `unit` names the dimension, e.g. `m-3` for mmol/L and umol/L alike. */
export interface CanonicalQuantity {
  value: number;
  unit: string;
}

interface BaseUnits {
  status: string;
  magnitude?: number;
  unitToExp?: Record<string, number>;
}

interface UcumPackage {
  UcumLhcUtils: { getInstance(): { convertToBaseUnits(unit: string, value: number): BaseUnits } };
}

// ucum-lhc is CommonJS without type declarations: required, and typed by what is used of it.
const utilities = (createRequire(import.meta.url)('@lhncbc/ucum-lhc') as UcumPackage).UcumLhcUtils.getInstance();

/**
 * The canonical form of a UCUM quantity, so that quantities in commensurable units compare
 * (https://hl7.org/fhir/R4/search.html#quantity: "the server may choose to … convert to a
 * canonical form"). Moles become a count (6.022e23), which is how ucum-lhc defines them, so
 * mmol/L and umol/L share the unit `m-3`. `undefined` for a code that is not UCUM.
 */
export function canonicalQuantity(value: number, unit: string): CanonicalQuantity | undefined {
  if (!Number.isFinite(value) || unit === '') return undefined;
  const conversion = conversionOf(unit);
  return conversion && { value: conversion.scale * value + conversion.offset, unit: conversion.unit };
}

interface Conversion {
  scale: number;
  offset: number;
  unit: string;
}

/**
 * Every UCUM conversion to base units is affine (a scale, plus an offset for Cel and [degF]),
 * so it is worked out once per unit code from two points and then applied as arithmetic:
 * ucum-lhc parses the unit expression on every call, which cost more than all other indexing.
 */
const conversions = new Map<string, Conversion | null>();

function conversionOf(unit: string): Conversion | undefined {
  let conversion = conversions.get(unit);
  if (conversion === undefined) {
    const zero = toBaseUnits(0, unit);
    const one = toBaseUnits(1, unit);
    conversion = zero && one && zero.unit === one.unit ? { scale: one.value - zero.value, offset: zero.value, unit: one.unit } : null;
    // Bounded: units come from stored data, and a flood of made-up codes must not grow memory without end.
    if (conversions.size < 10_000) conversions.set(unit, conversion);
  }
  return conversion ?? undefined;
}

function toBaseUnits(value: number, unit: string): CanonicalQuantity | undefined {
  const result = utilities.convertToBaseUnits(unit, value);
  if (result.status !== 'succeeded' || result.magnitude === undefined || !Number.isFinite(result.magnitude)) return undefined;
  const dimension = Object.entries(result.unitToExp ?? {})
    .filter(([, exponent]) => exponent !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([base, exponent]) => (exponent === 1 ? base : `${base}${exponent}`))
    .join('.');
  return { value: result.magnitude, unit: dimension === '' ? '1' : dimension };
}

/** Avogadro's number: ucum-lhc counts moles as entities, so a molar unit's base form is a count. */
const AVOGADRO = 6.02214076e23;

/**
 * `value` in UCUM unit `from` expressed in `to`; undefined when either is not UCUM or they measure
 * different things. With `molarMass` (g/mol), mass and amount of substance convert too (mg/dL to mmol/L).
 */
export function convertUnit(value: number, from: string, to: string, molarMass?: number): number | undefined {
  if (from === to) return value;
  const source = canonicalQuantity(value, from);
  const target = conversionOf(to);
  if (!source || !target || target.scale === 0) return undefined;
  let base = source.value;
  if (source.unit !== target.unit) {
    const grams = gramsBetween(source.unit, target.unit);
    if (!molarMass || grams === 0) return undefined;
    base = grams === 1 ? (base / molarMass) * AVOGADRO : (base / AVOGADRO) * molarMass;
  }
  return (base - target.offset) / target.scale;
}

/** 1 when dimension `a` is `b` times grams, -1 when `b` is `a` times grams, else 0. */
function gramsBetween(a: string, b: string): number {
  const exponents = (dimension: string) =>
    new Map(
      (dimension === '1' ? [] : dimension.split('.')).map((factor) => {
        const [, base = factor, exponent] = /^([a-zA-Z]+)(-?\d*)$/.exec(factor) ?? [];
        return [base, Number(exponent || 1)] as const;
      }),
    );
  const [x, y] = [exponents(a), exponents(b)];
  for (const grams of [1, -1]) {
    const shifted = new Map(y);
    shifted.set('g', (shifted.get('g') ?? 0) + grams);
    if ([...new Set([...x.keys(), ...shifted.keys()])].every((k) => (x.get(k) ?? 0) === (shifted.get(k) ?? 0))) return grams;
  }
  return 0;
}
