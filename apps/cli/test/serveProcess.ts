/** Test and bench support: a `doublelock … serve` command as its own process, ready once it prints its URL. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../bin/doublelock.js', import.meta.url));

/**
 * Runs `node [nodeArgs] doublelock <args>` and resolves with its URL once it says "running at <url> ";
 * rejects with what it printed if it exits first. stderr is collected for that message unless inherited.
 */
export async function serveProcess(args: string[], options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; inheritStderr?: boolean } = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', options.inheritStderr ? 'inherit' : 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /running at (\S+) /.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`${args.slice(0, 2).join(' ')} exited ${code}: ${out}`)));
  });
  return { child, url };
}
