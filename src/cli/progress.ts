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

/** The shell's exit code for a process ended by the signal: 128 + its number. */
const EXIT_ON_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;
type Interruption = keyof typeof EXIT_ON_SIGNAL;

export function progressBar(
  label: string,
  options: { enabled: boolean; stream?: NodeJS.WriteStream },
): Progress {
  const stream = options.stream ?? process.stderr;
  if (!options.enabled || !stream.isTTY) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream,
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
  const stop = () => {
    if (!running) return;
    running = false;
    bar.stop();
    // A signal that came while the bar ran reaches its listener only when the event loop next
    // polls (a verify on this thread may not have let it since): keep listening until after that
    // poll, two immediates from now, so such a Ctrl-C still ends the process instead of vanishing.
    setImmediate(() =>
      setImmediate(() => {
        for (const s of Object.keys(EXIT_ON_SIGNAL)) process.off(s, onSignal);
      }),
    );
  };
  // The bar hides the cursor and turns line wrap off; Node's default handling of Ctrl-C (SIGINT) or
  // SIGTERM ends the process without restoring them. While the bar runs, give the terminal back
  // first, then end as the signal would have (exit 130 / 143). Each bar removes its listeners once
  // stopped, so bars started one after another leave none behind.
  function onSignal(signal: Interruption): void {
    stop();
    process.exit(EXIT_ON_SIGNAL[signal]);
  }
  return {
    update(done, total) {
      const rate = Math.round(done / Math.max((performance.now() - started) / 1000, 1e-3));
      if (!running) {
        for (const s of Object.keys(EXIT_ON_SIGNAL)) process.on(s, onSignal);
        running = true;
        bar.start(total, done, { rate });
      } else {
        bar.setTotal(total);
        bar.update(done, { rate });
      }
    },
    stop,
  };
}
