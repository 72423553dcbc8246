/**
 * Community configuration: the signed document every rule of the economy reads — token, epochs,
 * the fixed reward, the scorer of each component type, the moving-average window, the witnesses
 * and their quorum. Version 0 (genesis) is signed by k of its own witnesses, and its id names the
 * community; version v + 1 points at version v's id and is valid only with k signatures of
 * version v's witnesses (see community.ts, which holds the chain).
 *
 * Layout (signed, so fixed here):
 *
 *   config   = canonical CBOR map {
 *                name: tstr, version: uint, previous: bstr(32), fromEpoch: uint,
 *                token: { name: tstr, unit: tstr, decimals: uint },
 *                start: uint (ms, when epoch 0 begins), epochLength: uint (ms),
 *                rewardPerEpoch: uint (token units), window: uint (n),
 *                components: { <type>: { metrics: [tstr...], scorer: tstr, params: any } },
 *                witnesses: [bstr(32)...], quorum: uint }
 *   configId = SHA-256(domainTag('config') ‖ config)
 *   signed   = canonical CBOR array [config, signatures]       (signatures: see quorum.ts)
 *
 * Each witness signs configId (32 bytes).
 * @module
 */
import {
  DecodeError,
  GENESIS_HASH,
  decodeCanonical,
  encodeCanonical,
  equalBytes,
  nobleCrypto,
  toHex,
  type CborValue,
  type CryptoProvider,
  type SignResult,
  type SigningKey,
} from '@tally/core'
import { decodeSignatures, encodeSignatures, sortSignatures, witnessSign, type QuorumSignatures, type WitnessSignature } from './quorum.js'
import { asMap, hasExactKeys, isBytes, isUint, taggedHash } from './util.js'

/** How the components of one type report and are scored. */
export interface ComponentTypeConfig {
  /** Names of the metrics a report of this type carries, in order (1 to 8); reports are summed per metric. */
  readonly metrics: readonly string[]
  /** Scorer kind turning an epoch's summed metrics into a score, e.g. 'airtime-tiers' (see scorer.ts). */
  readonly scorer: string
  /** The scorer's settings (its tiers, its maximum score, ...). */
  readonly params: CborValue
}

/** The token of the community. */
export interface TokenConfig {
  /** Display name, e.g. 'Wavelet'. */
  readonly name: string
  /** Symbol of one unit, e.g. 'WVL'. */
  readonly unit: string
  /** Decimal places for display only: every amount in Tally is an integer number of base units. */
  readonly decimals: number
}

/** One version of the community configuration. Frozen. */
export interface CommunityConfig {
  /** Human name of the community. */
  readonly name: string
  /** 0 for genesis, then +1 per update. */
  readonly version: number
  /** configId of version - 1; 32 zero bytes at genesis. */
  readonly previous: Uint8Array
  /** First epoch this version governs (later versions must start later). */
  readonly fromEpoch: number
  /** The token. */
  readonly token: TokenConfig
  /** Milliseconds since 1970 when epoch 0 begins. */
  readonly start: number
  /** Epoch length in milliseconds. */
  readonly epochLength: number
  /** Token units issued per epoch, split in proportion to karma. */
  readonly rewardPerEpoch: number
  /** n: the moving average of a component's score covers its last n epochs. */
  readonly window: number
  /** Component types by name ('gateway', 'router', ...). */
  readonly components: Readonly<Record<string, ComponentTypeConfig>>
  /** Witness public keys; a witness signature names its signer by index here. */
  readonly witnesses: readonly Uint8Array[]
  /** k: distinct witness signatures needed for anything the witnesses vouch for. */
  readonly quorum: number
}

/** The fields of a configuration; version, previous and fromEpoch default to genesis values. */
export type ConfigFields = Omit<CommunityConfig, 'version' | 'previous' | 'fromEpoch'> &
  Partial<Pick<CommunityConfig, 'version' | 'previous' | 'fromEpoch'>>

/** A configuration with the witness signatures that make it valid. */
export interface SignedConfig {
  readonly config: CommunityConfig
  readonly signatures: QuorumSignatures
}

/** Limits of a configuration. */
export const CONFIG_LIMITS: Readonly<{
  maxBytes: number
  maxWitnesses: number
  maxComponentTypes: number
  maxMetrics: number
  maxWindow: number
}> = Object.freeze({ maxBytes: 64 * 1024, maxWitnesses: 255, maxComponentTypes: 64, maxMetrics: 8, maxWindow: 1024 })

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/
const SCORER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
const CONFIG_KEYS = ['name', 'version', 'previous', 'fromEpoch', 'token', 'start', 'epochLength', 'rewardPerEpoch', 'window', 'components', 'witnesses', 'quorum']

