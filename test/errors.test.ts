import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, TlKitError, DatasetError } from '../src/errors';
import { checkPositiveInteger, checkOneOf } from '../src/internal/validate';

describe('errors', () => {
  it('InvalidArgumentError names the call, the option, the expectation and the value', () => {
    const err = new InvalidArgumentError('DataLoader.fromDirectory', 'splitWeights', 'positive numbers', [8, 0, -1]);
    expect(err).toBeInstanceOf(TlKitError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.option).toBe('splitWeights');
    expect(err.message).toMatchInlineSnapshot(
      `"DataLoader.fromDirectory: splitWeights must be positive numbers, got [8, 0, -1]"`,
    );
  });

  it('keeps the cause of a wrapped failure', () => {
    const cause = new Error('ENOENT');
    const err = new DatasetError('DataLoader.fromDirectory: root "x" does not exist', { cause });
    expect(err.cause).toBe(cause);
    expect(err.code).toBe('DATASET');
  });

  it('validators throw typed errors with readable received values', () => {
    expect(() => checkPositiveInteger('fit', 'epochs', 0)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: fit: epochs must be a positive integer, got 0]`,
    );
    expect(() => checkPositiveInteger('fit', 'epochs', 2.5)).toThrow(InvalidArgumentError);
    expect(() => checkOneOf('Wrapper', 'pooling', 'mean', ['avg', 'max'])).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Wrapper: pooling must be one of 'avg', 'max', got "mean"]`,
    );
    expect(() => checkPositiveInteger('fit', 'epochs', 3)).not.toThrow();
  });
});
