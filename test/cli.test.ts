import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { parse as parseCsv } from 'csv-parse/sync';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/zeroshot.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const FAIRFACE = fileURLToPath(new URL('../../shared/data/fairface-val/', import.meta.url));

// Runs never touch the user's cache: each test file gets its own.
const CACHE = join(await mkdtemp(join(tmpdir(), 'zs-cli-cache-')), 'embeddings.sqlite');

async function zeroshot(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20, env: { ...process.env, ZEROSHOT_CACHE: CACHE } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A folder of generated images in several formats, with the broken inputs a real folder has. */
async function makeImageFolder(): Promise<{ root: string; labels: string }> {
  const root = await mkdtemp(join(tmpdir(), 'zs-cli-'));
  const images = join(root, 'images');
  await mkdir(join(images, 'sub'), { recursive: true });
  const colours: [string, number, number, number][] = [
    ['red.jpg', 220, 30, 30], ['green.png', 30, 200, 40], ['blue.webp', 20, 40, 230], ['sub/grey.jpg', 128, 128, 128],
    ['wide.png', 250, 200, 10], ['tall.jpg', 10, 10, 10],
  ];
  for (const [name, r, g, b] of colours) {
    const [width, height] = name.startsWith('wide') ? [400, 120] : name.startsWith('tall') ? [90, 300] : [256, 256];
    const noise = Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => [r, g, b][i % 3] ^ ((i * 7919) % 61)));
    await sharp(noise, { raw: { width, height, channels: 3 } }).toFile(join(images, name));
  }
  await writeFile(join(images, 'empty.jpg'), '');
  await writeFile(join(images, 'corrupt.png'), 'this is not a png');
  const jpeg = await readFile(join(images, 'red.jpg'));
  await writeFile(join(images, 'truncated.jpg'), jpeg.subarray(0, 200));
  await writeFile(join(images, 'notes.txt'), 'not an image');
  const labels = join(root, 'labels.csv');
  await writeFile(
    labels,
    'file,colour,shade\nred.jpg,warm,light\ngreen.png,cool,light\nblue.webp,cool,dark\nsub/grey.jpg,cool,dark\nwide.png,warm,light\nmissing.jpg,warm,dark\n',
  );
  return { root, labels };
}

const SPEC = 'templates: ["a photo of something {name}"]\nclasses: {warm: [warm, red], cool: [cool, blue, green]}\n';

