/**
 * The README's "Writing a protocol" example, as written there: it must run (two nodes over ws on
 * loopback) and print what the README says; and the README's code block must be this file's
 * sample, byte for byte, so neither can change without the other.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError, createMemoryStore, generateIdentity, type Protocol } from '@tally/core'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

const Readme = suite('readme: writing a protocol')

Readme('the example runs and prints what the README says', async () => {
  const printed: unknown[] = []
  const console = { log: (value: unknown) => void printed.push(value) }
  // --- from the README ---
  type Quotes = { ask: string; price: number } // kind → message
  const quotes: Protocol<Quotes> = {
    name: 'example/quotes/1',
    messages: {
      ask: { maxBytes: 64, cost: 1, encode: (item) => item, decode: (v) => { if (typeof v !== 'string') throw new TypeError('ask: expected text'); return v } },
      price: { maxBytes: 16, cost: 1, encode: (cents) => cents, decode: (v) => { if (typeof v !== 'number' || v < 0) throw new RangeError('price: expected a uint'); return v } },
    },
    handlers: {
      ask: (item) => {
        if (item !== 'coffee') throw new RefusedError(`no ${item} here`, { reason: 'not-for-sale' })
        return { kind: 'price', message: 250 }
      },
    },
  }
  const make = () => createNode({ identity: generateIdentity(), store: createMemoryStore(), transport: createWsTransport() })
  const shop = make(), buyer = make()
  shop.host(quotes)
  const handle = buyer.host(quotes)
  buyer.addAddress(shop.publicKey, await shop.listen())
  const peer = await handle.peer(shop.publicKey) // dials the shop
  console.log(await peer.request('ask', 'coffee')) // { kind: 'price', message: 250 }
  console.log(await peer.request('ask', 'tea').catch((e: RefusedError) => e.reason)) // 'not-for-sale'
  await Promise.all([shop.close(), buyer.close()])
  // --- end ---
  assert.equal(printed, [{ kind: 'price', message: 250 }, 'not-for-sale'])
})

Readme("the README's code block is this sample", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Writing a protocol'))
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
  assert.ok(block !== undefined, 'the section has a ts code block')
  const source = readFileSync(new URL(import.meta.url), 'utf8')
  const sample = /\/\/ --- from the README ---\n([\s\S]*?)\s*\/\/ --- end ---/.exec(source)![1]!
  const dedent = (text: string): string => text.split('\n').map((l) => l.replace(/^ {2}/, '')).join('\n').trim()
  // the README adds its imports above the sample
  const imports = [
    "import { RefusedError, createMemoryStore, generateIdentity, type Protocol } from '@tally/core'",
    "import { createNode } from '@tally/gossip'",
    "import { createWsTransport } from '@tally/gossip/ws'",
  ].join('\n')
  assert.fixture(block!.trim(), `${imports}\n\n${dedent(sample)}`)
})

Readme.run()
