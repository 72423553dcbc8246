// Not a group: sampled allocation profile of a whole run, objects the collector freed included
// (node's --heap-prof keeps only what is still alive at exit, which hides short-lived garbage).
// Load it before a profiling script; at exit it writes a .heapprofile (open it in Chrome DevTools,
// Memory → Load, or sum selfSize by function).
//
// Run: ALLOC_OUT=/tmp/prof/ingest.heapprofile node --import tsx --import ./bench/_alloc-hook.mjs bench/_ingest-profile.ts 20000 free 3
// ALLOC_INTERVAL: mean bytes between samples (default 8192).
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

const session = new Session()
session.connect()
session.post('HeapProfiler.enable')
session.post('HeapProfiler.startSampling', {
  samplingInterval: Number(process.env['ALLOC_INTERVAL'] ?? 8192),
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
})
process.on('exit', () => {
  // an in-thread session answers at once, so this runs before the process ends
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) throw err
    writeFileSync(process.env['ALLOC_OUT'] ?? 'alloc.heapprofile', JSON.stringify(result.profile))
  })
})
