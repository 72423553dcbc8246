/**
 * Fixtures of the channel tests: alice (the payer) and mallory earned 500 each in epoch 0; every
 * wallet has its own channel book, which its node's lock rules consult; a shared clock moves by
 * epochs. Not a test file itself.
 */
import { createAgent, createMemoryStore, type SeedIdentity } from '@tally/core'
import { createEconomyTypes, createEvidenceStore, createWallet, type Wallet } from '@tally/economy'
import { createChannelBook, createPayee, createPayer, type ChannelBook, type RecordTable } from '@tally/economy/channels'
import { alice, carol, certificate, component, mallory, runEpoch, world } from './helpers.ts'
import { HOUR } from './lock-fixtures.ts'

export async function channelWorld() {
  const w = world([[alice, component(1)], [mallory, component(2)]])
  const r = runEpoch(w, [[component(1), [60_000, 1]], [component(2), [60_000, 1]]])
  const cert = certificate(r)
  const evidence = createEvidenceStore(w.community)
  let now = w.config.start + 10
  const clock = () => now
  const at = (epoch: number) => (now = w.config.start + epoch * HOUR + 10)
  /** `rules: false`: a node whose rules do not consult the book (a cheater's). */
  const side = (who: SeedIdentity, table?: RecordTable, rules = true): { wallet: Wallet; book: ChannelBook } => {
    const book = createChannelBook(table)
    const types = createEconomyTypes({ community: w.community, evidence, lock: rules ? { receipts: book } : {} })
    const agent = createAgent({ head: 'local', identity: who, store: createMemoryStore(), types, clock })
    return { wallet: createWallet({ agent, community: w.community, evidence, key: who }), book }
  }
  const payerOf = (who: SeedIdentity, rules = true) => {
    const s = side(who, undefined, rules)
    return { ...s, payer: createPayer({ wallet: s.wallet, key: who, book: s.book, community: w.community, clock }) }
  }
  const payeeOf = (who: SeedIdentity, table?: RecordTable) => {
    const s = side(who, table)
    return { ...s, payee: createPayee({ wallet: s.wallet, key: who, book: s.book, community: w.community, clock }) }
  }
  const claimOf = (wallet: Wallet, who: SeedIdentity) => wallet.claim({ amount: r.amountOf(who.publicKey), certificate: cert, proof: r.proofFor(who.publicKey)! })
  const observer = () => createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types: createEconomyTypes({ community: w.community, evidence }) })
  const verifiers = createEconomyTypes({ community: w.community, evidence }).fraudVerifiers()
  return { w, at, clock, side, payerOf, payeeOf, claimOf, observer, verifiers, alice, mallory }
}
