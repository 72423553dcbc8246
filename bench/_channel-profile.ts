// pay + accept alone, for profiling: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/_channel-profile.ts
import { createChannelBook, createPayee, createPayer } from '@tally/economy/channels'
import { defaultCrypto } from '@tally/node'
import { office } from '../examples/coffee-machines/office.ts'

const crypto = defaultCrypto()
const o = await office(crypto, 1_000_000_000_000)
const payer = createPayer({ wallet: o.company, key: o.companyKey, book: o.companyBook, community: o.community, clock: () => o.clock.now })
const machineBook = createChannelBook()
const machine = o.party(20, machineBook)
const payee = createPayee({ wallet: machine, book: machineBook, community: o.community, clock: () => o.clock.now })
const { channel, lock } = await payer.open({ to: machine.agent.publicKey, deposit: 500_000_000_000, expiry: 1_000_000 })
await payee.admit(lock, await o.company.agent.store.range(o.companyKey.publicKey))
const n = Number(process.argv[2] ?? 40_000)
const c0 = process.cpuUsage()
for (let i = 0; i < n; i++) await payee.accept(await payer.pay(channel, 1))
const c = process.cpuUsage(c0)
console.log(JSON.stringify({ receipts: n, cpu_us_per_receipt: (c.user + c.system) / n }))
