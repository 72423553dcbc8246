/**
 * The LevelDB ticket decisions: an @tally/economy DecisionStore (checked by assignment) that keeps
 * what it was told across close and reopen, and across a SIGKILL right after `put` resolved —
 * a witness that forgot an accept could sign a void of the same proposal.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '@tally/core'
import type { DecisionStore } from '@tally/economy/net'
import { openLevelDecisions, type LevelDecisions } from '../src/index.js'

const test = suite('level decisions')
const hash = (n: number) => new Uint8Array(32).fill(n)

const rejects = async (promise: Promise<unknown>, type: Function, what: string) => {
  try {
    await promise
  } catch (err) {
    assert.instance(err, type, what)
    return
  }
  assert.unreachable(`${what}: expected ${type.name}`)
}

test('put, get, prune; survives close and reopen', async () => {
  const path = await mkdtemp(join(tmpdir(), 'tally-decisions-'))
  let decisions: LevelDecisions = await openLevelDecisions({ path })
  const contract: DecisionStore = decisions // what a witness takes
  await contract.put(hash(1), { decision: 'accept', expires: 1_000 })
  await contract.put(hash(2), { decision: 'void', expires: 2_000 })
  await contract.put(hash(3), { decision: 'accept', expires: 3_000 })
  assert.equal(await decisions.get(hash(2)), { decision: 'void', expires: 2_000 })
  assert.is(await decisions.get(hash(9)), undefined)
  await decisions.close()

  decisions = await openLevelDecisions({ path })
  assert.equal(await decisions.get(hash(1)), { decision: 'accept', expires: 1_000 })
  await decisions.prune(2_000) // expired before 2000: only the first
  assert.is(await decisions.get(hash(1)), undefined)
  assert.equal(await decisions.get(hash(2)), { decision: 'void', expires: 2_000 })
  await decisions.close()

  decisions = await openLevelDecisions({ path })
  assert.is(await decisions.get(hash(1)), undefined, 'pruned stays pruned')
  assert.equal(await decisions.get(hash(3)), { decision: 'accept', expires: 3_000 })
  await decisions.prune(10_000)
  assert.is(await decisions.get(hash(3)), undefined)
  await decisions.close()
  await rm(path, { recursive: true })
})

test('bad input is refused and nothing is stored', async () => {
  const path = await mkdtemp(join(tmpdir(), 'tally-decisions-'))
  const decisions = await openLevelDecisions({ path })
  await rejects(decisions.put(new Uint8Array(0), { decision: 'accept', expires: 1 }), RangeError, 'empty hash')
  await rejects(decisions.put(new Uint8Array(65), { decision: 'accept', expires: 1 }), RangeError, 'hash of 65 bytes')
  await rejects(decisions.get(new Uint8Array(65)), RangeError, 'get of a 65-byte hash')
  await rejects(decisions.put('ab' as never, { decision: 'accept', expires: 1 }), TypeError, 'hash not bytes')
  await rejects(decisions.put(hash(1), { decision: 'maybe' as never, expires: 1 }), TypeError, 'unknown decision')
  await rejects(decisions.put(hash(1), { decision: 'void', expires: 1.5 }), TypeError, 'fractional expiry')
  await rejects(decisions.put(hash(1), null as never), TypeError, 'no decision')
  await rejects(decisions.prune('x' as never), TypeError, 'prune of a string')
  assert.is(await decisions.get(hash(1)), undefined)
  await decisions.close()
  await rm(path, { recursive: true })
})

test('a decision whose put resolved survives SIGKILL', async () => {
  const path = await mkdtemp(join(tmpdir(), 'tally-decisions-'))
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/decision-child.ts', import.meta.url).pathname, path, toHex(hash(7)), '4242'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('stored')) return
      child.kill('SIGKILL')
      resolve()
    })
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before storing`)))
  })
  assert.is(await exited, 'SIGKILL')
  const decisions = await openLevelDecisions({ path })
  assert.equal(await decisions.get(hash(7)), { decision: 'accept', expires: 4242 })
  await decisions.close()
  await rm(path, { recursive: true })
})

test.run()
