/**
 * Listings reach a node that joins late: when a session opens, the streams service fetches the
 * peer's catalog page by page (real gossip nodes on ws over loopback), and a withdrawal that
 * arrives later removes the listing from the newcomer's index too.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBlockTypes, createMemoryStore, generateIdentity, identityFromSeed } from '@tally/core'
import { STREAM_LISTING, STREAM_WITHDRAW, createStreamService, listingPayload, streamTypes } from '@tally/economy/streams'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

async function until(check: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end && !check()) await new Promise((r) => setTimeout(r, 20))
  return check()
}

const Catalog = suite('streams: catalog for a late joiner')

Catalog('300 listings, fetched by catalog pages when the session opens; a later withdrawal spreads', async () => {
  const types = createBlockTypes(streamTypes())
  const make = () => createNode({ identity: generateIdentity(), store: createMemoryStore(), transport: createWsTransport({ port: 0 }), types, head: 'local', gossip: { pullIntervalMs: 0 } })
  const owner = make()
  const late = make()
  try {
    const ownerStreams = createStreamService({ host: owner })
    const lateStreams = createStreamService({ host: late })
    const address = await owner.listen()
    const blocks = []
    for (let i = 0; i < 300; i++) {
      const sensor = identityFromSeed(Uint8Array.from({ length: 32 }, (_, k) => (k === 0 ? i & 0xff : k === 1 ? i >> 8 : 9)))
      blocks.push(await owner.agent.append(STREAM_LISTING, listingPayload({ device: `d-${i}`, sensor: sensor.publicKey, lat: 45_000_000 + i * 100, lon: 7_000_000, kind: 'noise', price: 1, period: 60_000, start: 0, served: [address] })))
    }
    assert.is(ownerStreams.announce(blocks), 300, 'nobody to spread to yet')
    await late.connect(address)
    assert.ok(await until(() => lateStreams.index.size === 300), `the late joiner holds ${lateStreams.index.size}`)
    assert.is(lateStreams.search({ box: { south: 45_000_000, west: 6_999_000, north: 45_000_950, east: 7_001_000 } }).length, 10)
    const withdraw = await owner.agent.append(STREAM_WITHDRAW, { listing: blocks[0]!.seq })
    ownerStreams.announce([withdraw])
    assert.ok(await until(() => lateStreams.index.size === 299), 'the withdrawal reached it')
  } finally {
    await Promise.all([owner.close(), late.close()])
  }
})

Catalog.run()
