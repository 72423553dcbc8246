/**
 * Wallet linking (FR3): the pluggable authorizer, the example signed-token identity provider, a
 * witness signs only after authorization, and the link checks alone with k witness signatures.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, concatBytes, createIdentity } from '@tally/core'
import {
  approveLink,
  approvedLink,
  checkLink,
  createDirectory,
  createTokenAuthorizer,
  decodeLink,
  encodeLink,
  issueAccountToken,
  linkDigest,
  requestLink,
  type AccountAuthorizer,
  type LinkRequest,
  type SignedLink,
  type WitnessSignature,
} from '@tally/economy'
import { T0, alice, bob, genesis, idp, mallory, rejectsLike, throwsLike, witnesses } from './helpers.ts'

const { config, community } = genesis()
const now = () => T0
const authorizer = createTokenAuthorizer({ issuer: idp.publicKey, now })
const token = (claims: Partial<{ account: string; agent: Uint8Array; expires: number }> = {}, issuer = idp) =>
  issueAccountToken(issuer, { account: 'alice@ttn', agent: alice.publicKey, expires: T0 + 60_000, ...claims })

async function approve(request: LinkRequest, auth: AccountAuthorizer = authorizer, signers = witnesses.slice(0, 2)): Promise<SignedLink> {
  const signatures: WitnessSignature[] = []
  for (const witness of signers) {
    const a = await approveLink(request, { authorizer: auth, witness, config, community: community.id })
    assert.ok(a.ok, `declined: ${JSON.stringify(a)}`)
    signatures.push((a as { signature: WitnessSignature }).signature)
  }
  return approvedLink(request, signatures)
}

// ## The token authorizer

const Token = suite('wallet-link: token authorizer')

Token('a fresh token for this agent and account authorizes', async () => {
  const request = requestLink(alice, community.id, 'alice@ttn', token())
  assert.equal(await authorizer.authorize(request), { ok: true })
})

Token('a wallet whose key signs through a Promise makes the same request as its seed', async () => {
  const wallet = createIdentity({ publicKey: alice.publicKey, sign: async (m) => alice.sign(m) })
  const later = requestLink(wallet, community.id, 'alice@ttn', token())
  assert.instance(later, Promise)
  const request = await later
  assert.equal(request, requestLink(alice, community.id, 'alice@ttn', token()))
  assert.equal(await authorizer.authorize(request), { ok: true })
})

const bad: [string, () => LinkRequest, RegExp][] = [
  ['expired', () => requestLink(alice, community.id, 'alice@ttn', token({ expires: T0 })), /expired/],
  ['issued by someone else', () => requestLink(alice, community.id, 'alice@ttn', token({}, mallory)), /not signed by the identity provider/],
  ['for another account', () => requestLink(alice, community.id, 'alice@ttn', token({ account: 'bob@ttn' })), /another account/],
  ['for another agent key (a stolen token)', () => requestLink(mallory, community.id, 'alice@ttn', token()), /another agent/],
  ['truncated', () => requestLink(alice, community.id, 'alice@ttn', token().subarray(0, 60)), /malformed/],
  ['not CBOR', () => requestLink(alice, community.id, 'alice@ttn', concatBytes(new Uint8Array([0xff, 0xff]), new Uint8Array(64))), /malformed/],
  ['one bit flipped', () => {
    const t = token()
    t[3]! ^= 1
    return requestLink(alice, community.id, 'alice@ttn', t)
  }, /malformed|not signed/],
]
for (const [what, make, pattern] of bad) {
  Token(`refused: ${what}`, async () => {
    const result = await authorizer.authorize(make())
    assert.is(result.ok, false)
    assert.match((result as { reason: string }).reason, pattern)
  })
}

Token('issuing checks its claims', () => {
  throwsLike(() => token({ account: '' }), RangeError, /account/)
  throwsLike(() => token({ agent: new Uint8Array(3) }), RangeError, /agent/)
  throwsLike(() => token({ expires: -1 }), RangeError, /expires/)
  throwsLike(() => createTokenAuthorizer({ issuer: new Uint8Array(1) }), RangeError, /issuer/)
})

// ## Witnesses and the link statement

const Link = suite('wallet-link: witnessed link')

Link('witnesses sign after authorization; the link checks alone and round-trips', async () => {
  const link = await approve(requestLink(alice, community.id, 'alice@ttn', token()))
  assert.equal(checkLink(link, config, community.id), { ok: true })
  const again = decodeLink(encodeLink(link))
  assert.equal(encodeLink(again), encodeLink(link))
  assert.equal(checkLink(again, config, community.id), { ok: true })
})

Link('a witness declines without authorization, with the authorizer\'s reason', async () => {
  const request = requestLink(alice, community.id, 'alice@ttn', token({ expires: 1 }))
  const a = await approveLink(request, { authorizer, witness: witnesses[0]!, config, community: community.id })
  assert.is(a.ok, false)
  assert.match((a as { reason: string }).reason, /not authorized: token expired/)
})

Link('a witness declines a request not signed by the agent', async () => {
  const request = { ...requestLink(alice, community.id, 'alice@ttn', token()), agentSignature: mallory.sign(new Uint8Array(32)) }
  const a = await approveLink(request, { authorizer, witness: witnesses[0]!, config, community: community.id })
  assert.match((a as { reason: string }).reason, /agent's signature/)
})

Link('the authorizer is pluggable, and a throwing one declines', async () => {
  const calls: string[] = []
  const custom: AccountAuthorizer = { authorize: async (r) => (calls.push(r.account), r.account.endsWith('@ttn') ? { ok: true } : { ok: false, reason: 'not a TTN account' }) }
  await approve(requestLink(bob, community.id, 'bob@ttn', new Uint8Array(1)), custom)
  assert.equal(calls, ['bob@ttn', 'bob@ttn'])
  const a = await approveLink(requestLink(bob, community.id, 'bob@elsewhere', new Uint8Array(1)), { authorizer: custom, witness: witnesses[0]!, config, community: community.id })
  assert.match((a as { reason: string }).reason, /not a TTN account/)
  const throwing: AccountAuthorizer = { authorize: () => { throw new Error('identity provider down') } }
  const b = await approveLink(requestLink(bob, community.id, 'bob@ttn', new Uint8Array(1)), { authorizer: throwing, witness: witnesses[0]!, config, community: community.id })
  assert.match((b as { reason: string }).reason, /identity provider down/)
})

Link('fewer than k witnesses, another community or a tampered account: refused', async () => {
  const one = await approve(requestLink(alice, community.id, 'alice@ttn', token()), authorizer, witnesses.slice(0, 1))
  assert.match((checkLink(one, config, community.id) as { reason: string }).reason, /quorum is 2/)
  const link = await approve(requestLink(alice, community.id, 'alice@ttn', token()))
  assert.match((checkLink(link, config, new Uint8Array(32)) as { reason: string }).reason, /another community/)
  assert.match((checkLink({ ...link, account: 'mallory@ttn' }, config, community.id) as { reason: string }).reason, /agent's signature/)
})

Link('the directory records links, one account per agent', async () => {
  const directory = createDirectory(community)
  const link = await approve(requestLink(alice, community.id, 'alice@ttn', token()))
  assert.equal(directory.link(link), { ok: true })
  assert.is(directory.accountOf(alice.publicKey), 'alice@ttn')
  assert.equal(directory.link(link), { ok: true })
  const other = await approve(requestLink(alice, community.id, 'alice2@ttn', token({ account: 'alice2@ttn' })))
  assert.is((directory.link(other) as { code: string }).code, 'conflict')
  const weak = await approve(requestLink(bob, community.id, 'bob@ttn', token({ account: 'bob@ttn', agent: bob.publicKey })), authorizer, witnesses.slice(0, 1))
  assert.is((directory.link(weak) as { code: string }).code, 'invalid')
  assert.is(directory.accountOf(bob.publicKey), undefined)
})

Link('decode refuses malformed links; linkDigest checks its fields', async () => {
  throwsLike(() => decodeLink(new Uint8Array([0x80])), DecodeError)
  throwsLike(() => linkDigest({ community: community.id, agent: alice.publicKey, account: '' }), RangeError)
  await rejectsLike(Promise.resolve().then(() => requestLink(alice, community.id, 'x'.repeat(129), token())), RangeError, /account/)
})

Token.run()
Link.run()
