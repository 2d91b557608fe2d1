import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { imageSource, listImages } from '../src/input/images.js';
import { escapeInvalidUtf8, firstInvalidUtf8Byte } from '../src/input/utf8.js';
import { classificationMetrics } from '../src/evaluate/classification.js';
import { auditGroups, partitionByAttribute, tallyOutcomes } from '../src/evaluate/groups.js';
import { auditProbes } from '../src/evaluate/probes.js';
import { scratchFolders } from './helpers/scratch.js';

const { scratch } = scratchFolders('input');

test('listImages follows symbolic links to files and folders; a folder of links is not "no images"', async () => {
  const root = scratch();
  mkdirSync(join(root, 'store/deep'), { recursive: true });
  writeFileSync(join(root, 'store/a.jpg'), 'a');
  writeFileSync(join(root, 'store/deep/b.png'), 'b');
  const links = join(root, 'links');
  mkdirSync(links);
  symlinkSync(join(root, 'store/a.jpg'), join(links, 'a-link.jpg'));
  symlinkSync(join(root, 'store'), join(links, 'store-link'));
  const listing = await listImages(links);
  assert.deepEqual(listing.images.map((i) => i.key), ['a-link.jpg', 'store-link/a.jpg', 'store-link/deep/b.png']);
  assert.deepEqual(listing.skipped, []);
  assert.equal(await readFile(listing.images[2].path, 'utf8'), 'b');
});

test('listImages: loops, dangling links, FIFOs and sockets are skipped, counted and listed with a reason', async () => {
  const root = scratch();
  writeFileSync(join(root, 'good.jpg'), 'x');
  mkdirSync(join(root, 'sub'));
  symlinkSync(root, join(root, 'sub', 'up')); // back to the root: a loop
  symlinkSync(join(root, 'sub'), join(root, 'sub', 'self')); // to its own folder
  symlinkSync('/', join(root, 'sub', 'everything')); // to a folder that holds the root: a loop too
  symlinkSync(join(root, 'gone.jpg'), join(root, 'dangling.jpg'));
  symlinkSync(join(root, 'ring'), join(root, 'ring')); // a link to itself: ELOOP
  symlinkSync('/proc', join(root, 'kernel')); // not walked: /proc/*/root leads to the whole disk
  execFileSync('mkfifo', [join(root, 'pipe.jpg')]);
  const server = createServer();
  await new Promise<void>((done) => server.listen(join(root, 'socket.png'), done));
  try {
    const listing = await listImages(root);
    assert.deepEqual(listing.images.map((i) => i.key), ['good.jpg']);
    assert.deepEqual(listing.skipped.map((s) => s.path), ['dangling.jpg', 'kernel', 'pipe.jpg', 'ring', 'socket.png', 'sub/everything', 'sub/self', 'sub/up']);
    const reasons = Object.fromEntries(listing.skipped.map((s) => [s.path, s.reason]));
    assert.match(reasons['dangling.jpg'], /dangling symbolic link/);
    assert.match(reasons['pipe.jpg'], /FIFO/);
    assert.match(reasons['socket.png'], /socket/);
    assert.match(reasons.ring, /symbolic link loop/);
    assert.match(reasons['sub/up'], /symbolic link loop/);
    assert.match(reasons.kernel, /a symbolic link to a folder on proc, a virtual file system/);
  } finally {
    server.close();
  }
});

test('listImages: only skipped things → "no images" says what was skipped', async () => {
  const root = scratch();
  symlinkSync(join(root, 'gone.jpg'), join(root, 'dangling.jpg'));
  await assert.rejects(listImages(root), /no images in '.*' \(0 other files, 1 skipped \('dangling\.jpg': a dangling symbolic link/);
});

test('listImages: an unreadable sub-folder is skipped and listed (not as root)', { skip: process.getuid?.() === 0 && 'root reads every folder' }, async () => {
  const root = scratch();
  writeFileSync(join(root, 'a.jpg'), 'x');
  mkdirSync(join(root, 'locked'));
  chmodSync(join(root, 'locked'), 0);
  try {
    const listing = await listImages(root);
    assert.deepEqual(listing.skipped, [{ path: 'locked', reason: 'folder cannot be read: permission denied' }]);
  } finally {
    chmodSync(join(root, 'locked'), 0o755);
  }
});

test('a file name that is not UTF-8 is read by its bytes; its key writes the bad bytes as \\xNN', async () => {
  const root = scratch();
  const name = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]); // Latin-1 "café.jpg"
  writeFileSync(Buffer.concat([Buffer.from(root + '/'), name]), 'latin-1 bytes');
  writeFileSync(join(root, 'ok.jpg'), 'utf-8');
  const listing = await listImages(root);
  assert.deepEqual(listing.images.map((i) => i.key), ['caf\\xe9.jpg', 'ok.jpg']);
  const [latin1, ok] = listing.images;
  assert.ok(latin1.rawPath && latin1.rawPath.equals(Buffer.concat([Buffer.from(root + '/'), name])));
  assert.equal(Buffer.from((await imageSource(latin1)) as Uint8Array).toString(), 'latin-1 bytes');
  assert.equal(await imageSource(ok), ok.path);
});

