// examples/ttn-network as a user runs it: 17 processes on loopback (3 witnesses, 4 gateway hosts
// of 50 gateways, 10 wallets), each with its own key file and LevelDB. Checked on what it prints
// and what it leaves on disk, not on its exit code alone: every witness holds every certificate
// (the one killed with SIGKILL and restarted included), a forked double spend is refused with the
// proof kept by its receiver, the supply audit over every store adds up,
// the key files are 0600 and no seed appears in any output. Epochs are longer than npm start's
// (8 s instead of 3 s) so that a loaded machine keeps up; nothing here measures speed.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const root = join(import.meta.dirname, '..')
const test = suite('ttn-network')

test('17 processes: 6 epochs certified and held by all 3 witnesses, a witness killed and back, supply adds up, keys stay private', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttn-network-test-'))
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples/ttn-network/main.ts'), '--dir', dir, '--keep', '--epoch-ms', '8000'], { cwd: root, encoding: 'utf8', timeout: 300_000 })
    const out = r.stdout
    assert.is(r.status, 0, `${out}\n${r.stderr}`)
    assert.match(out, /200\/200 gateways registered by their owners' wallets, approved and applied by the witnesses ✓/)
    assert.is(out.match(/epoch \d\/6 {2}reports .* held by 3\/3/g)?.length, 6, out)
    assert.match(out, /witness-2 SIGKILLed at 0\.\d of the epoch/)
    assert.match(out, /witness-2 restarted empty: caught up on 200 registrations and \d+ reports it had lost, closed epoch [34] and holds its certificate.* ✓/)
    assert.match(out, /witness-2 signs again: its root of epoch [45] is the certified one ✓/)
    assert.match(out, /certificates: epochs 1–6 held by witness-1, witness-2, witness-3, identical ✓/)
    assert.match(out, /all \(union\) +\d+ +[\d.]+ +[\d.]+ +0\.000 +[\d.]+ +yes/)
    assert.match(out, /supply: every store and their union add up .* ✓/)
    assert.match(out, /\nnetwork check: OK\n/)
    // refused either way: 'cheater' with the proof when the receiver learns the branch first, 'history' when gossip had brought it the honest chain
    assert.match(out, /forked double spend: wallet-01 signs a second branch \(epoch 1 claimed again at seq 1\) and pays wallet-10 from it → refused \((cheater|history)\) before any countersign; wallet-10 (holds the double-sign proof|keeps no proof .*) ✓/)

    // every process's key file: 0600, 32 bytes, and its seed in no output
    const data = join(dir, 'data')
    const names = readdirSync(data)
    assert.is(names.length, 17)
    for (const name of names) {
      const file = readdirSync(join(data, name)).find((f) => f.endsWith('.key'))
      assert.ok(file !== undefined, `${name} has a key file`)
      const st = statSync(join(data, name, file))
      assert.is(st.mode & 0o777, 0o600, `${name}/${file} mode ${(st.mode & 0o777).toString(8)}`)
      const seed = readFileSync(join(data, name, file)).toString('hex')
      assert.is(seed.length, 64)
      assert.not.ok(out.includes(seed) || r.stderr.includes(seed), `${name}'s seed appears in the output`)
    }
    for (const h of names.filter((n) => n.startsWith('gateways-'))) assert.is(statSync(join(data, h, 'components.keys')).mode & 0o777, 0o600)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the README documents each sample config as it is', () => {
  const readme = readFileSync(join(root, 'examples/ttn-network/README.md'), 'utf8')
  for (const name of ['witness-1', 'gateways-1', 'wallet-1']) {
    const block = new RegExp(`\`config/${name}\\.json\`:\n\n\`\`\`jsonc\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1]
    assert.ok(block !== undefined, `README shows config/${name}.json`)
    const documented = JSON.parse(block.replace(/\s+\/\/.*$/gm, ''))
    assert.equal(documented, JSON.parse(readFileSync(join(root, 'examples/ttn-network/config', `${name}.json`), 'utf8')), name)
  }
})

test.run()
