#!/usr/bin/env node
// Runs the benchmark groups one after another, each in its own Node process (the CI machine has
// 2 cores; benchmarks that overlap measure each other). A group is bench/<group>.ts plus every peer
// in bench/peers/<name>/ whose package.json says `"benchGroup": "<group>"`; a peer installs itself
// (`npm install` in its own directory, from its own lockfile) the first time it runs.
//
// Usage: node bench/run.mjs [group ...]   (default: every group found)
//
// stdout: every figure as the JSON line the bench printed ({"metric","value","unit",...}), then a
// blank line and a human table. Everything else a bench prints goes to stderr. Exits 1 if any
// group fails; an unknown group fails at once, before anything runs.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'

const root = resolve(import.meta.dirname, '..')
const benchDir = join(root, 'bench')
const env = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' }

const tsGroups = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'lib.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -'.ts'.length))
const peers = findPeers()
const known = [...new Set([...tsGroups, ...peers.map((p) => p.group)])].sort()

const asked = process.argv.slice(2)
const groups = asked.length > 0 ? asked : known
const unknown = groups.filter((g) => !known.includes(g))
if (unknown.length > 0) {
  console.error(`bench: no group ${unknown.join(', ')} (no bench/<group>.ts, no peer); known: ${known.join(', ') || 'none'}`)
  process.exit(1)
}
const figures = []
const failures = []

for (const group of groups) {
  const t0 = Date.now()
  if (tsGroups.includes(group)) {
    await runBench(group, ['--import', 'tsx', join(benchDir, `${group}.ts`)], root)
  } else {
    console.error(`bench ${group}: bench/${group}.ts does not exist yet, running its peers only`)
  }
  for (const peer of peers.filter((p) => p.group === group)) {
    if (await install(group, peer)) await runBench(group, [peer.main], peer.dir)
  }
  console.error(`bench ${group}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

console.log()
console.log(table(figures))
for (const f of failures) console.error(`FAILED: ${f}`)
process.exit(failures.length > 0 ? 1 : 0)

// ## Running

// Runs one bench script; figures are echoed to stdout and kept for the table, other lines go to stderr.
function runBench(group, args, cwd) {
  const name = relative(root, args.at(-1))
  console.error(`bench ${group}: ${name}`)
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] })
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      const figure = parseFigure(line)
      if (figure === null) {
        process.stderr.write(line + '\n')
        return
      }
      process.stdout.write(line + '\n')
      figures.push({ group, figure })
    })
    child.on('error', (err) => {
      failures.push(`${name}: ${err.message}`)
      done()
    })
    child.on('close', (code, signal) => {
      if (code !== 0) failures.push(`${name}: exited with ${signal ?? `code ${code}`}`)
      done()
    })
  })
}

// A peer's node_modules is installed from its lockfile on first use; it is not an npm workspace.
async function install(group, peer) {
  if (existsSync(join(peer.dir, 'node_modules'))) return true
  console.error(`bench ${group}: installing ${relative(root, peer.dir)} (npm install)`)
  const code = await new Promise((done) => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const child = spawn(npm, ['install', '--no-audit', '--no-fund'], {
      cwd: peer.dir,
      env,
      stdio: ['ignore', 2, 'inherit'],
      shell: process.platform === 'win32',
    })
    child.on('error', () => done(-1))
    child.on('close', (c) => done(c))
  })
  if (code === 0) return true
  failures.push(`${relative(root, peer.dir)}: npm install failed (${code})`)
  return false
}

// ## Discovery and output

function findPeers() {
  const dir = join(benchDir, 'peers')
  if (!existsSync(dir)) return []
  const found = []
  for (const name of readdirSync(dir).sort()) {
    const pkgPath = join(dir, name, 'package.json')
    if (!existsSync(pkgPath)) continue
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'))
    if (typeof pkg.benchGroup !== 'string') continue
    found.push({ name, group: pkg.benchGroup, dir: join(dir, name), main: join(dir, name, 'bench.mjs') })
  }
  return found
}

function parseFigure(line) {
  if (!line.startsWith('{')) return null
  try {
    const x = JSON.parse(line)
    const ok = x !== null && typeof x === 'object' && !Array.isArray(x) &&
      typeof x.metric === 'string' && (typeof x.value === 'number' || x.value === null) && typeof x.unit === 'string'
    return ok ? x : null
  } catch {
    return null
  }
}

function table(rows) {
  if (rows.length === 0) return '(no figures)'
  const header = ['group', 'metric', 'value', 'unit', 'details']
  const body = rows.map(({ group, figure }) => {
    const { metric, value, unit, ...extra } = figure
    const details = Object.entries(extra).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    return [group, metric, value === null ? 'null' : value.toLocaleString('en-US', { maximumFractionDigits: 3 }), unit, details.join(' ')]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}
