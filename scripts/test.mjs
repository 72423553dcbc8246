#!/usr/bin/env node
// Runs every test file in its own Node process (so each file runs on its own, as it must also
// run alone), two at a time for the 2-core CI machine, and sums uvu's totals into one closing line
// `N passed, N failed` that CI reads. A file that exits non-zero without a readable uvu summary
// counts as one failure, so a crash can never pass silently. A file that skips tests says why on a
// line starting with `SKIPPED:`; those lines are repeated in a banner above the closing line, so
// a skip is never silent either.
//
// Usage: node scripts/test.mjs [dir ...]   (default: packages/*/test and test/)
// TALLY_SLOW=1 also runs files named *.slow.ts (the long versions).
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { cpus } from 'node:os'

const root = resolve(import.meta.dirname, '..')
const slow = process.env.TALLY_SLOW === '1'
const args = process.argv.slice(2)
const dirs = args.length > 0
  ? args.map((d) => resolve(root, d, existsSync(join(root, d, 'test')) ? 'test' : ''))
  : [...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'test')), join(root, 'test')]

const files = dirs.filter((d) => existsSync(d)).flatMap((d) => walk(d))
  .filter((f) => f.endsWith('.test.ts') || (slow && f.endsWith('.slow.ts')))
  .sort()

// A file that says `@exclusive` in its first lines (the attack tests: dozens of hostile processes
// against one node) runs alone, after the others: beside another such file the machine carries
// both crowds, and what it checks — an honest peer served through an attack — is no longer the
// attack it describes
const exclusive = new Set(files.filter((f) => readFileSync(f, 'utf8').slice(0, 4000).includes('@exclusive')))
const concurrency = Math.max(1, Math.min(2, cpus().length))
let passed = 0
let failed = 0
let skipped = 0
const failures = []
const skipNotes = []
const queue = files.filter((f) => !exclusive.has(f))
const started = Date.now()

await Promise.all(Array.from({ length: concurrency }, async () => {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runFile(file)
}))
for (const file of files.filter((f) => exclusive.has(f))) await runFile(file)

const seconds = ((Date.now() - started) / 1000).toFixed(1)
console.log(`\n${files.length} test files in ${seconds} s`)
for (const f of failures) console.log(`FAILED: ${f}`)
if (skipped > 0) {
  const bar = '!'.repeat(100)
  console.log(`\n${bar}\n${skipped} test${skipped === 1 ? '' : 's'} SKIPPED, not run:`)
  for (const note of new Set(skipNotes)) console.log(`  ${note}`)
  console.log(bar)
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed > 0 || files.length === 0 ? 1 : 0)

function runFile(file) {
  return new Promise((done) => {
    const t0 = Date.now()
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.on('close', (code, signal) => {
      const name = relative(root, file)
      const total = lastNumber(out, 'Total')
      const ok = lastNumber(out, 'Passed')
      const skip = lastNumber(out, 'Skipped') ?? 0
      let fileFailed
      if (total === undefined || ok === undefined) {
        fileFailed = 1
        failures.push(`${name} (exit ${code ?? signal}, no uvu summary)`)
      } else {
        fileFailed = Math.max(0, total - ok - skip)
        if (fileFailed === 0 && code !== 0) fileFailed = 1
        if (fileFailed > 0) failures.push(name)
        passed += ok
        skipped += skip
      }
      failed += fileFailed
      const ms = Date.now() - t0
      const notes = [...out.matchAll(/^SKIPPED: .*$/gm)].map((m) => m[0])
      skipNotes.push(...notes)
      const status = fileFailed > 0 ? 'FAIL' : skip > 0 ? 'SKIP' : 'ok  '
      console.log(`${status} ${name} (${ok ?? 0} passed, ${fileFailed} failed${skip > 0 ? `, ${skip} skipped` : ''}, ${ms} ms)`)
      for (const note of notes) console.log(`     ${note}`)
      if (fileFailed > 0) console.log(indent(out.slice(-6000)))
      done()
    })
  })
}

function lastNumber(text, label) {
  const matches = [...text.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))]
  const last = matches.at(-1)
  return last ? Number(last[1]) : undefined
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules' || name === 'fixtures') return []
    return statSync(path).isDirectory() ? walk(path) : [path]
  })
}

function indent(text) {
  return text.split('\n').map((l) => `    ${l}`).join('\n')
}
