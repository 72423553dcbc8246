/**
 * The gossip rules the node and the simulator's model share (node/gossip-rules.ts): whom a node
 * asks for an announced proof and when it gives up, which chains a pull names, which heads
 * contradict the store, which slots an audit compares, what travels with a proposal, and when a
 * frame is sent again.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  MAX_ANNOUNCERS,
  MAX_WANTS,
  RESEND_ATTEMPTS,
  WANT_ATTEMPTS,
  announced,
  auditSlots,
  contextSeqs,
  contradicts,
  nextAnnouncer,
  pullKeys,
  relayFanout,
  resendAfter,
  type WantState,
} from '../src/node/gossip-rules.js'
import { createRandom } from '../src/random.js'

const Wants = suite('gossip rules: proof wants')

Wants('the first announcement asks at once; later ones are kept, each once, up to MAX_ANNOUNCERS', () => {
  assert.is(announced(undefined, 'a', 0), 'ask')
  const want: WantState<string> = { announcers: ['a'], asked: 0 }
  assert.is(announced(want, 'b', 1), 'queued')
  assert.is(announced(want, 'b', 1), 'ignored', 'the same announcer again')
  for (let i = 0; want.announcers.length < MAX_ANNOUNCERS; i++) assert.is(announced(want, `x${i}`, 1), 'queued')
  assert.is(announced(want, 'late', 1), 'ignored', 'beyond MAX_ANNOUNCERS')
  assert.is(announced(undefined, 'a', MAX_WANTS), 'ignored', 'too many proofs awaited already')
})

Wants('the announcers are asked in turn, WANT_ATTEMPTS requests in all; closed ones are dropped', () => {
  const want: WantState<string> = { announcers: ['a', 'b', 'c'], asked: 0 }
  const asked: string[] = []
  for (let a = nextAnnouncer(want, () => true); a !== undefined; a = nextAnnouncer(want, () => true)) asked.push(a)
  assert.is(asked.length, WANT_ATTEMPTS)
  assert.equal(asked.slice(0, 4), ['a', 'b', 'c', 'a'], 'rotated, not the first one again and again')
  const closing: WantState<string> = { announcers: ['a', 'b'], asked: 0 }
  assert.is(nextAnnouncer(closing, () => true), 'a')
  assert.is(nextAnnouncer(closing, (s) => s !== 'b'), 'a', 'b closed: a again')
  assert.equal(closing.announcers, ['a'])
  assert.is(nextAnnouncer(closing, () => false), undefined, 'none left: give up')
})

const Pull = suite('gossip rules: pull and audit')

Pull('a pull names the most recently learnt chains first, not the peer’s own, at most count', () => {
  assert.equal(pullKeys([5, 4, 3, 2, 1], 3, (k) => k === 4), [5, 3, 2])
  assert.equal(pullKeys([1, 2], 10, () => false), [1, 2])
  assert.equal(pullKeys([1, 2], 0, () => false), [])
})

Wants('a proof is told to fraudFanout neighbours, one fewer by a node that heard of it from two or more first', () => {
  assert.is(relayFanout(8, 0), 8, 'found it itself')
  assert.is(relayFanout(8, 1), 8, 'asked the one announcer')
  assert.is(relayFanout(8, 2), 7)
  assert.is(relayFanout(8, 8), 7)
  assert.is(relayFanout(1, 5), 1, 'never none')
  assert.is(relayFanout(Number.POSITIVE_INFINITY, 5), Number.POSITIVE_INFINITY, 'every neighbour stays every neighbour')
})

Pull('a pull names no chain this node holds a proof against (the peer only sent the proof once more)', () => {
  assert.equal(pullKeys([5, 4, 3, 2, 1], 3, (k) => k === 4, (k) => k === 5 || k === 2), [3, 1])
  assert.equal(pullKeys([1, 2], 10, () => false, () => true), [])
})

Pull('a head contradicts the store: another block at its seq, or a next block that does not chain to it', () => {
  const eq = (a: string, b: string): boolean => a === b
  assert.ok(contradicts('Y', 'X', undefined, eq), 'another block at the seq')
  assert.not.ok(contradicts('X', 'X', undefined, eq), 'the same block')
  assert.ok(contradicts('Y', undefined, 'X', eq), 'the next block chains to another one')
  assert.not.ok(contradicts('X', undefined, 'X', eq), 'the next block chains to it')
  assert.not.ok(contradicts('X', undefined, undefined, eq), 'nothing known there')
  assert.not.ok(contradicts('X', 'X', 'Z', eq), 'the stored block decides when there is one')
})

Pull('the audit compares our tip of a chain the peer is ahead in first, else a random slot of its range', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ key: fc.integer({ min: 0, max: 20 }), seq: fc.integer({ min: 1, max: 50 }) }), { maxLength: 12 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer(),
      (heads, audits, seed) => {
        const ours = (k: number): number | undefined => (k % 4 === 0 ? undefined : 10)
        const slots = auditSlots(heads, ours, audits, createRandom(seed))
        const known = heads.filter((h) => ours(h.key) !== undefined)
        const ahead = known.filter((h) => h.seq > 10)
        assert.is(slots.length, Math.min(audits, known.length))
        for (const [i, s] of slots.entries()) {
          if (i < ahead.length) {
            assert.is(s.seq, 10, 'our tip of a chain the peer is ahead in')
            assert.ok(ahead.some((h) => h.key === s.key))
          } else {
            assert.ok(s.seq >= 1 && known.some((x) => x.key === s.key && x.seq <= 10 && s.seq <= x.seq), 'a slot within the peer’s range')
          }
        }
      },
    ),
    { numRuns: 200 },
  )
})

const Misc = suite('gossip rules: proposals and resends')

Misc('a proposal carries the previous block of its chain, none at seq 1', () => {
  assert.equal(contextSeqs(1), [])
  assert.equal(contextSeqs(7), [6])
})

Misc('an unacknowledged frame goes RESEND_ATTEMPTS times in all', () => {
  let sends = 1
  for (let attempt = 0; resendAfter(attempt); attempt++) sends++
  assert.is(sends, RESEND_ATTEMPTS)
})

Wants.run()
Pull.run()
Misc.run()
