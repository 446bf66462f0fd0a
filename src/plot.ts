// The picture of a training run: training loss and test error against epochs, rendered to SVG
// with Vega-Lite (headless; no canvas needed).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { EpochEvent, StepEvent } from './coordinator.js';

/** Mean step loss in bins of this many per epoch (keeps the SVG small for long runs). */
const BINS_PER_EPOCH = 40;

export async function trainingSvg(steps: readonly StepEvent[], epochs: readonly EpochEvent[], title: string): Promise<string> {
  const bins = new Map<number, { sum: number; n: number }>();
  for (const s of steps) {
    const at = s.epoch + (s.stepInEpoch + 1) / s.stepsPerEpoch;
    const key = Math.ceil(at * BINS_PER_EPOCH) / BINS_PER_EPOCH;
    const b = bins.get(key) ?? { sum: 0, n: 0 };
    b.sum += s.loss;
    b.n++;
    bins.set(key, b);
  }
  const loss = [...bins].map(([epoch, b]) => ({ epoch, loss: b.sum / b.n }));
  const error = epochs.map((e) => ({ epoch: e.epoch, error: 100 * e.testError }));
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domainMin: 0 } } as const;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    hconcat: [
      {
        title: 'training loss (mean per 1/40 epoch)',
        width: 360,
        height: 240,
        data: { values: loss },
        mark: { type: 'line', color: '#1f77b4' },
        encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { type: 'log' } } },
      },
      {
        title: 'test error after each epoch',
        width: 360,
        height: 240,
        data: { values: error },
        mark: { type: 'line', point: true, color: '#d62728' },
        encoding: { x, y: { field: 'error', type: 'quantitative', title: 'test error (%)', scale: { zero: true } } },
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