const ids = new WeakMap<CommunityConfig, Uint8Array>()

/**
 * A checked, frozen configuration.
 * @param fields every field; version/previous/fromEpoch default to 0 / 32 zero bytes / 0 (genesis)
 * @returns the configuration
 * @throws RangeError naming the first field that breaks a rule (TypeError for a wrong type)
 * @example
 * const config = createConfig({
 *   name: 'ttn', token: { name: 'Wavelet', unit: 'WVL', decimals: 3 }, start: 0, epochLength: 3_600_000,
 *   rewardPerEpoch: 1_000_000, window: 24, witnesses: [w1.publicKey, w2.publicKey, w3.publicKey], quorum: 2,
 *   components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: [[1, 1], [60_000, 5]] } } },
 * })
 */
export function createConfig(fields: ConfigFields): CommunityConfig {
  if (typeof fields !== 'object' || fields === null) throw new TypeError('"fields" expected an object')
  const value = configValue({ version: 0, previous: GENESIS_HASH, fromEpoch: 0, ...fields } as CommunityConfig)
  const reason = checkConfigValue(value)
  if (reason !== undefined) throw new RangeError(`invalid configuration: ${reason}`)
  return freezeConfig(value as Record<string, CborValue>)
}

/**
 * The next version of `current`: the same fields with `changes` applied, version + 1, and
 * `previous` set to current's id.
 * @param current the version in force
 * @param changes the fields that change; fromEpoch is required and must be above current's
 * @param crypto provider for the id (default nobleCrypto)
 * @returns the new (unsigned) version
 * @throws RangeError when the result breaks a rule
 * @example const v1 = nextConfig(genesis, { fromEpoch: 100, quorum: 3 })
 */
export function nextConfig(
  current: CommunityConfig,
  changes: Partial<Omit<CommunityConfig, 'version' | 'previous'>> & { fromEpoch: number },
  crypto: CryptoProvider = nobleCrypto,
): CommunityConfig {
  if (!isUint(changes?.fromEpoch) || changes.fromEpoch <= current.fromEpoch) {
    throw new RangeError(`"changes.fromEpoch" must be an integer above ${current.fromEpoch}`)
  }
  return createConfig({ ...current, ...changes, version: current.version + 1, previous: configId(current, crypto) })
}

/**
 * The configuration's id: SHA-256 over the 'config' tag and its canonical encoding. Computed once.
 * @param config a configuration
 * @param crypto provider (default nobleCrypto)
 * @returns 32 bytes; the genesis id names the community
 * @example const community = configId(genesis)
 */
export function configId(config: CommunityConfig, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  let id = ids.get(config)
  if (id === undefined) {
    id = taggedHash('config', crypto, encodeConfig(config))
    if (Object.isFrozen(config)) ids.set(config, id)
  }
  return id
}

/**
 * The canonical encoding of a configuration (the bytes its id hashes).
 * @param config a configuration
 * @returns canonical CBOR
 * @example encodeConfig(config).length
 */
export function encodeConfig(config: CommunityConfig): Uint8Array {
  return encodeCanonical(configValue(config))
}

/**
 * A configuration from untrusted bytes.
 * @param bytes canonical CBOR of a configuration
 * @returns the frozen configuration
 * @throws DecodeError when the bytes are not a canonical, valid configuration
 * @example const config = decodeConfig(bytes)
 */
export function decodeConfig(bytes: Uint8Array): CommunityConfig {
  return configFromValue(decodeCanonical(bytes, { maxBytes: CONFIG_LIMITS.maxBytes, maxDepth: 24 }))
}

/**
 * A witness's signature on a configuration version.
 * @param config the version to approve (genesis: signed by its own witnesses; later: by the previous version's)
 * @param witness the witness's key
 * @param signers the witness set the signer belongs to (default: `config` itself, for genesis)
 * @param crypto provider for the id
 * @returns the signature, naming the witness by index in `signers`
 * @throws RangeError when the key is not in `signers`
 * @example const s = signConfig(v1, w1, genesis)
 */
