// In Chromium: browser identities. WebCrypto Ed25519 signs byte for byte as core's noble provider;
// keys cannot be exported; the recovery phrase restores the same key, which is not "new"; one
// signer at a time; a reload keeps keys and chain (phases persist-write, persist-read).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { openDB } from 'idb'
import {
  blockHash,
  createAgent,
  createBlockTypes,
  createMemoryStore,
  decodeBlock,
  encodeBlock,
  fromHex,
  identityFromSeed,
  isNewIdentity,
  nobleCrypto,
  signBlock,
  toHex,
  validate,
  verifyBlock,
  type HalfBlock,
  type HeadSource,
} from '@tally/core'
import vectors from '../../../../test/vectors/core-v1.json' with { type: 'json' }
import {
  createBrowserIdentity,
  deleteBrowserIdentity,
  normalizePhrase,
  openBrowserIdentity,
  openIdbStore,
  restoreBrowserIdentity,
  seedFromPhrase,
  webCryptoEd25519,
  type BrowserIdentity,
} from '../../src/index.js'
import { importSigningKey } from '../../src/webcrypto-ed25519.js'
import { out, serve } from './harness.js'

const types = createBlockTypes([{ name: 'note' }])
let counter = 0
const fresh = (prefix: string) => `${prefix}-${++counter}`
const utf8 = (s: string) => new TextEncoder().encode(s)

async function failure(p: Promise<unknown>): Promise<{ name?: string; code?: string; reason?: string; message?: string } | undefined> {
  try {
    await p
    return undefined
  } catch (err) {
    return err as { name?: string; code?: string; reason?: string; message?: string }
  }
}

/** The raw record of a stored identity, as any script on the origin could read it. */
async function rawRecord(database: string, label: string): Promise<{ key?: CryptoKey; seed?: Uint8Array; publicKey: Uint8Array; backend: string }> {
  const db = await openDB(database)
  try {
    return await db.get('identities', label)
  } finally {
    db.close()
  }
}

// RFC 8032 §7.1, tests 1–3: seed, public key, message, signature.
const RFC8032 = [
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82', '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
] as const

// The derivation pinned: computed once with node:crypto alone (PBKDF2-HMAC-SHA512 over the phrase
// with salt "mnemonic", then SHA-256 over 0x76 ‖ "tally/v1/recovery-seed" ‖ that), and checked
// below again with WebCrypto alone.
const PHRASE = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
const PHRASE_SEED = '42d4554a4fa93f60c27566579c6a3ef6e0cfa333a958acc585cefff57d4be39b'
const PHRASE_PUBLIC_KEY = '52a69a1fce91b1443393f72e92697d32d332787fcb79021e6c15b55004f18ad8'

function sameSignatures(): void {
  const test = suite('WebCrypto Ed25519 = noble, byte for byte')

  test('Chromium signs Ed25519 in WebCrypto', async () => {
    assert.is(await webCryptoEd25519(), true)
  })

  test('RFC 8032 §7.1 vectors: a non-extractable WebCrypto key gives the pinned signatures', async () => {
    for (const [seed, publicKey, message, signature] of RFC8032) {
      const key = await importSigningKey(fromHex(seed), nobleCrypto.signingKey(fromHex(seed)).publicKey)
      assert.is(toHex(key.publicKey), publicKey)
      assert.is(toHex(await key.sign(fromHex(message))), signature)
    }
  })

  test("core-v1 vectors: every block signed through a WebCrypto identity is the pinned block", async () => {
    for (const v of vectors.blocks) {
      const seed = fromHex(vectors.identities.find((i) => i.name === v.signer)!.seed)
      const key = await importSigningKey(seed, nobleCrypto.signingKey(seed).publicKey)
      const pinned = decodeBlock(fromHex(v.encoded))
      const { signature: _, ...fields } = pinned
      const signed = await signBlock(fields, key)
      assert.is(toHex(encodeBlock(signed)), v.encoded, v.name)
      assert.is(toHex(blockHash(signed)), v.hash, v.name)
    }
  })

  test('any seed, any message: WebCrypto and noble give the same signature, and noble verifies it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), async (seed, message) => {
        const noble = nobleCrypto.signingKey(seed)
        const key = await importSigningKey(seed, noble.publicKey)
        const signature = await key.sign(message)
        assert.is(toHex(signature), toHex(noble.sign(message)))
        assert.ok(nobleCrypto.verify(signature, message, noble.publicKey))
      }),
      { numRuns: 60 },
    )
  })

  test.run()
}

