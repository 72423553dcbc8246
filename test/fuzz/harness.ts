/**
 * The fuzzer shared by test/fuzz.test.ts (a seeded sample in `npm test`), test/fuzz.slow.ts
 * (1,000,000+ inputs in `npm run test:slow`) and bench/reliability.ts.
 *
 * A corpus of valid encodings — blocks, fraud proofs, every gossip message type, economy
 * documents (signed configuration, registration, metric report, certificate, reward evidence,
 * ticket conflict, refund-twice proof, the bodies of every economy protocol message) —
 * is mutated (bit flips, byte sets, truncation, extension, CBOR head and length changes, type
 * changes, splices, deep nesting) and fed to every decoder. A decoder may accept or refuse with
 * its documented error (DecodeError, code ERR_DECODE; a `{ ok: false }` result for messages);
 * anything else is a crash. Accepted blocks go through an honest agent's `receive` into a memory
 * store: a stored block whose signature does not verify is an invalid block accepted. Fraud
 * proofs of every kind (core's and the economy's, test/fuzz/fraud-kinds.ts) are verified with every
 * registered verifier: a verifying proof whose evidence could be an honest chain is a false
 * accusation.
 * Ticket conflicts must verify only against the corpus's cheating witness.
 */
import {
  UNILATERAL_KEY,
  blockHash,
  createAgent,
  createBlockTypes,
  createFraudProof,
  createMemoryStore,
  decodeBlock,
  decodeCanonical,
  decodeFraudProof,
  encodeBlock,
  encodeCanonical,

  encodeFraudProof,
  equalBytes,
  identityFromSeed,
  signBlock,
  verifyBlock,
  verifyFraudProof,
  type CryptoProvider,
  type HalfBlock,
  type SeedIdentity,
} from '@tally/core'
import { createRandom, decodeMessage, encodeMessage, type Message } from '@tally/gossip'
import {
  createEconomyTypes,
  createEvidenceStore,
  createWallet,
  decodeCertificate,
  decodeRegistration,
  decodeReport,
  decodeRewardEvidence,
  decodeSignedConfig,
  decodeTicketConflict,
  decodeVoucher,
  encodeCertificate,
  encodeRegistration,
  encodeRewardEvidence,
  encodeSignedConfig,
  encodeTicketConflict,
  findTicketConflict,
  signReport,
  signTicket,
  ticketConfig,
  verifyTicketConflict,
} from '@tally/economy'
import { createNetWallet, createTicketStore, createWitness, type Protocol, type ProtocolHost } from '@tally/economy/net'
import { certificate, chainOf, genesis, registration, runEpoch, world, alice as ecoAlice, bob as ecoBob, component, witnesses as ecoWitnesses } from '../../packages/economy/test/helpers.ts'
import { FRAUD_KINDS, kindContext, provesNothing, registeredVerifiers } from './fraud-kinds.ts'
import { lockCorpus } from './lock-corpus.ts'
import { decodeReceipt } from '@tally/economy/channels'
import { decodeBandwidthVoucher, decodePayout } from '@tally/economy/bandwidth'
import { marketCorpus } from './market-corpus.ts'
import { createMarketView, createOfferSpread, createOrderBook, createOutcomeWitness, createTradeDesk, offerPayload } from '@tally/economy/market'

/** What a fuzz run found. */
export interface FuzzReport {
  inputs: number
  /** Inputs per target. */
  perTarget: Record<string, number>
  /** Inputs a decoder accepted. */
  accepted: number
  /** Decoders that threw something other than their documented error, with a sample. */
  crashes: { target: string; error: string; input: string }[]
  /** Blocks an honest agent stored that do not verify, and proofs that accuse an honest key. */
  invalidAccepted: { target: string; what: string; input: string }[]
}

/** One decoder under test. */
interface Target {
  readonly name: string
  readonly corpus: readonly Uint8Array[]
  /** Decode; return what was accepted (or undefined when refused); throw only what is a crash. */
  run(input: Uint8Array, report: FuzzReport): Promise<void> | void
}

