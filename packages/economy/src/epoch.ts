/**
 * Epoch close: from an epoch's sealed metrics to the root the witnesses sign.
 *
 *   metrics ──scorer per type──▶ scores ──window of n──▶ component karma ──Σ per owner──▶ owner karma
 *           ──largest remainder──▶ allocation table (ascending owner key) ──SHA-256──▶ Merkle root
 *
 * Every witness runs this on the same reports and gets the same root: the result depends on the
 * registrations and reports only, not on the order they arrived in (sums of integers are exact,
 * and the table is ordered by key). The hot path is flat typed arrays end to end; the only
 * per-owner objects are created on demand, when a proof is asked for.
 * @module
 */
import { abytes, compareBytes } from '@tally/core'
import { allocate } from './allocation.js'
import type { CertificateBody } from './certificate.js'
import { configId, type CommunityConfig } from './config.js'
import type { Directory } from './directory.js'
import type { KarmaLedger } from './karma.js'
import { allocationLeaves, buildMerkleTree, type MerkleProof, type MerkleTree } from './merkle.js'
import type { EpochMetrics } from './monitor.js'
import { MAX_SCORE, SCORERS, createScorers, type Scorer, type ScorerFactory } from './scorer.js'

/** Options of closeEpoch. */
export interface CloseEpochOptions {
  /** The component directory (and through it, the community and its configuration at the epoch). */
  directory: Directory
  /** The moving-average state; the epoch is recorded into it. */
  karma: KarmaLedger
  /** The sealed metrics of the epoch (monitor.close()). */
  metrics: EpochMetrics
  /** Scorer kinds (default SCORERS). */
  scorers?: Readonly<Record<string, ScorerFactory>>
}

/** The allocation table: every owner with karma, by ascending key. */
export interface AllocationTable {
  /** Number of rows. */
  readonly size: number
  /** Owner keys, 32 bytes a row. */
  readonly owners: Uint8Array
  /** Karma of each row (window sums, see karma.ts). */
  readonly karma: Float64Array
  /** Units allocated to each row; they sum to the certificate's total. */
  readonly amounts: Float64Array
}

/** What an epoch close produced. */
export interface EpochResult {
  /** The epoch. */
  readonly epoch: number
  /** The configuration governing it. */
  readonly config: CommunityConfig
  /** What the witnesses sign (see certificate.ts). */
  readonly body: CertificateBody
  /** Every owner with karma, its karma and its amount. */
  readonly table: AllocationTable
  /** The Merkle tree over the rows with a non-zero amount. */
  readonly tree: MerkleTree
  /** This epoch's score of each component, by directory index. */
  readonly scores: Uint32Array
  /** Units allocated to `owner` (0 when none). */
  amountOf(owner: Uint8Array): number
  /** Karma of `owner` at this epoch (0 when none). */
  karmaOf(owner: Uint8Array): number
  /** The proof of `owner`'s leaf, when it was allocated anything. */
  proofFor(owner: Uint8Array): MerkleProof | undefined
}

/**
 * Close an epoch: score, slide the windows, sum karma per owner, allocate, build the tree.
 * @param options directory, karma ledger, sealed metrics, scorer kinds
 * @returns the result; sign `result.body` with signCertificate
 * @throws RangeError when no configuration governs the epoch, the epoch is out of order for the
 *   ledger, a scorer is unknown or returns something other than an integer in [0, MAX_SCORE]
 * @example
 * const result = closeEpoch({ directory, karma, metrics: monitor.close() })
 * const sig = signCertificate(result.body, witness, result.config)
 */
