/**
 * The 'balance', 'reward-claim' and 'refund-twice' kinds as a page gets them (fraud-kinds.browser.ts,
 * through the package's `browser` field): named at once, their verifiers loaded on demand, and
 * then the very verifiers Node registers at once. (The in-page test, packages/browser/test/
 * on-demand.test.ts, verifies proofs of them in Chromium.)
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { allFraudVerifiers, createBlockTypes } from '@tally/core'
import { BALANCE_FRAUD, REFUND_FRAUD, REWARD_CLAIM_FRAUD, economyTypes, verifyBalanceFraud, verifyRefundFraud, verifyRewardClaimFraud } from '@tally/economy'
// the built module, so that what it loads is the package's own (the same functions as @tally/economy's)
import { fraudKinds, fraudVerifier } from '../dist/fraud-kinds.browser.js'
import { evidence, w } from './lock-fixtures.ts'

const OnDemand = suite('economy fraud kinds: the browser\'s, verifiers on demand')

OnDemand('named at once, loaded on demand: the verifiers Node registers', async () => {
  const members = fraudKinds(BALANCE_FRAUD, REWARD_CLAIM_FRAUD, REFUND_FRAUD)
  assert.is(members.fraudKinds, undefined)
  assert.equal(Object.keys(members.fraudKindsOnDemand ?? {}).sort(), [BALANCE_FRAUD, REFUND_FRAUD, REWARD_CLAIM_FRAUD].sort())
  const types = createBlockTypes([{ name: 'note', ...members }])
  assert.is(types.fraudVerifiers().size, 0, 'nothing loaded at start')
  const loaded = await allFraudVerifiers(types)
  assert.is(loaded.get(BALANCE_FRAUD), verifyBalanceFraud)
  assert.is(loaded.get(REWARD_CLAIM_FRAUD), verifyRewardClaimFraud)
  assert.is(loaded.get(REFUND_FRAUD), verifyRefundFraud)
  assert.is(await fraudVerifier(BALANCE_FRAUD), verifyBalanceFraud)
  const unknown = await fraudVerifier('no-such-kind').then(() => undefined, (err: Error) => err)
  assert.instance(unknown, RangeError)
})

OnDemand('Node\'s economy types register the same kinds with their verifiers at once', () => {
  const verifiers = createBlockTypes(economyTypes({ community: w.community, evidence })).fraudVerifiers()
  assert.is(verifiers.get(BALANCE_FRAUD), verifyBalanceFraud)
  assert.is(verifiers.get(REWARD_CLAIM_FRAUD), verifyRewardClaimFraud)
  assert.is(verifiers.get(REFUND_FRAUD), verifyRefundFraud)
})

OnDemand.run()
