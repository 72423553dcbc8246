// The browser-wallet example: a web page holding a Tally wallet (keys that cannot be exported,
// its chain in IndexedDB), served with a small community of the networked economy — three
// witnesses and a gateway node the pages connect to over WebSocket.
//
//   node --import tsx examples/browser-wallet/main.ts            serve; open the printed URL with
//                                                                ?wallet=alice and ?wallet=bob
//   node --import tsx examples/browser-wallet/main.ts --demo     run the two-wallet flow in
//        [--screenshot examples/browser-wallet/screenshot.png]   headless Chromium, then exit
//
// TALLY_EXAMPLE_PORT picks the port (default: a free one).
//
// `npm start` runs the --demo: without Chromium it says so loudly, says how to install it, and
// exits 0, so the other demos of `npm start` still run (CI=true makes it fail instead).
import { existsSync } from 'node:fs'
import { startExample } from './server.ts'
import { CHROMIUM, launchBrowser, runDemo } from './demo.ts'

const args = process.argv.slice(2)
const demo = args.includes('--demo')
const at = args.indexOf('--screenshot')
const screenshot = at >= 0 ? args[at + 1] : undefined
if (demo && !existsSync(CHROMIUM)) {
  const bar = '!'.repeat(100)
  console.log(`${bar}\nSKIPPED: examples/browser-wallet --demo needs Chromium, not found at ${CHROMIUM}.\n  Install it with \`apt-get install chromium\` (Debian/Ubuntu; never a downloaded build), or point\n  TALLY_CHROMIUM at a Chromium binary. The other demos are not affected.\n${bar}`)
  process.exit(process.env.CI === 'true' ? 1 : 0)
}
const started = performance.now()
// Chromium starts while the page is bundled and the community comes up
const browser = demo ? launchBrowser() : undefined
browser?.catch(() => undefined) // a failed launch is reported where runDemo awaits it
const example = await startExample({ port: Number(process.env.TALLY_EXAMPLE_PORT ?? 0), log: (line) => console.log(`  ${line}`) }).catch(async (err: unknown) => {
  await (await browser?.catch(() => undefined))?.close()
  throw err
})
console.log(`wallet page: ${example.url}?wallet=alice  (and ?wallet=bob in another tab)`)
if (!demo) {
  console.log('Ctrl-C to stop')
  const stop = () => void example.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} else {
  try {
    const result = await runDemo(example, { ...(screenshot === undefined ? {} : { screenshot }), log: (line) => console.log(`  ${line}`), browser: browser! })
    for (const w of result.wallets) console.log(`${w.name}: balance ${(w.balance / 1000).toFixed(3)} WVL; history ${w.history.join(', ')}`)
    const failed = result.transcript.filter((l) => l.includes(' FAILED '))
    console.log(`browser-wallet demo: ${failed.length === 0 ? 'OK' : `${failed.length} step(s) FAILED`} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    if (failed.length > 0) process.exitCode = 1
  } finally {
    await example.close()
  }
}
