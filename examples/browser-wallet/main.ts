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
import { startExample } from './server.ts'
import { runDemo } from './demo.ts'

const args = process.argv.slice(2)
const demo = args.includes('--demo')
const at = args.indexOf('--screenshot')
const screenshot = at >= 0 ? args[at + 1] : undefined
const example = await startExample({ port: Number(process.env.TALLY_EXAMPLE_PORT ?? 0), log: (line) => console.log(`  ${line}`) })
console.log(`wallet page: ${example.url}?wallet=alice  (and ?wallet=bob in another tab)`)
if (!demo) {
  console.log('Ctrl-C to stop')
  const stop = () => void example.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} else {
  try {
    const result = await runDemo(example, { ...(screenshot === undefined ? {} : { screenshot }), log: (line) => console.log(`  ${line}`) })
    for (const w of result.wallets) console.log(`${w.name}: balance ${(w.balance / 1000).toFixed(3)} WVL; history ${w.history.join(', ')}`)
    const failed = result.transcript.filter((l) => l.includes(' FAILED '))
    if (failed.length > 0) process.exitCode = 1
  } finally {
    await example.close()
  }
}
