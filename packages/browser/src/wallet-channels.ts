/**
 * Payment channels from the browser wallet (@tally/economy/channels, seed 004), with their books
 * on IndexedDB: as the payer — open a channel (a lock of this wallet's chain for the payee), pay
 * with receipts (bytes for any link), recharge, close by releasing what no receipt covers after
 * the expiry; as the payee — admit a payer's lock, accept receipts off line, redeem.
 *
 * Every rule is the economy's (createPayer, createPayee); this module adds what a page needs:
 * the books on IndexedDB (openIdbRecords), so a reload keeps the latest receipt of each channel — a
 * payer that forgot it would sign the next receipt from a lower total, which the payee refuses
 * ('receipt-stale'); a payee that forgot what it acknowledged could be paid twice — and the
 * wallet's `signing` guard (one signing tab; the balance and the seq witnesses follow each lock,
 * redeem and release).
 *
 * Databases: `<database>` holds the payer's book, `<database>-payee` the payee's (default
 * 'tally-channels'): two books, so a channel this wallet pays over is never read as one it is paid
 * over. Each is an IdbRecords table, schema version 1 (idb-records.ts).
 * @module
 */
import { RefusedError, abytes, auint, type HalfBlock } from '@tally/core'
import { epochAt } from '@tally/economy'
import { createChannelBook, createPayee, createPayer, type ChannelBook, type ChannelState, type ClosingConsent, type Payee, type Payer } from '@tally/economy/channels'
import { openIdbRecords, type IdbRecords } from './idb-records.js'
import type { BrowserWallet } from './wallet.js'

/** Epochs from now to a new lock's expiry when none is given. */
export const DEFAULT_CHANNEL_EPOCHS = 24

/** Most blocks of this wallet's chain handed to a payee with a lock. */
const MAX_HANDOVER = 65_536

/** A channel opened, or a lock added to it: what the payee needs to admit it. */
export interface ChannelLock {
  /** The channel id (the opening lock's hash). */
  readonly channel: Uint8Array
  /** The lock block (the opening lock, or a recharge). */
  readonly lock: HalfBlock
  /** This wallet's chain below the lock: the payee's `admit(lock, history)` replays it (it skips what it holds). */
  readonly history: readonly HalfBlock[]
}

/** Options of openWalletChannels. */
export interface WalletChannelsOptions {
  /** The IndexedDB database of the payer's book; the payee's is `<database>-payee` (default 'tally-channels'). */
  database?: string
  /** The payee's margin: stop accepting against a lock that many ms before its expiry (default 0). */
  margin?: number
}

/** The wallet's payment channels. */
export interface WalletChannels {
  /**
   * Open a channel to `to`: lock `deposit` of this wallet's balance for it until epoch `expiry`.
   * @param options.expiry the expiry epoch (default the current epoch + DEFAULT_CHANNEL_EPOCHS)
   * @returns the channel, its lock and the chain the payee replays
   * @throws RangeError for a deposit that is not a positive integer or above the balance;
   *   RefusedError 'not-signer' / 'closed'
   */
  open(to: Uint8Array, deposit: number, options?: { expiry?: number }): Promise<ChannelLock>
  /**
   * Pay `amount` more: a receipt for the new total, durable in the book before it is returned.
   * @returns the receipt's bytes (at most 119), for the payee's `accept`
   * @throws RangeError past the deposit (recharge first), for an unknown channel, or a closed one
   */
  pay(channel: Uint8Array, amount: number): Promise<Uint8Array>
  /**
   * Lock `amount` more for the channel's payee.
   * @returns the new lock and the chain below it
   */
  recharge(channel: Uint8Array, amount: number, options?: { expiry?: number }): Promise<ChannelLock>
  /**
   * Close: sign no more receipts, and release each lock whose expiry epoch has begun (or, before,
   * that the payee consented to), returning what the latest receipt does not cover. Call again for
   * locks that expire later.
   * @returns the releases appended
   */
  close(channel: Uint8Array, consents?: readonly ClosingConsent[]): Promise<HalfBlock[]>
  /** A channel this wallet pays over. @throws RangeError when it is not known here */
  state(channel: Uint8Array): Promise<ChannelState>
  /** The channels this wallet pays over. */
  list(): Promise<Uint8Array[]>
  /** The payee's side: channels others pay this wallet over. */
  readonly incoming: IncomingChannels
  /** Close both books' databases (the wallet stays open). */
  dispose(): void
}