export function signConfig<K extends SigningKey>(
  config: CommunityConfig,
  witness: K,
  signers: CommunityConfig = config,
  crypto: CryptoProvider = nobleCrypto,
): SignResult<K, WitnessSignature> {
  return witnessSign(witness, signers, configId(config, crypto))
}

/**
 * Bundle a configuration with its signatures (sorted, duplicates dropped). Does not verify them:
 * createCommunity and Community.update do.
 * @param config the version
 * @param signatures witness signatures in any order
 * @returns the signed configuration
 * @example const genesis = signedConfig(config, [signConfig(config, w1), signConfig(config, w2)])
 */
export function signedConfig(config: CommunityConfig, signatures: readonly WitnessSignature[]): SignedConfig {
  return Object.freeze({ config, signatures: sortSignatures(signatures) })
}

/**
 * Encode a signed configuration.
 * @param signed configuration and signatures
 * @returns canonical CBOR [config, signatures]
 * @example send(encodeSignedConfig(genesis))
 */
export function encodeSignedConfig(signed: SignedConfig): Uint8Array {
  return encodeCanonical([configValue(signed.config), encodeSignatures(signed.signatures)])
}

/**
 * Decode a signed configuration (form only: verify it through a Community).
 * @param bytes the encoding
 * @returns configuration and signatures
 * @throws DecodeError when malformed
 * @example const community = createCommunity(decodeSignedConfig(bytes))
 */
export function decodeSignedConfig(bytes: Uint8Array): SignedConfig {
  const value = decodeCanonical(bytes, { maxBytes: CONFIG_LIMITS.maxBytes + 255 * 80, maxDepth: 24 })
  if (!Array.isArray(value) || value.length !== 2) throw new DecodeError('a signed configuration must be [config, signatures]')
  return Object.freeze({ config: configFromValue(value[0]), signatures: decodeSignatures(value[1], CONFIG_LIMITS.maxWitnesses) })
}

/**
 * The epoch that contains a point in time under `config`.
 * @param config a configuration
 * @param time milliseconds since 1970
 * @returns the epoch number, or -1 before epoch 0
 * @example const epoch = epochAt(config, Date.now())
 */
export function epochAt(config: CommunityConfig, time: number): number {
  return time < config.start ? -1 : Math.floor((time - config.start) / config.epochLength)
}

// ## Private helpers

function configFromValue(value: CborValue): CommunityConfig {
  const reason = checkConfigValue(value)
  if (reason !== undefined) throw new DecodeError(`invalid configuration: ${reason}`)
  return freezeConfig(value as Record<string, CborValue>)
}

/** The CBOR value of a configuration (a plain map, fields in any order: encoding sorts them). */
function configValue(c: CommunityConfig): Record<string, unknown> {
  const components: Record<string, unknown> = {}
  for (const [type, t] of Object.entries(c.components ?? {})) {
    components[type] = { metrics: t?.metrics, scorer: t?.scorer, params: t?.params }
  }
  return {
    name: c.name,
    version: c.version,
    previous: c.previous,
    fromEpoch: c.fromEpoch,
    token: { name: c.token?.name, unit: c.token?.unit, decimals: c.token?.decimals },
    start: c.start,
    epochLength: c.epochLength,
    rewardPerEpoch: c.rewardPerEpoch,
    window: c.window,
    components,
    witnesses: c.witnesses,
    quorum: c.quorum,
  }
}

