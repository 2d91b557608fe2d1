// A PostgreSQL database for a test file: a fresh database on the server of $ZEROSHOT_TEST_POSTGRES (what .ci/run
// starts), else on a server of its own started in a temporary folder (Debian's postgresql), so `npm test` alone works.
// The test reaches it through a TCP relay on loopback, so `stop()` makes it unreachable mid-run (open connections
// reset, new ones refused) and `start()` brings it back on the same port, without stopping a server others share.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Debian's newest installed PostgreSQL: /usr/lib/postgresql/<version>/bin, or undefined. */
function postgresBin(): string | undefined {
  let versions: string[];
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest && join('/usr/lib/postgresql', newest, 'bin');
}

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/DB of a fresh database, through the relay. */
  readonly url: string;
  /** Another fresh database on the same server and relay (dropped by close()). */
  newDatabase(): Promise<string>;
  /** Resets the relay's connections and refuses new ones, as a database that goes away does. */
  stop(): Promise<void>;
  /** Accepts connections again, on the same port. */
  start(): Promise<void>;
  /** Drops the databases and stops what was started for this test file. */
  close(): Promise<void>;
}

/** Why no test database can be had here (no $ZEROSHOT_TEST_POSTGRES and no Debian postgresql), else undefined. */
export function postgresUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.ZEROSHOT_TEST_POSTGRES) return undefined;
  return postgresBin() ? undefined : 'no ZEROSHOT_TEST_POSTGRES and no /usr/lib/postgresql/*/bin (apt-get install postgresql)';
}

/** A fresh database for this test file; call close() in after(). */
export async function testPostgres(env: NodeJS.ProcessEnv = process.env): Promise<TestPostgres> {
  const server = env.ZEROSHOT_TEST_POSTGRES ? sharedServer(env.ZEROSHOT_TEST_POSTGRES) : await ownServer();
  const relay = await startRelay(server.host, server.port);
  const databases: string[] = [];
  const admin = () => new pg.Client({ connectionString: server.adminUrl });
  const newDatabase = async () => {
    const name = `zs_test_${process.pid}_${Date.now().toString(36)}_${databases.length}`;
    const client = admin();
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    databases.push(name);
    const url = new URL(server.adminUrl);
    url.host = `127.0.0.1:${relay.port}`;
    url.pathname = `/${name}`;
    return url.toString();
  };
  const url = await newDatabase();
  return {
    url,
    newDatabase,
    stop: () => relay.stop(),
    start: () => relay.start(),
    close: async () => {
      await relay.stop();
      const client = admin();
      await client.connect();
      try {
        for (const name of databases) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
      await server.stop();
    },
  };
}

interface BackingServer {
  host: string;
  port: number;
  /** A URL of a database to connect to for CREATE/DROP DATABASE. */
  adminUrl: string;
  stop(): Promise<void>;
}

function sharedServer(adminUrl: string): BackingServer {
  const url = new URL(adminUrl);
  return { host: url.hostname, port: Number(url.port || 5432), adminUrl, stop: async () => {} };
}

/** initdb + pg_ctl in a temporary folder, as the postgres user when this is root (initdb refuses root). */
async function ownServer(): Promise<BackingServer> {
  const bin = postgresBin();
  if (!bin) throw new Error(postgresUnavailable());
  const root = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'zs-pg-'));
  if (root) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const run = (tool: string, args: string[]) => {
    const command = root ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] as const : [join(bin, tool), args] as const;
    execFileSync(command[0], command[1], { stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  // Loopback only; fsync off: test data need not survive a power cut.
  const settings = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', settings, 'start']);
  const stopServer = () => {
    spawnSync(root ? 'runuser' : join(bin, 'pg_ctl'), [...(root ? ['-u', 'postgres', '--', join(bin, 'pg_ctl')] : []), '-D', data, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  // A test file that ends early (an error, the runner's SIGTERM or a Ctrl-C) must not leave a server behind.
  const onSignal = (signal: NodeJS.Signals) => {
    stopServer();
    process.kill(process.pid, signal);
  };
  process.once('exit', stopServer);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return {
    host: '127.0.0.1',
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      process.removeListener('exit', stopServer);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      stopServer();
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  return { uid: id('-u'), gid: id('-g') };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP relay 127.0.0.1:port → host:targetPort that can be switched off and on. */
async function startRelay(host: string, targetPort: number): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const start = async () => {
    if (server) return;
    const listening = createServer((client) => {
      const upstream = connect(targetPort, host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', resolve);
    });
    port = (listening.address() as { port: number }).port;
    server = listening;
  };
  const stop = async () => {
    const closing = server;
    server = undefined;
    if (!closing) return;
    const closed = new Promise((resolve) => closing.close(resolve));
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    await closed;
  };
  await start();
  return { port, stop, start };
}
