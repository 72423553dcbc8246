/**
 * The directory: which components are registered, to whom, of what type, and which agents are
 * linked to which accounts. It applies witnessed statements (registration, revocation, link)
 * after checking them against the configuration in force.
 *
 * Components get dense indexes in registration order, and the directory keeps them in typed
 * arrays (keys, owner index, type index, active flag) so that a monitor and an epoch close over a
 * million components touch flat memory, not a million objects. Owners get dense indexes too, and
 * their order by key (the order of the allocation table) is computed once per change.
 * @module
 */
import { abytes, compareBytes, nobleCrypto, type CryptoProvider } from '@tally/core'
import type { Community } from './community.js'
import { checkRegistration, checkRevocation, type SignedRegistration, type SignedRevocation } from './statement.js'
import { checkLink, type SignedLink } from './wallet-link.js'
import { OK, fail, keyString, type Outcome } from './util.js'

/** One registered component. */
export interface ComponentInfo {
  /** Dense index (registration order). */
  readonly index: number
  /** The component's key. */
  readonly key: Uint8Array
  /** Its owner's agent key. */
  readonly owner: Uint8Array
  /** Its component type. */
  readonly type: string
  /** False once revoked. */
  readonly active: boolean
}

/** A flat, read-only view of the directory for hot paths (valid until the next change). */
export interface ComponentTable {
  /** Number of components ever registered. */
  readonly count: number
  /** Component keys, 32 bytes each, by index. */
  readonly keys: Uint8Array
  /** Owner index of each component. */
  readonly owner: Uint32Array
  /** Type index of each component, into typeNames. */
  readonly type: Uint8Array
  /** 1 when registered and not revoked. */
  readonly active: Uint8Array
  /** Component type names by type index. */
  readonly typeNames: readonly string[]
  /** Number of owners. */
  readonly ownerCount: number
  /** Owner keys, 32 bytes each, by owner index. */
  readonly ownerKeys: Uint8Array
  /** Owner indexes in ascending order of key (sorted on first use, then kept until an owner is added). */
  readonly ownerOrder: Uint32Array
}

/** The component directory of one community. */
export interface Directory {
  /** The community whose current witnesses approve statements. */
  readonly community: Community
  /** Components ever registered (indexes run from 0 to size - 1). */
  readonly size: number
  /** Distinct owners. */
  readonly ownerCount: number
  /** Increases on every change: a cached table() is current while this is unchanged. */
  readonly version: number
  /**
   * Register a component: checks the owner's, the component's and k current witnesses'
   * signatures. Idempotent for the same registration.
   * @returns ok, or code 'invalid' (a check failed), 'revoked' (key revoked for good), 'conflict' (registered otherwise)
   */
  register(signed: SignedRegistration): Outcome
  /**
   * Revoke a component for good (k current witnesses). Its reports are refused and it earns no karma.
   * @returns ok, or code 'invalid' or 'unknown' (not registered)
   */
  revoke(signed: SignedRevocation): Outcome
  /**
   * Record an account link (agent and k current witnesses). One account per agent.
   * @returns ok, or code 'invalid' or 'conflict' (agent linked to another account)
   */
  link(signed: SignedLink): Outcome
  /**
   * Add a component whose registration the caller has already checked (a directory restored from
   * its own database, a benchmark). No signature is checked here.
   * @returns its index
   * @throws RangeError on a malformed entry, an unknown type, or a key registered otherwise
   */
  addVerified(entry: { component: Uint8Array; owner: Uint8Array; type: string }): number
  /** Index of a component key, or -1. */
  indexOf(component: Uint8Array): number
  /** The component at `index`, if any. */
  get(index: number): ComponentInfo | undefined
  /** The component with this key, if registered. */
  find(component: Uint8Array): ComponentInfo | undefined
  /** Indexes of an owner's components. */
  componentsOf(owner: Uint8Array): number[]
  /** The account an agent is linked to. */
  accountOf(agent: Uint8Array): string | undefined
  /** Flat view for the monitor and the epoch close. */
  table(): ComponentTable
}

/** Options of createDirectory. */
export interface DirectoryOptions {
  /** Provider for signature checks (default: the community's). */
  crypto?: CryptoProvider
  /** Components to reserve room for (default 1024; grows by doubling). */
  capacity?: number
}

