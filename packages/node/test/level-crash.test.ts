// The LevelDB store survives SIGKILL at random moments: 20 kills of a process appending to one
// chain, each followed by recovery checks (see fixtures/crash-trials.ts; 120 kills in
// level-crash.slow.ts).
import { crashSuite } from './fixtures/crash-trials.js'

crashSuite('level store: SIGKILL while appending (20 kills)', 20, 10)