test('zeroshot run: end to end on a folder, with bad files recorded and skipped', async () => {
  const { root, labels } = await makeImageFolder();
  const spec = join(root, 'colours.yaml');
  await writeFile(spec, SPEC);
  const out = join(root, 'results');
  const result = await zeroshot(['run', '--images', join(root, 'images'), '--spec', spec, '--labels', labels, '--label-column', 'colour',
    '--out', out, '--model', FIXTURE, '--offline', '--batch-size', '4', '--threads', '1', '--cache', join(root, 'cache.sqlite')]);
  assert.equal(result.code, 0, result.stderr);

  const similarities = JSON.parse(await readFile(join(out, 'similarities.json'), 'utf8')) as Record<string, Record<string, number>>;
  const keys = ['blue.webp', 'green.png', 'red.jpg', 'sub/grey.jpg', 'tall.jpg', 'wide.png'];
  assert.deepEqual(Object.keys(similarities), keys);
  const prompts = ['a photo of something warm', 'a photo of something red', 'a photo of something cool', 'a photo of something blue', 'a photo of something green'];
  for (const scores of Object.values(similarities)) {
    assert.deepEqual(Object.keys(scores), prompts);
    for (const s of Object.values(scores)) assert.ok(Number.isFinite(s) && Math.abs(s) <= 100);
    // full float32 precision: every number round-trips through float32 unchanged
    for (const s of Object.values(scores)) assert.equal(Math.fround(s), s);
  }

  const predictions = parseCsv(await readFile(join(out, 'predictions.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(predictions[0]), ['image', 'sum', 'mean', 'max', 'topk:2', 'topk:3', 'embedding-mean', 'label', 'sha256']);
  assert.deepEqual(predictions.map((p) => p.image), keys);
  assert.deepEqual(predictions.map((p) => p.label), ['cool', 'cool', 'warm', 'cool', '', 'warm']);

  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
  assert.deepEqual(metrics.classes, ['warm', 'cool']);
  for (const [name, m] of Object.entries(metrics.strategies) as [string, { n: number; accuracy: number; confusion: number[][] }][]) {
    assert.equal(m.n, 5, name);
    assert.equal(m.confusion.flat().reduce((a, b) => a + b, 0), 5);
    // accuracy agrees with predictions.csv
    const correct = predictions.filter((p) => p.label && p[name] === p.label).length;
    assert.equal(m.accuracy, correct / 5, name);
  }

  const errors = (await readFile(join(out, 'errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(errors.map((e) => e.image).sort(), ['corrupt.png', 'empty.jpg', 'truncated.jpg']);
  for (const e of errors) assert.ok(typeof e.error === 'string' && e.error.length > 0);

  const runJson = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  assert.deepEqual(runJson.counts, {
    found: 9, ignored_files: 1, embedded: 6, cache_hits: 0, encoded: 6, shared_content: 0, hashes_read: 9, hashes_remembered: 0, failed: 3, labelled: 5, unlabelled: 1, labels_without_image: 1,
    label_rows: 6, duplicate_label_rows: 0, skipped: 0,
  });
  assert.deepEqual(runJson.skipped, []);
  assert.equal(runJson.model.kind, 'folder');
  assert.equal(runJson.spec.classes[1].prompts.length, 3);
  assert.deepEqual(runJson.strategies, ['sum', 'mean', 'max', 'topk:2', 'topk:3', 'embedding-mean']);
  assert.match(result.stdout, /strategy\s+accuracy %\s+balanced acc\. %/);
  assert.match(result.stdout, /6 images embedded \(0 from the cache\), 3 failed, 1 non-image files ignored/);
  assert.match(result.stderr, /3 images could not be read/);

  // A second run replaces the results in place and leaves no temporary files behind.
  const again = await zeroshot(['run', '--images', join(root, 'images'), '--spec', spec, '--out', out, '--model', FIXTURE, '--offline', '--strategies', 'sum,topk:2', '-q']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr, '');
  const files = await readdir(out);
  assert.deepEqual(files.sort(), ['errors.jsonl', 'predictions.csv', 'report.html', 'run.json', 'similarities.json']);
  assert.equal((await readFile(join(out, 'predictions.csv'), 'utf8')).split('\n')[0], 'image,sum,topk:2,sha256');
  // Same model, same images: the same similarities.
  assert.deepEqual(JSON.parse(await readFile(join(out, 'similarities.json'), 'utf8')), similarities);
});

test('zeroshot run: clear errors for bad input, before the model loads', async () => {
  const { root, labels } = await makeImageFolder();
  const base = ['run', '--model', FIXTURE, '--offline', '--out', join(root, 'r')];
  const missing = await zeroshot([...base, '--images', join(root, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--images: '.*nope' does not exist/);

  const column = await zeroshot([...base, '--images', join(root, 'images'), '--labels', labels, '--label-column', 'race']);
  assert.match(column.stderr, /has no column 'race'; its columns are: file, colour, shade/);

  const values = await zeroshot([...base, '--images', join(root, 'images'), '--labels', labels, '--label-column', 'colour']);
  assert.match(values.stderr, /values that are no class of the spec: 'cool' \(3\), 'warm' \(2\); the classes are: White, Black/);

  const badSpec = join(root, 'bad.yaml');
  await writeFile(badSpec, 'classes: {a: [x], b: [x]}');
  const spec = await zeroshot([...base, '--images', join(root, 'images'), '--spec', badSpec]);
  assert.match(spec.stderr, /bad\.yaml: prompt "x" appears in classes 'a' and 'b'/);

  const groups = await zeroshot([...base, '--images', join(root, 'images'), '--labels', labels, '--label-column', 'colour', '--groups', 'shade,size']);
  assert.match(groups.stderr, /--groups: '.*labels\.csv' has no column 'size'; its columns are: file, colour, shade/);

  const strategy = await zeroshot([...base, '--images', join(root, 'images'), '--strategies', 'median']);
  assert.match(strategy.stderr, /unknown strategy 'median'/);
});

test('zeroshot run: a folder where nothing can be read exits non-zero', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zs-cli-'));
  await writeFile(join(root, 'a.jpg'), 'nope');
  await writeFile(join(root, 'b.png'), '');
  const result = await zeroshot(['run', '--images', root, '--model', FIXTURE, '--offline', '--out', join(root, 'r'), '-q']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /none of the 2 images in '.*' could be read/);
});

test('zeroshot demo and tokenize work offline on the bundled fixtures', async () => {
  const out = await mkdtemp(join(tmpdir(), 'zs-demo-'));
  const demo = await zeroshot(['demo', '--out', out]);
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stderr, /the model is a toy/);
  assert.match(demo.stdout, /70 images embedded \(\d+ from the cache\), 0 failed/);
  assert.ok(existsSync(join(out, 'metrics.json')));

  const input = join(out, 'prompts.jsonl');
  await writeFile(input, '"a photo of a white man"\n"caf\\u00c3\\u00a9 &amp; bar"\n');
  const tokens = await zeroshot(['tokenize', '--model', FIXTURE, '--offline', '--jsonl', input]);
  assert.equal(tokens.code, 0, tokens.stderr);
  const lines = tokens.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], { text: 'a photo of a white man', ids: [49406, 320, 1125, 539, 320, 1579, 786, 49407] });
  assert.equal(lines[1].text, 'cafÃ© &amp; bar');
});

test('zeroshot run on real FairFace faces (skipped without ../shared)', { skip: !existsSync(FAIRFACE) && 'no ../shared/data/fairface-val' }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'zs-fairface-'));
  const csv = (await readFile(join(FAIRFACE, 'fairface_label_val.csv'), 'utf8')).trim().split('\n');
  const rows = csv.slice(1, 25);
  await mkdir(join(root, 'val'));
  for (const row of rows) await copyFile(join(FAIRFACE, row.split(',')[0]), join(root, row.split(',')[0]));
  await writeFile(join(root, 'labels.csv'), [csv[0], ...rows].join('\n') + '\n');
  const out = join(root, 'results');
  const result = await zeroshot(['run', '--images', join(root, 'val'), '--labels', join(root, 'labels.csv'), '--label-column', 'race',
    '--out', out, '--model', FIXTURE, '--offline', '-q']);
  assert.equal(result.code, 0, result.stderr);
  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.strategies.sum.n, 24);
  assert.deepEqual(metrics.classes, ['White', 'Black', 'Latino_Hispanic', 'East Asian', 'Southeast Asian', 'Indian', 'Middle Eastern']);
});

