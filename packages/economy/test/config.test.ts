/**
 * Community configuration and its chain of versions: every field rule, canonical encoding and id,
 * genesis signed by its own quorum, an update valid only with k signatures of the current
 * witnesses, and witness rotation (old witnesses can no longer update).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { DecodeError, GENESIS_HASH, encodeCanonical, equalBytes, toHex } from '@tally/core'
import {
  configId,
  createCommunity,
  createConfig,
  decodeConfig,
  decodeSignedConfig,
  encodeConfig,
  encodeSignedConfig,
  epochAt,
  nextConfig,
  openCommunity,
  signConfig,
  signedConfig,
  verifyConfigChain,
  type ConfigFields,
} from '@tally/economy'
import { T0, alice, bob, carol, configFields, genesis, throwsLike, witnesses } from './helpers.ts'

// ## Fields

const Fields = suite('config: fields')

Fields('a valid configuration is frozen, genesis by default', () => {
  const config = createConfig(configFields())
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.components) && Object.isFrozen(config.token))
  assert.is(config.version, 0)
  assert.is(config.fromEpoch, 0)
  assert.ok(equalBytes(config.previous, GENESIS_HASH))
  assert.equal(config.components['gateway']!.metrics, ['airtime', 'messages'])
})

const bad: [string, Partial<ConfigFields> | Record<string, unknown>, RegExp][] = [
  ['empty name', { name: '' }, /name/],
  ['fractional reward', { rewardPerEpoch: 1.5 }, /rewardPerEpoch/],
  ['negative reward', { rewardPerEpoch: -1 }, /rewardPerEpoch/],
  ['zero epoch length', { epochLength: 0 }, /epochLength/],
  ['window 0', { window: 0 }, /window/],
  ['window too long', { window: 1025 }, /window/],
  ['no witnesses', { witnesses: [] }, /witnesses/],
  ['short witness key', { witnesses: [new Uint8Array(31)] }, /32-byte/],
  ['duplicate witnesses', { witnesses: [alice.publicKey, alice.publicKey] }, /distinct/],
  ['quorum 0', { quorum: 0 }, /quorum/],
  ['quorum above n', { quorum: 4 }, /quorum/],
  ['no component types', { components: {} }, /components/],
  ['bad type name', { components: { Gateway: { metrics: ['a'], scorer: 'uptime', params: null } } }, /component type/],
  ['no metrics', { components: { gw: { metrics: [], scorer: 'uptime', params: null } } }, /metrics/],
  ['duplicate metrics', { components: { gw: { metrics: ['a', 'a'], scorer: 'uptime', params: null } } }, /distinct/],
  ['nine metrics', { components: { gw: { metrics: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], scorer: 'uptime', params: null } } }, /metrics/],
  ['missing params', { components: { gw: { metrics: ['a'], scorer: 'uptime' } } }, /params/],
  ['bad scorer name', { components: { gw: { metrics: ['a'], scorer: '', params: null } } }, /scorer/],
  ['token decimals 19', { token: { name: 'W', unit: 'W', decimals: 19 } }, /decimals/],
  ['token without unit', { token: { name: 'W', unit: '', decimals: 0 } }, /unit/],
  ['version 1 with genesis previous', { version: 1 }, /previous/],
  ['version 0 with a previous', { previous: new Uint8Array(32).fill(1) }, /previous/],
  ['float in params', { components: { gw: { metrics: ['a'], scorer: 'uptime', params: { x: 0.5 } } } }, /canonical/],
]
for (const [what, overrides, pattern] of bad) {
  Fields(`refused: ${what}`, () => {
    throwsLike(() => createConfig({ ...configFields(), ...(overrides as Partial<ConfigFields>) }), RangeError, pattern)
  })
}

Fields('epochAt counts epochs from start', () => {
  const config = createConfig(configFields())
  assert.is(epochAt(config, T0 - 1), -1)
  assert.is(epochAt(config, T0), 0)
  assert.is(epochAt(config, T0 + 3_600_000 - 1), 0)
  assert.is(epochAt(config, T0 + 3_600_000 * 5 + 7), 5)
})

// ## Encoding

const Encoding = suite('config: encoding')

Encoding('encode → decode is identity, and the id is over the canonical bytes', () => {
  const config = createConfig(configFields())
  const bytes = encodeConfig(config)
  const again = decodeConfig(bytes)
  assert.equal(encodeConfig(again), bytes)
  assert.equal(configId(again), configId(config))
  assert.is(configId(config).length, 32)
})

Encoding('the id changes with any field', () => {
  const a = createConfig(configFields())
  const b = createConfig(configFields({ rewardPerEpoch: 1_001 }))
  const c = createConfig(configFields({ witnesses: [witnesses[1]!.publicKey, witnesses[0]!.publicKey, witnesses[2]!.publicKey] }))
  assert.not.equal(toHex(configId(a)), toHex(configId(b)))
  assert.not.equal(toHex(configId(a)), toHex(configId(c)))
})

Encoding('decode refuses non-canonical, unknown keys and broken rules', () => {
  const config = createConfig(configFields())
  const value = decodeConfigValue(encodeConfig(config))
  throwsLike(() => decodeConfig(encodeCanonical({ ...value, extra: 1 })), DecodeError, /exactly the keys/)
  throwsLike(() => decodeConfig(encodeCanonical({ ...value, quorum: 9 })), DecodeError, /quorum/)
  const bytes = encodeConfig(config)
  throwsLike(() => decodeConfig(new Uint8Array([...bytes, 0])), DecodeError)
})

Encoding('signed configuration round trip', () => {
  const { community } = genesis()
  const signed = community.versions[0]!
  const again = decodeSignedConfig(encodeSignedConfig(signed))
  assert.equal(encodeSignedConfig(again), encodeSignedConfig(signed))
  assert.is(again.signatures.length, 2)
})

Encoding('property: any valid reward, window, quorum and epoch length round-trips', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 1, max: 1024 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 2 ** 40 }),
      (rewardPerEpoch, window, quorum, epochLength) => {
        const config = createConfig(configFields({ rewardPerEpoch, window, quorum, epochLength }))
        const again = decodeConfig(encodeConfig(config))
        return again.rewardPerEpoch === rewardPerEpoch && again.window === window && equalBytes(configId(again), configId(config))
      },
    ),
    { numRuns: 100 },
  )
})

// ## Community: genesis and updates

const Chain = suite('config: community chain')

Chain('genesis needs k signatures of its own witnesses', () => {
  const config = createConfig(configFields())
  throwsLike(() => createCommunity(signedConfig(config, [signConfig(config, witnesses[0]!)])), RangeError, /quorum is 2/)
  const community = createCommunity(signedConfig(config, [signConfig(config, witnesses[0]!), signConfig(config, witnesses[2]!)]))
  assert.equal(community.id, configId(config))
  assert.is(community.current, config)
})

Chain('genesis signed by a non-witness is refused at signing', () => {
  const config = createConfig(configFields())
  throwsLike(() => signConfig(config, alice), RangeError, /not one of/)
})

Chain('a forged genesis signature is refused', () => {
  const config = createConfig(configFields())
  const good = signConfig(config, witnesses[0]!)
  const forged = { index: 1, signature: good.signature }
  throwsLike(() => createCommunity(signedConfig(config, [good, forged])), RangeError, /does not verify/)
})

Chain('an update signed by k current witnesses is accepted; configAt follows fromEpoch', () => {
  const { config, community } = genesis()
  const v1 = nextConfig(config, { fromEpoch: 10, rewardPerEpoch: 2_000 })
  const outcome = community.update(signedConfig(v1, [signConfig(v1, witnesses[1]!, config), signConfig(v1, witnesses[2]!, config)]))
  assert.equal(outcome, { ok: true })
  assert.is(community.current, v1)
  assert.is(community.configAt(9), config)
  assert.is(community.configAt(10), v1)
  assert.is(community.byId(configId(v1)), v1)
  assert.is(community.versions.length, 2)
  // idempotent
  assert.equal(community.update(community.versions[1]!), { ok: true })
  assert.is(community.versions.length, 2)
})

Chain('an update with fewer than k signatures is refused (quorum)', () => {
  const { config, community } = genesis()
  const v1 = nextConfig(config, { fromEpoch: 10 })
  const outcome = community.update(signedConfig(v1, [signConfig(v1, witnesses[0]!, config)]))
  assert.is(outcome.ok, false)
  assert.is((outcome as { code: string }).code, 'quorum')
  assert.is(community.current, config)
})

Chain('an update that skips a version, points elsewhere or goes back in epochs is refused', () => {
  const { config, community } = genesis()
  const sign = (c: typeof config) => signedConfig(c, witnesses.slice(0, 2).map((w) => signConfig(c, w, config)))
  const skip = createConfig({ ...config, version: 2, previous: configId(config), fromEpoch: 5 })
  assert.is((community.update(sign(skip)) as { code: string }).code, 'version')
  const elsewhere = createConfig({ ...config, version: 1, previous: new Uint8Array(32).fill(7), fromEpoch: 5 })
  assert.is((community.update(sign(elsewhere)) as { code: string }).code, 'previous')
  const back = createConfig({ ...config, version: 1, previous: configId(config), fromEpoch: 0 })
  assert.is((community.update(sign(back)) as { code: string }).code, 'from-epoch')
  throwsLike(() => nextConfig(config, { fromEpoch: 0 }), RangeError, /fromEpoch/)
})

Chain('witness rotation: after an update, only the new witnesses can update', () => {
  const { config, community } = genesis()
  const newWitnesses = [alice, bob, carol]
  const v1 = nextConfig(config, { fromEpoch: 10, witnesses: newWitnesses.map((w) => w.publicKey) })
  assert.ok(community.update(signedConfig(v1, witnesses.slice(0, 2).map((w) => signConfig(v1, w, config)))).ok)
  const v2 = nextConfig(v1, { fromEpoch: 20, rewardPerEpoch: 5 })
  // the old witnesses sit at the same indexes, but their keys are no longer the witnesses'
  const byOld = signedConfig(v2, witnesses.slice(0, 2).map((w, i) => ({ index: i, signature: w.sign(configId(v2)) })))
  assert.is((community.update(byOld) as { code: string }).code, 'quorum')
  assert.ok(community.update(signedConfig(v2, newWitnesses.slice(1).map((w) => signConfig(v2, w, v1)))).ok)
  assert.is(community.current.rewardPerEpoch, 5)
})

Chain('openCommunity and verifyConfigChain check a whole chain from genesis', () => {
  const { config, community } = genesis()
  const v1 = nextConfig(config, { fromEpoch: 3 })
  community.update(signedConfig(v1, witnesses.slice(1).map((w) => signConfig(v1, w, config))))
  const versions = community.versions.map((v) => decodeSignedConfig(encodeSignedConfig(v)))
  const reopened = openCommunity(versions)
  assert.equal(reopened.id, community.id)
  assert.equal(configId(reopened.current), configId(v1))
  assert.equal(verifyConfigChain(versions, community.id), { ok: true })
  assert.is(verifyConfigChain(versions, new Uint8Array(32)).ok, false)
  assert.is(verifyConfigChain([versions[0]!, signedConfig(v1, [])]).ok, false)
  throwsLike(() => openCommunity([]), RangeError)
})

Fields.run()
Encoding.run()
Chain.run()

function decodeConfigValue(bytes: Uint8Array): Record<string, unknown> {
  const config = decodeConfig(bytes)
  return { ...config, token: { ...config.token }, components: { ...config.components } }
}


