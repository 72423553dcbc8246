/**
 * README samples as tested files. A sample that is meant to run lives in a `*.sample.ts` file
 * beside its test, exactly as the README prints it (imports included); the test runs it with
 * `runSample` and asserts what it printed and left, and `assertReadmeQuotes` fails unless the
 * README's fenced block is that file character for character — so neither can change alone.
 */
import { readFileSync } from 'node:fs'
import * as assert from 'uvu/assert'

/** Where a block is: the first ```ts block after the first line containing `after`, or the n-th (0-based) ```ts block of the file. */
export type BlockAt = { after: string } | { index: number }

/** The ```ts fenced blocks of a markdown file, in order, with their starting line (1-based). */
export function codeBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue
    const end = lines.indexOf('```', i + 1)
    if (end < 0) throw new Error(`unclosed \`\`\`ts block at line ${i + 1}`)
    blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n') + '\n' })
    i = end
  }
  return blocks
}

/** The text of one ```ts block (with its final newline, without the fences). */
export function readmeBlock(readme: URL, at: BlockAt): string {
  const markdown = readFileSync(readme, 'utf8')
  const blocks = codeBlocks(markdown)
  if ('index' in at) {
    const block = blocks[at.index]
    if (block === undefined) throw new Error(`${readme.pathname} has no ts block #${at.index}`)
    return block.code
  }
  const from = markdown.split('\n').findIndex((l) => l.includes(at.after))
  if (from < 0) throw new Error(`${readme.pathname} has no line with ${JSON.stringify(at.after)}`)
  const block = blocks.find((b) => b.line > from + 1)
  if (block === undefined) throw new Error(`${readme.pathname} has no ts block after ${JSON.stringify(at.after)}`)
  return block.code
}

/** Fails unless the README's block is the sample file, character for character. */
export function assertReadmeQuotes(readme: URL, at: BlockAt, sample: URL): void {
  assert.fixture(readmeBlock(readme, at), readFileSync(sample, 'utf8'), `${readme.pathname} ${JSON.stringify(at)} must be ${sample.pathname}`)
}

/**
 * Runs a sample module (its top-level awaits included) and returns what it printed with
 * console.log, one array of arguments per call. Each sample runs once per process.
 */
export async function runSample(sample: URL): Promise<unknown[][]> {
  const printed: unknown[][] = []
  const log = console.log
  console.log = (...args: unknown[]) => void printed.push(args)
  try {
    await import(sample.href)
  } finally {
    console.log = log
  }
  return printed
}
