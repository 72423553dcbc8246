// A progress bar on stderr: one line redrawn in place on a terminal; on anything else (a pipe, a
// CI log, a test capturing the output) a plain line per step, so the log stays readable.

/** A progress display. */
export interface Progress {
  /**
   * Show that `done` of `total` steps are finished.
   * @param done steps finished
   * @param detail what just happened, shown beside the bar (and as the plain line)
   */
  update(done: number, detail: string): void
  /** Finish: on a terminal, keep the last bar and end its line. */
  end(): void
}

/** Options of createProgress. */
export interface ProgressOptions {
  /** What is counted, e.g. 'epochs'. */
  label: string
  /** Steps in all. */
  total: number
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WriteStream
  /** Force plain lines even on a terminal. */
  plain?: boolean
}

const WIDTH = 28

/**
 * A progress display on a stream.
 * @param options label, total, stream
 * @returns the display
 * @example
 * const bar = createProgress({ label: 'epochs', total: 24 })
 * bar.update(1, '01:00 certified by A+B')
 * bar.end()
 */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true && options.plain !== true
  let drawn = false
  return {
    update(done, detail) {
      const count = `${String(done).padStart(String(options.total).length)}/${options.total} ${options.label}`
      if (!tty) {
        stream.write(`  ${count}  ${detail}\n`)
        return
      }
      const filled = Math.round((WIDTH * done) / Math.max(1, options.total))
      const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled)
      const columns = stream.columns ?? 100
      const line = `  ${bar} ${count}  ${detail}`
      // \r and "erase line": redraw in place; cut to the terminal's width so it never wraps
      stream.write(`\r\x1b[2K${line.length > columns - 1 ? line.slice(0, columns - 2) + '…' : line}`)
      drawn = true
    },
    end() {
      if (tty && drawn) stream.write('\n')
      drawn = false
    },
  }
}
