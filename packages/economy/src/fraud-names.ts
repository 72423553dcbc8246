/**
 * The names of the economy's fraud kinds, in a module of their own so that naming a kind does not
 * load its verifier: a page names them at start and loads the verifiers on demand
 * (fraud-kinds.browser.ts, lock/lock-fraud-kinds.browser.ts).
 * @module
 */

/** The fraud kind of a balance that does not follow from the previous one (balance-fraud.ts). */
export const BALANCE_FRAUD = 'balance'
/** The fraud kind of two claims of one epoch, or a claim too late after another (reward-fraud.ts). */
export const REWARD_CLAIM_FRAUD = 'reward-claim'
/** The fraud kind of two refunds of one proposal (refund-fraud.ts). */
export const REFUND_FRAUD = 'refund-twice'

/** The fraud kind of a release that returns more than the lock minus what its owner vouched. */
export const RELEASE_EXCESS_FRAUD = 'release-excess'
/** The fraud kind of two releases of one lock. */
export const RELEASE_TWICE_FRAUD = 'release-twice'
/** The fraud kind of a redemption beyond what its authority or the lock allows. */
export const REDEEM_EXCESS_FRAUD = 'redeem-excess'
/** The fraud kind of a release contradicted by a channel receipt. */
export const CHANNEL_RELEASE_FRAUD = 'channel-release'
