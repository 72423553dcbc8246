// The example's web server: serves the wallet page (page.ts bundled by esbuild at start) and a
// small JSON API, and runs the community (network.ts) with its gateway node on the same port, at
// ws://127.0.0.1:<port>/gateway.
//
//   GET  /api/network            the community's signed configuration, the gateway, the witnesses
//   GET  /api/directory          wallets that said their name: [{ key, name }]
//   POST /api/name               { key, name }: a demo directory, so pages can pick whom to pay
//   POST /api/device             { owner }: a new device key and the registration digest to sign
//   POST /api/device/register    { component, signature }: register it (the owner's signature),
//                                report its airtime in the open epoch
//   POST /api/epoch/close        the witnesses close the open epoch (a demo shortcut: a real
//                                community closes epochs on a schedule)
//   POST /api/mail               { to, from, kind, data }: bytes for another page (a channel's lock
//                                and the chain below it, a receipt) — a stand-in for any link
//                                (NFC, a QR code, a message); the server only passes them on
//   GET  /api/mail?to=<key>      the bytes waiting for that page (taken once)
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { build } from 'esbuild'
import { fromHex } from '@tally/core'
import { startNetwork, type Network } from './network.ts'

/** A running example. */
export interface Example {
  /** The page's address: open `${url}?wallet=alice`. */
  readonly url: string
  readonly network: Network
  close(): Promise<void>
}

const MAX_BODY = 4096
/** A mail body: a lock with the chain below it is a few blocks of about 300 bytes (hex: twice). */
const MAX_MAIL_BODY = 64 * 1024
/** Mails waiting per page, and pages with mail waiting, at most. */
const MAX_MAILS = 64
const HEX32 = /^[0-9a-f]{64}$/
const NAME = /^[a-z0-9-]{1,32}$/i

/**
 * Bundle the page, start the HTTP server on 127.0.0.1 and the community behind it.
 * @param options port (default 0: any free one), log, page (module text served as /page.js instead of page.ts)
 */
export async function startExample(options: { port?: number; log?: (line: string) => void; page?: { contents: string; resolveDir: string } } = {}): Promise<Example> {
  const log = options.log ?? (() => undefined)
  const here = import.meta.dirname
  // another page script in place of page.ts: the @tally/browser README's wallet sample, in its test
  const entry = options.page === undefined ? { entryPoints: [join(here, 'page.ts')] } : { stdin: { ...options.page, loader: 'ts' as const } }
  const bundle = await build({ ...entry, bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' })
  const script = bundle.outputFiles[0]!.text
  const html = readFileSync(join(here, 'index.html'), 'utf8')
  const names = new Map<string, string>()
  const mail = new Map<string, { from: string; kind: string; data: string }[]>()
  let network: Network | undefined

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const caller = err instanceof BadRequest || err instanceof RangeError || err instanceof TypeError
      reply(res, caller ? 400 : 500, { error: (err as Error)?.message ?? String(err) })
    })
  })
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    const net = network
    if (net === undefined) return reply(res, 503, { error: 'starting' })
    if (req.method === 'GET' && path === '/') return send(res, 200, 'text/html; charset=utf-8', html)
    if (req.method === 'GET' && path === '/page.js') return send(res, 200, 'text/javascript; charset=utf-8', script)
    if (req.method === 'GET' && path === '/api/network') return reply(res, 200, net.info())
    if (req.method === 'GET' && path === '/api/directory') return reply(res, 200, [...names].map(([key, name]) => ({ key, name })))
    if (req.method === 'GET' && path === '/api/mail') {
      const to = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('to') ?? ''
      if (!HEX32.test(to)) throw new BadRequest('"to" expected a key in hex')
      const waiting = mail.get(to) ?? []
      mail.delete(to)
      return reply(res, 200, waiting)
    }
    if (req.method !== 'POST') return reply(res, 404, { error: 'not found' })
    const body = await readJson(req, path === '/api/mail' ? MAX_MAIL_BODY : MAX_BODY)
    if (path === '/api/mail') {
      const to = field(body, 'to', HEX32)
      const item = { from: field(body, 'from', HEX32), kind: field(body, 'kind', /^(lock|receipt)$/), data: field(body, 'data', /^[0-9a-f]{2,60000}$/) }
      const box = mail.get(to) ?? []
      if (box.length >= MAX_MAILS || (!mail.has(to) && mail.size >= MAX_MAILS)) return reply(res, 429, { error: 'too much mail waiting' })
      box.push(item)
      mail.set(to, box)
      return reply(res, 200, { ok: true })
    }
    if (path === '/api/name') {
      const key = field(body, 'key', HEX32)
      const name = field(body, 'name', NAME)
      if (!names.has(key) && names.size >= 64) return reply(res, 429, { error: 'the demo directory is full' })
      names.set(key, name)
      return reply(res, 200, { ok: true })
    }
    if (path === '/api/device') return reply(res, 200, net.newDevice(fromHex(field(body, 'owner', HEX32))))
    if (path === '/api/device/register') {
      const r = await net.register(field(body, 'component', HEX32), fromHex(field(body, 'signature', /^[0-9a-f]{128}$/)))
      return reply(res, 200, r)
    }
    if (path === '/api/epoch/close') return reply(res, 200, await net.closeEpoch())
    return reply(res, 404, { error: 'not found' })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  network = await startNetwork({ server, gatewayAddress: `ws://127.0.0.1:${port}/gateway`, log })
  return {
    url: `http://127.0.0.1:${port}/`,
    network,
    async close() {
      await network?.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

// ## Private helpers

class BadRequest extends Error {}

function field(body: unknown, name: string, pattern: RegExp): string {
  const value = (body as Record<string, unknown> | null)?.[name]
  if (typeof value !== 'string' || !pattern.test(value)) throw new BadRequest(`"${name}" expected ${pattern.source}`)
  return value
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > max) throw new BadRequest(`a body over ${max} bytes`)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
  } catch {
    throw new BadRequest('the body is not JSON')
  }
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value))
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) return
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}