function keys(): void {
  const test = suite('keys that cannot be exported')

  test('a created identity is kept as a non-extractable CryptoKey; exportKey refuses every format', async () => {
    const database = fresh('keys')
    const { identity } = await createBrowserIdentity({ database })
    assert.is(identity.backend, 'webcrypto')
    const record = await rawRecord(database, 'default')
    assert.ok(record.key instanceof CryptoKey)
    assert.is(record.seed, undefined, 'no seed is stored')
    assert.is(record.key!.extractable, false)
    assert.equal([...record.key!.usages], ['sign'])
    for (const format of ['pkcs8', 'jwk', 'raw'] as const) {
      const err = await failure(crypto.subtle.exportKey(format, record.key!))
      assert.ok(err !== undefined, `exportKey('${format}') must reject`)
      assert.is(err!.name, 'InvalidAccessError', format)
    }
    // and the key read from IndexedDB still signs for the identity
    const message = utf8('still mine')
    const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', record.key!, message))
    assert.ok(nobleCrypto.verify(signature, message, identity.publicKey))
    await identity.close()
  })

  test('the identity signs asynchronously, verifies and hashes on noble, and shows only its public key', async () => {
    const { identity } = await createBrowserIdentity({ database: fresh('keys') })
    await identity.whenSigner()
    const signing = identity.sign(utf8('m'))
    assert.ok(signing instanceof Promise)
    assert.ok(identity.crypto.verify(await signing, utf8('m'), identity.publicKey))
    assert.is(identity.crypto, nobleCrypto)
    assert.is(isNewIdentity(identity), false)
    assert.is(identity.origin, 'created')
    assert.is(String(identity), `BrowserIdentity(${identity.publicKeyHex}, webcrypto)`)
    assert.equal(JSON.parse(JSON.stringify(identity)), { publicKey: identity.publicKeyHex, label: 'default', backend: 'webcrypto' })
    await identity.close()
  })

  test('the noble fallback: same phrase, same key and signatures; its record keeps the seed (weaker)', async () => {
    const webcrypto = await restoreBrowserIdentity(PHRASE, { database: fresh('keys') })
    const database = fresh('keys')
    const noble = await restoreBrowserIdentity(PHRASE, { database, backend: 'noble', lock: true })
    assert.is(noble.backend, 'noble')
    assert.is(noble.publicKeyHex, webcrypto.publicKeyHex)
    await webcrypto.whenSigner()
    // the same key in two databases: one lock, so the noble one signs once the other closes
    await webcrypto.close()
    await noble.whenSigner()
    const message = utf8('fallback')
    const n = await noble.sign(message)
    assert.is(toHex(n), toHex(identityFromSeed(fromHex(PHRASE_SEED)).sign(message)))
    const record = await rawRecord(database, 'default')
    assert.is(record.key, undefined)
    assert.is(toHex(record.seed!), PHRASE_SEED)
    await noble.close()
  })

  test('create refuses a label that is taken; delete forgets the identity', async () => {
    const database = fresh('keys')
    const { identity } = await createBrowserIdentity({ database, label: 'me' })
    const err = await failure(createBrowserIdentity({ database, label: 'me' }))
    assert.is(err?.code, 'ERR_REFUSED')
    assert.is(err?.reason, 'identity-exists')
    assert.is((await openBrowserIdentity({ database, label: 'me', lock: false }))?.publicKeyHex, identity.publicKeyHex)
    assert.is(await deleteBrowserIdentity({ database, label: 'me' }), true)
    assert.is(await openBrowserIdentity({ database, label: 'me' }), undefined)
    assert.is(await deleteBrowserIdentity({ database, label: 'me' }), false)
    await identity.close()
  })

  test('bad options and phrases are refused naming the argument', async () => {
    const cases: [Promise<unknown>, string, RegExp][] = [
      [createBrowserIdentity({ label: '' }), 'TypeError', /"label"/],
      [createBrowserIdentity({ words: 13 as 12 }), 'RangeError', /"words"/],
      [createBrowserIdentity({ backend: 'rsa' as 'noble' }), 'RangeError', /"backend"/],
      [restoreBrowserIdentity(42 as unknown as string), 'TypeError', /"phrase"/],
      [restoreBrowserIdentity('legal winner thank'), 'RangeError', /"phrase" expected 12 or 24 words/],
      [restoreBrowserIdentity(PHRASE.replace('wave', 'wavy')), 'RangeError', /word 5 is not in the BIP-39/],
      [restoreBrowserIdentity(PHRASE.replace('yellow', 'legal')), 'RangeError', /checksum/],
      [openBrowserIdentity({ lock: 'yes' as unknown as boolean }), 'TypeError', /"lock"/],
    ]
    for (const [p, name, message] of cases) {
      const err = await failure(p)
      assert.is(err?.name, name, String(message))
      assert.match(err!.message!, message)
    }
  })

  test.run()
}

