/**
 * tl-kit in a browser app: images per class from drag-and-drop (or a generated built-in set), a frozen base, a new
 * head trained on the WebGL backend with live tfjs-vis charts, classification of a new image, and an export of the
 * trained classifier as downloaded files.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
// The app picks its backend explicitly: WebGL runs the convolutions on the GPU.
import '@tensorflow/tfjs-backend-webgl';
import * as tfvis from '@tensorflow/tfjs-vis';
import {
  DataLoader,
  Wrapper,
  decodeImage,
  evaluate,
  evaluateBaseline,
  fit,
  loadBase,
  prepareImages,
  saveClassifier,
  type BaseSpec,
  type ClassifierDataInfo,
  type EvaluationResult,
  type ImageSource,
  type PreprocessingMode,
  type Sample,
} from 'tl-kit';
import { BUILTIN_LABELS, makeBuiltinSet, toCanvas, type RawImage } from './builtin-set';
import { tinyBase } from './tiny-base';

/** What the page exposes for scripts and the end-to-end test. */
interface AppState {
  backend: string;
  phase: 'starting' | 'idle' | 'training' | 'done' | 'error';
  baseline?: { loss: number; accuracy: number };
  final?: { loss: number; accuracy: number };
  prediction?: { label: string; probability: number }[];
  /** Names of the files the last export downloaded. */
  exported?: string[];
  error?: string;
}

declare global {
  interface Window {
    tlkitApp: AppState;
  }
}

interface ClassCard {
  name: HTMLInputElement;
  sources: ImageSource[];
  thumbs: HTMLElement;
  count: HTMLElement;
}

const app: AppState = { backend: 'none', phase: 'starting' };
window.tlkitApp = app;

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element as T;
};
const classesBox = $<HTMLDivElement>('classes');
const statusLine = $<HTMLParagraphElement>('status');
const progress = $<HTMLProgressElement>('progress');
const trainButton = $<HTMLButtonElement>('train');
const baseSelect = $<HTMLSelectElement>('base');
const baseUrl = $<HTMLInputElement>('base-url');
const predictFile = $<HTMLInputElement>('predict-file');
const exportButton = $<HTMLButtonElement>('export');
const cards: ClassCard[] = [];

/** The file name stem of exported models: tfjs's downloads:// saver writes `model.json` and `model.weights.bin`. */
const EXPORT_NAME = 'model';

let trained:
  | {
      model: tfl.LayersModel;
      labelNames: readonly string[];
      imageSize: number;
      preprocessing: PreprocessingMode;
      /** What saveClassifier reads from the dataset, kept after the loader is disposed. */
      dataInfo: ClassifierDataInfo;
      metrics: EvaluationResult;
      baseName: string;
    }
  | undefined;