test('zeroshot run --groups: the audit lands in metrics.json under groups', async () => {
  const out = await mkdtemp(join(tmpdir(), 'zs-groups-'));
  const demo = fileURLToPath(new URL('../fixtures/demo-images', import.meta.url));
  const result = await zeroshot(['run', '--images', demo, '--labels', join(demo, 'labels.csv'), '--label-column', 'race',
    '--groups', 'gender,age', '--bootstrap', '50', '--min-group-size', '5', '--model', FIXTURE, '--offline', '--out', out, '-q']);
  assert.equal(result.code, 0, result.stderr);
  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
  assert.deepEqual(metrics.groups.settings.bootstrap, 50);
  const attributes = metrics.groups.strategies.sum.attributes as { attribute: string; groups: Record<string, { n: number; accuracy: number; too_small: boolean }> }[];
  assert.deepEqual(attributes.map((a) => a.attribute), ['gender', 'age', 'gender × age']);
  const gender = attributes[0].groups;
  assert.deepEqual(Object.keys(gender).sort(), ['Female', 'Male']);
  assert.equal(gender.Male.n + gender.Female.n, 14);
  assert.equal(gender.Male.too_small, false);
  // The group accuracies agree with the overall accuracy in metrics.json.
  const correct = gender.Male.accuracy * gender.Male.n + gender.Female.accuracy * gender.Female.n;
  assert.ok(Math.abs(correct / 14 - metrics.strategies.sum.accuracy) < 1e-12);

  // The run wrote report.html; `zeroshot report` rebuilds it from the folder alone, with the same numbers.
  const first = await readFile(join(out, 'report.html'), 'utf8');
  await rm(join(out, 'report.html'));
  const rebuilt = await zeroshot(['report', out]);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  const html = await readFile(join(out, 'report.html'), 'utf8');
  const data = (page: string) => page.match(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/)![1];
  assert.equal(data(html), data(first));
  assert.ok(data(html).includes(JSON.stringify(metrics.strategies.sum.accuracy)));
});

test('zeroshot run --exif-rotate: rotates by EXIF orientation, and is cached apart from the unrotated run', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zs-exif-'));
  await mkdir(join(root, 'images'));
  await copyFile(fileURLToPath(new URL('./golden/images/exif_orient6_320x240.jpg', import.meta.url)), join(root, 'images', 'rotated.jpg'));
  const cache = join(root, 'cache.sqlite');
  const base = ['run', '--images', join(root, 'images'), '--model', FIXTURE, '--offline', '--cache', cache, '-q', '--no-report'];
  const plain = await zeroshot([...base, '--out', join(root, 'plain')]);
  const rotated = await zeroshot([...base, '--out', join(root, 'rotated'), '--exif-rotate']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(rotated.code, 0, rotated.stderr);
  const runOf = async (dir: string) => JSON.parse(await readFile(join(root, dir, 'run.json'), 'utf8'));
  assert.equal((await runOf('rotated')).counts.cache_hits, 0, 'a different preprocessing is a different cache key');
  const scores = async (dir: string) => JSON.parse(await readFile(join(root, dir, 'similarities.json'), 'utf8'))['rotated.jpg'];
  assert.notDeepEqual(await scores('plain'), await scores('rotated'));
});