function phrase(): void {
  const test = suite('recovery phrase')

  test('the derivation is the pinned one, and WebCrypto alone computes the same', async () => {
    assert.is(toHex(await seedFromPhrase(PHRASE)), PHRASE_SEED)
    // independent: PBKDF2 and SHA-256 from WebCrypto, the tag written out by hand
    const pbkdf2 = await crypto.subtle.importKey('raw', utf8(PHRASE.normalize('NFKD')), 'PBKDF2', false, ['deriveBits'])
    const bip39 = new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt: utf8('mnemonic'), iterations: 2048 }, pbkdf2, 512))
    const tag = new Uint8Array([0x76, ...utf8('tally/v1/recovery-seed')])
    const seed = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array([...tag, ...bip39])))
    assert.is(toHex(seed), PHRASE_SEED)
    assert.is(identityFromSeed(seed).publicKeyHex, PHRASE_PUBLIC_KEY)
  })

  test('case and spacing do not matter', async () => {
    const messy = `  ${PHRASE.toUpperCase().split(' ').join('   ')}\n`
    assert.is(normalizePhrase(messy), PHRASE)
    assert.is((await restoreBrowserIdentity(messy, { database: fresh('keys'), lock: false })).publicKeyHex, PHRASE_PUBLIC_KEY)
  })

  test('a created identity is restored from its phrase, with the same key, on another device', async () => {
    const { identity, phrase } = await createBrowserIdentity({ database: fresh('device-1'), words: 24 })
    assert.is(phrase.split(' ').length, 24)
    const restored = await restoreBrowserIdentity(phrase, { database: fresh('device-2') })
    assert.is(restored.publicKeyHex, identity.publicKeyHex)
    assert.is(restored.origin, 'restored')
    assert.is(isNewIdentity(restored), false)
    await identity.close()
    await restored.whenSigner()
    const message = utf8('same key')
    assert.ok(nobleCrypto.verify(await restored.sign(message), message, identity.publicKey))
    await restored.close()
  })

  test('restored: the agent refuses to sign until it knows its head, then recovers it from peers and signs the next seq', async () => {
    const { identity, phrase } = await createBrowserIdentity({ database: fresh('device-1') })
    // the chain as the peers hold it: three blocks, signed on the first device
    const peers = createMemoryStore()
    const first = createAgent({ identity, store: peers, types, head: 'local' })
    for (let i = 1; i <= 3; i++) await first.append('note', `first device ${i}`)
    await identity.close()

    const restored = await restoreBrowserIdentity(phrase, { database: fresh('device-2') })
    await restored.whenSigner()
    const store = await openIdbStore({ name: fresh('device-2-chain') })
    const blind = createAgent({ identity: restored, store, types })
    const refused = await failure(blind.append('note', 'too early'))
    assert.is(refused?.code, 'ERR_HEAD_UNKNOWN')
    assert.is(await store.latest(restored.publicKey), undefined, 'nothing was signed')

    const source: HeadSource = {
      head: async (key) => peers.latest(key),
      fetch: async (key, start, end) => peers.range(key, { from: start, to: end }),
    }
    const agent = createAgent({ identity: restored, store, types, head: source })
    const next = await agent.append('note', 'restored device')
    assert.is(next.seq, 4)
    assert.ok(verifyBlock(next))
    assert.is((await validate(next, { store, types })).level, 'partial-next')
    assert.is(toHex(next.previousHash), toHex(blockHash((await peers.latest(restored.publicKey))!)))
    await store.close()
    await restored.close()
  })

  test('restoring the phrase of the identity already stored opens it; another identity is not overwritten', async () => {
    const database = fresh('keys')
    const { identity, phrase } = await createBrowserIdentity({ database })
    const again = await restoreBrowserIdentity(phrase, { database, lock: false })
    assert.is(again.publicKeyHex, identity.publicKeyHex)
    assert.is(again.origin, 'created', 'the stored record is kept as it was')
    const err = await failure(restoreBrowserIdentity(PHRASE, { database }))
    assert.is(err?.reason, 'identity-exists')
    assert.is((await openBrowserIdentity({ database, lock: false }))?.publicKeyHex, identity.publicKeyHex)
    await identity.close()
  })

  test.run()
}