/**
 * An empty directory for `community`.
 * @param community the community (its current configuration approves statements)
 * @param options provider, initial capacity
 * @returns the directory
 * @example const directory = createDirectory(community); directory.register(signed)
 */
export function createDirectory(community: Community, options: DirectoryOptions = {}): Directory {
  return new ComponentDirectory(community, options.crypto ?? community.crypto ?? nobleCrypto, options.capacity ?? 1024)
}

class ComponentDirectory implements Directory {
  readonly community: Community
  readonly #crypto: CryptoProvider
  #count = 0
  #version = 0
  #keys: Uint8Array
  #owner: Uint32Array
  #type: Uint8Array
  #active: Uint8Array
  readonly #byKey = new Map<string, number>()
  readonly #typeNames: string[] = []
  #ownerCount = 0
  #ownerKeys: Uint8Array
  readonly #ownerByKey = new Map<string, number>()
  #ownerOrder: Uint32Array | undefined
  readonly #revoked = new Set<string>()
  readonly #links = new Map<string, string>()

  constructor(community: Community, crypto: CryptoProvider, capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`"capacity" expected a positive integer, got ${capacity}`)
    this.community = community
    this.#crypto = crypto
    this.#keys = new Uint8Array(capacity * 32)
    this.#owner = new Uint32Array(capacity)
    this.#type = new Uint8Array(capacity)
    this.#active = new Uint8Array(capacity)
    this.#ownerKeys = new Uint8Array(capacity * 32)
  }

  get size(): number {
    return this.#count
  }

  get ownerCount(): number {
    return this.#ownerCount
  }

  get version(): number {
    return this.#version
  }

  register(signed: SignedRegistration): Outcome {
    const check = checkRegistration(signed, this.community.current, this.community.id, this.#crypto)
    if (!check.ok) return fail('invalid', check.reason)
    const key = keyString(signed.component)
    if (this.#revoked.has(key)) return fail('revoked', 'this component key was revoked')
    const existing = this.#byKey.get(key)
    if (existing !== undefined) {
      const info = this.get(existing)!
      const same = compareBytes(info.owner, signed.owner) === 0 && info.type === signed.type
      return same ? OK : fail('conflict', 'this component is registered to another owner or type')
    }
    this.#add(signed.component, signed.owner, signed.type)
    return OK
  }

  revoke(signed: SignedRevocation): Outcome {
    const check = checkRevocation(signed, this.community.current, this.community.id, this.#crypto)
    if (!check.ok) return fail('invalid', check.reason)
    const key = keyString(signed.component)
    const index = this.#byKey.get(key)
    if (index === undefined) return fail('unknown', 'no such component')
    this.#revoked.add(key)
    this.#active[index] = 0
    this.#version++
    return OK
  }

  link(signed: SignedLink): Outcome {
    const check = checkLink(signed, this.community.current, this.community.id, this.#crypto)
    if (!check.ok) return fail('invalid', check.reason)
    const agent = keyString(signed.agent)
    const existing = this.#links.get(agent)
    if (existing !== undefined && existing !== signed.account) return fail('conflict', 'this agent is linked to another account')
    this.#links.set(agent, signed.account)
    return OK
  }

  addVerified(entry: { component: Uint8Array; owner: Uint8Array; type: string }): number {
    abytes('component', entry?.component, 32)
    abytes('owner', entry.owner, 32)
    if (!Object.hasOwn(this.community.current.components, entry.type)) throw new RangeError(`"type" is not a component type of the community: ${JSON.stringify(String(entry.type).slice(0, 40))}`)
    const key = keyString(entry.component)
    if (this.#revoked.has(key)) throw new RangeError('"component" was revoked')
    const existing = this.#byKey.get(key)
    if (existing !== undefined) {
      const info = this.get(existing)!
      if (compareBytes(info.owner, entry.owner) !== 0 || info.type !== entry.type) throw new RangeError('"component" is registered to another owner or type')
      return existing
    }
    return this.#add(entry.component, entry.owner, entry.type)
  }

  indexOf(component: Uint8Array): number {
    return component instanceof Uint8Array && component.length === 32 ? (this.#byKey.get(keyString(component)) ?? -1) : -1
  }

  get(index: number): ComponentInfo | undefined {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#count) return undefined
    const o = this.#owner[index]!
    return Object.freeze({
      index,
      key: this.#keys.slice(index * 32, index * 32 + 32),
      owner: this.#ownerKeys.slice(o * 32, o * 32 + 32),
      type: this.#typeNames[this.#type[index]!]!,
      active: this.#active[index] === 1,
    })
  }

  find(component: Uint8Array): ComponentInfo | undefined {
    const index = this.indexOf(component)
    return index < 0 ? undefined : this.get(index)
  }

  componentsOf(owner: Uint8Array): number[] {
    const o = owner instanceof Uint8Array && owner.length === 32 ? this.#ownerByKey.get(keyString(owner)) : undefined
    if (o === undefined) return []
    const out: number[] = []
    for (let i = 0; i < this.#count; i++) if (this.#owner[i] === o) out.push(i)
    return out
  }

  accountOf(agent: Uint8Array): string | undefined {
    return agent instanceof Uint8Array && agent.length === 32 ? this.#links.get(keyString(agent)) : undefined
  }

  table(): ComponentTable {
    const count = this.#count
    const sorted = (): Uint32Array => this.#sortedOwners()
    return {
      count,
      keys: this.#keys.subarray(0, count * 32),
      owner: this.#owner.subarray(0, count),
      type: this.#type.subarray(0, count),
      active: this.#active.subarray(0, count),
      typeNames: this.#typeNames.slice(),
      ownerCount: this.#ownerCount,
      ownerKeys: this.#ownerKeys.subarray(0, this.#ownerCount * 32),
      // sorted on first use only: the monitor never needs it
      get ownerOrder(): Uint32Array {
        return sorted()
      },
    }
  }

  #add(component: Uint8Array, owner: Uint8Array, type: string): number {
    const index = this.#count
    if (index === this.#owner.length) this.#growComponents()
    this.#keys.set(component, index * 32)
    this.#owner[index] = this.#ownerIndex(owner)
    this.#type[index] = this.#typeIndex(type)
    this.#active[index] = 1
    this.#byKey.set(keyString(component), index)
    this.#count++
    this.#version++
    return index
  }

  #ownerIndex(owner: Uint8Array): number {
    const key = keyString(owner)
    let o = this.#ownerByKey.get(key)
    if (o === undefined) {
      o = this.#ownerCount++
      if (o * 32 === this.#ownerKeys.length) this.#ownerKeys = grow(this.#ownerKeys)
      this.#ownerKeys.set(owner, o * 32)
      this.#ownerByKey.set(key, o)
      this.#ownerOrder = undefined
    }
    return o
  }

  #typeIndex(type: string): number {
    let t = this.#typeNames.indexOf(type)
    if (t < 0) {
      if (this.#typeNames.length === 256) throw new RangeError('more than 256 component types')
      t = this.#typeNames.push(type) - 1
    }
    return t
  }

  #growComponents(): void {
    this.#keys = grow(this.#keys)
    this.#owner = grow(this.#owner)
    this.#type = grow(this.#type)
    this.#active = grow(this.#active)
  }

  /** Owner indexes by ascending key: a 32-bit prefix decides almost every comparison. */
  #sortedOwners(): Uint32Array {
    if (this.#ownerOrder !== undefined) return this.#ownerOrder
    const n = this.#ownerCount
    const keys = this.#ownerKeys
    const prefix = new Uint32Array(n)
    for (let o = 0; o < n; o++) {
      const at = o * 32
      prefix[o] = ((keys[at]! << 24) | (keys[at + 1]! << 16) | (keys[at + 2]! << 8) | keys[at + 3]!) >>> 0
    }
    const order = new Uint32Array(n)
    for (let o = 0; o < n; o++) order[o] = o
    order.sort((a, b) => {
      const d = prefix[a]! - prefix[b]!
      return d !== 0 ? d : compareBytes(keys.subarray(a * 32, a * 32 + 32), keys.subarray(b * 32, b * 32 + 32))
    })
    this.#ownerOrder = order
    return order
  }
}

function grow<T extends Uint8Array | Uint32Array>(a: T): T {
  const bigger = new (a.constructor as new (n: number) => T)(a.length * 2)
  bigger.set(a)
  return bigger
}