/** The channels others pay this wallet over. */
export interface IncomingChannels {
  /**
   * Take in a payer's lock (opening or recharge) with its chain below it.
   * @throws RefusedError 'channel-lock', 'channel-recharge', 'history-missing', 'balance', 'history-too-long'
   */
  admit(lock: HalfBlock, history?: readonly HalfBlock[]): Promise<ChannelState>
  /**
   * Accept a receipt: one signature check; durable in the book before the acknowledgement.
   * @returns the acknowledgement bytes (['ack', counter, amount])
   * @throws RefusedError 'receipt-malformed', 'channel-unknown', 'receipt-signature', 'receipt-stale',
   *   'receipt-short', 'receipt-deposit', 'channel-expired', 'channel-closed'
   */
  accept(receipt: Uint8Array, options?: { price?: number }): Promise<Uint8Array>
  /** Redeem what the latest receipt covers beyond what was redeemed; the channel stays open. */
  redeem(channel: Uint8Array): Promise<HalfBlock[]>
  /** Close by a final redeem: the consents to hand the payer for an early release. */
  close(channel: Uint8Array): Promise<ClosingConsent[]>
  /** A channel this wallet is paid over. @throws RangeError when it is not known here */
  state(channel: Uint8Array): Promise<ChannelState>
  /** The channels this wallet is paid over. */
  list(): Promise<Uint8Array[]>
}

/**
 * Open the wallet's payment channels: its books on IndexedDB, the economy's payer and payee.
 * @param wallet the browser wallet
 * @param options database, margin
 * @returns the channels
 * @throws StoreVersionError when a book's database is of a newer version or another format
 * @example
 * const channels = await openWalletChannels(wallet)
 * const { channel, lock, history } = await channels.open(shop, 1_000)
 * const receipt = await channels.pay(channel, 25)   // bytes, over any link
 */
export async function openWalletChannels(wallet: BrowserWallet, options: WalletChannelsOptions = {}): Promise<WalletChannels> {
  const database = options.database ?? 'tally-channels'
  if (typeof database !== 'string' || database === '') throw new TypeError('"database" expected a non-empty string')
  const paying = await openIdbRecords({ name: database })
  let taking: IdbRecords
  try {
    taking = await openIdbRecords({ name: `${database}-payee` })
  } catch (err) {
    paying.close()
    throw err
  }
  const community = wallet.community
  const book: ChannelBook = createChannelBook(paying)
  const payer: Payer = createPayer({ wallet: wallet.wallet, key: wallet.identity, community, book })
  const payee: Payee = createPayee({ wallet: wallet.wallet, community, key: wallet.identity, book: createChannelBook(taking), ...(options.margin === undefined ? {} : { margin: options.margin }) })
  const expiryOf = (expiry: number | undefined): number => {
    if (expiry === undefined) return epochAt(community.current, Date.now()) + DEFAULT_CHANNEL_EPOCHS
    auint('expiry', expiry)
    return expiry
  }
  const below = async (lock: HalfBlock): Promise<HalfBlock[]> => {
    const from = Math.max(1, lock.seq - MAX_HANDOVER)
    return wallet.node.store.range(wallet.publicKey, { from, to: lock.seq - 1 })
  }
  const channelArg = (channel: Uint8Array): Uint8Array => abytes('channel', channel, 32)

  return {
    open: (to, deposit, o = {}) =>
      wallet.signing(async () => {
        abytes('to', to, 32)
        auint('deposit', deposit, 1)
        const { channel, lock } = await payer.open({ to, deposit, expiry: expiryOf(o.expiry) })
        return { channel, lock, history: await below(lock) }
      }),
    pay: (channel, amount) => wallet.signing(() => payer.pay(channelArg(channel), amount)),
    recharge: (channel, amount, o = {}) =>
      wallet.signing(async () => {
        auint('amount', amount, 1)
        const lock = await payer.recharge(channelArg(channel), amount, expiryOf(o.expiry))
        return { channel, lock, history: await below(lock) }
      }),
    close: (channel, consents) => wallet.signing(() => payer.close(channelArg(channel), consents)),
    state: (channel) => payer.state(channelArg(channel)),
    list: () => book.channels(),
    incoming: {
      admit: (lock, history) => wallet.signing(() => payee.admit(lock, history)),
      accept: (receipt, o) => {
        // no block is signed, but the signer tab alone keeps the book: two tabs accepting for one
        // channel could each acknowledge a receipt the other does not know of
        if (wallet.state === 'standby') return Promise.reject(new RefusedError('another tab of this browser is the signer of this wallet', { reason: 'not-signer' }))
        return payee.accept(receipt, o)
      },
      redeem: (channel) => wallet.signing(() => payee.redeem(channelArg(channel))),
      close: (channel) => wallet.signing(() => payee.close(channelArg(channel))),
      state: (channel) => payee.state(channelArg(channel)),
      list: () => payee.channels(),
    },
    dispose() {
      paying.close()
      taking.close()
    },
  }
}