test('UTF-8 checks: the first bad byte, and escaping as Python\'s backslashreplace', () => {
  const bytes = (...b: number[]) => Uint8Array.from(b);
  assert.equal(firstInvalidUtf8Byte(Buffer.from('héllo €𝄞')), -1);
  assert.equal(firstInvalidUtf8Byte(bytes(0x61, 0xc3)), 1); // truncated sequence
  assert.equal(firstInvalidUtf8Byte(bytes(0x61, 0xc0, 0x80)), 1); // overlong
  assert.equal(firstInvalidUtf8Byte(bytes(0xed, 0xa0, 0x80)), 0); // a surrogate
  assert.equal(firstInvalidUtf8Byte(bytes(0xf4, 0x90, 0x80, 0x80)), 0); // beyond U+10FFFF
  assert.equal(escapeInvalidUtf8(bytes(0x61, 0xff, 0xc3, 0xa9, 0xc3)), 'a\\xffé\\xc3');
});

test('metrics and the audit keep classes and group values named __proto__, constructor, toString', () => {
  const classes = ['__proto__', 'constructor', 'toString'];
  const truth = Int32Array.from([0, 1, 2, 0, 1, 2]);
  const predicted = Int32Array.from([0, 1, 2, 1, 1, 0]);
  const metrics = classificationMetrics(truth, predicted, classes);
  assert.deepEqual(Object.keys(metrics.per_class), classes);
  assert.equal(metrics.per_class['__proto__'].support, 2);
  assert.equal(Object.getPrototypeOf(metrics.per_class), Object.prototype, 'the prototype is untouched');
  assert.match(JSON.stringify(metrics), /"__proto__":\{"precision"/);

  const partition = partitionByAttribute('g', ['__proto__', '__proto__', 'constructor', 'constructor', 'toString', 'toString']);
  const [tallies] = tallyOutcomes(partition, truth, [predicted], classes.length, 0, 1);
  const probe = [false, false, true];
  const audit = auditGroups({ partition, tallies, truth, predicted, classes, probe, minGroupSize: 0 });
  assert.deepEqual(Object.keys(audit.groups).sort(), ['__proto__', 'constructor', 'toString']);
  assert.deepEqual(Object.keys(audit.groups['__proto__'].prediction_rate), classes);
  assert.deepEqual(Object.keys(audit.groups['__proto__'].recall), ['__proto__', 'constructor']);
  assert.deepEqual(Object.keys(audit.gaps.prediction_rate_spread), classes);
  const probes = auditProbes(partition, tallies, classes, probe, 0)!;
  assert.deepEqual(Object.keys(probes.groups).sort(), ['__proto__', 'constructor', 'toString']);
  assert.deepEqual(Object.keys(probes.groups['__proto__'].per_probe), ['toString']);
});

test('a labels CSV far bigger than the heap is streamed: 12 MB of rows matched under a 16 MB heap', async () => {
  const root = scratch();
  mkdirSync(join(root, 'val'));
  for (const i of [7, 70_000, 199_999]) writeFileSync(join(root, 'val', `${i}.jpg`), 'x');
  const csv = join(root, 'labels.csv');
  const out = createWriteStream(csv);
  out.write('file,age,gender,race\n');
  for (let i = 0; i < 400_000; i++) out.write(`train/${i}.jpg,20-29,Female,Indian\n`);
  for (const i of [7, 70_000, 199_999]) out.write(`val/${i}.jpg,30-39,Male,White\n`);
  await new Promise((done) => out.end(done));
  assert.ok(statSync(csv).size > 12e6);
  const source = (path: string) => JSON.stringify(fileURLToPath(new URL(path, import.meta.url)));
  const script = `
    import { matchLabelFile } from ${source('../src/input/labels.ts')};
    import { listImages } from ${source('../src/input/images.ts')};
    const m = await matchLabelFile(${JSON.stringify(csv)}, await listImages(${JSON.stringify(join(root, 'val'))}), { labelColumn: 'race' });
    console.log(JSON.stringify({ rows: m.rows, without: m.labelsWithoutImage, races: m.rowOfImage.map((r) => r?.race ?? null) }));`;
  // Reading the whole file and an object per row, as before, needs some 100 MB here.
  const output = execFileSync(process.execPath, ['--max-old-space-size=16', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(output), { rows: 400_003, without: 400_000, races: ['White', 'White', 'White'] });
});
