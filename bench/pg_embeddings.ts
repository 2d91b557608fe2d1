/**
 * How the PostgreSQL store keeps embeddings: little-endian float32 bytea (what postgres_cache.ts does) against
 * real[], on 10,000 × 512 random embeddings in batches of 1,000 (one unnest INSERT each), then one SELECT of all.
 * Uses $ZEROSHOT_TEST_POSTGRES's server or starts its own (test/helpers/postgres_server.ts).
 *
 *   node --import tsx bench/pg_embeddings.ts
 */
import pg from 'pg';
import { float32FromLittleEndian, float32ToLittleEndian } from '../src/encode/cache/npy.js';
import { testPostgres } from '../test/helpers/postgres_server.js';

const ROWS = 10_000, DIM = 512, BATCH = 1000;
const vectors = Array.from({ length: ROWS }, () => Float32Array.from({ length: DIM }, () => (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 8 - 4)));
const keys = vectors.map((_, i) => `hash${String(i).padStart(8, '0')}`);

const server = await testPostgres();
const client = new pg.Client(server.url);
await client.connect();
await client.query('CREATE TABLE as_bytea (k TEXT PRIMARY KEY, e BYTEA NOT NULL); CREATE TABLE as_real (k TEXT PRIMARY KEY, e REAL[] NOT NULL)');

async function measure(name: string, write: (from: number) => Promise<unknown>, readAll: () => Promise<Float32Array[]>) {
  let start = performance.now();
  for (let from = 0; from < ROWS; from += BATCH) await write(from);
  const writeS = (performance.now() - start) / 1000;
  start = performance.now();
  const back = await readAll();
  const readS = (performance.now() - start) / 1000;
  const exact = back.every((v, i) => v.length === DIM && v.every((x, j) => Object.is(x, vectors[i][j])));
  const size = (await client.query(`SELECT pg_total_relation_size('${name}') AS b`)).rows[0].b;
  console.log(`${name}: write ${writeS.toFixed(2)} s, read ${readS.toFixed(2)} s, exact ${exact}, table ${(Number(size) / 1e6).toFixed(1)} MB`);
}

await measure(
  'as_bytea',
  (from) => client.query('INSERT INTO as_bytea SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT DO NOTHING', [keys.slice(from, from + BATCH), vectors.slice(from, from + BATCH).map(float32ToLittleEndian)]),
  async () => (await client.query<{ e: Buffer }>('SELECT e FROM as_bytea ORDER BY k')).rows.map((row) => float32FromLittleEndian(row.e)),
);
// real[]: each row's array as its text literal; float4 prints shortest-exact since PostgreSQL 12.
await measure(
  'as_real',
  (from) => client.query('INSERT INTO as_real SELECT k, e::real[] FROM unnest($1::text[], $2::text[]) AS t (k, e) ON CONFLICT DO NOTHING', [keys.slice(from, from + BATCH), vectors.slice(from, from + BATCH).map((v) => `{${Array.from(v).join(',')}}`)]),
  async () => (await client.query<{ e: number[] }>('SELECT e FROM as_real ORDER BY k')).rows.map((row) => Float32Array.from(row.e)),
);
await client.end();
await server.close();
