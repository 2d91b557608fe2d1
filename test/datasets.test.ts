// Datasets as inputs: WebDataset tar shards (built here with tar-stream's pack) and CSV/Parquet file lists, run
// through the CLI on the tiny fixture model and compared with a run over the same images as a folder.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { parquetWriteFile } from 'hyparquet-writer';
import sharp from 'sharp';
import { pack } from 'tar-stream';
import { absoluteImagesSpec, expandImagesSpec, listImageSource, resolveTarMembers } from '../src/input/image_sources.js';
import { imageSource } from '../src/input/images.js';
import { pathOrBytes, readFileRange } from '../src/input/file_range.js';
import { sampleKeyOf } from '../src/input/webdataset.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));

/** The CLI from the sources (bin/zeroshot.js runs the built dist/). */
async function zeroshot(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = "import { main } from './src/cli/main.ts'; await main(['node', 'zeroshot', ...process.argv.slice(1)]);";
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { cwd: ROOT, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const SPEC = 'templates: ["a photo of something {name}"]\nclasses: {warm: [warm, red], cool: [cool, blue, green]}\n';

interface Sample {
  readonly name: string;
  readonly bytes: Buffer;
  readonly colour: 'warm' | 'cool';
  readonly gender: 'f' | 'm';
}

/** Eight small images (JPEG and PNG), each with a class and a group. */
async function makeSamples(): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < 8; i++) {
    const [width, height] = [64 + 16 * i, 96 - 4 * i];
    const pixels = Buffer.from(Array.from({ length: width * height * 3 }, (_, k) => ((k * (31 + i * 17)) ^ (i * 40)) & 0xff));
    const image = sharp(pixels, { raw: { width, height, channels: 3 } });
    const png = i % 3 === 2;
    samples.push({
      name: `s${i}.${png ? 'png' : 'jpg'}`,
      bytes: png ? await image.png().toBuffer() : await image.jpeg({ quality: 90 }).toBuffer(),
      colour: i % 2 ? 'warm' : 'cool',
      gender: i < 4 ? 'f' : 'm',
    });
  }
  return samples;
}

type Member = { readonly name: string; readonly data: Buffer | string };

async function writeTar(path: string, members: readonly Member[]): Promise<void> {
  const tar = pack();
  const written = pipeline(tar, createWriteStream(path));
  for (const member of members) tar.entry({ name: member.name }, member.data);
  tar.finalize();
  await written;
}

/** A WebDataset sample: the image, its class in `.cls`, its group in `.json` (with other fields). */
const sampleMembers = (sample: Sample): Member[] => {
  const key = sample.name.slice(0, sample.name.indexOf('.'));
  return [
    { name: sample.name, data: sample.bytes },
    { name: `${key}.cls`, data: `${sample.colour}\n` },
    { name: `${key}.json`, data: JSON.stringify({ gender: sample.gender, width: 100, caption: { text: 'nested' } }) },
  ];
};

interface Fixture {
  readonly dir: string;
  readonly samples: Sample[];
  readonly spec: string;
  readonly folderOut: string;
}

const runFlags = (spec: string, out: string) => ['--spec', spec, '--out', out, '--model', FIXTURE, '--offline', '--batch-size', '4', '--threads', '1', '--no-cache', '--no-report', '--bootstrap', '0'];

async function similarities(out: string): Promise<Record<string, Record<string, number>>> {
  return JSON.parse(await readFile(join(out, 'similarities.json'), 'utf8'));
}

async function predictions(out: string): Promise<Record<string, string>[]> {
  return parseCsv(await readFile(join(out, 'predictions.csv'), 'utf8'), { columns: true });
}

/** Similarities keyed by the image's file name: a tar or list run against the folder run. */
function byFileName(scores: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(scores).map(([key, row]) => [key.slice(key.lastIndexOf('/') + 1), row]));
}

