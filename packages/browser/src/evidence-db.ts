/**
 * Reward evidence kept in IndexedDB, so a reloaded wallet can still prove its claims.
 *
 * A receiver checks a sender's rewards against their evidence (certificate and Merkle proof),
 * which it asks the sender for (`tally/economy/wallet/1` `evidence`). The economy's evidence store
 * is memory: after a reload the wallet would hold its reward blocks but no evidence, and every
 * receiver would decline its transfers ('evidence'). So each piece of evidence the store accepts
 * (this wallet's claims, and what it learnt of senders) is also written here, and read back into
 * a fresh store at open.
 *
 * Schema, version 1: database `<name>` (default 'tally-wallet'), object store `evidence` keyed by
 * `<owner hex>:<epoch>:<root hex>` holding `{ owner, amount, evidence: encodeRewardEvidence(e) }`;
 * `marks` keyed by `witnessed:<public key hex>` holding the highest seq of that chain shown to
 * its seq witnesses (so a reload does not show them the whole chain again); `meta` →
 * `{ format: 'tally-wallet', version: 1 }` (idb-open.ts).
 * @module
 */
import { equalBytes, toHex } from '@tally/core'
import { createEvidenceStore, decodeRewardEvidence, encodeRewardEvidence, type ClaimKey, type Community, type EvidenceStore, type RewardEvidence } from '@tally/economy/wallet'
import type { IDBPDatabase } from 'idb'
import { openVersioned } from './idb-open.js'

/** The wallet database's schema version. */
export const WALLET_DB_VERSION = 1

const FORMAT = 'tally-wallet'
const EVIDENCE = 'evidence'
const MARKS = 'marks'

interface EvidenceRecord {
  readonly owner: Uint8Array
  readonly amount: number
  readonly evidence: Uint8Array
}

/** An evidence store whose accepted entries are also written to IndexedDB. */
export interface PersistentEvidence extends EvidenceStore {
  /**
   * Where evidence of this wallet's own claims comes from when it is not held (a wallet restored
   * on a fresh profile: its reward blocks come back from the network, their evidence from the
   * witnesses). Set once the wallet is wired.
   */
  fallback: { readonly owner: Uint8Array; fetch(claim: ClaimKey): Promise<RewardEvidence | undefined> } | undefined
  /** Resolves when every write so far is committed. */
  flush(): Promise<void>
  /** The highest seq of `publicKey`'s chain shown to its seq witnesses (0: none). */
  witnessed(publicKey: Uint8Array): Promise<number>
  /** Note that seqs up to `seq` of `publicKey`'s chain were shown to its seq witnesses. */
  setWitnessed(publicKey: Uint8Array, seq: number): Promise<void>
  /** Close the database. */
  close(): void
}

/**
 * Open the wallet's evidence: a memory store filled from IndexedDB.
 * @param name the database
 * @param community the community (what does not verify against it is skipped)
 * @param onError where a failed write is reported
 * @returns the store
 * @throws StoreVersionError for a database of a newer version or another format
 */
export async function openEvidence(name: string, community: Community, onError: (err: unknown) => void): Promise<PersistentEvidence> {
  const db: IDBPDatabase<unknown> = await openVersioned({
    name,
    format: FORMAT,
    version: WALLET_DB_VERSION,
    upgrade(d, oldVersion) {
      if (oldVersion < 1) {
        d.createObjectStore(EVIDENCE)
        d.createObjectStore(MARKS)
      }
    },
    onClosed: (reason) => onError(new Error(reason)),
  })
  const inner = createEvidenceStore(community)
  for (const r of (await db.getAll(EVIDENCE)) as EvidenceRecord[]) {
    try {
      inner.put(r.owner, r.amount, decodeRewardEvidence(r.evidence))
    } catch {
      // a record that no longer decodes backs nothing: the claim is asked for again when needed
    }
  }
  const pending = new Set<Promise<unknown>>()
  const store: PersistentEvidence = {
    put(owner: Uint8Array, amount: number, evidence: RewardEvidence) {
      const check = inner.put(owner, amount, evidence)
      if (check.ok) {
        const key = `${toHex(owner)}:${evidence.certificate.epoch}:${toHex(evidence.certificate.root)}`
        const record: EvidenceRecord = { owner, amount, evidence: encodeRewardEvidence(evidence) }
        const write = db.put(EVIDENCE, record, key).catch(onError)
        pending.add(write)
        void write.finally(() => pending.delete(write))
      }
      return check
    },
    fallback: undefined,
    evidence(claim) {
      const held = inner.evidence(claim)
      const fallback = store.fallback
      // synchronous for anyone else's claim: a receiver asks a sender for what is not held here
      if (held !== undefined || fallback === undefined || !equalBytes(claim.owner, fallback.owner)) return held
      return fallback.fetch(claim).catch(() => undefined)
    },
    certificates: (epoch) => inner.certificates(epoch),
    get size() {
      return inner.size
    },
    async flush() {
      await Promise.all([...pending])
    },
    async witnessed(publicKey) {
      const seq = (await db.get(MARKS, `witnessed:${toHex(publicKey)}`)) as unknown
      return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : 0
    },
    async setWitnessed(publicKey, seq) {
      await db.put(MARKS, seq, `witnessed:${toHex(publicKey)}`)
    },
    close: () => db.close(),
  }
  return store
}
