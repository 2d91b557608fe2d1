// zeroshot serve: a real server on 127.0.0.1 over a results folder of the tiny fixture model, driven with fetch.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { ErrorResponse, LabSpec, SaveRunResponse, ScoreResponse, SessionResponse } from '../src/server/lab_api.js';
import { resultsFolderDifferences } from './helpers/results_equality.js';
import { LabSession } from '../src/lab/lab_session.js';
import { columnKeepingKernel } from '../src/lab/column_kernel.js';
import { scoreInChunks } from '../src/score/chunked.js';
import { loopKernel } from '../src/score/similarity_kernel.js';
import { l2NormalizeRows } from '../src/score/similarity.js';
import { Mulberry32 } from '../src/evaluate/bootstrap.js';
import { parseStrategy } from '../src/score/strategies.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const ROOT = await mkdtemp(join(tmpdir(), 'zs-lab-'));
const CACHE = join(ROOT, 'cache.sqlite');
const IMAGES = join(ROOT, 'images');
const LABELS = join(ROOT, 'labels.csv');
const SPEC = 'name: colours\nclasses:\n  warm: [a photo of something warm, a photo of something red]\n  cool: [a photo of something cool, a photo of something blue]\n  animal: {prompts: [a photo of an animal], probe: true}\n';
const MODEL_ARGS = ['--model', FIXTURE, '--offline', '--threads', '1', '--cache', CACHE];
const RUN_ARGS = ['--images', IMAGES, '--labels', LABELS, '--label-column', 'colour', '--groups', 'shade', '--bootstrap', '200', ...MODEL_ARGS];

after(() => rm(ROOT, { recursive: true, force: true }));

async function zeroshot(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** 16 noise images in 4 colours, labelled warm/cool with a shade group; and an unreadable one (errors.jsonl). */
async function makeInputs(): Promise<void> {
  await mkdir(IMAGES, { recursive: true });
  const rows = ['file,colour,shade'];
  const colours: [string, number, number, number, string][] = [['red', 220, 30, 30, 'warm'], ['orange', 240, 140, 20, 'warm'], ['blue', 20, 40, 230, 'cool'], ['green', 30, 200, 40, 'cool']];
  for (const [name, r, g, b, colour] of colours) {
    for (let k = 0; k < 4; k++) {
      const noise = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => [r, g, b][i % 3] ^ ((i * 7919 + k * 131) % 61)));
      const file = `${name}-${k}.png`;
      await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).toFile(join(IMAGES, file));
      rows.push(`${file},${colour},${k % 2 ? 'dark' : 'light'}`);
    }
  }
  await writeFile(join(IMAGES, 'broken.png'), 'not a png');
  await writeFile(LABELS, rows.join('\n') + '\n');
}

interface Lab {
  readonly child: ChildProcess;
  readonly url: string;
  readonly base: string;
  readonly token: string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts `zeroshot serve` and waits for the URL it prints. */
async function serve(args: string[]): Promise<Lab> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /(http:\/\/\S+\/\?token=[0-9a-f]+)/.exec(stdout);
      if (match) resolve(match[1]);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  const parsed = new URL(url);
  return { child, url, base: parsed.origin, token: parsed.searchParams.get('token')!, stderr: () => stderr, exited };
}