let fixture: Fixture;

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zs-datasets-'));
  const samples = await makeSamples();
  await mkdir(join(dir, 'folder'));
  for (const sample of samples) await writeFile(join(dir, 'folder', sample.name), sample.bytes);
  await writeFile(join(dir, 'labels.csv'), `file,colour,gender\n${samples.map((s) => `${s.name},${s.colour},${s.gender}`).join('\n')}\n`);
  const spec = join(dir, 'colours.yaml');
  await writeFile(spec, SPEC);
  await mkdir(join(dir, 'shards'));
  await writeTar(join(dir, 'shards', '00000.tar'), samples.slice(0, 4).flatMap(sampleMembers));
  await writeTar(join(dir, 'shards', '00001.tar'), samples.slice(4).flatMap(sampleMembers));
  const folderOut = join(dir, 'out-folder');
  const result = await zeroshot(['run', '--images', join(dir, 'folder'), '--labels', join(dir, 'labels.csv'), '--label-column', 'colour', '--groups', 'gender', ...runFlags(spec, folderOut)]);
  assert.equal(result.code, 0, result.stderr);
  fixture = { dir, samples, spec, folderOut };
});

describe('WebDataset tars', () => {
  it('a brace pattern of shards runs as the folder of the same images: same similarities, labels from .cls and groups from .json', async () => {
    const out = join(fixture.dir, 'out-tars');
    const result = await zeroshot(['run', '--images', join(fixture.dir, 'shards', '{00000..00001}.tar'), '--label-column', 'cls', '--groups', 'gender', ...runFlags(fixture.spec, out)]);
    assert.equal(result.code, 0, result.stderr);
    const scores = await similarities(out);
    assert.deepEqual(Object.keys(scores), fixture.samples.map((s, i) => `0000${i < 4 ? 0 : 1}.tar/${s.name}`));
    assert.deepEqual(byFileName(scores), await similarities(fixture.folderOut));

    const rows = await predictions(out);
    const folderRows = await predictions(fixture.folderOut);
    assert.deepEqual(rows.map((r) => r['group:gender']), fixture.samples.map((s) => s.gender));
    assert.deepEqual(rows.map((r) => r.label), folderRows.map((r) => r.label));
    assert.deepEqual(rows.map((r) => r.sum), folderRows.map((r) => r.sum));
    assert.deepEqual(rows.map((r) => r.sha256), folderRows.map((r) => r.sha256), 'a member hashes as the file of its bytes');
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    const folderMetrics = JSON.parse(await readFile(join(fixture.folderOut, 'metrics.json'), 'utf8'));
    assert.deepEqual(metrics.strategies, folderMetrics.strategies);
    assert.deepEqual(metrics.groups, folderMetrics.groups);

    const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    assert.equal(run.images_input.kind, 'webdataset');
    assert.equal(run.images_input.spec, join(fixture.dir, 'shards', '{00000..00001}.tar'));
    assert.deepEqual(run.images_input.files, ['00000', '00001'].map((n) => join(fixture.dir, 'shards', `${n}.tar`)));
    assert.equal(run.images_root, join(fixture.dir, 'shards'));
    assert.equal(run.counts.embedded, 8);
    assert.equal(run.counts.ignored_files, 0);
  });

  it('a truncated tar and a corrupt member are recorded in errors.jsonl and the rest is embedded', async () => {
    const good = fixture.samples[0];
    const bad: Member[] = [
      { name: 'a.jpg', data: good.bytes },
      { name: 'a.cls', data: 'cool' },
      { name: 'b.jpg', data: Buffer.from('\xff\xd8\xff this is no JPEG', 'latin1') },
      { name: 'c.png', data: fixture.samples[2].bytes },
    ];
    const whole = join(fixture.dir, 'whole.tar');
    await writeTar(whole, bad);
    const tar = await readFile(whole);
    // Cut inside c.png's data: its header is complete, its bytes are not.
    const listing = await listImageSource(whole);
    const cut = listing.images.find((image) => image.key.endsWith('c.png'))!.range!;
    await mkdir(join(fixture.dir, 'damaged'));
    await writeFile(join(fixture.dir, 'damaged', 'cut.tar'), tar.subarray(0, cut.offset + 100));
    const out = join(fixture.dir, 'out-damaged');
    const result = await zeroshot(['run', '--images', join(fixture.dir, 'damaged', 'cut.tar'), ...runFlags(fixture.spec, out)]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(Object.keys(await similarities(out)), ['cut.tar/a.jpg']);
    const errors = (await readFile(join(out, 'errors.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(errors.map((e) => e.image), ['cut.tar/b.jpg', 'cut.tar/c.png']);
    assert.match(errors[1].error, /ends inside this member: 100 of its \d+ bytes .* truncated/);
    const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    assert.equal(run.counts.failed, 2);
    assert.equal(run.skipped.length, 1);
    assert.equal(run.skipped[0].path, 'cut.tar');
    assert.match(run.skipped[0].reason, /damaged in or after member 'c.png'.*Unexpected end of data/);
  });

  it('--label-column or --groups the samples do not have, and compressed tars, are refused before the model loads', async () => {
    const shards = join(fixture.dir, 'shards', '{00000..00001}.tar');
    const missing = await zeroshot(['run', '--images', shards, '--label-column', 'race', ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--label-column: no column 'race' in the tar samples .*; the columns are: caption, cls, gender, width/);
    const group = await zeroshot(['run', '--images', shards, '--label-column', 'cls', '--groups', 'age', ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.match(group.stderr, /--groups: no column 'age' in the tar samples/);
    await writeFile(join(fixture.dir, 'shards.tar.gz'), 'gzip');
    const gz = await zeroshot(['run', '--images', join(fixture.dir, 'shards.tar.gz'), ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.match(gz.stderr, /'.*shards\.tar\.gz' is a compressed tar: .* decompress it/);
    const mixed = await zeroshot(['run', '--images', `${join(fixture.dir, 'folder')},${join(fixture.dir, 'shards', '00000.tar')}`, ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.match(mixed.stderr, /give one folder, one list .* or uncompressed \.tar shards, not a mix/);
    const absent = await zeroshot(['run', '--images', join(fixture.dir, 'shards', '{00000..00003}.tar'), ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.match(absent.stderr, /2 of the 4 paths it names do not exist .*00002\.tar/);
    await assert.rejects(listImageSource(join(fixture.dir, 'labels.csv.zip')), /'.*labels\.csv\.zip' does not exist/);
    await writeFile(join(fixture.dir, 'photos.zip'), 'zip');
    await assert.rejects(listImageSource(join(fixture.dir, 'photos.zip')), /'.*photos\.zip' is not a folder, an uncompressed \.tar shard or a list of files/);
    await assert.rejects(listImageSource(join(fixture.dir, 'gone.tar')), /--images: '.*gone\.tar' does not exist$/);
    await writeFile(join(fixture.dir, 'junk.tar'), 'x'.repeat(2048));
    await assert.rejects(listImageSource(join(fixture.dir, 'junk.tar')), /no image members in '.*junk\.tar' \(0 other members; 'junk\.tar': the tar is damaged at its start \(Invalid tar header/);
  });

  it('zeroshot plan over tars: each shard embedded from its members, collect labelled by the samples, as the folder run', async () => {
    const plan = join(fixture.dir, 'tars-plan.json');
    const model = ['--model', FIXTURE, '--offline', '--threads', '1'];
    const planned = await zeroshot(['plan', join(fixture.dir, 'shards', '{00000..00001}.tar'), '--shard-size', '3', '--out', plan, ...model]);
    assert.equal(planned.code, 0, planned.stderr);
    const manifest = JSON.parse(await readFile(plan, 'utf8'));
    assert.deepEqual(manifest.images_input, { kind: 'webdataset', spec: join(fixture.dir, 'shards', '{00000..00001}.tar') });
    assert.equal(manifest.images_root, join(fixture.dir, 'shards'));
    assert.equal(manifest.images[0], '00000.tar/s0.jpg');
    for (const k of [0, 1, 2]) {
      const embedded = await zeroshot(['embed', plan, '--shard', `${k}/3`, '--no-cache', '--batch-size', '4', ...model]);
      assert.equal(embedded.code, 0, embedded.stderr);
    }
    const out = join(fixture.dir, 'out-collect');
    const collected = await zeroshot(['collect', plan, '--label-column', 'cls', '--groups', 'gender', ...runFlags(fixture.spec, out)]);
    assert.equal(collected.code, 0, collected.stderr);
    assert.deepEqual(byFileName(await similarities(out)), await similarities(fixture.folderOut));
    const rows = await predictions(out);
    const folderRows = await predictions(fixture.folderOut);
    assert.deepEqual(rows.map((r) => [r.label, r['group:gender'], r.sum]), folderRows.map((r) => [r.label, r['group:gender'], r.sum]));
    const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    assert.equal(run.images_input.kind, 'webdataset');
  });

  it('lists samples as WebDataset groups them, and reads members in place', async () => {
    assert.deepEqual(sampleKeyOf('a/b/s01.seg.png'), { sample: 'a/b/s01', extension: 'seg.png' });
    assert.deepEqual(sampleKeyOf('./s01.JPG'), { sample: 's01', extension: 'jpg' });
    assert.equal(sampleKeyOf('a/.hidden'), null);
    assert.equal(sampleKeyOf('README'), null);

    const path = join(fixture.dir, 'layout.tar');
    const long = `${'deep/'.repeat(30)}${'x'.repeat(120)}`;
    await writeTar(path, [
      { name: 'k1.json', data: '{"cls": "from-json", "score": 0.5, "tags": ["a"], "none": null}' },
      { name: 'k1.cls', data: ' cool \n' },
      { name: 'k1.jpg', data: 'first' },
      { name: 'k1.seg.png', data: 'second' },
      { name: `${long}.webp`, data: 'long name' },
      { name: `${long}.txt`, data: 'a caption' },
      { name: 'k2.jpg', data: 'no labels' },
      { name: 'k2.npy', data: Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x00, 0x01]) },
      { name: 'k3.jpg', data: 'first' },
      { name: 'k3.jpg', data: 'again' },
    ]);
    const listing = await listImageSource(path);
    assert.deepEqual(listing.images.map((image) => image.key), [`layout.tar/${long}.webp`, 'layout.tar/k1.jpg', 'layout.tar/k1.seg.png', 'layout.tar/k2.jpg', 'layout.tar/k3.jpg']);
    const bytes = await Promise.all(listing.images.map(async (image) => String(await pathOrBytes(await imageSource(image)))));
    assert.deepEqual(bytes, ['long name', 'first', 'second', 'no labels', 'first']);
    const rows = listing.labels!.rowOfImage.map((row) => (row ? { ...row } : null));
    assert.deepEqual(rows, [{ txt: 'a caption' }, { cls: 'cool', score: '0.5', tags: '["a"]', none: '' }, { cls: 'cool', score: '0.5', tags: '["a"]', none: '' }, null, null]);
    assert.deepEqual(listing.labels!.columns, ['cls', 'none', 'score', 'tags', 'txt']);
    assert.equal(listing.ignored, 1, 'the binary .npy member');
    assert.deepEqual(listing.skipped, [{ path: 'layout.tar/k3.jpg', reason: 'a second member of this name in the tar (the first is read)' }]);

    // A plan's keys, on the machine that embeds them: members by offset, plain keys as files under the root.
    const asFiles = (keys: string[]) => keys.map((key) => ({ key, path: join(fixture.dir, key) }));
    const entries = await resolveTarMembers(fixture.dir, asFiles(['layout.tar/k1.seg.png', 'folder/s0.jpg']));
    assert.deepEqual(entries[0], listing.images[2]);
    assert.deepEqual(entries[1], { key: 'folder/s0.jpg', path: join(fixture.dir, 'folder', 's0.jpg') });
    await assert.rejects(resolveTarMembers(fixture.dir, asFiles(['layout.tar/gone.jpg'])), /1 images are no longer in their tars .*'layout.tar\/gone.jpg'.*make a new plan/);
    await assert.rejects(readFileRange({ path, offset: 512, length: 1 << 20 }), /ends inside this member: \d+ of its 1048576 bytes .* truncated/);
  });

  it('expands braces (zero-padded), comma lists and file-name globs; a path that exists is taken as it is', async () => {
    const dir = join(fixture.dir, 'shards');
    assert.deepEqual(await expandImagesSpec(join(dir, '{00000..00001}.tar')), [join(dir, '00000.tar'), join(dir, '00001.tar')]);
    assert.deepEqual(await expandImagesSpec(`${join(dir, '00001.tar')},${join(dir, '{00000,00001}.tar')}`), [join(dir, '00001.tar'), join(dir, '00000.tar')]);
    assert.deepEqual(await expandImagesSpec(join(dir, '*.tar')), [join(dir, '00000.tar'), join(dir, '00001.tar')]);
    assert.deepEqual(await expandImagesSpec(join(dir, '0000?.tar')), [join(dir, '00000.tar'), join(dir, '00001.tar')]);
    await assert.rejects(expandImagesSpec(join(dir, '*.zip')), /no file in '.*shards' matches '\*\.zip'/);
    await assert.rejects(expandImagesSpec(join(fixture.dir, '*', '00000.tar')), /wildcards work in the file name only/);
    const odd = join(fixture.dir, 'odd{1,2}');
    await mkdir(odd);
    assert.deepEqual(await expandImagesSpec(odd), [odd]);
    const listing = await listImageSource(join(dir, '0000[01].tar'));
    assert.equal(listing.images.length, 8);
    process.chdir(fixture.dir);
    assert.equal(await absoluteImagesSpec('shards/{00000..00001}.tar,shards/00000.tar'), `${join(dir, '{00000..00001}.tar')},${join(dir, '00000.tar')}`);
    assert.equal(await absoluteImagesSpec('odd{1,2}'), odd);
    process.chdir(ROOT);
  });
});

describe('file lists', () => {
  const listRows = (samples: readonly Sample[]) => samples.map((s, i) => ({ image_path: i % 2 ? `folder/${s.name}` : `./folder/${s.name}`, colour: s.colour, shade: s.gender }));

  it('a CSV list runs as the folder: same similarities, its other columns as labels and groups; a missing file is an error row', async () => {
    const rows = listRows(fixture.samples);
    const csv = ['image_path,colour,shade', ...rows.map((r) => `${r.image_path},${r.colour},${r.shade}`), 'folder/absent.jpg,warm,f'].join('\n');
    await writeFile(join(fixture.dir, 'list.csv'), csv + '\n');
    const out = join(fixture.dir, 'out-csv');
    const result = await zeroshot(['run', '--images', join(fixture.dir, 'list.csv'), '--image-column', 'image_path', '--label-column', 'colour', '--groups', 'shade', ...runFlags(fixture.spec, out)]);
    assert.equal(result.code, 0, result.stderr);
    const scores = await similarities(out);
    assert.deepEqual(Object.keys(scores), fixture.samples.map((s) => `folder/${s.name}`));
    assert.deepEqual(byFileName(scores), await similarities(fixture.folderOut));
    const folderRows = await predictions(fixture.folderOut);
    const predicted = await predictions(out);
    assert.deepEqual(predicted.map((r) => r.sum), folderRows.map((r) => r.sum));
    assert.deepEqual(predicted.map((r) => r['group:shade']), folderRows.map((r) => r['group:gender']));
    const errors = (await readFile(join(out, 'errors.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(errors.map((e) => e.image), ['folder/absent.jpg']);
    assert.match(errors[0].error, /ENOENT/);
    const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    assert.deepEqual(run.images_input, { kind: 'file-list', spec: join(fixture.dir, 'list.csv'), files: [join(fixture.dir, 'list.csv')] });
    assert.equal(run.images_root, fixture.dir);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    assert.deepEqual(metrics.strategies, JSON.parse(await readFile(join(fixture.folderOut, 'metrics.json'), 'utf8')).strategies);
  });

  it('a Parquet list (written with hyparquet-writer) runs as the CSV list', async () => {
    const rows = listRows(fixture.samples);
    const path = join(fixture.dir, 'list.parquet');
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: 'path', data: rows.map((r) => r.image_path), type: 'STRING' },
        { name: 'colour', data: rows.map((r) => r.colour), type: 'STRING' },
        { name: 'shade', data: rows.map((r) => r.shade), type: 'STRING' },
        { name: 'width', data: rows.map((_, i) => 100 + i), type: 'INT32' },
      ],
      rowGroupSize: 3,
    });
    const listing = await listImageSource(path);
    assert.deepEqual(listing.labels!.columns, ['colour', 'shade', 'width']);
    assert.deepEqual((await listImageSource(path, { columns: ['shade'] })).labels!.rowOfImage.map((row) => row && { ...row }).slice(0, 2), [{ shade: 'f' }, { shade: 'f' }]);
    assert.deepEqual((await listImageSource(path, { columns: [] })).labels!.rowOfImage.slice(0, 2), [null, null]);
    await writeFile(join(fixture.dir, 'list.tsv'), 'file\tcolour\nfolder/s0.jpg\twarm, or not\n');
    const tsv = await listImageSource(join(fixture.dir, 'list.tsv'));
    assert.deepEqual([tsv.images[0].key, { ...tsv.labels!.rowOfImage[0] }], ['folder/s0.jpg', { colour: 'warm, or not' }]);
    assert.deepEqual({ ...listing.labels!.rowOfImage[7] }, { colour: 'warm', shade: 'm', width: '107' });
    const out = join(fixture.dir, 'out-parquet');
    const result = await zeroshot(['run', '--images', path, '--label-column', 'colour', '--groups', 'shade', ...runFlags(fixture.spec, out)]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(byFileName(await similarities(out)), await similarities(fixture.folderOut));
    assert.deepEqual((await predictions(out)).map((r) => [r.sum, r.label, r['group:shade']]), (await predictions(fixture.folderOut)).map((r) => [r.sum, r.label, r['group:gender']]));
  });

  it('refuses URLs, a missing path column and a missing label column, naming the file, the row or the columns', async () => {
    await writeFile(join(fixture.dir, 'urls.csv'), 'url,colour\nfolder/s0.jpg,warm\nhttps://example.com/a.jpg,cool\n');
    const url = await zeroshot(['run', '--images', join(fixture.dir, 'urls.csv'), ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.notEqual(url.code, 0);
    assert.match(url.stderr, /'.*urls\.csv' row 3: 'https:\/\/example\.com\/a\.jpg' is a URL; zeroshot reads local files only/);
    await writeFile(join(fixture.dir, 'nopath.csv'), 'name,colour\nfolder/s0.jpg,warm\n');
    const noPath = await zeroshot(['run', '--images', join(fixture.dir, 'nopath.csv'), ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.match(noPath.stderr, /'.*nopath\.csv' has no path column \(path, file, image, .*\); its columns are: name, colour; choose one with --image-column/);
    const asked = await zeroshot(['run', '--images', join(fixture.dir, 'list.csv'), '--image-column', 'file', ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.match(asked.stderr, /'.*list\.csv' has no column 'file'; its columns are: image_path, colour, shade/);
    const label = await zeroshot(['run', '--images', join(fixture.dir, 'list.csv'), '--image-column', 'image_path', '--label-column', 'race', ...runFlags(fixture.spec, join(fixture.dir, 'x'))]);
    assert.match(label.stderr, /--label-column: no column 'race' in '.*list\.csv'; the columns are: colour, shade/);
  });
});