const CHEATER_SEED = 0xc4
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)

/**
 * Build the targets and their corpus.
 * @param crypto provider for signatures (a native one keeps a million inputs fast)
 */
export async function createTargets(crypto: CryptoProvider): Promise<Target[]> {
  const honest = identityFromSeed(seed(1), crypto)
  const other = identityFromSeed(seed(2), crypto)
  const cheater = identityFromSeed(seed(CHEATER_SEED), crypto)
  const blocks = sampleBlocks(honest, other, cheater, crypto)
  const fork = signBlock({ ...fieldsOf(blocks.cheater[1]!), payload: ['other', 2] }, cheater, crypto)
  const proof = createFraudProof('double-sign', [blocks.cheater[1]!, fork])
  const blockBytes = [...blocks.honest, ...blocks.cheater, fork].map(encodeBlock)
  // three valid proofs of every kind, against the fraud-kind fuzzer's cheater
  const kindCtx = kindContext(0x5eed, crypto)
  const proofBytes = [encodeFraudProof(proof), ...FRAUD_KINDS.flatMap((row) => [1, 2, 3].map(() => encodeFraudProof(row.valid(kindCtx))))]
  const verifiers = registeredVerifiers(genesis().community)

  // the honest receiver: an agent over a memory store that keeps what validates
  const types = createBlockTypes([{ name: 'note' }, { name: 'transfer' }])
  const receiver = createAgent({ head: 'local', identity: identityFromSeed(seed(3), crypto), store: createMemoryStore({ crypto }), types })

  const messages: Message[] = [
    { type: 'hello', versions: [1], publicKey: honest.publicKey, challenge: seed(7), noise: seed(9) },
    { type: 'welcome', versions: [1], version: 1, publicKey: other.publicKey, challenge: seed(8), signature: new Uint8Array(64).fill(5), noise: new Uint8Array(96).fill(7) },
    { type: 'auth', signature: new Uint8Array(64).fill(6), noise: new Uint8Array(64).fill(8) },
    { type: 'error', requestId: 3, code: 'refused', reason: 'no' },
    { type: 'proposal', requestId: 1, block: blocks.honest[2]!, context: [blocks.honest[1]!] },
    { type: 'agreement', requestId: 1, block: blocks.honest[3]! },
    { type: 'push', blocks: blocks.honest.slice(0, 3) },
    { type: 'heads', requestId: 0, heads: [{ publicKey: honest.publicKey, seq: 4, hash: blockHash(blocks.honest[3]!, crypto) }] },
    { type: 'crawl-request', requestId: 9, publicKey: honest.publicKey, start: -5, end: -1 },
    { type: 'crawl-answer', requestId: 9, publicKey: honest.publicKey, latest: 4, blocks: blocks.honest.slice(1, 4) },
    { type: 'fraud', proof },
    { type: 'witness-query', requestId: 4, publicKey: cheater.publicKey, seq: 2 },
    { type: 'witness-answer', requestId: 4, publicKey: cheater.publicKey, seq: 2, block: blocks.cheater[1]! },
    { type: 'peers-request', requestId: 5, max: 10 } as Message,
    { type: 'peers', requestId: 5, peers: [{ publicKey: other.publicKey, address: 'ws://127.0.0.1:9000' }] },
    { type: 'heads-request', requestId: 6, publicKeys: [honest.publicKey, cheater.publicKey] },
    { type: 'neighbours', ids: [honest.publicKey.slice(0, 8), other.publicKey.slice(0, 8)] },
    { type: 'push-via', to: other.publicKey.slice(0, 8), blocks: blocks.honest.slice(0, 2) },
    { type: 'fraud-have', publicKey: cheater.publicKey },
    { type: 'fraud-want', publicKey: cheater.publicKey },
    // version 2: an ack, and the frames that ask for one
    { type: 'ack', id: 7 },
    { type: 'push', blocks: blocks.honest.slice(0, 1), ack: 300 },
    { type: 'push-via', to: other.publicKey.slice(0, 8), blocks: blocks.honest.slice(0, 1), ack: 2 ** 32 - 1 },
    { type: 'neighbours', ids: [honest.publicKey.slice(0, 8)], ack: 1 },
    { type: 'relay', to: other.publicKey, data: encodeMessage({ type: 'push', blocks: blocks.honest.slice(0, 1) }), reason: '' },
    { type: 'relayed', from: other.publicKey, data: new Uint8Array(0), reason: 'rate-limited' },
  ]
  const messageBytes = messages.map((m) => encodeMessage(m))

  const w = world([[ecoAlice, component(1)]])
  const epoch = runEpoch(w, [[component(1), [75_000, 12]]])
  const cert = certificate(epoch)
  const locks = lockCorpus(honest, cheater, crypto)
  const lockVerifiers = createEconomyTypes({ community: w.community, evidence: createEvidenceStore(w.community) }).fraudVerifiers()
  const market = marketCorpus(honest, cheater, crypto)
  const economyCorpus = {
    config: [encodeSignedConfig(genesis().community.versions[0]!)],
    registration: [encodeRegistration(registration(w.community, ecoAlice, component(2)))],
    report: [signReport({ component: component(1).publicKey, epoch: 0, seq: 0, metrics: [75_000, 12] }, component(1), w.community.id)],
    certificate: [encodeCertificate(cert)],
    evidence: [encodeRewardEvidence({ certificate: cert, proof: epoch.proofFor(ecoAlice.publicKey)! })],
  }

  // a witness (index 1) that signed both tickets of one proposal, and two refunds of one proposal
  const expires = 1_700_000_600_000
  const [transfer] = chainOf(ecoAlice, [{ type: 'transfer', payload: { amount: 5, balance: 0, expires }, link: ecoBob.publicKey }])
  const ticketsOf = (decision: 'accept' | 'void') => [ecoWitnesses[1]!].map((wi) => signTicket(decision, transfer!, wi, ticketConfig(w.community, expires), w.community.id))
  const conflict = findTicketConflict(blockHash(transfer!), expires, ticketsOf('accept'), ticketsOf('void'), w.community)!
  const voidTicket = [ecoWitnesses[0]!, ecoWitnesses[1]!].map((wi) => signTicket('void', transfer!, wi, ticketConfig(w.community, expires), w.community.id))
  const refundPayload = (balance: number) => ({ seq: 1, amount: 5, balance, ticket: voidTicket.map((t) => [t.index, t.signature]) })
  const refunds = chainOf(ecoAlice, [{ type: 'refund', payload: refundPayload(5) }, { type: 'refund', payload: refundPayload(10) }], transfer)
  const refundProof = createFraudProof('refund-twice', refunds)
  const economyTypes = createEconomyTypes({ community: w.community, evidence: createEvidenceStore(w.community) })

  // every economy protocol, as a witness and a wallet host them
  const hosted: Protocol<Record<string, unknown>>[] = []
  const capture: ProtocolHost = {
    host(protocol) {
      hosted.push(protocol as unknown as Protocol<Record<string, unknown>>)
      return { clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} }, peer: async () => Promise.reject(new Error('offline')), peers: () => [], close: () => {} }
    },
  }
  createWitness({ key: ecoWitnesses[0]!, community: w.community, host: capture, epoch: 0 })
  const walletEvidence = createEvidenceStore(w.community)
  const ecoWallet = createWallet({ agent: createAgent({ head: 'local', identity: ecoAlice, store: createMemoryStore() }), community: w.community, evidence: walletEvidence })
  createNetWallet({ wallet: ecoWallet, community: w.community, evidence: walletEvidence, tickets: createTicketStore(), host: capture, port: { deliver: () => Promise.reject(new Error('offline')) } })
  // @tally/economy/market's protocols: offers, outcomes, trades
  const marketView = createMarketView({ community: w.community })
  createOfferSpread({ host: capture, view: marketView })
  createOutcomeWitness({ key: ecoWitnesses[0]!, community: w.community, host: capture, view: marketView })
  createTradeDesk({ host: capture, book: createOrderBook(), now: () => 0 })
  const [offerBlock] = chainOf(ecoAlice, [{ type: 'offer', payload: offerPayload({ type: 'gateway', components: [component(1).publicKey], criteria: [{ metric: 'airtime', op: 'ge', value: 1 }], price: 5, cycle: 1, penalty: 1, notice: 1, from: 0, until: 9 }) }])
  const kinds = hosted.flatMap((p) => Object.values(p.messages))
  const messageBodies = [
    encodeCanonical([encodeBlock(offerBlock!), null]),
    encodeCanonical([[ecoAlice.publicKey, ecoBob.publicKey, [w.community.id, 100], [new Uint8Array(32), 50], 10, 5, new Uint8Array(64)]]),
    encodeCanonical([[economyCorpus.report[0]!]]),
    encodeCanonical([encodeBlock(transfer!)]),
    encodeCanonical([cert.configId, 0, cert.root, cert.leaves, cert.total, [0, new Uint8Array(64)], new Uint8Array(32), new Uint8Array(32)]),
    encodeCanonical([['reports', 3], new Uint8Array([7, 9]), null]),
    encodeCanonical([[[new Uint8Array(40), new Uint8Array(16)]], true]),
    encodeCanonical([economyCorpus.registration[0]!]),
    encodeCanonical([true, 'policy']),
  ]

  /**
   * A target whose decoder may only refuse (DecodeError), and whose accepted values are judged:
   * `falseAccusation` says what is wrong with one that verifies against someone honest.
   */
  const judged = <T>(name: string, corpus: Uint8Array[], decode: (b: Uint8Array) => T, falseAccusation: (decoded: T) => string | undefined): Target => ({
    name,
    corpus,
    run(input, report) {
      let decoded: T
      try {
        decoded = decode(input)
      } catch (err) {
        if (!isDecodeError(err)) throw err
        return
      }
      report.accepted++
      const what = falseAccusation(decoded)
      if (what !== undefined) report.invalidAccepted.push({ target: name, what, input: hex(input) })
    },
  })

  const decodeOnly = (name: string, corpus: Uint8Array[], decode: (b: Uint8Array) => unknown): Target => ({
    name,
    corpus,
    run(input, report) {
      try {
        decode(input)
        report.accepted++
      } catch (err) {
        if (!isDecodeError(err)) throw err
      }
    },
  })

  return [
    {
      name: 'block',
      corpus: blockBytes,
      async run(input, report) {
        let block: HalfBlock
        try {
          block = decodeBlock(input)
        } catch (err) {
          if (!isDecodeError(err)) throw err
          return
        }
        report.accepted++
        const result = await receiver.receive(block)
        if (result.level !== 'invalid' && !verifyBlock(block, crypto)) {
          report.invalidAccepted.push({ target: 'block', what: `stored a block whose signature does not verify (${result.level})`, input: hex(input) })
        }
        for (const proof of result.fraud) {
          if (!equalBytes(proof.publicKey, cheater.publicKey)) report.invalidAccepted.push({ target: 'block', what: 'a proof against an honest key', input: hex(input) })
        }
      },
    },
    judged('fraud-proof', proofBytes, decodeFraudProof, (decoded) => (verifyFraudProof(decoded, { crypto, verifiers }).ok && provesNothing(decoded, crypto) ? 'a verifying proof whose evidence could be an honest chain' : undefined)),
    decodeOnly('cbor', [...blockBytes.map((b) => b.subarray(0, b.length - 64)), ...economyCorpus.config], (b) => decodeCanonical(b)),
    {
      name: 'message',
      corpus: messageBytes,
      run(input, report) {
        // decodeMessage never throws on a frame: any exception is a crash
        const result = decodeMessage(input)
        if (result.ok) report.accepted++
      },
    },
    decodeOnly('economy.config', economyCorpus.config, decodeSignedConfig),
    decodeOnly('economy.registration', economyCorpus.registration, decodeRegistration),
    decodeOnly('economy.report', economyCorpus.report, decodeReport),
    decodeOnly('economy.certificate', economyCorpus.certificate, decodeCertificate),
    decodeOnly('economy.evidence', economyCorpus.evidence, decodeRewardEvidence),
    judged('economy.ticket-conflict', [encodeTicketConflict(conflict)], decodeTicketConflict, (decoded) => (verifyTicketConflict(decoded).ok && !equalBytes(decoded.witness, ecoWitnesses[1]!.publicKey) ? 'a verifying conflict against an honest witness' : undefined)),
    judged('economy.refund-proof', [encodeFraudProof(refundProof)], decodeFraudProof, (decoded) => (verifyFraudProof(decoded, { verifiers: economyTypes.fraudVerifiers() }).ok && !equalBytes(decoded.publicKey, ecoAlice.publicKey) ? 'a verifying proof against an honest key' : undefined)),
    {
      name: 'economy.protocol-messages',
      corpus: messageBodies,
      run(input, report) {
        // what a host does: canonical CBOR within the limit, then the kind's decode; each may only refuse
        let value
        try {
          value = decodeCanonical(input, { maxBytes: 65_536, maxDepth: 32 })
        } catch (err) {
          if (!isDecodeError(err)) throw err
          return
        }
        let accepted = false
        for (const kind of kinds) {
          if (input.length > kind.maxBytes) continue
          try {
            kind.decode(value)
            accepted = true
          } catch (err) {
            if (!isDecodeError(err) && !(err instanceof TypeError) && !(err instanceof RangeError)) throw err
          }
        }
        if (accepted) report.accepted++
      },
    },
    decodeOnly('economy.voucher', locks.vouchers, decodeVoucher),
    decodeOnly('economy.receipt', locks.receipts, decodeReceipt),
    decodeOnly('economy.bandwidth-voucher', locks.bandwidth, decodeBandwidthVoucher),
    decodeOnly('economy.payout', locks.payouts, decodePayout),
    // lock fraud proofs, verified with the economy's verifiers: only the cheater may be accused
    judged('economy.lock-proof', locks.proofs, decodeFraudProof, (decoded) => (verifyFraudProof(decoded, { crypto, verifiers: lockVerifiers }).ok && !equalBytes(decoded.publicKey, cheater.publicKey) ? 'a verifying proof against an honest key' : undefined)),
    // market fraud proofs (a release that takes back what outcome certificates gave): only the cheater may be accused
    judged('market.release-proof', market.proofs, decodeFraudProof, (decoded) => (verifyFraudProof(decoded, { crypto, verifiers: market.verifiers }).ok && !equalBytes(decoded.publicKey, cheater.publicKey) ? 'a verifying proof against an honest key' : undefined)),
  ]
}

