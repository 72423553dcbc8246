/**
 * The wallet page's bundle as bench/browser.ts measures it and bundle-split.test.ts checks it: an
 * entry importing @tally/browser's subpaths (as the README advises) and the core functions a wallet
 * uses, bundled and minified by esbuild for browsers with code splitting, as a page would be.
 */
import { relative } from 'node:path'
import { build, type Metafile } from 'esbuild'

/** The entry: what a wallet page imports. */
export const WALLET_ENTRY = `
export { createBrowserIdentity, openBrowserIdentity, restoreBrowserIdentity } from '@tally/browser/identity'
export { createBrowserWallet } from '@tally/browser/wallet'
export { openIdbStore } from '@tally/browser/idb-store'
export { createAgent, createBlockTypes, validate } from '@tally/core'
`

/** The outputs of one build, keyed as the metafile keys them (relative to the working directory). */
export interface WalletBundle {
  readonly outputs: Metafile['outputs']
  readonly contents: ReadonlyMap<string, Uint8Array>
  /** The entry's output. */
  readonly entry: string
  /** An output and every chunk it imports statically (what loading it loads). */
  closure(from: string): Set<string>
}

/**
 * Bundle the wallet entry (in memory: nothing is written).
 * @param root the repository's root (where the workspace packages resolve)
 * @param outdir where the outputs would go (names only)
 * @returns the outputs
 */
export async function bundleWallet(root: string, outdir: string): Promise<WalletBundle> {
  const result = await build({
    stdin: { contents: WALLET_ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'wallet.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // what a wallet loads only when it uses it (a dynamic import()) goes into chunks of its own
    splitting: true,
    outdir,
    write: false,
    logLevel: 'silent',
    metafile: true,
  })
  const outputs = result.metafile.outputs
  const entry = Object.keys(outputs).find((o) => outputs[o]!.entryPoint === 'wallet.ts')
  if (entry === undefined) throw new Error('the wallet entry is not among the outputs')
  const closure = (from: string, into = new Set<string>()): Set<string> => {
    if (into.has(from)) return into
    into.add(from)
    for (const i of outputs[from]!.imports) if (i.kind === 'import-statement' && i.path in outputs) closure(i.path, into)
    return into
  }
  return { outputs, contents: new Map(result.outputFiles.map((f) => [relative(process.cwd(), f.path), f.contents])), entry, closure: (from) => closure(from) }
}
