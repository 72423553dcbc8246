// A role's configuration: one small JSON file per process (the README documents every field). Paths
// in it are relative to the file's own directory, so a directory of configs can move as a whole.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

/** A configuration file that cannot be used, with the field at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly path: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${path}: "${field}" ${detail}`)
  }
}

interface Common {
  /** The process's name in logs and in the launcher's table. */
  readonly name: string
  /** Its own data directory: key file, LevelDB stores. */
  readonly dataDir: string
  /** The community's signed genesis configuration (written by the launcher, or handed out by the witnesses' operators). */
  readonly community: string
  /** The witnesses' keys and addresses. */
  readonly peers: string
}

export interface WitnessConfig extends Common {
  readonly role: 'witness'
  /** Where its node listens. */
  readonly listen: { readonly host: string; readonly port: number }
  /** How long after an epoch ends this witness closes it (ms): room for late reports. */
  readonly closeGraceMs: number
  /** Worker threads verifying report signatures (0: verify on the main thread). */
  readonly verifyWorkers: number
}

export interface GatewaysConfig extends Common {
  readonly role: 'gateways'
  /** Where its node listens. */
  readonly listen: { readonly host: string; readonly port: number }
  /** Gateway components this process hosts, each with its own key. */
  readonly components: number
  /** When in each epoch the gateways report, as a fraction of the epoch (0–1). */
  readonly reportAt: number
  /** Seed of the simulated traffic (airtime, messages). */
  readonly trafficSeed: number
}

export interface WalletConfig extends Common {
  readonly role: 'wallet'
  /**
   * Where its node listens; absent (as a wallet behind NAT or in a browser): it never listens,
   * and is reached through the witnesses, which relay for it (its node dials them).
   */
  readonly listen: { readonly host: string; readonly port: number } | undefined
  /** How long a transfer may wait for its agreement before the witnesses may void it (ms). */
  readonly transferTtlMs: number
}

export type RoleConfig = WitnessConfig | GatewaysConfig | WalletConfig

/**
 * Read and check a role's configuration.
 * @throws ConfigError naming the field; SyntaxError for a file that is not JSON
 */
export function readConfig<R extends RoleConfig['role']>(path: string, role: R): Extract<RoleConfig, { role: R }> {
  const at = resolve(path)
  const raw = JSON.parse(readFileSync(at, 'utf8')) as Record<string, unknown>
  const dir = dirname(at)
  if (raw['role'] !== role) throw new ConfigError(at, 'role', `expected "${role}", got ${JSON.stringify(raw['role'])}`)
  const str = (f: string): string => {
    const v = raw[f]
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) throw new ConfigError(at, f, 'expected a non-empty string')
    return v
  }
  const num = (f: string, min: number, max: number, fallback?: number): number => {
    const v = raw[f] ?? fallback
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ConfigError(at, f, `expected a number in [${min}, ${max}], got ${JSON.stringify(v)}`)
    return v
  }
  const listenAt = (): { host: string; port: number } => {
    const listen = raw['listen'] as Record<string, unknown> | undefined
    if (typeof listen !== 'object' || listen === null || typeof listen['host'] !== 'string' || !Number.isInteger(listen['port']) || (listen['port'] as number) < 0 || (listen['port'] as number) > 65535) {
      throw new ConfigError(at, 'listen', 'expected { "host": string, "port": 0–65535 }')
    }
    return { host: listen['host'] as string, port: listen['port'] as number }
  }
  const common: Common = {
    name: str('name'),
    dataDir: resolve(dir, str('dataDir')),
    community: resolve(dir, str('community')),
    peers: resolve(dir, str('peers')),
  }
  if (!/^[a-z0-9-]{1,32}$/.test(common.name)) throw new ConfigError(at, 'name', 'expected 1–32 characters of a-z, 0-9 and -')
  let out: RoleConfig
  if (role === 'witness') out = { ...common, role, listen: listenAt(), closeGraceMs: num('closeGraceMs', 0, 3_600_000, 500), verifyWorkers: num('verifyWorkers', 0, 64, 0) }
  else if (role === 'gateways') out = { ...common, role, listen: listenAt(), components: Math.floor(num('components', 1, 100_000)), reportAt: num('reportAt', 0, 1, 0.25), trafficSeed: num('trafficSeed', 0, 2 ** 32, 1) }
  else out = { ...common, role: 'wallet', listen: raw['listen'] === undefined ? undefined : listenAt(), transferTtlMs: num('transferTtlMs', 1_000, 30 * 86_400_000, 600_000) }
  return out as Extract<RoleConfig, { role: R }>
}