/**
 * Feed `inputs` mutated inputs, spread over the targets, seeded.
 * @param targets from createTargets
 * @param inputs how many
 * @param seedValue the PRNG seed: the same seed gives the same inputs
 */
export async function fuzz(targets: readonly Target[], inputs: number, seedValue: number): Promise<FuzzReport> {
  const random = createRandom(seedValue)
  const report: FuzzReport = { inputs: 0, perTarget: {}, accepted: 0, crashes: [], invalidAccepted: [] }
  for (let i = 0; i < inputs; i++) {
    const target = targets[i % targets.length]!
    const base = target.corpus[Math.floor(random() * target.corpus.length)]!
    const input = mutate(base, random, target.corpus)
    report.inputs++
    report.perTarget[target.name] = (report.perTarget[target.name] ?? 0) + 1
    try {
      await target.run(input, report)
    } catch (err) {
      if (report.crashes.length < 20) report.crashes.push({ target: target.name, error: String((err as Error)?.stack ?? err).slice(0, 400), input: hex(input) })
      else report.crashes.length++ // count past the samples
    }
  }
  return report
}

// ## Mutations

type Rand = () => number

const HEADS = [0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x3b, 0x40, 0x58, 0x59, 0x5a, 0x5b, 0x5f, 0x78, 0x7b, 0x7f, 0x80, 0x98, 0x9b, 0x9f, 0xa0, 0xb8, 0xbb, 0xbf, 0xc0, 0xc2, 0xc3, 0xd8, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff]

