/**
 * One node, many clients: a host that lets several clients of one protocol share a node.
 *
 * A node hosts each protocol name once, and every client here hosts what it uses (a reporter the
 * reports protocol, a registrar the registry protocol). A gateway process that runs many
 * components, or a process that both reports and registers, shares one node through
 * `createSharedHost(node)`: the first protocol of a name is hosted on the node; a later one of the
 * same name gets the same handle when both only send (no handlers: clients), and is refused
 * (RangeError) when either answers peers — two services of one name cannot share a node.
 * @module
 */
import type { Protocol, ProtocolHandle, ProtocolHost, ProtocolMessages } from '@tally/core'

/**
 * A host for many clients of the same protocols on one node.
 * @param host the node
 * @returns a ProtocolHost sharing client-only protocols
 * @example
 * const shared = createSharedHost(node)
 * const reporters = gateways.map((key) => createReporter({ key, community, host: shared, outbox }))
 */
export function createSharedHost(host: ProtocolHost): ProtocolHost {
  const hosted = new Map<string, { handle: ProtocolHandle<ProtocolMessages>; client: boolean }>()
  return Object.freeze({
    host<M extends ProtocolMessages>(protocol: Protocol<M>): ProtocolHandle<M> {
      const client = Object.values(protocol.handlers ?? {}).every((h) => h === undefined) && protocol.onPeer === undefined && protocol.onPeerGone === undefined
      const earlier = hosted.get(protocol.name)
      if (earlier !== undefined) {
        if (earlier.client && client) return earlier.handle as unknown as ProtocolHandle<M>
        throw new RangeError(`"protocol.name" ${protocol.name} is hosted already, and one of the two answers peers: they cannot share a node`)
      }
      const handle = host.host(protocol)
      hosted.set(protocol.name, { handle: handle as unknown as ProtocolHandle<ProtocolMessages>, client })
      return handle
    },
  })
}
