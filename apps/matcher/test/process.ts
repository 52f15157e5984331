/** Test support: `doublelock matcher serve` as its own process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));

/** Starts the matcher with these arguments and the internal token; resolves with its URL once it says it is running. */
export async function serveMatcher(args: string[], token: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'matcher', 'serve', ...args], { env: { ...process.env, DOUBLELOCK_MATCHER_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /running at (\S+) \(/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`matcher exited ${code}: ${out}`)));
  });
  return { child, url };
}
