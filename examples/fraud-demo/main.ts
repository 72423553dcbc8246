// npm start: a transcript of Tally catching a double spend.
//
// Alice and Bob transact; Alice then restores an old backup of her chain and signs a second,
// different block at a sequence number she already used, spending the same money on Carol. When
// Bob and Carol compare notes, the conflicting blocks become a fraud proof; Dave, who saw none of
// it, verifies the proof alone from its bytes, and from then on everyone refuses Alice.
import {
  createAgent,
  createBlockTypes,
  createMemoryStore,
  decodeBlock,
  decodeFraudProof,
  encodeBlock,
  encodeFraudProof,
  generateIdentity,
  toHex,
  verifyFraudProof,
  type Agent,
  type BlockType,
  type HalfBlock,
} from '@tally/core'

// A payment: the proposal says how much; the payee countersigns only positive amounts.
const payment: BlockType = {
  name: 'payment',
  shouldSign: (proposal) => {
    const p = proposal.payload as { amount?: unknown }
    return typeof p.amount === 'number' && p.amount > 0
  },
}
const types = createBlockTypes([payment])

const say = (who: string, text: string) => console.log(`  ${who.padEnd(6)} ${text}`)
const short = (key: Uint8Array) => toHex(key).slice(0, 8)
const head = (text: string) => console.log(`\n▶ ${text}`)
const describe = (b: HalfBlock) => `#${b.seq} ${b.type} ${JSON.stringify(b.payload)} (${encodeBlock(b).length} bytes)`

function agent(identity = generateIdentity()): Agent {
  return createAgent({ head: 'local', identity, store: createMemoryStore(), types })
}

const aliceIdentity = generateIdentity()
const alice = agent(aliceIdentity)
const bob = agent()
const carol = agent()
const dave = agent()
const names = new Map([alice, bob, carol, dave].map((a, i) => [toHex(a.publicKey), ['Alice', 'Bob', 'Carol', 'Dave'][i]!]))
const nameOf = (key: Uint8Array) => names.get(toHex(key)) ?? short(key)

console.log('Tally — a double spend, caught and proven\n')
for (const a of [alice, bob, carol, dave]) say(nameOf(a.publicKey), `key ${short(a.publicKey)}…`)

head('Alice and Bob transact honestly')
for (const amount of [5, 7]) {
  const proposal = await alice.propose(bob.publicKey, 'payment', { amount })
  say('Alice', `proposes ${describe(proposal)}`)
  const agreement = await bob.agree(proposal)
  say('Bob', `validates it and countersigns ${describe(agreement)}`)
  await alice.complete(agreement)
  say('Alice', `stores Bob's half: transaction complete`)
}

head('Alice keeps a backup of her chain, pays Bob 50, then restores the backup')
const backup = createMemoryStore()
{
  const batch = backup.batch()
  for (const b of await alice.store.range(alice.publicKey)) batch.put(b)
  await batch.commit()
}
const paid = await alice.propose(bob.publicKey, 'payment', { amount: 50 })
await alice.complete(await bob.agree(paid))
say('Alice', `pays Bob: ${describe(paid)} — Bob countersigned`)
const cheatingAlice = createAgent({ head: 'local', identity: aliceIdentity, store: backup, types })
const doubleSpend = await cheatingAlice.propose(carol.publicKey, 'payment', { amount: 50 })
say('Alice', `from the backup, signs ${describe(doubleSpend)} for Carol — the same seq ${doubleSpend.seq} again`)
await carol.agree(doubleSpend)
say('Carol', 'has never seen Alice\'s chain, finds nothing wrong and countersigns')

head('Carol gossips her copy of Alice\'s block to Bob')
const atBob = decodeBlock(encodeBlock(doubleSpend))
const result = await bob.receive(atBob)
say('Bob', `receives Carol's copy of Alice #${atBob.seq}: level '${result.level}', broken rules: ${result.errors.map((e) => e.rule).join(', ')}`)
const proof = result.fraud[0]
if (proof === undefined) throw new Error('expected a fraud proof')
const proofBytes = encodeFraudProof(proof)
say('Bob', `holds a '${proof.kind}' fraud proof against ${nameOf(proof.publicKey)} (${proofBytes.length} bytes)`)

head('Dave, who saw none of it, checks the proof alone from its bytes')
const received = decodeFraudProof(proofBytes)
const verdict = verifyFraudProof(received)
say('Dave', `verifyFraudProof → ${verdict.ok ? 'valid: two blocks signed by Alice at one seq' : `rejected (${verdict.reason})`}`)
if (verdict.ok) await dave.addFraudProof(received)

head('From now on, Alice is refused')
for (const [name, peer] of [['Dave', dave], ['Bob', bob]] as const) {
  try {
    await peer.agree(await alice.propose(peer.publicKey, 'payment', { amount: 1 }))
    say(name, 'countersigned (this should not happen)')
    process.exitCode = 1
  } catch (err) {
    say(name, `refuses Alice's next proposal: ${(err as Error).name} ${(err as { code?: string }).code}`)
  }
}

head('A forged proof frames nobody')
const forged = { ...received, publicKey: carol.publicKey }
say('Dave', `a proof claiming Carol cheated, built from Alice's blocks → ${verifyFraudProof(forged).ok ? 'accepted (wrong!)' : 'rejected'}`)
say('Dave', `refuses Carol? ${await dave.refuses(carol.publicKey)}`)
console.log()