function lock(): void {
  const test = suite('one signer per identity (Web Locks)')

  test('two opens of one identity (as two tabs): only the lock holder signs; the other is refused, then signs when the holder closes', async () => {
    const database = fresh('keys')
    const { identity: a } = await createBrowserIdentity({ database })
    await a.whenSigner()
    const b = (await openBrowserIdentity({ database }))!
    assert.is(a.role, 'signer')
    assert.is(b.role, 'follower')
    const err = await failure(b.sign(utf8('not yet')))
    assert.is(err?.code, 'ERR_REFUSED')
    assert.is(err?.reason, 'not-signer')
    assert.match(err!.message!, /another tab of this browser is the signer/)
    let bSigns = false
    const becoming = b.whenSigner().then(() => (bSigns = true))
    const signature = await a.sign(utf8('mine'))
    assert.ok(nobleCrypto.verify(signature, utf8('mine'), a.publicKey))
    assert.is(bSigns, false)
    await a.close()
    await becoming
    assert.is(a.role, 'closed')
    assert.is(b.role, 'signer')
    assert.is((await failure(a.sign(utf8('closed'))))?.code, 'ERR_CLOSED')
    assert.ok(nobleCrypto.verify(await b.sign(utf8('now')), utf8('now'), b.publicKey))
    await b.close()
  })

  test('close releases the lock only after the signatures in flight', async () => {
    const database = fresh('keys')
    const { identity: a } = await createBrowserIdentity({ database })
    await a.whenSigner()
    const b = (await openBrowserIdentity({ database }))!
    const order: string[] = []
    const signing = Array.from({ length: 5 }, (_, i) => a.sign(utf8(`m${i}`)).then(() => order.push(`a${i}`)))
    const closing = a.close()
    const taking = b.whenSigner().then(() => order.push('b'))
    await Promise.all([...signing, closing, taking])
    assert.equal(order, ['a0', 'a1', 'a2', 'a3', 'a4', 'b'])
    await b.close()
  })

  test('lock: false never signs; closing a follower leaves the line', async () => {
    const database = fresh('keys')
    const { identity: a } = await createBrowserIdentity({ database })
    await a.whenSigner()
    const reader = (await openBrowserIdentity({ database, lock: false }))!
    assert.is((await failure(reader.whenSigner()))?.code, 'ERR_CLOSED')
    assert.is((await failure(reader.sign(utf8('x'))))?.reason, 'not-signer')
    const waiting = (await openBrowserIdentity({ database }))!
    const gaveUp = failure(waiting.whenSigner())
    await waiting.close()
    assert.is((await gaveUp)?.code, 'ERR_CLOSED')
    assert.is(waiting.role, 'closed')
    // a third one still gets the lock after a: the closed follower is out of the line
    const third = (await openBrowserIdentity({ database }))!
    await a.close()
    await third.whenSigner()
    assert.is(third.role, 'signer')
    await third.close()
  })

  test.run()
}

// ## Reload: the page is reloaded between these two phases

const PERSIST = { database: 'persist-keys', label: 'persisted', chain: 'persist-chain' }

function persistWrite(): void {
  const test = suite('before the reload')
  test('create an identity and sign a chain of three blocks', async () => {
    const { identity } = await createBrowserIdentity({ database: PERSIST.database, label: PERSIST.label })
    await identity.whenSigner()
    const store = await openIdbStore({ name: PERSIST.chain })
    const agent = createAgent({ identity, store, types, head: 'local' })
    const blocks: HalfBlock[] = []
    for (let i = 1; i <= 3; i++) blocks.push(await agent.append('note', `before reload ${i}`))
    assert.is(blocks.at(-1)!.seq, 3)
    out.publicKey = identity.publicKeyHex
    out.head = toHex(blockHash(blocks.at(-1)!))
    // the page is reloaded without closing anything, as a user would
  })
  test.run()
}

function persistRead(params: Record<string, unknown>): void {
  const test = suite('after the reload')
  let identity: BrowserIdentity | undefined
  test('the identity is still there, with the same key, still not extractable', async () => {
    identity = await openBrowserIdentity({ database: PERSIST.database, label: PERSIST.label })
    assert.ok(identity !== undefined)
    assert.is(identity.publicKeyHex, params.publicKey)
    assert.is(identity.backend, 'webcrypto')
    const record = await rawRecord(PERSIST.database, PERSIST.label)
    assert.is(record.key!.extractable, false)
    assert.ok((await failure(crypto.subtle.exportKey('jwk', record.key!))) !== undefined)
  })
  test('the chain is still there, and the reloaded tab (the signer now) continues it', async () => {
    await identity!.whenSigner()
    const store = await openIdbStore({ name: PERSIST.chain })
    const chain = await store.range(identity!.publicKey)
    assert.equal(chain.map((b) => b.seq), [1, 2, 3])
    assert.is(toHex(blockHash(chain[2]!)), params.head)
    const agent = createAgent({ identity: identity!, store, types })
    const next = await agent.append('note', 'after reload')
    assert.is(next.seq, 4)
    assert.is(toHex(next.previousHash), params.head)
    assert.is((await validate(next, { store, types })).level, 'partial-next')
    await store.close()
    await identity!.close()
  })
  test.run()
}

serve({
  identity() {
    sameSignatures()
    keys()
    phrase()
    lock()
  },
  'persist-write': persistWrite,
  'persist-read': persistRead,
})