/** The first rule a configuration value breaks, or undefined. */
function checkConfigValue(value: unknown): string | undefined {
  const m = asMap(value)
  if (m === undefined || !hasExactKeys(m, CONFIG_KEYS)) return `expected a map with exactly the keys ${CONFIG_KEYS.join(', ')}`
  if (typeof m['name'] !== 'string' || m['name'].length < 1 || m['name'].length > 64) return 'name must be 1-64 characters'
  if (!isUint(m['version'])) return 'version must be a non-negative integer'
  if (!isBytes(m['previous'], 32)) return 'previous must be 32 bytes'
  if ((m['version'] === 0) !== equalBytes(m['previous'], GENESIS_HASH)) return 'previous is 32 zero bytes exactly at version 0'
  if (!isUint(m['fromEpoch'])) return 'fromEpoch must be a non-negative integer'
  const token = asMap(m['token'])
  if (token === undefined || !hasExactKeys(token, ['name', 'unit', 'decimals'])) return 'token must be { name, unit, decimals }'
  if (typeof token['name'] !== 'string' || token['name'].length < 1 || token['name'].length > 32) return 'token.name must be 1-32 characters'
  if (typeof token['unit'] !== 'string' || token['unit'].length < 1 || token['unit'].length > 16) return 'token.unit must be 1-16 characters'
  if (!isUint(token['decimals']) || token['decimals'] > 18) return 'token.decimals must be an integer in [0, 18]'
  if (!isUint(m['start'])) return 'start must be a non-negative integer (ms)'
  if (!isUint(m['epochLength']) || m['epochLength'] < 1) return 'epochLength must be a positive integer (ms)'
  if (!isUint(m['rewardPerEpoch'])) return 'rewardPerEpoch must be a non-negative safe integer'
  if (!isUint(m['window']) || m['window'] < 1 || m['window'] > CONFIG_LIMITS.maxWindow) return `window must be an integer in [1, ${CONFIG_LIMITS.maxWindow}]`
  const components = asMap(m['components'])
  if (components === undefined) return 'components must be a map'
  const types = Object.keys(components)
  if (types.length < 1 || types.length > CONFIG_LIMITS.maxComponentTypes) return `components must hold 1-${CONFIG_LIMITS.maxComponentTypes} types`
  for (const type of types) {
    if (!NAME.test(type)) return `component type "${type.slice(0, 40)}" must be 1-32 characters of [a-z0-9_-]`
    const t = asMap(components[type])
    if (t === undefined || !hasExactKeys(t, ['metrics', 'scorer', 'params'])) return `components.${type} must be { metrics, scorer, params }`
    const metrics = t['metrics']
    if (!Array.isArray(metrics) || metrics.length < 1 || metrics.length > CONFIG_LIMITS.maxMetrics) return `components.${type}.metrics must list 1-${CONFIG_LIMITS.maxMetrics} names`
    if (!metrics.every((x) => typeof x === 'string' && NAME.test(x)) || new Set(metrics).size !== metrics.length) return `components.${type}.metrics must be distinct names of [a-z0-9_-]`
    if (typeof t['scorer'] !== 'string' || !SCORER_NAME.test(t['scorer'])) return `components.${type}.scorer must be a scorer name`
    if (t['params'] === undefined) return `components.${type}.params is required (null for none)`
  }
  const witnesses = m['witnesses']
  if (!Array.isArray(witnesses) || witnesses.length < 1 || witnesses.length > CONFIG_LIMITS.maxWitnesses) return `witnesses must list 1-${CONFIG_LIMITS.maxWitnesses} keys`
  if (!witnesses.every((w) => isBytes(w, 32))) return 'every witness must be a 32-byte key'
  if (new Set(witnesses.map((w) => toHex(w as Uint8Array))).size !== witnesses.length) return 'witnesses must be distinct'
  if (!isUint(m['quorum']) || m['quorum'] < 1 || m['quorum'] > witnesses.length) return 'quorum must be an integer in [1, number of witnesses]'
  try {
    if (encodeCanonical(value).length > CONFIG_LIMITS.maxBytes) return `larger than ${CONFIG_LIMITS.maxBytes} bytes`
  } catch (err) {
    return `not a canonical CBOR value: ${(err as Error).message}`
  }
  return undefined
}

function freezeConfig(m: Record<string, CborValue>): CommunityConfig {
  const token = m['token'] as Record<string, CborValue>
  const components: Record<string, ComponentTypeConfig> = Object.create(null)
  for (const [type, raw] of Object.entries(m['components'] as Record<string, Record<string, CborValue>>)) {
    components[type] = Object.freeze({
      metrics: Object.freeze([...(raw['metrics'] as string[])]),
      scorer: raw['scorer'] as string,
      params: raw['params']!,
    })
  }
  return Object.freeze({
    name: m['name'] as string,
    version: m['version'] as number,
    previous: Uint8Array.from(m['previous'] as Uint8Array),
    fromEpoch: m['fromEpoch'] as number,
    token: Object.freeze({ name: token['name'] as string, unit: token['unit'] as string, decimals: token['decimals'] as number }),
    start: m['start'] as number,
    epochLength: m['epochLength'] as number,
    rewardPerEpoch: m['rewardPerEpoch'] as number,
    window: m['window'] as number,
    components: Object.freeze(components),
    witnesses: Object.freeze((m['witnesses'] as Uint8Array[]).map((w) => Uint8Array.from(w))),
    quorum: m['quorum'] as number,
  })
}
