// A Redis server for the queue tests: $ZEROSHOT_TEST_REDIS when set (.ci/run starts one), else a redis-server of
// our own on a free loopback port, in a temporary folder, without persistence, stopped when the tests end. Every
// test takes its own queue name, so tests sharing one server never see each other's jobs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRedis {
  readonly url: string;
  /** A queue name no other test uses. */
  queueName(label: string): string;
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env.ZEROSHOT_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not listen on 127.0.0.1:${port} within 10 s: ${log()}`);
}

let serial = 0;
const queueNamer = (label: string) => `zs-test-${process.pid}-${Date.now().toString(36)}-${serial++}-${label}`;

export async function startTestRedis(): Promise<TestRedis> {
  const shared = process.env.ZEROSHOT_TEST_REDIS;
  if (shared) return { url: shared, queueName: queueNamer, stop: async () => {} };
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'zs-redis-'));
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForPort(port, child, () => output.slice(-2000));
  return {
    url: `redis://127.0.0.1:${port}`,
    queueName: queueNamer,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
