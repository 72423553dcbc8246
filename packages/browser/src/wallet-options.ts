/**
 * The options of createBrowserWallet, and their checks (caller mistakes are a TypeError or a
 * RangeError naming the option).
 * @module
 */
import { abytes, type BlockStore, type BlockType, type Clock, type HalfBlock, type HeadSource, type Identity, type Transport } from '@tally/core'
import type { Community, LockTypesOptions } from '@tally/economy/wallet'
import type { TransactionPort } from '@tally/economy/net'
import type { ReconnectOptions } from './gateway-link.js'
import type { BrowserVerifier } from './webcrypto-verify.js'

/** Options of createBrowserWallet. */
export interface BrowserWalletOptions {
  /** The gateway node's WebSocket address (`ws://` or `wss://`). */
  gateway: string
  /**
   * The gateway's key: the handshake refuses any other node at that address, and pages (peers
   * with no address) are reached through its relay (default: any node; the relay of the gateway
   * the handshake proved is then tried for a receiver that cannot be dialled).
   */
  gatewayKey?: Uint8Array
  /** The community (its witnesses certify rewards and decide on expiring transfers). */
  community: Community
  /** The wallet's identity: a BrowserIdentity (createBrowserIdentity), or any core Identity. */
  identity: Identity
  /** Where the chain is kept: openIdbStore() (the wallet does not close it). */
  store: BlockStore
  /** Where the witnesses listen: [key, address] pairs (claims and tickets dial them). */
  witnesses?: Iterable<readonly [Uint8Array, string]>
  /**
   * Where the agent learns its chain's head before it signs. Default: 'local' for an identity
   * created in this profile (its chain lives in this store), else the node's peers.
   */
  head?: HeadSource | 'local'
  /** IndexedDB database of the wallet's reward evidence (default 'tally-wallet'). */
  database?: string
  /** Reconnect backoff (default DEFAULT_RECONNECT). */
  reconnect?: Partial<ReconnectOptions>
  /** Time between keep-alives while online (ms; default 15,000; 0: none). */
  keepAliveMs?: number
  /** A keep-alive not answered within this closes the session (ms; default 10,000). */
  keepAliveTimeoutMs?: number
  /** How long a sent transfer waits for its agreement before it can be voided (ms; default 10 minutes). */
  ttlMs?: number
  /**
   * While online, how often transfers left in flight (a page closed mid-send, a receiver gone
   * after accepting) are settled by themselves: refunded once expired and voided, or delivered
   * again (ms; default 60,000; 0: only when `settle()` is called). Also once each time the wallet
   * comes online.
   */
  settleMs?: number
  /** Timeout of an offer and of a delivery (ms; default the node's). */
  timeoutMs?: number
  /** Policy for transfers offered to this wallet, after the sender's balance was checked (default: accept). */
  accept?: (proposal: HalfBlock, amount: number) => boolean | Promise<boolean>
  /**
   * Ask the community's witnesses, as seq witnesses, about every slot of a sender this wallet
   * takes in or countersigns, so a forked chain cannot pay it twice (default true).
   */
  seqWitnesses?: boolean
  /**
   * More for the lock types: redeem authorities and policies of the markets this wallet takes
   * part in (wallet-sla.ts: the 'sla' authority and its certified hook). The voucher book is the
   * wallet's own, on IndexedDB (`<database>-vouchers`).
   */
  lock?: Omit<LockTypesOptions, 'community' | 'vouchers'>
  /** More block types (wallet-sla.ts: offers). */
  types?: readonly BlockType[]
  /** How the node reaches peers (default: the browser's WebSocket, createWsTransport() of @tally/gossip/ws). */
  transport?: Transport
  /** The node's transaction path (default: the node's own `deliver`). */
  port?: TransactionPort
  /** Timers (default the system clock). */
  clock?: Clock
  /**
   * How the signatures of blocks met are checked (default: createBrowserVerifier(), WebCrypto where
   * the browser has Ed25519 in it, else noble).
   */
  verifier?: BrowserVerifier
}

/**
 * Check the options a caller gave.
 * @throws TypeError / RangeError naming the option
 */
export function checkOptions(options: BrowserWalletOptions): BrowserWalletOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object')
  const { gateway, community, identity, store } = options
  if (typeof gateway !== 'string' || !/^wss?:\/\//.test(gateway)) throw new TypeError(`"gateway" expected a ws:// or wss:// address, got ${typeof gateway === 'string' ? JSON.stringify(gateway.slice(0, 80)) : typeof gateway}`)
  if (options.gatewayKey !== undefined) abytes('gatewayKey', options.gatewayKey, 32)
  if (typeof community !== 'object' || community === null || community.current === undefined) throw new TypeError('"community" expected a Community (createCommunity / openCommunity)')
  if (typeof identity !== 'object' || identity === null || !(identity.publicKey instanceof Uint8Array)) throw new TypeError('"identity" expected an Identity')
  if (typeof store !== 'object' || store === null || typeof store.batch !== 'function') throw new TypeError('"store" expected a BlockStore')
  if (options.verifier !== undefined && typeof options.verifier?.verifyBlocks !== 'function') throw new TypeError('"verifier" expected a BrowserVerifier (createBrowserVerifier)')
  for (const [name, value] of [['keepAliveMs', options.keepAliveMs], ['keepAliveTimeoutMs', options.keepAliveTimeoutMs], ['ttlMs', options.ttlMs], ['timeoutMs', options.timeoutMs], ['settleMs', options.settleMs]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new RangeError(`"${name}" expected a non-negative integer of ms, got ${String(value)}`)
  }
  const r = options.reconnect
  if (r !== undefined) {
    for (const [name, value] of Object.entries(r)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (name === 'jitter' && value > 1)) throw new RangeError(`"reconnect.${name}" expected a finite number >= 0${name === 'jitter' ? ' and <= 1' : ''}, got ${String(value)}`)
    }
  }
  return options
}
