/**
 * Fixtures of the network tests: a community of three witnesses (quorum 2) on the in-memory host
 * (protocol-harness.ts), each a `createWitness` on its own party; owners registering components
 * through a registrar; components reporting through reporters. Wallets: net-wallets.ts.
 * Not a test file itself.
 */
import * as assert from 'uvu/assert'
import type { SeedIdentity } from '@tally/core'
import { requestRegistration, type Community } from '@tally/economy'
import {
  createMemoryOutbox,
  createRegistrar,
  createReporter,
  createWitness,
  type OutboxStore,
  type Registrar,
  type ReportOutcome,
  type Reporter,
  type Witness,
  type WitnessOptions,
} from '@tally/economy/net'
import { T0, component, genesis, witnesses } from './helpers.ts'
import { createHarness, type Harness, type Party } from './protocol-harness.ts'

/** The epoch length of the test community (1 hour). */
export const EPOCH_MS = 3_600_000

/** A network: harness, community, three witnesses. */
export interface Net {
  readonly harness: Harness
  readonly community: Community
  readonly witnesses: Witness[]
  readonly parties: Party[]
  /** A fresh witness for `witnesses[i]` on a new party (a restart with nothing kept). */
  restart(i: number, options?: Partial<WitnessOptions>): Witness
}

/** A network at T0 (epoch 0 open), witnesses built with `options`. */
export function network(options: Partial<WitnessOptions> = {}, overrides: Parameters<typeof genesis>[0] = {}): Net {
  const { community } = genesis(overrides)
  const harness = createHarness(T0)
  const parties: Party[] = []
  const make = (i: number, extra: Partial<WitnessOptions> = {}): Witness => {
    const party = harness.party(witnesses[i]!)
    parties[i] = party
    return createWitness({ key: witnesses[i]!, community, host: party, epoch: 0, ...options, ...extra })
  }
  const ws = [0, 1, 2].map((i) => make(i))
  return {
    harness,
    community,
    witnesses: ws,
    parties,
    restart(i, extra) {
      ws[i] = make(i, extra)
      return ws[i]!
    },
  }
}

const registrars = new WeakMap<Party, Registrar>()

/** Register `comp` to `owner` through the owner's registrar; every witness applies it. */
export async function register(net: Net, owner: SeedIdentity, comp: SeedIdentity, type = 'gateway', party?: Party): Promise<void> {
  const host = party ?? net.harness.party(owner)
  let registrar = registrars.get(host)
  if (registrar === undefined) registrars.set(host, (registrar = createRegistrar({ host, community: net.community })))
  const done = await registrar.register(requestRegistration(owner, comp, net.community.id, type))
  assert.is(done.applied, 3, `registration applied by ${done.applied}: ${done.refusals.map((r) => r.reason)}`)
}

/** A component's reporter on its own party, with the outcomes it was told. */
export function reporter(net: Net, comp: SeedIdentity, outbox: OutboxStore = createMemoryOutbox(), party?: Party): { reporter: Reporter; outcomes: ReportOutcome[]; party: Party } {
  const outcomes: ReportOutcome[] = []
  const host = party ?? net.harness.party(comp)
  return { reporter: createReporter({ key: comp, community: net.community, host, outbox, onOutcome: (o) => outcomes.push(o) }), outcomes, party: host }
}

/** Submit reports of `comps` (metrics each) through their reporters and deliver them. */
export async function reportAll(net: Net, entries: readonly [SeedIdentity, number[]][], epoch = 0): Promise<ReportOutcome[]> {
  const all: ReportOutcome[] = []
  for (const [comp, metrics] of entries) {
    const r = reporter(net, comp)
    await r.reporter.report({ epoch, metrics })
    await r.reporter.flush()
    r.reporter.close()
    all.push(...r.outcomes)
  }
  return all
}

/** Close the open epoch at every witness, in order, and let announcements arrive. */
export async function closeAll(net: Net, which: readonly number[] = [0, 1, 2]): Promise<void> {
  for (const i of which) await net.witnesses[i]!.close()
  await net.harness.settle()
}

export { T0, component }
