// The long version of crash-transaction.test.ts for `npm run test:slow`: 100 kills.
process.env['TALLY_TX_CRASH_TRIALS'] ??= '100'
await import('./crash-transaction.test.ts')
