// The wallet page: plain TypeScript and the DOM, bundled by esbuild (main.ts does it at start).
// `?wallet=<name>` picks which wallet of this browser profile the tab shows (its key, chain and
// evidence live in IndexedDB under that name), so two tabs can be two wallets.
import { fromHex, toHex } from '@tally/core'
import { createCommunity, decodeSignedConfig, type Community } from '@tally/economy'
import { createBrowserIdentity, createBrowserWallet, openBrowserIdentity, openIdbStore, type BrowserWallet, type HistoryEntry } from '@tally/browser'

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
  tr.dataset.kind = h.kind
  const what = h.kind === 'reward' ? `reward, epoch ${h.epoch}` : h.kind === 'sent' ? `sent to ${who(h.counterparty)} (${h.status})` : h.kind === 'received' ? `received from ${who(h.counterparty)}` : h.kind
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
  await refresh()
  document.body.dataset.ready = 'true'
}

main().catch((err) => {
  view.status('error', (err as Error)?.message ?? String(err))
  view.log(`✗ ${(err as Error)?.stack ?? String(err)}`)
})
