// In Chromium: the economy's fraud kinds, as a wallet page gets them (@tally/economy's
// fraud-kinds.browser.ts and lock/lock-fraud-kinds.browser.ts through the package's `browser`
// field): named at once, their verifiers absent until a proof is verified through
// BlockTypes.loadFraudVerifiers, which loads them with the economy's other on-demand code; then
// genuine proofs verify and honest evidence does not.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { GENESIS_HASH, UNILATERAL_KEY, allFraudVerifiers, blockHash, createFraudProof, fromHex, identityFromSeed, signBlock, verifyFraudProof, type CborValue, type HalfBlock } from '@tally/core'
import { createCommunity, decodeSignedConfig } from '@tally/economy'
import { createEconomyTypes, createEvidenceStore } from '@tally/economy/wallet'
import { serve } from './harness.js'

const alice = identityFromSeed(new Uint8Array(32).fill(7))
const bob = identityFromSeed(new Uint8Array(32).fill(8))

/** Alice's blocks after `prev`, one per [type, payload]. */
function chain(steps: readonly [string, CborValue][], prev?: HalfBlock): HalfBlock[] {
  const out: HalfBlock[] = []
  for (const [type, payload] of steps) {
    const seq = (prev?.seq ?? 0) + 1
    const block = signBlock({ publicKey: alice.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: prev === undefined ? GENESIS_HASH : blockHash(prev), type, payload, timestamp: 1_700_000_000_000 + seq }, alice)
    out.push(block)
    prev = block
  }
  return out
}

serve({
  'lock-fraud'(params) {
    const test = suite('lock fraud kinds: verifiers on demand')
    test('named at start, loaded at the first verification, then genuine proofs verify', async () => {
      const community = createCommunity(decodeSignedConfig(fromHex(String(params.config))))
      const types = createEconomyTypes({ community, evidence: createEvidenceStore(community) })
      for (const kind of ['redeem-excess', 'release-excess', 'release-twice', 'channel-release', 'balance', 'reward-claim', 'refund-twice']) {
        assert.not.ok(types.fraudVerifiers().has(kind), `${kind}: not loaded at start`)
        // the kind is taken: nobody can define it again
        assert.throws(() => types.define({ name: `other-${kind}`, fraudKinds: { [kind]: () => undefined } }), /already defined/)
      }
      // alice locks 300 for bob (seq 1), releases it (seq 2), and releases it again (seq 3) for more than it held
      const [lock, release, again] = chain([
        ['lock', { amount: 300, to: bob.publicKey, terms: null, expiry: 0, balance: 0 }],
        ['release', { lock: 1, amount: 300, balance: 300 }],
        ['release', { lock: 1, amount: 301, balance: 601 }],
      ]) as [HalfBlock, HalfBlock, HalfBlock]
      const twice = createFraudProof('release-twice', [release, again])
      const excess = createFraudProof('release-excess', [lock, again])
      const honest = createFraudProof('release-excess', [lock, release])
      // before the load, the synchronous map does not know the kind: no proof of it verifies yet
      assert.is(verifyFraudProof(twice, { verifiers: types.fraudVerifiers() }).ok, false)
      const verifiers = await allFraudVerifiers(types)
      for (const kind of ['redeem-excess', 'release-excess', 'release-twice', 'channel-release', 'balance', 'reward-claim', 'refund-twice']) assert.ok(verifiers.has(kind), `${kind}: loaded`)
      assert.equal(verifyFraudProof(twice, { verifiers }), { ok: true })
      assert.equal(verifyFraudProof(excess, { verifiers }), { ok: true })
      assert.equal(verifyFraudProof(honest, { verifiers }), { ok: false, reason: 'the release returns no more than the lock holds' })
      assert.is(verifyFraudProof(createFraudProof('release-twice', [release, release]), { verifiers }).ok, false)
      // the lock at seq 1 says a balance of 0 after taking 300 from nothing: a balance that does not follow
      assert.equal(verifyFraudProof(createFraudProof('balance', [lock]), { verifiers }), { ok: true })
      // two claims of epoch 3; a claim of epoch 4 after one of 3 is honest
      const root = new Uint8Array(32).fill(1)
      const [c1, c2] = chain([
        ['reward', { epoch: 3, amount: 5, balance: 5, root }],
        ['reward', { epoch: 3, amount: 5, balance: 10, root }],
      ]) as [HalfBlock, HalfBlock]
      const [c4] = chain([['reward', { epoch: 4, amount: 5, balance: 10, root }]], c1) as [HalfBlock]
      assert.equal(verifyFraudProof(createFraudProof('reward-claim', [c1, c2]), { verifiers }), { ok: true })
      assert.is(verifyFraudProof(createFraudProof('reward-claim', [c1, c4]), { verifiers }).ok, false)
    })
    test.run()
  },
})
