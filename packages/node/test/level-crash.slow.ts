// The long version of level-crash.test.ts: 120 kills on one store directory (TALLY_SLOW=1).
import { crashSuite } from './fixtures/crash-trials.js'

crashSuite('level store: SIGKILL while appending (120 kills)', 120, 25)
