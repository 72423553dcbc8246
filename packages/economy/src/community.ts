/**
 * A community: the chain of its configuration versions, verifiable from genesis. The genesis id
 * names the community (statements, reports and certificates are bound to it); a new version is
 * accepted only with k signatures of the witnesses of the version in force (the paper's
 * "majority of the authorities must update their configuration", without a single gatekeeper).
 * @module
 */
import { equalBytes, nobleCrypto, toHex, type CryptoProvider } from '@tally/core'
import { configId, type CommunityConfig, type SignedConfig } from './config.js'
import { checkQuorum } from './quorum.js'
import { OK, fail, type Check, type Outcome } from './util.js'

/** A community's configuration history. */
export interface Community {
  /** The genesis configuration id: the community's name in everything signed. */
  readonly id: Uint8Array
  /** The latest version. */
  readonly current: CommunityConfig
  /** Every version from genesis, with signatures. */
  readonly versions: readonly SignedConfig[]
  /** The provider used to check signatures. */
  readonly crypto: CryptoProvider
  /** The version governing `epoch` (the latest with fromEpoch <= epoch), if any. */
  configAt(epoch: number): CommunityConfig | undefined
  /** The version with this id, if it is in the chain. */
  byId(id: Uint8Array): CommunityConfig | undefined
  /**
   * Append the next version: valid only with version = current + 1, previous = current's id,
   * fromEpoch above current's, and k signatures of the current witnesses. Idempotent.
   * @returns ok, or a code ('version', 'previous', 'from-epoch', 'quorum') and reason
   */
  update(signed: SignedConfig): Outcome
}

/** Options of createCommunity and openCommunity. */
export interface CommunityOptions {
  /** Provider for ids and signature checks (default nobleCrypto). */
  crypto?: CryptoProvider
}

/**
 * A community from its genesis configuration, which must be signed by k of its own witnesses.
 * @param genesis version 0 and its signatures
 * @param options provider
 * @returns the community
 * @throws RangeError when genesis is not version 0 or its signatures do not reach its quorum
 * @example const community = createCommunity(signedConfig(config, [signConfig(config, w1), signConfig(config, w2)]))
 */
export function createCommunity(genesis: SignedConfig, options: CommunityOptions = {}): Community {
  const crypto = options.crypto ?? nobleCrypto
  const check = checkGenesis(genesis, crypto)
  if (!check.ok) throw new RangeError(`"genesis" is not a valid genesis configuration: ${check.reason}`)
  return new ConfigChain(genesis, crypto)
}

/**
 * A community from a whole chain of versions, each checked against the one before.
 * @param versions genesis first
 * @param options provider
 * @returns the community at the last version
 * @throws RangeError naming the first version that does not follow
 * @example const community = openCommunity(savedVersions)
 */
export function openCommunity(versions: readonly SignedConfig[], options: CommunityOptions = {}): Community {
  if (!Array.isArray(versions) || versions.length === 0) throw new RangeError('"versions" expected at least the genesis version')
  const community = createCommunity(versions[0]!, options)
  for (let i = 1; i < versions.length; i++) {
    const outcome = community.update(versions[i]!)
    if (!outcome.ok) throw new RangeError(`"versions[${i}]" does not follow version ${i - 1}: ${outcome.reason}`)
  }
  return community
}

/**
 * Check a chain of versions from genesis without building a community.
 * @param versions genesis first
 * @param expectedId the community id the caller trusts (the genesis id), if any
 * @param crypto provider (default nobleCrypto)
 * @returns ok, or the reason
 * @example verifyConfigChain(versions, trustedGenesisId).ok
 */
export function verifyConfigChain(versions: readonly SignedConfig[], expectedId?: Uint8Array, crypto: CryptoProvider = nobleCrypto): Check {
  try {
    const community = openCommunity(versions, { crypto })
    if (expectedId !== undefined && !equalBytes(community.id, expectedId)) return { ok: false, reason: 'genesis is not the expected community' }
    return OK
  } catch (err) {
    return { ok: false, reason: (err as Error).message }
  }
}

class ConfigChain implements Community {
  readonly id: Uint8Array
  readonly crypto: CryptoProvider
  readonly #versions: SignedConfig[] = []
  readonly #byId = new Map<string, CommunityConfig>()

  constructor(genesis: SignedConfig, crypto: CryptoProvider) {
    this.crypto = crypto
    this.id = configId(genesis.config, crypto)
    this.#push(genesis)
  }

  get current(): CommunityConfig {
    return this.#versions[this.#versions.length - 1]!.config
  }

  get versions(): readonly SignedConfig[] {
    return this.#versions.slice()
  }

  configAt(epoch: number): CommunityConfig | undefined {
    for (let i = this.#versions.length - 1; i >= 0; i--) {
      const config = this.#versions[i]!.config
      if (config.fromEpoch <= epoch) return config
    }
    return undefined
  }

  byId(id: Uint8Array): CommunityConfig | undefined {
    return id instanceof Uint8Array ? this.#byId.get(toHex(id)) : undefined
  }

  update(signed: SignedConfig): Outcome {
    const current = this.current
    const next = signed?.config
    if (next === undefined) return fail('form', 'not a signed configuration')
    const id = configId(next, this.crypto)
    if (this.#byId.has(toHex(id))) return OK
    if (next.version !== current.version + 1) return fail('version', `expected version ${current.version + 1}, got ${next.version}`)
    if (!equalBytes(next.previous, configId(current, this.crypto))) return fail('previous', 'previous is not the id of the current version')
    if (next.fromEpoch <= current.fromEpoch) return fail('from-epoch', `fromEpoch must be above ${current.fromEpoch}`)
    const reason = checkQuorum(id, signed.signatures, current, this.crypto)
    if (reason !== undefined) return fail('quorum', `not approved by the current witnesses: ${reason}`)
    this.#push(signed)
    return OK
  }

  #push(signed: SignedConfig): void {
    this.#versions.push(signed)
    this.#byId.set(toHex(configId(signed.config, this.crypto)), signed.config)
  }
}

function checkGenesis(genesis: SignedConfig, crypto: CryptoProvider): Check {
  if (genesis?.config === undefined) return { ok: false, reason: 'not a signed configuration' }
  if (genesis.config.version !== 0) return { ok: false, reason: `version ${genesis.config.version}, expected 0` }
  const reason = checkQuorum(configId(genesis.config, crypto), genesis.signatures, genesis.config, crypto)
  return reason === undefined ? OK : { ok: false, reason }
}
