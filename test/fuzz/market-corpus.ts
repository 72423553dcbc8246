/**
 * The market corpus of the fuzzer (test/fuzz/harness.ts): valid 'release-certified' proofs against
 * the harness's cheater — as a buyer it releases the escrow of a cycle certified passed, as a
 * seller the penalty of a cycle certified failed — with real outcome certificates signed by the
 * test community's witnesses. Their mutations go to decodeFraudProof → verifyFraudProof with the
 * market's verifier: a proof that verifies against anyone but the cheater is a false accusation.
 */
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, createBlockTypes, encodeFraudProof, signBlock, type CborValue, type CryptoProvider, type FraudVerifier, type HalfBlock, type SeedIdentity } from '@tally/core'
import { closeEpoch, createEvidenceStore, economyTypes, signReport } from '@tally/economy'
import { certifyOutcomes, closeOutcomes, offerPayload, offerTypes, offerView, releaseCertifiedProof, signOutcomes, slaTerms } from '@tally/economy/market'
import { component, witnesses, world } from '../../packages/economy/test/helpers.ts'

/**
 * Release-certified proofs against `cheater`, and the verifiers that judge them.
 * @param honest the other side of each subscription (never accused)
 * @param cheater the accused of every proof
 * @param crypto provider
 */
export function marketCorpus(honest: SeedIdentity, cheater: SeedIdentity, crypto: CryptoProvider): { proofs: Uint8Array[]; verifiers: ReadonlyMap<string, FraudVerifier> } {
  const w = world([[honest, component(41)], [cheater, component(42)]])
  const chain = (who: SeedIdentity, steps: [string, CborValue, Uint8Array?, number?][]): HalfBlock[] => {
    const out: HalfBlock[] = []
    for (const [type, payload, link, linkSeq] of steps) {
      const prev = out.at(-1)
      out.push(signBlock({ publicKey: who.publicKey, seq: out.length + 1, linkPublicKey: link ?? UNILATERAL_KEY, linkSeq: linkSeq ?? 0, previousHash: prev === undefined ? GENESIS_HASH : blockHash(prev, crypto), type, payload, timestamp: 1_700_000_000_000 + out.length }, who, crypto))
    }
    return out
  }
  const terms = { type: 'gateway', criteria: [{ metric: 'airtime', op: 'ge' as const, value: 1_000 }], price: 50, cycle: 2, penalty: 20, notice: 1, from: 0, until: 10 }
  const [honestOffer] = chain(honest, [['offer', offerPayload({ ...terms, components: [component(41).publicKey] })]]) as [HalfBlock]
  const [cheaterOffer] = chain(cheater, [['offer', offerPayload({ ...terms, components: [component(42).publicKey] })]]) as [HalfBlock]
  const hv = offerView(honestOffer, crypto)!
  const cv = offerView(cheaterOffer, crypto)!
  // epochs 0 and 1: the honest seller's gateway serves, the cheater's does not
  const evidence = new Map<string, ReturnType<NonNullable<ReturnType<typeof closeOutcomes>['evidenceFor']>>>()
  for (const e of [0, 1]) {
    w.monitor.submit(signReport({ component: component(41).publicKey, epoch: e, seq: 0, metrics: [60_000, 1] }, component(41), w.community.id))
    const metrics = w.monitor.close()
    const result = closeEpoch({ directory: w.directory, karma: w.karma, metrics })
    const o = closeOutcomes({ directory: w.directory, metrics, offers: [hv, cv], rewards: result.body.root })
    const cert = certifyOutcomes(o.body, witnesses.slice(0, 2).map((x) => signOutcomes(o.body, x, o.config)), o.config)
    evidence.set(`h${e}`, o.evidenceFor(hv.id, cert))
    evidence.set(`c${e}`, o.evidenceFor(cv.id, cert))
  }
  // the cheater as buyer: an escrow for the honest seller's passed cycle, released whole
  const [, escrow, takeBack] = chain(cheater, [
    ['offer', cheaterOffer.payload],
    ['lock', { amount: 50, terms: slaTerms(hv, 0), expiry: 4, balance: 0 }, honest.publicKey, 0],
    ['release', { lock: 2, amount: 50, balance: 50 }],
  ]) as [HalfBlock, HalfBlock, HalfBlock]
  // the cheater as seller: its penalty for the honest buyer, released though epoch 0 failed
  const [, penalty, keep] = chain(cheater, [
    ['offer', cheaterOffer.payload],
    ['lock', { amount: 20, terms: slaTerms(cv, 0), expiry: 4, balance: 0 }, honest.publicKey, 3],
    ['release', { lock: 2, amount: 20, balance: 20 }],
  ]) as [HalfBlock, HalfBlock, HalfBlock]
  const proofs = [
    releaseCertifiedProof(escrow, takeBack, honestOffer, [evidence.get('h0')!, evidence.get('h1')!], w.community),
    releaseCertifiedProof(penalty, keep, cheaterOffer, [evidence.get('c0')!], w.community),
  ]
  if (proofs.some((p) => p === undefined)) throw new Error('the market corpus holds a proof that does not verify')
  const verifiers = createBlockTypes([...economyTypes({ community: w.community, evidence: createEvidenceStore(w.community) }), ...offerTypes(w.community)]).fraudVerifiers()
  return { proofs: proofs.map((p) => encodeFraudProof(p!)), verifiers }
}