export function closeEpoch(options: CloseEpochOptions): EpochResult {
  const { directory, karma, metrics } = options
  const epoch = metrics.epoch
  const community = directory.community
  const config = community.configAt(epoch)
  if (config === undefined) throw new RangeError(`no configuration governs epoch ${epoch}`)
  const table = directory.table()

  const scores = scoreComponents(config, table.count, table.type, table.active, table.typeNames, metrics, options.scorers ?? SCORERS)
  karma.record(epoch, scores, config.window)

  // rows: owners with karma, in ascending key order
  const byOwner = karma.ownerKarma(table)
  const order = table.ownerOrder
  let size = 0
  for (let j = 0; j < order.length; j++) if (byOwner[order[j]!]! > 0) size++
  const owners = new Uint8Array(size * 32)
  const rowKarma = new Float64Array(size)
  for (let j = 0, row = 0; j < order.length; j++) {
    const o = order[j]!
    if (byOwner[o]! === 0) continue
    owners.set(table.ownerKeys.subarray(o * 32, o * 32 + 32), row * 32)
    rowKarma[row++] = byOwner[o]!
  }
  const amounts = allocate(config.rewardPerEpoch, rowKarma)

  // leaves: rows with a non-zero amount
  const rowLeaf = new Int32Array(size).fill(-1)
  let leafCount = 0
  for (let row = 0; row < size; row++) if (amounts[row]! > 0) rowLeaf[row] = leafCount++
  const leafOwners = new Uint8Array(leafCount * 32)
  const leafAmounts = new Float64Array(leafCount)
  let total = 0
  for (let row = 0; row < size; row++) {
    const leaf = rowLeaf[row]!
    if (leaf < 0) continue
    leafOwners.set(owners.subarray(row * 32, row * 32 + 32), leaf * 32)
    leafAmounts[leaf] = amounts[row]!
    total += amounts[row]!
  }
  const tree = buildMerkleTree(allocationLeaves(leafOwners, leafAmounts))
  const body: CertificateBody = Object.freeze({ configId: configId(config, community.crypto), epoch, root: tree.root, leaves: leafCount, total })
  const allocation: AllocationTable = Object.freeze({ size, owners, karma: rowKarma, amounts })

  const rowOf = (owner: Uint8Array): number => {
    abytes('owner', owner, 32)
    let lo = 0
    let hi = size - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const d = compareBytes(owners.subarray(mid * 32, mid * 32 + 32), owner)
      if (d === 0) return mid
      if (d < 0) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }
  return Object.freeze({
    epoch,
    config,
    body,
    table: allocation,
    tree,
    scores,
    amountOf: (owner: Uint8Array) => {
      const row = rowOf(owner)
      return row < 0 ? 0 : amounts[row]!
    },
    karmaOf: (owner: Uint8Array) => {
      const row = rowOf(owner)
      return row < 0 ? 0 : rowKarma[row]!
    },
    proofFor: (owner: Uint8Array) => {
      const row = rowOf(owner)
      const leaf = row < 0 ? -1 : rowLeaf[row]!
      return leaf < 0 ? undefined : tree.prove(leaf)
    },
  })
}

// ## Private helpers

/** Each active component's score, by its type's scorer, from its summed metrics. */
function scoreComponents(
  config: CommunityConfig,
  count: number,
  type: Uint8Array,
  active: Uint8Array,
  typeNames: readonly string[],
  metrics: EpochMetrics,
  kinds: Readonly<Record<string, ScorerFactory>>,
): Uint32Array {
  const scorers = createScorers(config, kinds)
  const byType: (Scorer | undefined)[] = []
  const scratch: Float64Array[] = []
  for (const name of typeNames) {
    byType.push(scorers.get(name))
    scratch.push(new Float64Array(config.components[name]?.metrics.length ?? 0))
  }
  const scores = new Uint32Array(count)
  const { sums, width } = metrics
  const reported = Math.min(count, metrics.count)
  for (let c = 0; c < count; c++) {
    if (active[c] !== 1) continue
    const t = type[c]!
    const scorer = byType[t]
    if (scorer === undefined) continue // a type the configuration no longer has earns nothing
    const m = scratch[t]!
    const at = c * width
    for (let k = 0; k < m.length; k++) m[k] = c < reported && k < width ? sums[at + k]! : 0
    const s = scorer.score(m)
    if (!Number.isInteger(s) || s < 0 || s > MAX_SCORE) {
      throw new RangeError(`the scorer of "${typeNames[t]}" returned ${s}, not an integer in [0, ${MAX_SCORE}]`)
    }
    scores[c] = s
  }
  return scores
}
