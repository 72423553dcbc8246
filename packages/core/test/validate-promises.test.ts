/**
 * Every validate suite again, over stores that answer only with promises (as LevelDB and
 * IndexedDB do). Validation reads a memory store at once and any other store through its async
 * reads: both ways must give the same verdicts, proofs and agent behaviour.
 */
process.env['TALLY_TEST_PROMISE_STORE'] = '1'
await import('./validate.test.ts')
