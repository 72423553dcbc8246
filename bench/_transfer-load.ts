// Not a group (the name starts with '_'): what the transaction profiles (_tx-profile.ts,
// _tx-overhead.ts) share: a 'transfer' type whose rule checks the payload's shape only, and the
// loop that keeps a number of transactions in flight between two agents.
import { createBlockTypes, type Agent, type BlockTypes, type CborValue } from '@tally/core'

/** A registry with one type, 'transfer': [amount, balance], non-negative safe integers. */
export function transferTypes(): BlockTypes {
  return createBlockTypes([{ name: 'transfer', validate: (block) => ({ errors: isTransfer(block.payload) ? [] : [{ rule: 'transfer-payload', message: 'bad' }] }) }])
}

/**
 * A function that runs `count` transactions from `a` to `b`, `width` in flight (each a
 * propose, agree and complete); the amounts differ from one transaction to the next across calls.
 */
export function inFlight(a: Agent, b: Agent, width: number): (count: number) => Promise<void> {
  let n = 0
  return async (count) => {
    let started = 0
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (started++ < count) {
          n++
          await a.complete(await b.agree(await a.propose(b.publicKey, 'transfer', [1 + (n % 60_000), 4_000_000_000 - n])))
        }
      }),
    )
  }
}

function isTransfer(payload: CborValue): boolean {
  return Array.isArray(payload) && payload.length === 2 && payload.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)
}
