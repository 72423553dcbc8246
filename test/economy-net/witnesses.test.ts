/**
 * Three community witnesses, each in its own process (test/fixtures/economy-witness.ts: a gossip
 * node over ws on 127.0.0.1, LevelDB), certify epochs for components reporting from this process:
 * - epoch 0: a component reaches only witness 0, another only witnesses 0 and 2, and witness 2
 *   withholds its report set from the others: reconciliation fills every gap, the three compute
 *   one root and all hold the certificate; the refusal to serve is logged;
 * - epoch 1: witness 2 turns rogue and signs a root nobody computed: the others log it with the
 *   reason and certify without it;
 * - a wallet here claims both epochs with proofs served by the witness processes;
 * - bad input from a peer — a forged report, a malformed protocol frame, a forged certificate, a
 *   forged fraud proof — is
 *   refused with a reason, costs the sender (enough of it and the witness cuts it off), and
 *   nothing is stored.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RefusedError, createAgent, createBlockTypes, createFraudProof, createMemoryStore, equalBytes, type Protocol } from '@tally/core'
import { readReward, signReport } from '@tally/economy'
import { EPOCHS_PROTOCOL, REPORTS_PROTOCOL, epochsProtocol, reportsProtocol, type EpochMessages } from '@tally/economy/net'
import { CLOSE_CODES, openSession, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { killAll, startChild, type Child } from '../fixtures/economy-children.ts'
import { ALICE, BOB, WITNESSES, component, key, register, report, testCommunity, walletNode, wsNode } from '../fixtures/economy-net.ts'

const test = suite('economy-net: witnesses in three processes')
const community = testCommunity()
const dir = mkdtempSync(join(tmpdir(), 'tally-econ-witnesses-'))
const nodes: Node[] = []
let ws: Child[] = []
let addresses: string[] = []

test.before(async () => {
  ws = await Promise.all([0, 1, 2].map((index) => startChild('economy-witness.ts', { index, dir: join(dir, `w${index}`), withhold: index === 2 })))
  addresses = ws.map((w) => w.ready['address'] as string)
  await ws[0]!.call('connect', { addresses: [addresses[1], addresses[2]] })
  await ws[1]!.call('connect', { addresses: [addresses[2]] })
})

test.after(async () => {
  await Promise.all(nodes.map((n) => n.close().catch(() => undefined)))
  await killAll()
  rmSync(dir, { recursive: true, force: true })
})

/** A node here, connected to the witnesses `which`. */
async function nodeTo(n: number, which: readonly number[]): Promise<Node> {
  const node = wsNode(key(n), createMemoryStore())
  nodes.push(node)
  for (const i of which) await node.connect(addresses[i]!)
  return node
}

async function state(i: number, epoch: number): Promise<{ count: number; root: string | null; certificate: { root: string; signers: number[] } | null; events: { kind: string; witness?: number; reason: string }[]; stats: Record<string, number> }> {
  return (await ws[i]!.call('state', { epoch })) as never
}

