// Evaluated before uvu (the recorder imports it first): tells uvu that a runner will call exec()
// (UVU_DEFER, as its CLI does) and gives it the queue to fill; and keeps what uvu writes, for its totals.
const g = globalThis as { UVU_DEFER?: number; UVU_QUEUE?: unknown[][] }
g.UVU_DEFER = 1
g.UVU_QUEUE = [['chromium']]

/** Everything written with console.log since the page started (uvu's output among it). */
export const written: string[] = []
const original = console.log.bind(console)
console.log = (...args: unknown[]) => {
  written.push(args.map(String).join(' '))
  original(...args)
}