test('zeroshot run: --out and --cache that cannot work are rejected before the model loads', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zs-cli-out-'));
  const images = join(root, 'images');
  await mkdir(images);
  await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).png().toFile(join(images, 'a.png'));
  await writeFile(join(root, 'a-file'), 'x');
  // A model that does not exist: had it been loaded first, that would be the error.
  const base = ['run', '--images', images, '--model', join(root, 'no-model'), '--offline', '-q'];
  const outFile = await zeroshot([...base, '--out', join(root, 'a-file')]);
  assert.equal(outFile.code, 1);
  assert.match(outFile.stderr, /--out '.*a-file': '.*a-file' is a file, not a folder/);
  const outProc = await zeroshot([...base, '--out', '/proc/zeroshot-results']);
  assert.match(outProc.stderr, /'\/proc' is on proc, a virtual file system that cannot hold files/);
  const cacheProc = await zeroshot([...base, '--out', join(root, 'r'), '--cache', '/proc/zeroshot/embeddings.sqlite']);
  assert.equal(cacheProc.code, 1);
  assert.match(cacheProc.stderr, /embedding cache '\/proc\/zeroshot\/embeddings\.sqlite' cannot be used: '\/proc' is on proc/);
  const cacheFolder = await zeroshot([...base, '--out', join(root, 'r'), '--cache', root]);
  assert.match(cacheFolder.stderr, /cannot be used: '.*' is a folder, not a file/);
  assert.ok(!existsSync(join(root, 'r')), 'nothing written');
});