function mutate(base: Uint8Array, random: Rand, corpus: readonly Uint8Array[]): Uint8Array {
  const int = (n: number): number => Math.floor(random() * n)
  let out: Uint8Array = base.slice()
  const rounds = 1 + int(3)
  for (let r = 0; r < rounds; r++) {
    const at = out.length === 0 ? 0 : int(out.length)
    switch (int(10)) {
      case 0: // bit flip
        if (out.length > 0) out[at]! ^= 1 << int(8)
        break
      case 1: // random byte
        if (out.length > 0) out[at] = int(256)
        break
      case 2: // truncate
        out = out.slice(0, at)
        break
      case 3: // extend with random bytes
        out = concat(out, Uint8Array.from({ length: 1 + int(16) }, () => int(256)))
        break
      case 4: // a CBOR head with another length or width
        if (out.length > 0) out[at] = HEADS[int(HEADS.length)]!
        break
      case 5: // change the major type, keep the argument
        if (out.length > 0) out[at] = (out[at]! & 0x1f) | (int(8) << 5)
        break
      case 6: // a huge length in a 4- or 8-byte argument
        if (out.length > 5) {
          out[at] = (out[at]! & 0xe0) | (int(2) === 0 ? 0x1a : 0x1b)
          for (let k = 1; k <= 4 && at + k < out.length; k++) out[at + k] = 0xff
        }
        break
      case 7: // splice in a piece of another corpus entry
        {
          const donor = corpus[int(corpus.length)]!
          const from = int(donor.length)
          out = concat(out.slice(0, at), donor.slice(from, from + 1 + int(40)), out.slice(at))
        }
        break
      case 8: // deep nesting: many array or map heads in front
        out = concat(new Uint8Array(1 + int(2000)).fill(int(2) === 0 ? 0x81 : 0xa1), out)
        break
      default: // duplicate a slice (repeated fields, duplicate map keys)
        {
          const length = 1 + int(12)
          out = concat(out.slice(0, at + length), out.slice(at, at + length), out.slice(at + length))
        }
        break
    }
  }
  return out
}

