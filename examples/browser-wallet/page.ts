// The wallet page: plain TypeScript and the DOM, bundled by esbuild (main.ts does it at start).
// `?wallet=<name>` picks which wallet of this browser profile the tab shows (its key, chain and
// evidence live in IndexedDB under that name), so two tabs can be two wallets.
import { decodeBlock, encodeBlock, fromHex, toHex } from '@tally/core'
import { createCommunity, decodeSignedConfig, type Community } from '@tally/economy'
import { createBrowserIdentity, createBrowserWallet, openBrowserIdentity, openIdbStore, type BrowserWallet, type HistoryEntry } from '@tally/browser'
import { openWalletChannels, type WalletChannels } from '@tally/browser/channels'

interface NetworkInfo {
  config: string
  gateway: { address: string; key: string }
  witnesses: { key: string; address: string }[]
  epoch: number
}

const name = (new URLSearchParams(location.search).get('wallet') ?? 'default').replace(/[^a-z0-9-]/gi, '').slice(0, 32) || 'default'
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T

/** What the page shows: read by people, and by the example's test through data attributes. */
const view = {
  status(state: string, detail: string) {
    const el = $('status')
    el.dataset.state = state
    el.textContent = detail === '' ? state : `${state} · ${detail}`
  },
  log(line: string) {
    const li = document.createElement('li')
    li.textContent = `${new Date().toLocaleTimeString()}  ${line}`
    $('log').prepend(li)
  },
}

/** Names pages gave the demo directory, by key. */
const names = new Map<string, string>()
const who = (key: string | undefined) => (key === undefined ? '?' : names.has(key) ? `${names.get(key)} (${key.slice(0, 8)}…)` : `${key.slice(0, 8)}…`)

let community: Community
let wallet: BrowserWallet
let channels: WalletChannels
/** The channel this page opened to each payee (key hex → channel id hex), for this visit. */
const opened = new Map<string, string>()
let decimals = 3
let unit = 'WVL'

function amountText(n: number): string {
  const s = (Math.abs(n) / 10 ** decimals).toFixed(decimals)
  return `${n < 0 ? '−' : ''}${s} ${unit}`
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const json = (await res.json()) as T & { error?: string }
  if (!res.ok) throw new Error(json.error ?? `${path}: HTTP ${res.status}`)
  return json
}

async function refresh(): Promise<void> {
  const balance = await wallet.balance()
  const el = $('balance')
  el.textContent = amountText(balance)
  el.dataset.value = String(balance)
  const people0 = await api<{ key: string; name: string }[]>('/api/directory')
  for (const p of people0) names.set(p.key, p.name)
  const rows = (await wallet.history({ limit: 20 })).map(row)
  $('history').replaceChildren(...rows)
  $('history').dataset.count = String(rows.length)
  const people = people0
  const select = $<HTMLSelectElement>('to')
  const chosen = select.value
  select.replaceChildren(
    ...people
      .filter((p) => p.key !== wallet.publicKeyHex)
      .map((p) => {
        const o = document.createElement('option')
        o.value = p.key
        o.textContent = `${p.name} (${p.key.slice(0, 8)}…)`
        return o
      }),
  )
  if (chosen !== '') select.value = chosen
}

function row(h: HistoryEntry): HTMLTableRowElement {
  const tr = document.createElement('tr')
  tr.dataset.kind = h.kind === 'other' ? h.type : h.kind
  const what = h.kind === 'reward' ? `reward, epoch ${h.epoch}` : h.kind === 'sent' ? `sent to ${who(h.counterparty)} (${h.status})` : h.kind === 'received' ? `received from ${who(h.counterparty)}` : h.type
  for (const text of [`#${h.seq}`, what, amountText(h.delta), amountText(h.balance)]) {
    const td = document.createElement('td')
    td.textContent = text
    tr.append(td)
  }
  return tr
}

/** What each click came to, for the example's test (window.__results). */
interface ActionResult {
  action: string
  ok: boolean
  text: string
}
const results: ActionResult[] = []
;(globalThis as { __results?: ActionResult[] }).__results = results