async function until(check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

test('gaps filled by reconciliation despite a withholding witness; one root; all three hold the certificate', async () => {
  const owner = await nodeTo(40, [0, 1, 2])
  assert.is(await register(owner, community, ALICE, component(1)), 3)
  assert.is(await register(owner, community, ALICE, component(2)), 3)
  assert.is(await register(owner, community, BOB, component(3)), 3)
  await report(await nodeTo(41, [0, 2]), community, component(1), 0, [60_000, 30]) // not witness 1
  await report(await nodeTo(42, [0]), community, component(2), 0, [12_000, 9]) // witness 0 only
  await report(owner, community, component(3), 0, [5_000, 3])
  const before = await Promise.all([0, 1, 2].map((i) => state(i, 0)))
  assert.equal(before.map((s) => s.count), [3, 1, 2], 'each witness holds what reached it')

  const closed = await Promise.all(ws.map((w) => w.call('close')))
  assert.is(new Set(closed.map((c) => c['root'])).size, 1, 'one root')
  assert.ok(await until(async () => (await Promise.all([0, 1, 2].map((i) => state(i, 0)))).every((s) => s.certificate !== null)), 'every witness holds the certificate')
  const after = await Promise.all([0, 1, 2].map((i) => state(i, 0)))
  assert.equal(after.map((s) => s.count), [3, 3, 3])
  assert.ok(after.every((s) => s.certificate!.root === closed[0]!['root']))
  const logged = [...after[0]!.events, ...after[1]!.events].filter((e) => e.kind === 'sync-failed' && e.witness === 2)
  assert.ok(logged.length > 0, 'the witnesses that asked witness 2 logged its refusal')
})

test('a witness that signs a wrong root is logged with the reason; the other two certify', async () => {
  const gw = await nodeTo(43, [0, 1, 2])
  await report(gw, community, component(1), 1, [61_000, 31])
  await report(gw, community, component(3), 1, [4_000, 2])
  const rogue = await ws[2]!.call('rogue')
  assert.is(rogue['sent'], 2)
  await Promise.all([ws[0]!.call('close'), ws[1]!.call('close')])
  assert.ok(await until(async () => (await state(0, 1)).certificate !== null && (await state(1, 1)).certificate !== null))
  const s0 = await state(0, 1)
  assert.equal(s0.certificate!.signers, [0, 1])
  const mismatch = s0.events.filter((e) => e.kind === 'root-mismatch')
  assert.is(mismatch.length, 1)
  assert.is(mismatch[0]!.witness, 2)
  assert.match(mismatch[0]!.reason, /report set differs/)
})

test('a wallet here claims both epochs with proofs served by the witness processes', async () => {
  const alice = await walletNode(community, ALICE)
  nodes.push(alice.node)
  for (const a of addresses) await alice.node.connect(a)
  const r0 = await alice.net.claim(0)
  const r1 = await alice.net.claim(1)
  assert.ok(readReward(r0.payload)!.amount > 0)
  assert.ok(readReward(r1.payload)!.amount > 0)
  assert.is(await alice.net.wallet.balance(), readReward(r0.payload)!.amount + readReward(r1.payload)!.amount)
})

test('bad input gets a reason, costs the sender, and stores nothing', async () => {
  const before = await state(0, 2)
  const mallory = wsNode(key(66), createMemoryStore())
  nodes.push(mallory)
  const [witness0] = [WITNESSES[0]!.publicKey]
  await mallory.connect(addresses[0]!)
  // a report signed by the wrong key: verdict 'signature', nothing kept
  const reports = mallory.host(reportsProtocol())
  const signed = signReport({ component: component(1).publicKey, epoch: 2, seq: 0, metrics: [1_000, 1] }, component(1), community.id)
  const forged = Uint8Array.from(signed)
  forged[forged.length - 1]! ^= 1 // the signature no longer verifies
  const answer = await (await reports.peer(witness0)).request('submit', { reports: [forged] })
  assert.is(answer.kind, 'verdicts')
  assert.is((answer.message as unknown as { verdicts: { code: string }[] }).verdicts[0]!.code, 'signature')
  assert.is((await state(0, 2)).count, before.count)
  reports.close()
  // a forged certificate announced: verified before it is kept, so nothing is kept
  const epochs = mallory.host(epochsProtocol())
  const real = await (await epochs.peer(witness0)).request('get-certificate', { epoch: 0 })
  assert.is(real.kind, 'certificate')
  const cert = (real.message as EpochMessages['certificate']).certificate
  const fake = { ...cert, epoch: 2, root: new Uint8Array(32).fill(9) }
  ;(await epochs.peer(witness0)).send('announce', { certificate: fake })
  await new Promise((r) => setTimeout(r, 300))
  assert.is((await state(0, 2)).certificate, null, 'the forged certificate was not kept')
  epochs.close()
  // malformed frames of a hosted protocol: refused 'malformed', each costs the sender; enough and it is cut off
  const garbage: Protocol<{ submit: string; verdicts: string }> = {
    name: REPORTS_PROTOCOL,
    messages: {
      submit: { maxBytes: 100, cost: 1, encode: (m) => m, decode: (b) => String(b) },
      verdicts: { maxBytes: 100, cost: 1, encode: (m) => m, decode: (b) => String(b) },
    },
    handlers: {},
  }
  const bad = mallory.host(garbage)
  const closed = new Promise<{ misbehaviour: string | undefined }>((resolve) => mallory.once('peer:close', resolve))
  let refused = 0
  for (let i = 0; i < 8; i++) {
    try {
      await (await bad.peer(witness0)).request('submit', 'not a report batch', { timeoutMs: 2000 })
    } catch (err) {
      if (err instanceof RefusedError && err.reason === 'malformed') refused++
      else break // cut off
    }
  }
  assert.ok(refused >= 1, 'refused with the reason malformed')
  const gone = await closed
  assert.ok(gone !== undefined, 'the witness cut the sender off')
  assert.is((await state(0, 2)).count, before.count, 'nothing stored')
  assert.ok(!equalBytes(fake.root, cert.root))
  void EPOCHS_PROTOCOL

  // a forged fraud proof over a raw session: verified first, counted as forged, the sender charged, nothing kept
  const forger = key(68)
  const types = createBlockTypes([{ name: 'reward' }])
  const one = await createAgent({ head: 'local', identity: forger, store: createMemoryStore(), types }).append('reward', 'a')
  const two = await createAgent({ head: 'local', identity: forger, store: createMemoryStore(), types }).append('reward', 'b')
  const stats = (await state(0, 2)).stats
  const session = await openSession(await createWsTransport().connect(addresses[0]!), { identity: key(69), expectedPeer: witness0 })
  const ended = new Promise<{ code: number; reason: string }>((resolve) => session.onClose((info) => resolve(info)))
  for (let i = 0; i < 12 && session.open; i++) {
    session.send({ type: 'fraud', proof: createFraudProof('double-sign', [one, { ...two, signature: Uint8Array.from(two.signature, (x, j) => (j === i ? x ^ 1 : x)) }]) })
    await new Promise((r) => setTimeout(r, 20))
  }
  const info = await ended
  assert.is(info.code, CLOSE_CODES.policyViolation, `forged proofs cost the sender until it is cut off (${info.code} ${info.reason})`)
  const after = (await state(0, 2)).stats
  assert.ok(after['forgedProofs']! > stats['forgedProofs']!, 'counted as forged')
  assert.is(after['proofs'], stats['proofs'], 'no proof kept')
})

test.run()
