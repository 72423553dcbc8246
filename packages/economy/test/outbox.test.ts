/**
 * The memory outbox passes the shared OutboxStore suite (a restart is the same store handed to
 * a new reporter), and the backoff doubles up to its cap.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_RETRY, backoff, createMemoryOutbox } from '@tally/economy/net'
import { outboxSuite } from './outbox-suite.ts'

outboxSuite('memory', { open: async () => createMemoryOutbox(), reopen: async (store) => store })

const test = suite('backoff')

test('doubles from the base and stops at the cap', () => {
  assert.equal([1, 2, 3, 4].map((n) => backoff({ baseMs: 1000, maxMs: 5000, attempts: 9 }, n)), [1000, 2000, 4000, 5000])
  assert.is(backoff(DEFAULT_RETRY, 100), DEFAULT_RETRY.maxMs)
})

test.run()
