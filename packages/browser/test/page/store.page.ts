// In Chromium: the IndexedDB store passes core's BlockStore compliance suite, and keeps its
// format: schema version, format record, the golden fixture, strict durability, commits across tabs.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { deleteDB, openDB } from 'idb'
import { blockHash, createAgent, createBlockTypes, createMemoryStore, equalBytes, generateIdentity, toHex, validate, type HalfBlock } from '@tally/core'
import { storeSuite } from '@tally/core/testing'
import { IDB_STORE_VERSION, openIdbStore, type IdbStore, type StoreChange } from '../../src/index.js'
import fixture from '../vectors/idb-v1.json' with { type: 'json' }
import { vectorBlocks, vectorProofs, writeVectors } from './golden.js'
import { dumpDatabase, loadDatabase, toJson, type Dump } from './idb-dump.js'
import { serve } from './harness.js'

let counter = 0
const fresh = (prefix: string) => `${prefix}-${++counter}`

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
    return undefined
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
}

const sameBlock = (a: HalfBlock | undefined, b: HalfBlock) => a !== undefined && toHex(blockHash(a)) === toHex(blockHash(b)) && equalBytes(a.signature, b.signature)

function compliance(): void {
  storeSuite('indexeddb', {
    setup: () => openIdbStore({ name: fresh('suite') }),
    teardown: async (store) => {
      await store.close()
      await deleteDB((store as IdbStore).name)
    },
    reopen: (closed) => openIdbStore({ name: (closed as IdbStore).name }),
  })
}

function format(): void {
  const test = suite('IndexedDB format')

  test('a new database is schema version 1 with its format record', async () => {
    const name = fresh('new')
    await (await openIdbStore({ name })).close()
    const db = await openDB(name)
    assert.is(db.version, IDB_STORE_VERSION)
    assert.equal([...db.objectStoreNames].sort(), ['blocks', 'meta', 'proofs'])
    assert.equal(await db.get('meta', 'format'), { format: 'tally-blocks', version: 1 })
    db.close()
  })

  test('a database written by a newer version is refused with StoreVersionError and left as it was', async () => {
    const name = fresh('newer')
    const db = await openDB(name, 2, {
      upgrade(db) {
        db.createObjectStore('meta').put({ format: 'tally-blocks', version: 2 }, 'format')
        db.createObjectStore('blocks-v2')
      },
    })
    db.close()
    assert.is(await codeOf(openIdbStore({ name })), 'ERR_STORE_VERSION')
    const again = await openDB(name)
    assert.is(again.version, 2)
    assert.equal([...again.objectStoreNames].sort(), ['blocks-v2', 'meta'])
    again.close()
  })

  test("another application's database of the same name is refused and left as it was", async () => {
    for (const version of [1, 3]) {
      const name = fresh('foreign')
      const db = await openDB(name, version, { upgrade: (db) => void db.createObjectStore('stuff').put('hello', 'k') })
      db.close()
      assert.is(await codeOf(openIdbStore({ name })), 'ERR_STORE_VERSION', `version ${version}`)
      const again = await openDB(name)
      assert.equal([...again.objectStoreNames], ['stuff'])
      assert.is(await again.get('stuff', 'k'), 'hello')
      again.close()
    }
    // a Tally database of another kind (the key store) is not a block store either
    const keys = fresh('keys')
    const db = await openDB(keys, 1, { upgrade: (db) => void db.createObjectStore('meta').put({ format: 'tally-keys', version: 1 }, 'format') })
    db.close()
    assert.is(await codeOf(openIdbStore({ name: keys })), 'ERR_STORE_VERSION')
  })

  test('golden: the version-1 fixture, written below the store, reads back every vector', async () => {
    const name = fresh('golden-read')
    await loadDatabase(name, fixture.database as Dump)
    const store = await openIdbStore({ name })
    const kept = vectorBlocks.filter((b, i) => vectorBlocks.findIndex((o) => equalBytes(o.publicKey, b.publicKey) && o.seq === b.seq) === i)
    assert.ok(kept.length >= 5 && kept.length < vectorBlocks.length, 'the fork is not among the stored blocks')
    for (const b of kept) {
      assert.ok(sameBlock(await store.get(b.publicKey, b.seq), b), `get ${b.seq}`)
      assert.ok(sameBlock(await store.getByHash(blockHash(b)), b), `getByHash ${b.seq}`)
    }
    for (const key of new Set(kept.map((b) => toHex(b.publicKey)))) {
      const chain = kept.filter((b) => toHex(b.publicKey) === key).sort((a, b) => a.seq - b.seq)
      const got = await store.range(chain[0]!.publicKey)
      assert.equal(got.map((b) => b.seq), chain.map((b) => b.seq))
      assert.ok(sameBlock(await store.latest(chain[0]!.publicKey), chain.at(-1)!), 'latest')
    }
    // bob-1 and bob-2 both answer alice-2 (a double countersign): the lowest in bob's chain answers
    for (const agreement of kept.filter((b) => b.linkSeq > 0)) {
      const first = kept.filter((b) => b.linkSeq === agreement.linkSeq && equalBytes(b.linkPublicKey, agreement.linkPublicKey) && equalBytes(b.publicKey, agreement.publicKey)).sort((x, y) => x.seq - y.seq)[0]!
      assert.ok(sameBlock(await store.findAgreement(agreement.linkPublicKey, agreement.linkSeq, agreement.publicKey), first), `findAgreement for ${agreement.seq}`)
    }
    assert.is((await store.fraudProofs()).length, vectorProofs.length)
    for (const proof of vectorProofs) assert.ok(await store.hasFraud(proof.publicKey), 'hasFraud')
    assert.equal((await store.agents()).map(toHex).sort(), [...new Set(kept.map((b) => toHex(b.publicKey)))].sort())
    await store.close()
  })

  test('golden: this version writes exactly the fixture (schema, keys, values)', async () => {
    const name = fresh('golden-write')
    const store = await openIdbStore({ name })
    await writeVectors(store)
    await store.close()
    assert.equal(toJson(await dumpDatabase(name)), toJson(fixture.database))
  })

  test("every commit is a readwrite transaction with durability 'strict'", async () => {
    const seen: string[] = []
    const original = IDBDatabase.prototype.transaction
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
      const tx = original.apply(this, args)
      if (tx.mode === 'readwrite') seen.push(tx.durability)
      return tx
    } as IDBDatabase['transaction']
    try {
      const store = await openIdbStore({ name: fresh('durable') })
      const agent = createAgent({ identity: generateIdentity(), store, types: createBlockTypes([{ name: 'note' }]) })
      for (let i = 0; i < 3; i++) await agent.append('note', i)
      await store.close()
    } finally {
      IDBDatabase.prototype.transaction = original
    }
    assert.equal(seen, ['strict', 'strict', 'strict'])
  })

  test.run()
}

