/**
 * The shared suite every OutboxStore implementation passes (memory here; a durable one in its
 * own package runs the same suite with its own `open`): put/list/remove, ids in order, records
 * copied, and — what the outbox is for — records that survive a reopen.
 * Not a test file itself.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import type { OutboxStore } from '@tally/economy/net'

/** How to get a store: `open()` a fresh one; `reopen(store)` the same storage after a restart. */
export interface OutboxSuiteOptions {
  open(): Promise<OutboxStore>
  reopen(store: OutboxStore): Promise<OutboxStore>
  teardown?(store: OutboxStore): Promise<void>
}

/**
 * Run the suite.
 * @param name the implementation's name
 * @param options open, reopen, teardown
 */
export function outboxSuite(name: string, options: OutboxSuiteOptions): void {
  const test = suite(`OutboxStore: ${name}`)

  test('put, list by ascending id, replace, remove', async () => {
    const store = await options.open()
    await store.put('r:2', Uint8Array.of(2))
    await store.put('c:seq', Uint8Array.of(9))
    await store.put('r:10', Uint8Array.of(10))
    await store.put('r:2', Uint8Array.of(22))
    assert.equal((await store.list()).map((r) => [r.id, [...r.record]]), [['c:seq', [9]], ['r:10', [10]], ['r:2', [22]]])
    await store.remove('r:10')
    await store.remove('absent')
    assert.equal((await store.list()).map((r) => r.id), ['c:seq', 'r:2'])
    await options.teardown?.(store)
  })

  test('records are copied in and out', async () => {
    const store = await options.open()
    const bytes = Uint8Array.of(1, 2, 3)
    await store.put('a', bytes)
    bytes[0] = 9
    const [first] = await store.list()
    assert.equal([...first!.record], [1, 2, 3])
    first!.record[1] = 9
    assert.equal([...(await store.list())[0]!.record], [1, 2, 3])
    await options.teardown?.(store)
  })

  test('malformed ids and records are refused', async () => {
    const store = await options.open()
    for (const id of ['', 'UPPER', 'a b', 'x'.repeat(129), 'é']) {
      let thrown: unknown
      try {
        await store.put(id, Uint8Array.of(1))
      } catch (err) {
        thrown = err
      }
      assert.ok(thrown instanceof RangeError, `id ${JSON.stringify(id)}`)
    }
    assert.is((await store.list()).length, 0)
    await options.teardown?.(store)
  })

  test('what was put survives a reopen; what was removed stays removed (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.stringMatching(/^[a-z0-9:]{1,6}$/), fc.uint8Array({ maxLength: 8 })), { maxLength: 30 }),
        async (ops) => {
          let store = await options.open()
          const model = new Map<string, number[]>()
          for (const [put, id, bytes] of ops) {
            if (put) {
              await store.put(id, bytes)
              model.set(id, [...bytes])
            } else {
              await store.remove(id)
              model.delete(id)
            }
          }
          store = await options.reopen(store)
          const listed = (await store.list()).map((r) => [r.id, [...r.record]])
          assert.equal(listed, [...model.keys()].sort().map((id) => [id, model.get(id)!]))
          await options.teardown?.(store)
        },
      ),
      { numRuns: 60 },
    )
  })

  test.run()
}
