/**
 * A progress bar with rate and ETA on stderr, only when stderr is a terminal (and not --json):
 * pipes and CI logs get no control characters.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

export function progressBar(label: string, options: { enabled: boolean }): Progress {
  if (!options.enabled || !process.stderr.isTTY) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} entries | {rate}/s | ETA {eta_formatted}`,
      etaBuffer: 50,
      fps: 10,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  let running = false;
  return {
    update(done, total) {
      const rate = Math.round(done / Math.max((performance.now() - started) / 1000, 1e-3));
      if (!running) {
        bar.start(total, done, { rate });
        running = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { rate });
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