function setStatus(text: string, isError = false): void {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

function addClass(name: string): ClassCard {
  const card = document.createElement('div');
  card.className = 'class-card';
  const input = document.createElement('input');
  input.type = 'text';
  input.value = name;
  input.setAttribute('aria-label', 'class name');
  const picker = document.createElement('input');
  picker.type = 'file';
  picker.accept = 'image/*';
  picker.multiple = true;
  const count = document.createElement('span');
  count.className = 'count';
  const thumbs = document.createElement('div');
  thumbs.className = 'thumbs';
  card.append(input, document.createElement('br'), picker, count, thumbs);
  classesBox.append(card);
  const entry: ClassCard = { name: input, sources: [], thumbs, count };
  const addFiles = (files: FileList | null): void => {
    for (const file of Array.from(files ?? [])) {
      if (!file.type.startsWith('image/')) continue;
      entry.sources.push(file);
      const img = document.createElement('img');
      img.src = URL.createObjectURL(file);
      img.alt = file.name;
      thumbs.append(img);
    }
    updateCount(entry);
  };
  picker.addEventListener('change', () => addFiles(picker.files));
  card.addEventListener('dragover', (event) => {
    event.preventDefault();
    card.classList.add('over');
  });
  card.addEventListener('dragleave', () => card.classList.remove('over'));
  card.addEventListener('drop', (event) => {
    event.preventDefault();
    card.classList.remove('over');
    addFiles(event.dataTransfer?.files ?? null);
  });
  cards.push(entry);
  updateCount(entry);
  return entry;
}

function updateCount(card: ClassCard): void {
  card.count.textContent = ` ${card.sources.length} image${card.sources.length === 1 ? '' : 's'}`;
}

function useBuiltinSet(): void {
  cards.length = 0;
  classesBox.replaceChildren();
  const samples = makeBuiltinSet(60, 64);
  for (const label of BUILTIN_LABELS) addClass(label);
  for (const { image, label } of samples) {
    const card = cards[label];
    if (!card) continue;
    card.sources.push(image);
    if (card.thumbs.childElementCount < 24) card.thumbs.append(toCanvas(image as RawImage));
  }
  cards.forEach(updateCount);
  setStatus(`Built-in set: ${samples.length} generated images in ${BUILTIN_LABELS.length} classes.`);
}

/** The frozen base the user picked, with the input size and preprocessing to feed it. */
async function chooseBase(
  imageSize: number,
): Promise<{ base: tfl.LayersModel | BaseSpec; imageSize: number; preprocessing: PreprocessingMode; learningRate?: number }> {
  // The tiny base gives few, small features: a 10x higher rate than Adam's usual 1e-3 trains its head in a dozen epochs.
  if (baseSelect.value === 'tiny') return { base: tinyBase(imageSize), imageSize, preprocessing: 'tf', learningRate: 0.01 };
  const source = baseSelect.value === 'url' ? baseUrl.value.trim() : baseSelect.value;
  setStatus(`Loading base ${source}…`);
  const spec = await loadBase(source);
  return { base: spec, imageSize: spec.inputShape[0], preprocessing: spec.preprocessing };
}

async function train(): Promise<void> {
  const usable = cards.filter((c) => c.sources.length > 0);
  if (usable.length < 2 || usable.some((c) => c.sources.length < 3)) {
    setStatus('Give at least two classes three or more images each (or use the built-in set).', true);
    return;
  }
  trainButton.disabled = true;
  app.phase = 'training';
  trained?.model.dispose();
  trained = undefined;
  exportButton.disabled = true;
  let data: DataLoader | undefined;
  try {
    const requestedSize = Number($<HTMLInputElement>('image-size').value) || 64;
    const epochs = Number($<HTMLInputElement>('epochs').value) || 15;
    const { base, imageSize, preprocessing, learningRate } = await chooseBase(requestedSize);
    const labelNames = usable.map((c, i) => c.name.value.trim() || `class ${i}`);
    const samples: Sample[] = usable.flatMap((c, label) => c.sources.map((source) => ({ source, label })));
    setStatus(`Decoding ${samples.length} images…`);
    data = await DataLoader.fromSamples(samples, {
      imageSize,
      batchSize: 8,
      splitWeights: [6, 2, 2],
      seed: 42,
      labelNames,
      preprocessing,
    });
    const model = Wrapper(base, { numClasses: labelNames.length, seed: 3 });

    setStatus('Evaluating the untrained head…');
    const baseline = await evaluateBaseline(model, data);
    app.baseline = { loss: baseline.loss, accuracy: baseline.accuracy };
    showResult('baseline', baseline);

    const charts = $<HTMLDivElement>('charts');
    charts.replaceChildren();
    const lossBox = document.createElement('div');
    const accBox = document.createElement('div');
    charts.append(lossBox, accBox);
    const history: { loss: number; acc: number; val_loss?: number; val_acc?: number }[] = [];
    const started = performance.now();
    await fit(model, data, {
      epochs,
      seed: 42,
      ...(learningRate === undefined ? {} : { optimizer: 'adam' as const, learningRate }),
      callbacks: {
        onEpochEnd: async (epoch, logs) => {
          history.push({ loss: logs?.loss ?? NaN, acc: logs?.acc ?? NaN, val_loss: logs?.val_loss, val_acc: logs?.val_acc });
          progress.value = (epoch + 1) / epochs;
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          setStatus(`Epoch ${epoch + 1}/${epochs}: loss ${fmt(logs?.loss)}, accuracy ${fmt(logs?.acc)}, validation accuracy ${fmt(logs?.val_acc)} (${seconds} s)`);
          await drawCharts(lossBox, accBox, history);
        },
      },
    });

    setStatus('Evaluating on the test split…');
    const final = await evaluate(model, data);
    app.final = { loss: final.loss, accuracy: final.accuracy };
    showResult('final', final);
    const dataInfo: ClassifierDataInfo = {
      labelNames: data.labelNames,
      labelMode: data.labelMode,
      imageSize: data.imageSize,
      preprocessing: data.preprocessing,
      resize: data.resize,
    };
    const baseName = baseSelect.value === 'url' ? baseUrl.value.trim() : baseSelect.value;
    trained = { model, labelNames, imageSize, preprocessing, dataInfo, metrics: final, baseName };
    predictFile.disabled = false;
    exportButton.disabled = false;
    app.phase = 'done';
    setStatus(
      `Done on ${tf.getBackend()}: accuracy ${fmt(baseline.accuracy)} before training, ${fmt(final.accuracy)} after ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s). Now classify a new image below.`,
    );
  } catch (error) {
    app.phase = 'error';
    app.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    setStatus(app.error, true);
  } finally {
    data?.dispose();
    trainButton.disabled = false;
  }
}

async function drawCharts(
  lossBox: HTMLElement,
  accBox: HTMLElement,
  history: readonly { loss: number; acc: number; val_loss?: number; val_acc?: number }[],
): Promise<void> {
  const series = (key: 'loss' | 'acc' | 'val_loss' | 'val_acc') =>
    history.map((h, i) => ({ x: i + 1, y: h[key] ?? NaN })).filter((p) => Number.isFinite(p.y));
  const options = { xLabel: 'epoch', width: 420, height: 240 };
  await tfvis.render.linechart(lossBox, { values: [series('loss'), series('val_loss')], series: ['train', 'validation'] }, { ...options, yLabel: 'loss' });
  await tfvis.render.linechart(accBox, { values: [series('acc'), series('val_acc')], series: ['train', 'validation'] }, { ...options, yLabel: 'accuracy', yAxisDomain: [0, 1] });
}

function showResult(which: 'baseline' | 'final', result: { loss: number; accuracy: number }): void {
  $('results').hidden = false;
  $(`${which}-loss`).textContent = fmt(result.loss);
  $(`${which}-acc`).textContent = fmt(result.accuracy);
}

async function classify(file: File): Promise<void> {
  if (!trained) return;
  const { model, labelNames, imageSize, preprocessing } = trained;
  const image = await decodeImage(file);
  try {
    const preview = $<HTMLCanvasElement>('predict-preview');
    const small = tf.tidy(() => tf.cast(tf.image.resizeBilinear(image, [preview.height, preview.width]), 'int32'));
    await tf.browser.toPixels(small as tf.Tensor3D, preview);
    small.dispose();
    const batch = prepareImages(image, { imageSize, preprocessing });
    const output = tf.tidy(() => model.predict(batch) as tf.Tensor);
    batch.dispose();
    const values = Array.from(await output.data());
    output.dispose();
    const probabilities = values.length === 1 ? [1 - (values[0] ?? 0), values[0] ?? 0] : values;
    const ranked = labelNames
      .map((label, i) => ({ label, probability: probabilities[i] ?? 0 }))
      .sort((a, b) => b.probability - a.probability);
    app.prediction = ranked;
    $('predictions').replaceChildren(
      ...ranked.map(({ label, probability }) => {
        const li = document.createElement('li');
        li.textContent = `${label}: ${(probability * 100).toFixed(1)}%`;
        return li;
      }),
    );
  } finally {
    image.dispose();
  }
}

/**
 * Downloads the trained classifier: tfjs's `downloads://` saver writes model.json (topology, weight manifest and
 * tl-kit's metadata, which is what loadClassifier reads) and model.weights.bin; metadata.json, the same metadata on
 * its own for people and other tools, is saved next to them, as Teachable Machine does.
 */
async function exportClassifier(): Promise<void> {
  if (!trained) return;
  exportButton.disabled = true;
  try {
    const metadata = await saveClassifier(trained.model, trained.dataInfo, `downloads://${EXPORT_NAME}`, {
      metrics: trained.metrics,
      baseName: trained.baseName,
    });
    downloadFile('metadata.json', new Blob([`${JSON.stringify(metadata, null, 2)}\n`], { type: 'application/json' }));
    app.exported = [`${EXPORT_NAME}.json`, `${EXPORT_NAME}.weights.bin`, 'metadata.json'];
    setStatus(`Downloaded ${app.exported.join(', ')}. Load the folder with loadClassifier().`);
  } catch (error) {
    // A model that cannot be saved (a graph-model base, a preprocessing function) says why; training results stay.
    setStatus(error instanceof Error ? `${error.name}: ${error.message}` : String(error), true);
  } finally {
    exportButton.disabled = false;
  }
}

function downloadFile(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = name;
  anchor.click();
  // The click starts the download synchronously; the URL is no longer needed once it has.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function fmt(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(3);
}

async function start(): Promise<void> {
  addClass('class A');
  addClass('class B');
  $('add-class').addEventListener('click', () => addClass(`class ${String.fromCharCode(65 + cards.length)}`));
  $('use-builtin').addEventListener('click', useBuiltinSet);
  trainButton.addEventListener('click', () => void train());
  exportButton.addEventListener('click', () => void exportClassifier());
  baseSelect.addEventListener('change', () => (baseUrl.hidden = baseSelect.value !== 'url'));
  predictFile.addEventListener('change', () => {
    const file = predictFile.files?.[0];
    if (file) void classify(file);
  });
  // No silent fallback: without WebGL the page says so and does not train.
  const ok = await tf.setBackend('webgl').catch(() => false);
  if (!ok) {
    app.phase = 'error';
    app.error = 'WebGL is not available in this browser, so this page cannot train.';
    $('backend').textContent = 'none';
    trainButton.disabled = true;
    setStatus(app.error, true);
    return;
  }
  await tf.ready();
  app.backend = tf.getBackend();
  $('backend').textContent = app.backend;
  app.phase = 'idle';
}

void start();
