/**
 * Kill during a transaction: Alice (a child process on LevelDB) proposes, Bob (this process,
 * memory store) agrees, and the child is killed with SIGKILL at random moments — often after a
 * proposal is stored and before its agreement arrives. After each kill Alice's store is reopened
 * here and checked:
 * - every proposal the child reported is stored with the hash it reported (durable before handout);
 * - the chain runs 1..latest without gaps, each block linked to the one before, and no seq ever
 *   changed its block across all trials (never two blocks signed at one seq);
 * - Alice resumes: the agreement to a proposal left open completes, and her next proposal
 *   follows at latest + 1.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { blockHash, checkBlock, createAgent, createBlockTypes, createMemoryStore, decodeBlock, encodeBlock, fromHex, identityFromSeed, toHex, type HalfBlock } from '@tally/core'
import { openLevelStore } from '@tally/node'

const TRIALS = Number(process.env['TALLY_TX_CRASH_TRIALS'] ?? 12)
const CHILD = join(import.meta.dirname, 'fixtures', 'tx-child.ts')
const aliceSeed = new Uint8Array(32).fill(0x41)
const alice = identityFromSeed(aliceSeed)
const types = createBlockTypes([{ name: 'transfer' }])
const bob = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(0x42)), store: createMemoryStore(), types })
const dir = mkdtempSync(join(tmpdir(), 'tally-tx-crash-'))
const path = join(dir, 'alice')
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

/** seq → hash of every block of Alice ever seen: a seq must never change its block. */
const known = new Map<number, string>()
/** Trials killed with a proposal stored and its agreement not yet completed. */
let killedMidTransaction = 0

interface Trial {
  reported: Map<number, string>
  /** The last proposal reported and never completed, as bytes. */
  open: Uint8Array | undefined
}

/** Run the child until it is killed `delayMs` after its first proposal (or it proposed `maxTx`). */
function runChild(delayMs: number): Promise<Trial> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, toHex(aliceSeed), toHex(bob.publicKey)], { stdio: ['pipe', 'pipe', 'inherit'], cwd: import.meta.dirname })
    const trial: Trial = { reported: new Map(), open: undefined }
    let timer: NodeJS.Timeout | undefined
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [what, seq, hash, bytes] = line.split(' ')
      if (what === 'proposed') {
        trial.reported.set(Number(seq), hash!)
        trial.open = fromHex(bytes!)
        timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs)
        // Bob answers; the child may die before it reads the answer
        void bob.agree(decodeBlock(trial.open)).then((agreement) => {
          if (child.stdin.writable) child.stdin.write(`${toHex(encodeBlock(agreement))}\n`, () => undefined)
        }, reject)
      } else if (what === 'completed') {
        trial.open = undefined
      }
    })
    child.stdin.on('error', () => undefined)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code ?? signal} before it was killed`))
      else resolve(trial)
    })
  })
}

const test = suite('kill during a transaction')

for (let trial = 1; trial <= TRIALS; trial++) {
  test(`trial ${trial}: nothing reported is lost, no seq signed twice, Alice resumes`, async () => {
    const delay = 5 + Math.floor(Math.random() * 120)
    const { reported, open } = await runChild(delay)
    assert.ok(reported.size > 0, 'the child proposed before it was killed')
    const store = await openLevelStore({ path })
    try {
      const chain = await store.range(alice.publicKey)
      // gap-free, linked, valid alone, and unchanged since any earlier trial
      chain.forEach((block, i) => {
        assert.is(block.seq, i + 1)
        assert.equal(checkBlock(block), [])
        if (i > 0) assert.is(toHex(block.previousHash), toHex(blockHash(chain[i - 1]!)))
        const hash = toHex(blockHash(block))
        const earlier = known.get(block.seq)
        assert.ok(earlier === undefined || earlier === hash, `seq ${block.seq} changed its block`)
        known.set(block.seq, hash)
      })
      for (const [seq, hash] of reported) assert.is(known.get(seq), hash, `reported proposal ${seq} is stored`)
      // resume in this process: complete the open transaction if its agreement never arrived,
      // then propose once more, at latest + 1
      const agent = createAgent({ head: 'local', identity: alice, store, types })
      if (open !== undefined) {
        killedMidTransaction++
        const proposal = decodeBlock(open)
        if ((await store.findAgreement(alice.publicKey, proposal.seq, bob.publicKey)) === undefined) {
          const agreement = await bob.agree(proposal) // idempotent: the one Bob signed already
          await agent.complete(agreement)
        }
      }
      const latest = (await store.latest(alice.publicKey))!
      const next: HalfBlock = await agent.propose(bob.publicKey, 'transfer', ['resumed', trial])
      assert.is(next.seq, latest.seq + 1)
      assert.is(toHex(next.previousHash), toHex(blockHash(latest)))
      known.set(next.seq, toHex(blockHash(next)))
      await agent.complete(await bob.agree(next))
    } finally {
      await store.close()
    }
  })
}

test('some kills landed between a proposal and its agreement', () => {
  assert.ok(killedMidTransaction > 0, `${killedMidTransaction} of ${TRIALS}`)
})

test.run()
