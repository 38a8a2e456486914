/** Shared argument checks. Each throws {@link InvalidArgumentError} naming the call and the option. */
import { InvalidArgumentError } from '../errors';
import { closestNames } from './suggest';

/** Throws unless `value` is an integer >= 1. */
export function checkPositiveInteger(call: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(call, option, 'a positive integer', value);
  }
}

/** Throws unless `value` is an integer >= 0. */
export function checkNonNegativeInteger(call: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(call, option, 'a non-negative integer', value);
  }
}

/** Throws unless `value` is a finite number > 0. */
export function checkPositiveNumber(call: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(call, option, 'a positive finite number', value);
  }
}

/** Throws unless `value` is a finite number in [min, max] (or [min, max) when `maxExclusive`). */
export function checkNumberInRange(
  call: string,
  option: string,
  value: unknown,
  min: number,
  max: number,
  maxExclusive = false,
): asserts value is number {
  const ok =
    typeof value === 'number' && Number.isFinite(value) && value >= min && (maxExclusive ? value < max : value <= max);
  if (!ok) throw new InvalidArgumentError(call, option, `a number in [${min}, ${max}${maxExclusive ? ')' : ']'}`, value);
}

/** Throws unless `value` is one of `allowed`. */
export function checkOneOf<T extends string>(
  call: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
): asserts value is T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(call, option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
}

/** Throws unless `value` is a non-empty string. */
export function checkNonEmptyString(call: string, option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(call, option, 'a non-empty string', value);
  }
}

/** Throws unless `value` is a plain object (or undefined, which callers treat as `{}`). */
export function checkOptionsObject(call: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new InvalidArgumentError(call, 'options', 'an object or undefined', value);
  }
}

/** Throws unless `value` is a seed: a finite integer. */
export function checkSeed(call: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || !Number.isFinite(value)) {
    throw new InvalidArgumentError(call, 'seed', 'a finite integer', value);
  }
}

/**
 * Throws when `options` has a key that `known` lacks: a misspelt option (`imagesize`, `epoch`) would otherwise be
 * ignored in silence by JavaScript callers. `known` is typed as a record of every option name, so the compiler keeps
 * it complete.
 */
export function checkOptionKeys<T extends object>(call: string, options: unknown, known: Readonly<Record<keyof T, true>>): void {
  if (options === undefined || options === null || typeof options !== 'object') return;
  const names = Object.keys(known);
  for (const key of Object.keys(options)) {
    if (!Object.prototype.hasOwnProperty.call(known, key)) {
      const close = closestNames(key, names, 1)[0];
      throw new InvalidArgumentError(call, 'options', `known option names${close === undefined ? '' : ` (did you mean '${close}'?)`}`, key);
    }
  }
}