test('zeroshot run: when no image can be read, errors.jsonl and run.json are still written', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zs-cli-broken-'));
  const images = join(root, 'images');
  await mkdir(images);
  await writeFile(join(images, 'a.jpg'), 'not a jpeg');
  await writeFile(join(images, 'b.png'), '');
  const out = join(root, 'r');
  const result = await zeroshot(['run', '--images', images, '--model', FIXTURE, '--offline', '--out', out, '--no-cache']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /none of the 2 images in '.*' could be read; first error: a\.jpg: /);
  const errors = (await readFile(join(out, 'errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(errors.map((e) => e.image), ['a.jpg', 'b.png']);
  const runJson = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  assert.deepEqual([runJson.counts.found, runJson.counts.embedded, runJson.counts.failed], [2, 0, 2]);
  assert.deepEqual(Object.keys(runJson.files).sort(), ['errors.jsonl', 'predictions.csv', 'similarities.json']);
});

test('zeroshot run: symlinks followed, special files listed in run.json, a non-UTF-8 name read by its bytes', async () => {
  const root = await mkdtemp(join(tmpdir(), 'zs-cli-links-'));
  const store = join(root, 'store');
  await mkdir(store);
  await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c03030' } }).jpeg().toFile(join(store, 'red.jpg'));
  await sharp({ create: { width: 30, height: 40, channels: 3, background: '#3030c0' } }).png().toFile(join(store, 'blue.png'));
  const images = join(root, 'images');
  await mkdir(images);
  await symlink(join(store, 'red.jpg'), join(images, 'red-link.jpg'));
  await symlink(store, join(images, 'store'));
  await symlink(join(root, 'gone.jpg'), join(images, 'dangling.jpg'));
  execFileSync('mkfifo', [join(images, 'pipe.jpg')]);
  await copyFile(join(store, 'blue.png'), Buffer.concat([Buffer.from(`${images}/bl`), Buffer.from([0xfc]), Buffer.from('.png')]));
  const out = join(root, 'r');
  const result = await zeroshot(['run', '--images', images, '--model', FIXTURE, '--offline', '--out', out, '--no-cache', '-q', '--no-report']);
  assert.equal(result.code, 0, result.stderr);
  const similarities = JSON.parse(await readFile(join(out, 'similarities.json'), 'utf8'));
  assert.deepEqual(Object.keys(similarities), ['bl\\xfc.png', 'red-link.jpg', 'store/blue.png', 'store/red.jpg']);
  assert.deepEqual(similarities['bl\\xfc.png'], similarities['store/blue.png'], 'the same bytes, read by the raw name');
  const runJson = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  assert.equal(runJson.counts.skipped, 2);
  assert.match(result.stdout, /4 images embedded .*, 2 skipped \(links, FIFOs, sockets…: listed in run\.json\)/);
  assert.deepEqual(runJson.skipped.map((s: { path: string }) => s.path), ['dangling.jpg', 'pipe.jpg']);
});

test('zeroshot run --duplicate-labels, and zeroshot cache check', async () => {
  const { root } = await makeImageFolder();
  const labels = join(root, 'dup.csv');
  await writeFile(labels, 'file,colour\nred.jpg,warm\ngreen.png,cool\nred.jpg,cool\n');
  const spec = join(root, 'colours.yaml');
  await writeFile(spec, SPEC);
  const cache = join(root, 'cache.sqlite');
  const base = ['run', '--images', join(root, 'images'), '--spec', spec, '--labels', labels, '--label-column', 'colour', '--model', FIXTURE,
    '--offline', '-q', '--no-report', '--cache', cache];
  const refused = await zeroshot([...base, '--out', join(root, 'a')]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /labels an image twice, differently: 'red\.jpg': row 2 \(colour=warm\), row 4 \(colour=cool\)/);
  const last = await zeroshot([...base, '--out', join(root, 'b'), '--duplicate-labels', 'last']);
  assert.equal(last.code, 0, last.stderr);
  const predictions = parseCsv(await readFile(join(root, 'b', 'predictions.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  assert.equal(predictions.find((p) => p.image === 'red.jpg')!.label, 'cool');
  assert.equal(JSON.parse(await readFile(join(root, 'b', 'run.json'), 'utf8')).counts.duplicate_label_rows, 1);
  const bad = await zeroshot([...base, '--out', join(root, 'c'), '--duplicate-labels', 'any']);
  assert.match(bad.stderr, /argument 'any' is invalid\. Allowed choices are first, last, error/);

  const sound = await zeroshot(['cache', 'check', '--cache', cache]);
  assert.equal(sound.code, 0, sound.stderr);
  assert.match(sound.stdout, /cache\.sqlite: ok/);
  const bytes = await readFile(cache);
  bytes.fill(0x5a, 32768, bytes.length);
  await writeFile(cache, bytes);
  const damaged = await zeroshot(['cache', 'check', '--cache', cache]);
  assert.equal(damaged.code, 1);
  assert.match(damaged.stdout, /cache\.sqlite: damaged\n {2}\S/);
});

test('zeroshot run: classes, label values and groups named __proto__, constructor, toString reach metrics.json', async () => {
  const { root } = await makeImageFolder();
  const spec = join(root, 'proto.json');
  // Written as text: in an object literal, `__proto__:` would set the prototype.
  await writeFile(spec, '{"classes": {"__proto__": ["a photo of something warm"], "constructor": ["a photo of something cool"], "toString": ["a photo of a thing"]}}');
  const labels = join(root, 'proto.csv');
  await writeFile(labels, 'file,__proto__,constructor\nred.jpg,__proto__,toString\ngreen.png,constructor,__proto__\nblue.webp,toString,__proto__\nwide.png,__proto__,toString\n');
  const out = join(root, 'r');
  const result = await zeroshot(['run', '--images', join(root, 'images'), '--spec', spec, '--labels', labels, '--label-column', '__proto__',
    '--groups', 'constructor', '--bootstrap', '0', '--min-group-size', '1', '--model', FIXTURE, '--offline', '--out', out, '-q', '--no-cache']);
  assert.equal(result.code, 0, result.stderr);
  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
  assert.deepEqual(metrics.classes, ['__proto__', 'constructor', 'toString']);
  assert.deepEqual(Object.keys(metrics.strategies.sum.per_class), ['__proto__', 'constructor', 'toString']);
  assert.equal(metrics.strategies.sum.n, 4);
  const groups = metrics.groups.strategies.sum.attributes[0].groups;
  assert.deepEqual(Object.keys(groups).sort(), ['__proto__', 'toString']);
  assert.equal(groups['__proto__'].n + groups.toString.n, 4);
});

test('zeroshot run: prompts that are the same after the 77-token cut stop the run, naming them', async () => {
  const { root } = await makeImageFolder();
  const long = Array.from({ length: 80 }, () => 'very').join(' ');
  const spec = join(root, 'long.yaml');
  await writeFile(spec, `classes:\n  warm: ["a ${long} warm photo"]\n  cool: ["a ${long} cool photo"]\n`);
  const result = await zeroshot(['run', '--images', join(root, 'images'), '--spec', spec, '--model', FIXTURE, '--offline', '--out', join(root, 'r'), '-q', '--no-cache']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /long\.yaml: prompts that are the same once cut to the model's context length \(77 tokens for CLIP\): "a very .*" \(class 'warm'\) and "a very .*" \(class 'cool'\)/);
});