function tabs(): void {
  const test = suite('IndexedDB store shared by tabs')
  // Two connections to one database in one page behave as two tabs do: separate connections, and
  // BroadcastChannel objects that deliver to each other.

  test('a commit through one connection is heard by the other (watch) and read by it at once', async () => {
    const name = fresh('shared')
    const a = await openIdbStore({ name })
    const b = await openIdbStore({ name })
    const heard: StoreChange[] = []
    const local: StoreChange[] = []
    const arrived = new Promise<void>((resolve) => b.watch((change) => (heard.push(change), resolve())))
    a.watch((change) => local.push(change))
    const agent = createAgent({ identity: generateIdentity(), store: a, types: createBlockTypes([{ name: 'note' }]) })
    const block = await agent.append('note', 'hello')
    await arrived
    assert.is(heard.length, 1)
    assert.ok(equalBytes(heard[0]!.blocks[0]!.publicKey, block.publicKey))
    assert.is(heard[0]!.blocks[0]!.seq, 1)
    assert.is(local.length, 1, 'listeners in the committing tab hear it too')
    assert.ok(sameBlock(await b.latest(block.publicKey), block))
    await a.close()
    await b.close()
  })

  test('two connections racing for one slot: one block is stored, the other commit is refused', async () => {
    const name = fresh('race')
    const a = await openIdbStore({ name })
    const b = await openIdbStore({ name })
    const identity = generateIdentity()
    const types = createBlockTypes([{ name: 'note' }])
    // two blocks at seq 1 of one key, signed elsewhere: the race is between the two connections
    const [one, other] = await Promise.all([
      createAgent({ identity, store: createMemoryStore(), types }).append('note', 'one'),
      createAgent({ identity, store: createMemoryStore(), types }).append('note', 'other'),
    ])
    const codes = await Promise.all([codeOf(a.batch().put(one).commit()), codeOf(b.batch().put(other).commit())])
    assert.equal(codes.filter((c) => c === undefined).length, 1, `codes: ${codes.join(', ')}`)
    assert.equal(codes.filter((c) => c === 'ERR_CONFLICT').length, 1)
    const stored = await a.get(identity.publicKey, 1)
    assert.ok(sameBlock(stored, codes[0] === undefined ? one : other))
    assert.is((await validate(stored!, { store: b })).level !== 'invalid', true)
    await a.close()
    await b.close()
  })

  test.run()
}

serve({
  store() {
    compliance()
    format()
    tabs()
  },
})
