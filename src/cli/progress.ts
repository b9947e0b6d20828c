import type { TextOutput } from './session.js';

/**
 * A progress bar on stderr with a rate, redrawn at most ten times a second; where stderr is not
 * a terminal (CI, logs) it prints a plain line every few seconds instead.
 */
export class ProgressBar {
  private readonly started = performance.now();
  private lastDraw = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private total?: number,
    private readonly stream: TextOutput = process.stderr,
  ) {}

  update(done: number, total = this.total): void {
    this.done = done;
    this.total = total;
    const now = performance.now();
    if (now - this.lastDraw < (this.stream.isTTY ? 100 : 5000)) return;
    this.lastDraw = now;
    this.draw(false);
  }

  finish(summary = ''): void {
    this.draw(true);
    if (summary) this.stream.write(`${summary}\n`);
  }

  /** Resources (or whatever is counted) per second since the start. */
  rate(): number {
    const seconds = (performance.now() - this.started) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }

  private draw(final: boolean): void {
    const count = this.total ? `${format(this.done)}/${format(this.total)}` : format(this.done);
    const width = 30;
    const fraction = this.total ? Math.min(1, this.done / this.total) : undefined;
    const bar = fraction === undefined ? '' : `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${Math.floor(fraction * 100)}% `;
    const line = `${this.label} ${bar}${count} ${format(Math.round(this.rate()))}/s`;
    if (this.stream.isTTY) this.stream.write(`\r${line}${final ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }
}

function format(n: number): string {
  return n.toLocaleString('en-US');
}