// ## Helpers

function sampleBlocks(honest: SeedIdentity, other: SeedIdentity, cheater: SeedIdentity, crypto: CryptoProvider): { honest: HalfBlock[]; cheater: HalfBlock[] } {
  const chain = (id: SeedIdentity, n: number, link: Uint8Array): HalfBlock[] => {
    const out: HalfBlock[] = []
    for (let seq = 1; seq <= n; seq++) {
      const previous = out[seq - 2]
      out.push(
        signBlock(
          {
            publicKey: id.publicKey,
            seq,
            linkPublicKey: seq % 2 === 0 ? link : UNILATERAL_KEY,
            linkSeq: 0,
            previousHash: previous === undefined ? new Uint8Array(32) : blockHash(previous, crypto),
            type: seq % 3 === 0 ? 'transfer' : 'note',
            payload: seq % 3 === 0 ? [100 * seq, 5000 - seq] : { n: seq, memo: 'x'.repeat(seq * 3), tags: [seq, -seq, 2n ** 60n] },
            timestamp: 1_700_000_000_000 + seq,
          },
          id,
          crypto,
        ),
      )
    }
    return out
  }
  return { honest: chain(honest, 4, other.publicKey), cheater: chain(cheater, 3, other.publicKey) }
}

function fieldsOf(block: HalfBlock): Omit<HalfBlock, 'signature'> {
  const { signature: _signature, ...fields } = block
  return fields
}

function isDecodeError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_DECODE'
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(0, 256)).toString('hex') + (bytes.length > 256 ? `…(${bytes.length} bytes)` : '')
}

/** Seed from the environment (TALLY_FUZZ_SEED) or the given default. */
export function fuzzSeed(fallback: number): number {
  const env = process.env['TALLY_FUZZ_SEED']
  return env === undefined ? fallback : Number(env)
}

