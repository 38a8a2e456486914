import { describe, expect, it } from 'vitest';
import { DEMO_BASES, DEMO_DEFAULTS, demoHelp, parseDemoArgs } from '../../demo/args';

describe('demo command line', () => {
  it('uses the documented defaults', () => {
    expect(parseDemoArgs([])).toEqual({ help: false, options: DEMO_DEFAULTS });
    expect(DEMO_DEFAULTS).toMatchObject({ backend: 'wasm', classes: [0, 6], bases: DEMO_BASES });
  });

  it('parses every flag', () => {
    const parsed = parseDemoArgs([
      '--backend', 'cpu', '--epochs', '3', '--classes', 'Pullover,Coat', '--samples', '50', '--image-size', '128',
      '--bases', 'mobilenet_v2,random_mobilenet_v2', '--out', 'x', '--seed', '7', '--batch-size', '16',
      '--cache-dir', 'c',
    ]);
    expect(parsed).toEqual({
      help: false,
      options: {
        backend: 'cpu',
        epochs: 3,
        classes: [2, 4],
        samples: 50,
        imageSize: 128,
        bases: ['mobilenet_v2', 'random_mobilenet_v2'],
        out: 'x',
        seed: 7,
        batchSize: 16,
        cacheDir: 'c',
      },
    });
    expect(parseDemoArgs(['--classes', 'all']).help === false && parseDemoArgs(['--classes', 'all'])).toMatchObject({
      options: { classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    });
  });

  it('answers --help and -h with a text naming every option', () => {
    expect(parseDemoArgs(['--help'])).toEqual({ help: true });
    expect(parseDemoArgs(['-h'])).toEqual({ help: true });
    for (const flag of ['--backend', '--epochs', '--classes', '--samples', '--out', '--image-size', '--bases']) {
      expect(demoHelp()).toContain(flag);
    }
  });

  it('refuses bad values naming the flag, the expectation and the value', () => {
    expect(() => parseDemoArgs(['--backend', 'webgl'])).toThrowErrorMatchingInlineSnapshot(
      `[UsageError: --backend: expected cpu or wasm, got 'webgl']`,
    );
    expect(() => parseDemoArgs(['--epochs', '0'])).toThrowErrorMatchingInlineSnapshot(
      `[UsageError: --epochs: expected an integer 1..1000, got '0']`,
    );
    expect(() => parseDemoArgs(['--samples', '2.5'])).toThrowErrorMatchingInlineSnapshot(
      `[UsageError: --samples: expected an integer 10..6900, got '2.5']`,
    );
    expect(() => parseDemoArgs(['--bases', 'resnet'])).toThrowErrorMatchingInlineSnapshot(
      `[UsageError: --bases: unknown base 'resnet'; choose from mobilenet_v2, inception_v3, mobilenet_v2_graph, random_mobilenet_v2]`,
    );
    expect(() => parseDemoArgs(['--image-size', '64'])).toThrowErrorMatchingInlineSnapshot(
      `[UsageError: --image-size: InceptionV3 needs at least 75 pixels, got 64]`,
    );
    expect(parseDemoArgs(['--image-size', '64', '--bases', 'mobilenet_v2'])).toMatchObject({ options: { imageSize: 64 } });
    expect(() => parseDemoArgs(['--frobnicate'])).toThrow(/Unknown option '--frobnicate'/);
  });
});
