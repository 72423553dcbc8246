/**
 * The monitor with a worker-thread verifier: a batch's signatures are checked on every worker,
 * verdicts come back in input order, and forged reports are still refused.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createMonitor, signReport } from '@tally/economy'
import { alice, bob, component, world } from './helpers.ts'
import { createWorkerVerifier } from './worker-verifier.ts'

const Pool = suite('monitor: worker pool')

Pool('signatures checked on two workers; forged reports refused in place', async () => {
  const w = world([[alice, component(1)], [bob, component(2)]])
  const pool = createWorkerVerifier(2)
  try {
    const monitor = createMonitor({ directory: w.directory, epoch: 0, verify: pool.verify })
    const reports = Array.from({ length: 40 }, (_, i) => {
      const comp = component(1 + (i % 2))
      const bytes = signReport({ component: comp.publicKey, epoch: 0, seq: i, metrics: [1_000, 1] }, comp, w.community.id)
      if (i % 10 === 7) bytes[bytes.length - 1]! ^= 1
      return bytes
    })
    const verdicts = await monitor.ingest(reports)
    assert.equal(verdicts.map((v, i) => v.ok || `${i}:${(v as { code: string }).code}`).filter((x) => x !== true), ['7:signature', '17:signature', '27:signature', '37:signature'])
    assert.ok(pool.jobs.every((n) => n === 1), `each worker got one slice: ${pool.jobs}`)
    const sums = monitor.close()
    assert.equal([sums.reports[0], sums.reports[1]], [20, 16], "the forged reports were all of component 2")
  } finally {
    await pool.close()
  }
})

Pool.run()
