/**
 * @tally/gossip/sim — the network simulator (many real nodes on the in-memory network and a virtual
 * clock, with adversaries), ConTrib's scenario on it, the discrete-event gossip model, and the
 * simulation-only crypto provider. Kept out of the main entry because createSimCrypto is NOT
 * secure: an application that imports '@tally/gossip' cannot pick it up by accident.
 * The memory network and the virtual clock themselves stay in the main entry.
 * @module
 */
export { createSimCrypto } from './sim/sim-crypto.js'
export { createSharedBlocks, sharingStore, type SharedBlocks } from './sim/shared-blocks.js'
export { createSimulator, type ForkRecord, type Role, type SimPeer, type Simulator, type SimulatorOptions } from './sim/simulator.js'
export { runContrib, type ContribOptions, type ContribResult } from './sim/scenario.js'
export { runGossipModel, type GossipModelOptions } from './sim/gossip-model.js'
