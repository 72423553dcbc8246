/**
 * Collecting k witness signatures over the network: ask every witness at once, keep the
 * signatures that verify, and remember why the others said no.
 * @module
 */
import { RefusedError, equalBytes, type ProtocolHandle, type ProtocolMessages, type PeerContext } from '@tally/core'
import { sortSignatures, type QuorumSignatures, type WitnessSignature } from '../quorum.js'

/** Why one witness gave no signature. */
export interface Refusal {
  /** The witness. */
  readonly witness: Uint8Array
  /** A stable code: the witness's refusal reason, or 'timeout', 'closed', 'unreachable', 'bad-signature'. */
  readonly reason: string
  /** For people. */
  readonly message: string
}

/** What collecting gave. */
export interface Collected {
  /** Valid signatures, by increasing index (possibly more than k). */
  readonly signatures: QuorumSignatures
  /** The witnesses that gave none, and why. */
  readonly refusals: readonly Refusal[]
}

/**
 * Ask each witness for its signature, all at once.
 * @param handle the protocol's handle
 * @param witnesses the witnesses to ask (a node that is one of them asks itself too)
 * @param ask one request to one witness, returning its signature
 * @param verify whether a returned signature is that witness's, over the right digest
 * @returns the valid signatures and the refusals
 * @internal
 */
export async function collectSignatures<M extends ProtocolMessages>(
  handle: ProtocolHandle<M>,
  witnesses: readonly Uint8Array[],
  ask: (peer: PeerContext<M>, witness: Uint8Array) => Promise<WitnessSignature>,
  verify: (signature: WitnessSignature, witness: Uint8Array) => boolean,
): Promise<Collected> {
  const refusals: Refusal[] = []
  const got: WitnessSignature[] = []
  await Promise.all(
    witnesses.map(async (witness) => {
      try {
        const signature = await ask(await handle.peer(witness), witness)
        if (verify(signature, witness)) got.push(signature)
        else refusals.push({ witness, reason: 'bad-signature', message: 'the witness returned a signature that does not verify' })
      } catch (err) {
        refusals.push({ witness, ...describe(err) })
      }
    }),
  )
  return { signatures: sortSignatures(got), refusals: witnesses.flatMap((w) => refusals.filter((r) => equalBytes(r.witness, w))) }
}

/**
 * The most common refusal reason (ties: the first witness's), or `fallback` when none.
 * @internal
 */
export function commonReason(refusals: readonly Refusal[], fallback: string): string {
  const counts = new Map<string, number>()
  for (const r of refusals) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1)
  let best: string | undefined
  for (const [reason, n] of counts) if (best === undefined || n > counts.get(best)!) best = reason
  return best ?? fallback
}

/**
 * A stable code and message for an error from `request` or `peer`.
 * @internal
 */
export function describe(err: unknown): { reason: string; message: string } {
  if (err instanceof RefusedError) return { reason: err.reason ?? 'refused', message: err.message }
  const e = err as { name?: string; message?: string } | undefined
  const reason = e?.name === 'TimeoutError' ? 'timeout' : e?.name === 'ClosedError' ? 'closed' : 'unreachable'
  return { reason, message: String(e?.message ?? err) }
}