const json = (token: string, body: unknown): RequestInit => ({
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A request with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(url: string, host: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host, authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

await makeInputs();
const SAVED = join(ROOT, 'saved');
await writeFile(join(ROOT, 'colours.yaml'), SPEC);
const first = await zeroshot(['run', ...RUN_ARGS, '--spec', join(ROOT, 'colours.yaml'), '--out', SAVED]);
assert.equal(first.code, 0, first.stderr);
const lab = await serve([SAVED, '--cache', CACHE, '--save-dir', join(ROOT, 'lab-runs')]);
after(() => {
  lab.child.kill('SIGKILL');
});

test('serve binds 127.0.0.1 by default and is not reachable on other addresses', async () => {
  assert.equal(new URL(lab.url).hostname, '127.0.0.1');
  const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!other) return;
  const port = new URL(lab.url).port;
  await assert.rejects(fetch(`http://${other.address}:${port}/api/session`, { headers: { authorization: `Bearer ${lab.token}` } }));
});

test('a missing or wrong token is refused; the Bearer and X-Zeroshot-Token headers are accepted', async () => {
  const missing = await fetch(`${lab.base}/api/session`);
  assert.equal(missing.status, 401);
  assert.match(((await missing.json()) as ErrorResponse).error, /no token/);
  assert.equal((await fetch(`${lab.base}/api/session`, { headers: { authorization: 'Bearer 00' } })).status, 403);
  assert.equal((await fetch(`${lab.base}/?token=${'0'.repeat(64)}`, { redirect: 'manual' })).status, 403);
  assert.equal((await fetch(`${lab.base}/api/session`, { headers: { authorization: `Bearer ${lab.token}` } })).status, 200);
  assert.equal((await fetch(`${lab.base}/api/session`, { headers: { 'x-zeroshot-token': lab.token } })).status, 200);
  assert.equal((await fetch(`${lab.base}/assets/echarts.js`)).status, 401);
});

test('cookie flow: ?token= sets an HttpOnly SameSite=Strict cookie and redirects to a URL without it', async () => {
  const first = await fetch(lab.url, { redirect: 'manual' });
  assert.equal(first.status, 303);
  assert.equal(first.headers.get('location'), '/');
  const cookie = first.headers.get('set-cookie')!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const pair = cookie.split(';')[0];
  const page = await fetch(`${lab.base}/`, { headers: { cookie: pair } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy')!, /default-src 'none'/);
  assert.match(await page.text(), /<div id="lab"><\/div>/);
  const session = await fetch(`${lab.base}/api/session`, { headers: { cookie: pair } });
  assert.equal(session.status, 200);
  const body = (await session.json()) as SessionResponse;
  assert.equal(body.images.count, 16);
  assert.equal(body.spec.classes.length, 3);
  assert.deepEqual(body.images.groups.shade?.slice(0, 2), ['light', 'dark']);
});

test('a Host header other than the bound address or localhost is refused (DNS rebinding)', async () => {
  const port = new URL(lab.url).port;
  assert.equal(await getWithHost(`${lab.base}/api/session`, `evil.example:${port}`, lab.token), 403);
  assert.equal(await getWithHost(`${lab.base}/api/session`, `127.0.0.1:${Number(port) + 1}`, lab.token), 403);
  assert.equal(await getWithHost(`${lab.base}/api/session`, `localhost:${port}`, lab.token), 200);
});

test('path-like input, unknown keys and bodies over the limit are refused', async () => {
  const session = (await (await fetch(`${lab.base}/api/session`, { headers: { authorization: `Bearer ${lab.token}` } })).json()) as SessionResponse;
  const pathName = await fetch(`${lab.base}/api/save-run`, json(lab.token, { spec: { ...session.spec, name: '../../etc/evil' } }));
  assert.equal(pathName.status, 400);
  assert.match(((await pathName.json()) as ErrorResponse).error, /looks like a file path/);
  const extraKey = await fetch(`${lab.base}/api/save-run`, json(lab.token, { spec: session.spec, folder: '/tmp/elsewhere' }));
  assert.equal(extraKey.status, 400);
  assert.ok(((await extraKey.json()) as ErrorResponse).issues?.length);
  assert.equal((await fetch(`${lab.base}/api/images/..%2F..%2Fetc%2Fpasswd/thumbnail`, { headers: { authorization: `Bearer ${lab.token}` } })).status, 400);
  assert.equal((await fetch(`${lab.base}/api/images/999/thumbnail`, { headers: { authorization: `Bearer ${lab.token}` } })).status, 404);
  const thumbnail = await fetch(`${lab.base}/api/images/0/thumbnail`, { headers: { authorization: `Bearer ${lab.token}` } });
  assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
  const big = await fetch(`${lab.base}/api/score`, json(lab.token, { spec: { ...session.spec, description: 'x'.repeat(1.5 * 2 ** 20) } }));
  assert.equal(big.status, 413);
});

test('the score of a spec with one added prompt equals a CLI run with that spec; save as run equals its folder', async () => {
  const session = (await (await fetch(`${lab.base}/api/session`, { headers: { authorization: `Bearer ${lab.token}` } })).json()) as SessionResponse;
  assert.deepEqual(session.metrics, JSON.parse(await readFile(join(SAVED, 'metrics.json'), 'utf8')));
  const edited: LabSpec = { ...session.spec, classes: session.spec.classes.map((c) => (c.name === 'cool' ? { ...c, prompts: [...c.prompts!, 'a photo of something green'] } : c)) };
  const scoredResponse = await fetch(`${lab.base}/api/score`, json(lab.token, { spec: edited }));
  assert.equal(scoredResponse.status, 200);
  const scored = (await scoredResponse.json()) as ScoreResponse;
  assert.equal(scored.encoded_prompts, 1);
  assert.equal(scored.spec.prompts.length, 6);
  assert.deepEqual(scored.left_out, { images: 0, values: {} });
  assert.ok(scored.changes.some((c) => c.metric === 'accuracy' && c.saved !== null));

  // The CLI with the lab's YAML, on the same images, labels, settings and cache.
  const yaml = await (await fetch(`${lab.base}/api/spec.yaml`, json(lab.token, { spec: edited }))).text();
  const specFile = join(ROOT, 'edited.yaml');
  await writeFile(specFile, yaml);
  const cliOut = join(ROOT, 'cli-edited');
  const cli = await zeroshot(['run', ...RUN_ARGS, '--spec', specFile, '--unmatched-labels', 'skip', '--out', cliOut]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(scored.metrics, JSON.parse(await readFile(join(cliOut, 'metrics.json'), 'utf8')));

  // Image scores and cells of the scored spec.
  const scores = await (await fetch(`${lab.base}/api/images/2/scores?spec=${scored.spec_hash}`, { headers: { authorization: `Bearer ${lab.token}` } })).json() as { scores: number[]; key: string };
  const similarities = JSON.parse(await readFile(join(cliOut, 'similarities.json'), 'utf8')) as Record<string, Record<string, number>>;
  assert.deepEqual(scores.scores, Object.values(similarities[scores.key]));
  const [truth, predicted, count] = scored.cells.sum[0];
  const cell = await (await fetch(`${lab.base}/api/cell`, json(lab.token, { spec_hash: scored.spec_hash, strategy: 'sum', truth, predicted }))).json() as { images: number[] };
  assert.equal(cell.images.length, count);

  const saved = await fetch(`${lab.base}/api/save-run`, json(lab.token, { spec: edited }));
  assert.equal(saved.status, 200);
  const { folder } = (await saved.json()) as SaveRunResponse;
  assert.doesNotMatch(folder, /[/\\]/);
  assert.deepEqual(await resultsFolderDifferences(join(ROOT, 'lab-runs', folder), cliOut), []);
});

async function labSession(): Promise<SessionResponse> {
  return (await (await fetch(`${lab.base}/api/session`, { headers: { authorization: `Bearer ${lab.token}` } })).json()) as SessionResponse;
}

async function labScore(body: { spec: LabSpec; label_map?: Record<string, string> }): Promise<ScoreResponse> {
  const response = await fetch(`${lab.base}/api/score`, json(lab.token, body));
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as ScoreResponse;
}

/** Saves `body` as a run, and runs the CLI with its YAML and `cliArgs`: the two folders must be equal. */
async function saveEqualsCli(body: { spec: LabSpec; label_map?: Record<string, string> }, name: string, cliArgs: string[]): Promise<string> {
  const yaml = await (await fetch(`${lab.base}/api/spec.yaml`, json(lab.token, body))).text();
  const specFile = join(ROOT, `${name}.yaml`);
  await writeFile(specFile, yaml);
  const cliOut = join(ROOT, `cli-${name}`);
  const cli = await zeroshot(['run', ...RUN_ARGS, '--spec', specFile, ...cliArgs, '--out', cliOut]);
  assert.equal(cli.code, 0, cli.stderr);
  const saved = await fetch(`${lab.base}/api/save-run`, json(lab.token, body));
  assert.equal(saved.status, 200);
  const { folder } = (await saved.json()) as SaveRunResponse;
  assert.deepEqual(await resultsFolderDifferences(join(ROOT, 'lab-runs', folder), cliOut), []);
  return cliOut;
}

test('a labelled class removed: its images are left out of the metrics, as zeroshot run --unmatched-labels skip', async () => {
  const session = await labSession();
  const withoutWarm: LabSpec = { ...session.spec, classes: session.spec.classes.filter((c) => c.name !== 'warm') };
  const scored = await labScore({ spec: withoutWarm });
  assert.deepEqual(scored.left_out, { images: 8, values: { warm: 8 } });
  assert.equal(scored.metrics!.strategies.sum.n, 8);
  assert.ok(scored.cells.sum.filter(([truth]) => truth === -1).reduce((n, [, , count]) => n + count, 0) === 8, 'the 8 warm images are in the unlabelled cells');
  const cliOut = await saveEqualsCli({ spec: withoutWarm }, 'without-warm', ['--unmatched-labels', 'skip']);
  assert.deepEqual(scored.metrics, JSON.parse(await readFile(join(cliOut, 'metrics.json'), 'utf8')));
  assert.deepEqual(JSON.parse(await readFile(join(cliOut, 'run.json'), 'utf8')).unmatched_labels, { policy: 'skip', left_out: { warm: 8 } });

  const withoutProbe = await fetch(`${lab.base}/api/score`, json(lab.token, { spec: { ...session.spec, classes: session.spec.classes.filter((c) => c.name !== 'animal') } }));
  assert.equal(withoutProbe.status, 200);
  // What the CLI refuses the lab refuses, with its message.
  const twice = await fetch(`${lab.base}/api/score`, json(lab.token, { spec: { ...session.spec, classes: [...session.spec.classes, session.spec.classes[0]] } }));
  assert.equal(twice.status, 400);
  assert.match(((await twice.json()) as ErrorResponse).error, /warm/);
});

test('a labelled class renamed with label_map keeps its images: the same numbers; save as run equals zeroshot run --label-map', async () => {
  const session = await labSession();
  const renamed: LabSpec = { ...session.spec, classes: session.spec.classes.map((c) => (c.name === 'warm' ? { ...c, name: 'hot' } : c)) };
  const unmapped = await labScore({ spec: renamed });
  assert.deepEqual(unmapped.left_out, { images: 8, values: { warm: 8 } });
  const mapped = await labScore({ spec: renamed, label_map: { warm: 'hot' } });
  assert.deepEqual(mapped.left_out, { images: 0, values: {} });
  assert.notEqual(mapped.spec_hash, unmapped.spec_hash, 'the label map is part of what a spec_hash names');
  const savedMetrics = session.metrics!;
  for (const strategy of Object.keys(savedMetrics.strategies)) {
    assert.equal(mapped.metrics!.strategies[strategy].accuracy, savedMetrics.strategies[strategy].accuracy, strategy);
    assert.equal(mapped.metrics!.strategies[strategy].balanced_accuracy, savedMetrics.strategies[strategy].balanced_accuracy, strategy);
  }
  assert.deepEqual(mapped.cells, (await labScore({ spec: session.spec })).cells, 'class indices and counts unchanged');
  // Cells of the mapped score list the renamed class's images.
  const [truth, predicted, count] = mapped.cells.sum.find(([t]) => t === 0)!;
  const cell = (await (await fetch(`${lab.base}/api/cell`, json(lab.token, { spec_hash: mapped.spec_hash, strategy: 'sum', truth, predicted }))).json()) as { images: number[] };
  assert.equal(cell.images.length, count);

  const mapFile = join(ROOT, 'rename-map.yaml');
  await writeFile(mapFile, 'warm: hot\n');
  const cliOut = await saveEqualsCli({ spec: renamed, label_map: { warm: 'hot' } }, 'renamed', ['--label-map', mapFile, '--unmatched-labels', 'skip']);
  assert.equal(await readFile(join(cliOut, 'label-map.yaml'), 'utf8'), 'warm: hot\n');
  assert.deepEqual(mapped.metrics, JSON.parse(await readFile(join(cliOut, 'metrics.json'), 'utf8')));
  // A spec file holds no label map: the YAML is the spec's alone.
  const yaml = await (await fetch(`${lab.base}/api/spec.yaml`, json(lab.token, { spec: renamed, label_map: { warm: 'hot' } }))).text();
  assert.equal(yaml, await (await fetch(`${lab.base}/api/spec.yaml`, json(lab.token, { spec: renamed }))).text());
  const badMap = await fetch(`${lab.base}/api/score`, json(lab.token, { spec: renamed, label_map: { warm: 7 } }));
  assert.equal(badMap.status, 400);
});

test('over a run with its own --label-map, save as run maps the CSV values through both maps (label-map.yaml)', async () => {
  const csvMap = join(ROOT, 'csv-map.yaml');
  await writeFile(csvMap, 'warm: hot\n');
  await writeFile(join(ROOT, 'hot.yaml'), SPEC.replace('warm:', 'hot:'));
  const mappedRun = join(ROOT, 'mapped-run');
  const first = await zeroshot(['run', ...RUN_ARGS, '--spec', join(ROOT, 'hot.yaml'), '--label-map', csvMap, '--out', mappedRun]);
  assert.equal(first.code, 0, first.stderr);
  const session = await LabSession.open(mappedRun, { cache: CACHE, offline: true, threads: 1, saveDir: join(ROOT, 'mapped-lab') });
  try {
    const spec = session.session().spec;
    const renamed: LabSpec = { ...spec, classes: spec.classes.map((c) => (c.name === 'hot' ? { ...c, name: 'scarlet' } : c)) };
    const { folder } = await session.saveRun(renamed, { hot: 'scarlet' });
    // warm → hot → scarlet; and a CSV value 'hot', which the saved run took as its class hot, goes to scarlet too.
    assert.equal(await readFile(join(ROOT, 'mapped-lab', folder, 'label-map.yaml'), 'utf8'), 'hot: scarlet\nwarm: scarlet\n');
    const specFile = join(ROOT, 'scarlet.yaml');
    await writeFile(specFile, session.specYaml(renamed));
    const cliOut = join(ROOT, 'cli-scarlet');
    const cli = await zeroshot(['run', ...RUN_ARGS, '--spec', specFile, '--label-map', join(ROOT, 'mapped-lab', folder, 'label-map.yaml'), '--unmatched-labels', 'skip', '--out', cliOut]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(await resultsFolderDifferences(join(ROOT, 'mapped-lab', folder), cliOut), []);
  } finally {
    await session.close();
  }
});

test('SIGINT while new prompts are encoding: exit code 0 and the cache passes its check', async () => {
  const session = (await (await fetch(`${lab.base}/api/session`, { headers: { authorization: `Bearer ${lab.token}` } })).json()) as SessionResponse;
  const many: LabSpec = { ...session.spec, classes: session.spec.classes.map((c) => (c.name === 'warm' ? { ...c, prompts: [...c.prompts!, ...Array.from({ length: 300 }, (_, k) => `a photo of warm thing number ${k}`)] } : c)) };
  const pending = fetch(`${lab.base}/api/score`, json(lab.token, { spec: many })).then((r) => r.status, () => 'connection closed');
  await new Promise((resolve) => setTimeout(resolve, 150));
  lab.child.kill('SIGINT');
  assert.equal(await lab.exited, 0, lab.stderr());
  assert.ok([200, 503, 'connection closed'].includes(await pending), String(await pending));
  const check = await zeroshot(['cache', 'check', '--cache', CACHE]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /: ok/);
});

test('serve --images runs first (as zeroshot run, into --out), then serves that folder; SIGTERM exits 0', async () => {
  const out = join(ROOT, 'fresh');
  await writeFile(join(ROOT, 'fresh.yaml'), SPEC);
  const fresh = await serve([...RUN_ARGS, '--spec', join(ROOT, 'fresh.yaml'), '--out', out, '-q']);
  try {
    const session = (await (await fetch(`${fresh.base}/api/session`, { headers: { authorization: `Bearer ${fresh.token}` } })).json()) as SessionResponse;
    assert.deepEqual(session.metrics, JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
    assert.equal(session.save_dir, 'fresh-lab');
  } finally {
    fresh.child.kill('SIGTERM');
  }
  assert.equal(await fresh.exited, 0, fresh.stderr());
});

test('the lab kernel (kept columns) scores as the loop kernel, block by block, as prompts come and go', async () => {
  const random = new Mulberry32(5);
  const dim = 8;
  const unit = (rows: number) => l2NormalizeRows(Float32Array.from({ length: rows * dim }, () => random.next() - 0.5), dim);
  const images = unit(300);
  const texts = unit(6);
  const kernel = columnKeepingKernel(images, dim);
  const strategies = ['sum', 'max', 'topk:2', 'embedding-mean'].map(parseStrategy);
  for (const rows of [[0, 1, 2, 3], [0, 1, 2, 3, 4], [4, 1, 5, 0]]) {
    const textEmbeddings = new Float32Array(rows.length * dim);
    rows.forEach((r, j) => textEmbeddings.set(texts.subarray(r * dim, (r + 1) * dim), j * dim));
    const inputs = { imageEmbeddings: images, textEmbeddings, dim, promptClass: Int32Array.from(rows, (_, j) => j % 2), numClasses: 2 };
    const blocks: Float32Array[][] = [[], []];
    const run = (k: typeof kernel, out: Float32Array[]) => scoreInChunks(inputs, strategies, { kernel: k, rows: 64, topClasses: 2, onBlock: (_, block) => void out.push(block.data.slice()) });
    assert.deepEqual(await run(kernel, blocks[0]), await run(loopKernel, blocks[1]));
    assert.deepEqual(blocks[0], blocks[1]);
  }
});
