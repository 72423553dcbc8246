// The example's full flow, driven in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core; never a downloaded browser): two wallets, each in its own browser context (its
// own IndexedDB, keys and chain), open the page, register a device each (the owner's key signs in
// the page), the witnesses close the epoch, both claim their reward, and they pay each other —
// alice → bob and bob → alice, through the gateway, since neither page can listen; then alice
// opens a payment channel to bob and pays him twice by receipt (bytes through the server's
// mailbox), and bob redeems.
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Example } from './server.ts'

/** Debian's Chromium, unless TALLY_CHROMIUM says otherwise. */
export const CHROMIUM = process.env.TALLY_CHROMIUM || '/usr/bin/chromium'

/** Generous: a loaded machine has taken over 30 s to load a page. A safety stop, not a speed check. */
const LIMIT_MS = 90_000

/** What the flow ended with, per wallet. */
export interface DemoResult {
  readonly wallets: readonly { readonly name: string; readonly key: string; readonly balance: number; readonly history: readonly string[] }[]
  /** Each click's outcome, in order: `alice device: ok device 1a2b… registered ...`. */
  readonly transcript: readonly string[]
}

interface ActionResult {
  action: string
  ok: boolean
  text: string
}

/**
 * Start headless Chromium for the demo (Debian's, or TALLY_CHROMIUM).
 * @returns the browser (runDemo closes it)
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
}

/**
 * Run the flow against a running example.
 * @param example the server (startExample)
 * @param options screenshot: a PNG path for alice's page at the end; log: a line per step;
 *   browser: one launched already (launchBrowser, while the server started), closed at the end
 */
export async function runDemo(example: Example, options: { screenshot?: string; log?: (line: string) => void; browser?: Promise<Browser> } = {}): Promise<DemoResult> {
  const log = options.log ?? (() => undefined)
  const transcript: string[] = []
  let browser: Browser | undefined
  try {
    browser = await (options.browser ?? launchBrowser())
    const open = async (name: string): Promise<Page> => {
      const context = await browser!.newContext({ viewport: { width: 820, height: 900 } })
      const page = await context.newPage()
      page.on('pageerror', (err) => log(`${name} page error: ${err.message}`))
      await page.goto(`${example.url}?wallet=${name}`, { timeout: LIMIT_MS })
      await page.waitForSelector('body[data-ready="true"]', { timeout: LIMIT_MS })
      // a new wallet shows its recovery phrase once: dismissed here, so no screenshot holds it
      if (await page.isVisible('#phrase')) await page.click('#phrase-done')
      log(`${name}: page open, wallet online`)
      return page
    }
    // the two wallets are independent until they pay each other: their pages open, and their
    // devices register and their claims run, side by side (the transcript keeps alice first)
    const [alice, bob] = await Promise.all([open('alice'), open('bob')])
    const click = async (page: Page, name: string, id: string, setup?: () => Promise<void>): Promise<ActionResult & { line: string }> => {
      const before = await page.evaluate(() => (globalThis as unknown as { __results: unknown[] }).__results.length)
      await setup?.()
      await page.click(`#${id}`, { timeout: LIMIT_MS })
      await page.waitForFunction((n) => (globalThis as unknown as { __results: unknown[] }).__results.length > n, before, { timeout: LIMIT_MS })
      const r = await page.evaluate((n) => (globalThis as unknown as { __results: ActionResult[] }).__results[n]!, before)
      const line = `${name} ${id}: ${r.ok ? 'ok' : 'FAILED'} ${r.text}`
      if (!deferred) transcript.push(line)
      log(line)
      return { ...r, line }
    }
    let deferred = false
    /** Two clicks side by side, their lines in the transcript in the order given. */
    const both = async (a: () => Promise<ActionResult & { line: string }>, b: () => Promise<ActionResult & { line: string }>) => {
      deferred = true
      const [ra, rb] = await Promise.all([a(), b()]).finally(() => (deferred = false))
      transcript.push(ra.line, rb.line)
    }
    const keyOf = (page: Page) => page.textContent('#key').then((t) => t ?? '')
    const aliceKey = await keyOf(alice)
    const bobKey = await keyOf(bob)
    await both(() => click(alice, 'alice', 'device'), () => click(bob, 'bob', 'device'))
    await click(alice, 'alice', 'close')
    // bob's page learns the closed epoch from the server too
    const closed = await alice.inputValue('#epoch')
    await both(() => click(alice, 'alice', 'claim'), () => click(bob, 'bob', 'claim', () => bob.fill('#epoch', closed)))
    const pay = async (page: Page, name: string, to: string, amount: string) => {
      // the directory lists the other wallet once the page refreshed it
      await page.waitForFunction((key) => [...document.querySelectorAll('#to option')].some((o) => (o as HTMLOptionElement).value === key), to, { timeout: LIMIT_MS, polling: 200 })
      return click(page, name, 'send', async () => {
        await page.selectOption('#to', to)
        await page.fill('#amount', amount)
      })
    }
    await pay(alice, 'alice', bobKey, '120.5')
    await pay(bob, 'bob', aliceKey, '20.25')
    // a payment channel: alice locks 50 for bob, pays 2.5 twice by receipt; bob's page takes the
    // lock and the receipts from its mailbox, then redeems
    await click(alice, 'alice', 'channel-open', async () => {
      await alice.selectOption('#to', bobKey)
      await alice.fill('#amount', '50')
    })
    await click(alice, 'alice', 'channel-pay', () => alice.fill('#amount', '2.5'))
    await click(alice, 'alice', 'channel-pay')
    await bob.waitForSelector('#incoming[data-paid="5000"]', { timeout: LIMIT_MS })
    await click(bob, 'bob', 'channel-redeem')
    const state = async (page: Page, name: string, key: string) => {
      const balance = Number(await page.getAttribute('#balance', 'data-value'))
      const history = await page.$$eval('#history tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.kind ?? ''))
      return { name, key, balance, history }
    }
    // each page shows a reward, a payment sent, one received and the channel's lock or redeem
    // once its chain has them all
    for (const page of [alice, bob]) await page.waitForSelector('#history[data-count="4"]', { timeout: LIMIT_MS }).catch(() => undefined)
    const wallets = [await state(alice, 'alice', aliceKey), await state(bob, 'bob', bobKey)]
    if (options.screenshot !== undefined) {
      await alice.screenshot({ path: options.screenshot, fullPage: true })
      log(`screenshot: ${options.screenshot}`)
    }
    return { wallets, transcript }
  } finally {
    await browser?.close().catch(() => undefined)
  }
}