/** Run a button's work: disabled while it runs, errors to the log. */
function action(id: string, work: () => Promise<string>): void {
  const button = $<HTMLButtonElement>(id)
  button.onclick = async () => {
    button.disabled = true
    let result: ActionResult
    try {
      const text = await work()
      view.log(text)
      await refresh()
      result = { action: id, ok: true, text }
    } catch (err) {
      const e = err as { reason?: string; message?: string }
      const text = `✗ ${e.message ?? String(err)}${e.reason !== undefined ? ` [${e.reason}]` : ''}`
      view.log(text)
      result = { action: id, ok: false, text }
    } finally {
      button.disabled = false
    }
    results.push(result)
  }
}

async function main(): Promise<void> {
  $('name').textContent = name
  const info = await api<NetworkInfo>('/api/network')
  community = createCommunity(decodeSignedConfig(fromHex(info.config)))
  decimals = community.current.token.decimals
  unit = community.current.token.unit
  let identity = await openBrowserIdentity({ label: name })
  if (identity === undefined) {
    const created = await createBrowserIdentity({ label: name })
    identity = created.identity
    // shown once, stored nowhere: the only backup of this wallet's key
    $('phrase-words').textContent = created.phrase
    $('phrase').hidden = false
    $('phrase-done').onclick = () => {
      $('phrase-words').textContent = ''
      $('phrase').hidden = true
    }
  }
  const store = await openIdbStore({ name: `tally-${name}` })
  wallet = await createBrowserWallet({
    gateway: info.gateway.address,
    gatewayKey: fromHex(info.gateway.key),
    community,
    identity,
    store,
    database: `tally-wallet-${name}`,
    witnesses: info.witnesses.map((w) => [fromHex(w.key), w.address] as const),
  })
  $('key').textContent = wallet.publicKeyHex
  wallet.on('state', (e) => {
    view.status(e.state, e.state === 'offline' ? `retry in ${((e.retryInMs ?? 0) / 1000).toFixed(1)} s (${e.reason ?? ''})` : e.state === 'online' ? `gateway ${toHex(e.gateway!).slice(0, 8)}…` : '')
    if (e.state === 'online') void refresh()
  })
  wallet.on('transfer', (t) => {
    if (t.direction === 'in') view.log(`received ${amountText(t.amount)} from ${who(toHex(t.counterparty))}`)
    void refresh()
  })
  wallet.on('balance', () => void refresh())
  wallet.on('error', ({ error, context }) => view.log(`✗ ${context}: ${(error as Error)?.message ?? String(error)}`))
  await wallet.online()
  await api('/api/name', { key: wallet.publicKeyHex, name })
  $<HTMLInputElement>('epoch').value = String(info.epoch)

  action('device', async () => {
    const { component, digest } = await api<{ component: string; digest: string }>('/api/device', { owner: wallet.publicKeyHex })
    // the owner's consent: this wallet's key signs the device's registration
    const signature = toHex(await identity.sign(fromHex(digest)))
    const r = await api<{ applied: number; reported: number; epoch: number }>('/api/device/register', { component, signature })
    return `device ${component.slice(0, 8)}… registered (${r.applied} witnesses); its airtime reported in epoch ${r.epoch} (${r.reported} witnesses)`
  })
  action('close', async () => {
    const r = await api<{ epoch: number; certified: boolean }>('/api/epoch/close', {})
    $<HTMLInputElement>('epoch').value = String(r.epoch)
    return `epoch ${r.epoch} closed by the witnesses${r.certified ? ' and certified' : ', not certified'}`
  })
  action('claim', async () => {
    const epoch = Number($<HTMLInputElement>('epoch').value)
    const block = await wallet.claim(epoch)
    return `claimed epoch ${epoch}: ${amountText((block.payload as { amount: number }).amount)}`
  })
  action('send', async () => {
    const to = $<HTMLSelectElement>('to').value
    const amount = Math.round(Number($<HTMLInputElement>('amount').value) * 10 ** decimals)
    if (!/^[0-9a-f]{64}$/.test(to)) throw new Error('choose whom to pay')
    await wallet.send(fromHex(to), amount)
    return `sent ${amountText(amount)} to ${who(to)}`
  })
  // ## Payment channels: the lock and the receipts travel as bytes, here through the server's
  // mailbox (any link would do: NFC, a QR code)
  channels = await openWalletChannels(wallet, { database: `tally-channels-${name}` })
  const choose = (): { to: string; amount: number } => {
    const to = $<HTMLSelectElement>('to').value
    const amount = Math.round(Number($<HTMLInputElement>('amount').value) * 10 ** decimals)
    if (!/^[0-9a-f]{64}$/.test(to)) throw new Error('choose whom to pay')
    return { to, amount }
  }
  const mail = (to: string, kind: 'lock' | 'receipt', data: Uint8Array) => api('/api/mail', { to, from: wallet.publicKeyHex, kind, data: toHex(data) })
  action('channel-open', async () => {
    const { to, amount } = choose()
    const { channel, lock, history } = await channels.open(fromHex(to), amount)
    opened.set(to, toHex(channel))
    // the payee replays this wallet's chain up to the lock: the blocks, one after another
    const blocks = [...history, lock].map(encodeBlock)
    await mail(to, 'lock', concatFramed(blocks))
    return `channel to ${who(to)} opened: ${amountText(amount)} locked until epoch ${(lock.payload as { expiry: number }).expiry}`
  })
  action('channel-pay', async () => {
    const { to, amount } = choose()
    const channel = opened.get(to)
    if (channel === undefined) throw new Error(`no channel to ${who(to)} opened on this page: open one first`)
    const receipt = await channels.pay(fromHex(channel), amount)
    await mail(to, 'receipt', receipt)
    const state = await channels.state(fromHex(channel))
    return `paid ${amountText(amount)} to ${who(to)} by receipt (${receipt.length} bytes; ${amountText(state.paid)} of ${amountText(state.deposit)} so far)`
  })
  action('channel-redeem', async () => {
    let total = 0
    for (const id of await channels.incoming.list()) total += (await channels.incoming.redeem(id)).reduce((n, b) => n + ((b.payload as { amount?: number }).amount ?? 0), 0)
    return `redeemed ${amountText(total)} from the channels paying this wallet`
  })
  const showIncoming = async () => {
    let paid = 0
    const parts: string[] = []
    for (const id of await channels.incoming.list()) {
      const s = await channels.incoming.state(id)
      paid += s.paid
      parts.push(`${who(toHex(s.payer))}: ${amountText(s.paid)} of ${amountText(s.deposit)}`)
    }
    $('incoming').textContent = parts.length === 0 ? 'none' : parts.join('; ')
    $('incoming').dataset.paid = String(paid)
  }
  const checkMail = async () => {
    for (const m of await api<{ from: string; kind: string; data: string }[]>(`/api/mail?to=${wallet.publicKeyHex}`)) {
      try {
        if (m.kind === 'lock') {
          const blocks = splitFramed(fromHex(m.data)).map(decodeBlock)
          const s = await channels.incoming.admit(blocks.at(-1)!, blocks.slice(0, -1))
          view.log(`${who(m.from)} opened a channel to this wallet: ${amountText(s.deposit)} locked`)
        } else {
          const before = await Promise.all((await channels.incoming.list()).map((id) => channels.incoming.state(id).then((s) => s.paid)))
          await channels.incoming.accept(fromHex(m.data))
          const after = await Promise.all((await channels.incoming.list()).map((id) => channels.incoming.state(id).then((s) => s.paid)))
          const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
          view.log(`receipt from ${who(m.from)} accepted: ${amountText(sum(after) - sum(before))}`)
        }
      } catch (err) {
        const e = err as { reason?: string; message?: string }
        view.log(`✗ ${m.kind} from ${who(m.from)} refused: ${e.message ?? String(err)}${e.reason !== undefined ? ` [${e.reason}]` : ''}`)
      }
      await showIncoming()
    }
  }
  const poll = () => void checkMail().catch(() => undefined).finally(() => setTimeout(poll, 300))
  poll()
  await showIncoming()

  await refresh()
  document.body.dataset.ready = 'true'
}

/** Blocks in one byte string: each as a 4-byte big-endian length and its bytes. */
function concatFramed(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0))
  const view = new DataView(out.buffer)
  let at = 0
  for (const p of parts) {
    view.setUint32(at, p.length)
    out.set(p, at + 4)
    at += 4 + p.length
  }
  return out
}

function splitFramed(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; ) {
    if (at + 4 > bytes.length) throw new RangeError('a framed block is cut short')
    const n = view.getUint32(at)
    if (at + 4 + n > bytes.length) throw new RangeError('a framed block is cut short')
    out.push(bytes.subarray(at + 4, at + 4 + n))
    at += 4 + n
  }
  return out
}

main().catch((err) => {
  view.status('error', (err as Error)?.message ?? String(err))
  view.log(`✗ ${(err as Error)?.stack ?? String(err)}`)
})
