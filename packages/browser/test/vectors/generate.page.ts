// The page that test/vectors/generate.ts runs: write the vectors into a fresh store, dump it.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { openIdbStore } from '../../src/index.js'
import { writeVectors } from '../page/golden.js'
import { dumpDatabase } from '../page/idb-dump.js'
import { out, serve } from '../page/harness.js'

serve({
  dump() {
    const test = suite('golden fixture')
    test('write core-v1 vectors into a new IndexedDB store and dump it', async () => {
      const store = await openIdbStore({ name: 'golden' })
      const stored = await writeVectors(store)
      await store.close()
      assert.ok(stored.length > 0)
      out.dump = await dumpDatabase('golden')
    })
    test.run()
  },
})
