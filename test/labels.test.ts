import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listImages } from '../src/input/images.js';
import { groupValuesOf, labelIndices, matchLabelFile, readLabelMap } from '../src/input/labels.js';

async function folder(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'zs-labels-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeFile(join(root, name), content);
  }
  return root;
}

test('listImages: recursive, sorted, non-images ignored and counted', async () => {
  const root = await folder({ 'b.jpg': 'x', 'a/c.PNG': 'x', 'notes.txt': 'x', '.hidden.jpg': 'x', 'd.bmp': 'x' });
  const listing = await listImages(root);
  assert.deepEqual(listing.images.map((i) => i.key), ['a/c.PNG', 'b.jpg', 'd.bmp']);
  assert.equal(listing.ignored, 2);
});

test('listImages: missing, not a folder, or empty → errors naming the path', async () => {
  await assert.rejects(listImages('/no/such/dir'), /--images: '\/no\/such\/dir' does not exist/);
  const root = await folder({ 'readme.md': 'x' });
  await assert.rejects(listImages(root), /no images in '.*' \(1 other files\)/);
  await assert.rejects(listImages(join(root, 'readme.md')), /is not a folder/);
});

test('FairFace layout: `val/1.jpg` rows match images of --images …/val, wherever the CSV is', async () => {
  const root = await folder({
    'val/1.jpg': 'x', 'val/2.jpg': 'x', 'val/3.jpg': 'x',
    'labels.csv': 'file,age,gender,race,service_test\nval/1.jpg,3-9,Male,East Asian,FALSE\nval/2.jpg,50-59,Female,White,TRUE\nval/9.jpg,20-29,Male,Black,TRUE\n',
  });
  const listing = await listImages(join(root, 'val'));
  const match = await matchLabelFile(join(root, 'labels.csv'), listing, { labelColumn: 'race' });
  assert.equal(match.imageColumn, 'file');
  assert.deepEqual(match.rowOfImage.map((r) => r?.race ?? null), ['East Asian', 'White', null]);
  assert.equal(match.labelsWithoutImage, 1);
  assert.equal(match.rows, 3);
  const labels = labelIndices(match.rowOfImage, 'race', ['White', 'East Asian', 'Black']);
  assert.deepEqual(Array.from(labels.truth), [1, 0, -1]);
  assert.deepEqual([labels.labelled, labels.unlabelled], [2, 1]);
});

test('unknown column → error listing the columns', async () => {
  const root = await folder({ 'l.csv': 'file,race\na.jpg,White\n', 'a.jpg': 'x' });
  const listing = await listImages(root);
  const csv = join(root, 'l.csv');
  await assert.rejects(matchLabelFile(csv, listing, { labelColumn: 'ethnicity' }), /--label-column: .* has no column 'ethnicity'; its columns are: file, race/);
  await assert.rejects(matchLabelFile(csv, listing, { labelColumn: 'race', groupColumns: ['age'] }), /--groups: .* has no column 'age'; its columns are: file, race/);
  await assert.rejects(matchLabelFile(csv, listing, { labelColumn: 'race', imageColumn: 'path' }), /has no column 'path'; its columns are: file, race; choose one with --image-column/);
  await assert.rejects(matchLabelFile(join(root, 'missing.csv'), listing, { labelColumn: 'race' }), /--labels: cannot read '.*missing\.csv': ENOENT/);
});

test('label values that are no class → error listing them; a label map fixes it', async () => {
  const rows = [{ file: 'a', g: 'Male' }, { file: 'b', g: 'Female' }, { file: 'c', g: 'Female' }, null];
  assert.throws(() => labelIndices(rows, 'g', ['man', 'woman']), /values that are no class of the spec: 'Male' \(1\), 'Female' \(2\); the classes are: man, woman\. .*--label-map/);
  const root = await folder({ 'map.yaml': 'Male: man\nFemale: woman\n' });
  const map = await readLabelMap(join(root, 'map.yaml'));
  assert.deepEqual(Array.from(labelIndices(rows, 'g', ['man', 'woman'], map).truth), [0, 1, 1, -1]);
});

test('labels CSV: header only has no rows; an empty file is empty; a repeated column is named', async () => {
  const root = await folder({ 'a.jpg': 'x', 'h.csv': 'file,race\n', 'e.csv': '', 'd.csv': 'file,race,race\na.jpg,x,y\n' });
  const listing = await listImages(root);
  await assert.rejects(matchLabelFile(join(root, 'h.csv'), listing, { labelColumn: 'race' }), /'.*h\.csv' has no rows, only the header \(file, race\)/);
  await assert.rejects(matchLabelFile(join(root, 'e.csv'), listing, { labelColumn: 'race' }), /'.*e\.csv' is empty/);
  await assert.rejects(matchLabelFile(join(root, 'd.csv'), listing, { labelColumn: 'race' }), /has the column 'race' twice in its header/);
});

test('labels CSV: two rows for one image with different labels are an error listing them, unless --duplicate-labels says', async () => {
  const root = await folder({
    'a.jpg': 'x', 'b.jpg': 'x', 'c.jpg': 'x',
    'l.csv': 'file,race,age\na.jpg,White,20\nb.jpg,Black,30\na.jpg,Indian,20\nc.jpg,White,40\n./c.jpg,White,40\nb.jpg,Black,31\n',
  });
  const listing = await listImages(root);
  const csv = join(root, 'l.csv');
  await assert.rejects(
    matchLabelFile(csv, listing, { labelColumn: 'race' }),
    /labels an image twice, differently: 'a\.jpg': row 2 \(race=White\), row 4 \(race=Indian\)\. Keep one row per image, or pass --duplicate-labels first/,
  );
  // The audit's columns count too: b.jpg's rows differ in age.
  await assert.rejects(matchLabelFile(csv, listing, { labelColumn: 'race', groupColumns: ['age'] }), /labels 2 images twice, differently: 'a\.jpg': .*; 'b\.jpg': row 3 \(race=Black, age=30\), row 7 \(race=Black, age=31\)/);
  const first = await matchLabelFile(csv, listing, { labelColumn: 'race', duplicates: 'first' });
  assert.deepEqual(first.rowOfImage.map((r) => r?.race), ['White', 'Black', 'White']);
  const last = await matchLabelFile(csv, listing, { labelColumn: 'race', groupColumns: ['age'], duplicates: 'last' });
  assert.deepEqual(last.rowOfImage.map((r) => [r?.race, r?.age]), [['Indian', '20'], ['Black', '31'], ['White', '40']]);
  // Identical rows (c.jpg) are no conflict; every extra row is counted.
  assert.deepEqual([last.rows, last.duplicateRows, last.labelsWithoutImage], [6, 3, 0]);
});

test('labels CSV: columns, label values and group values named like Object.prototype members are kept', async () => {
  const root = await folder({
    '__proto__.jpg': 'x', 'constructor.jpg': 'x', 'toString.jpg': 'x',
    'l.csv': 'file,__proto__,constructor,toString\n__proto__.jpg,__proto__,a,b\nconstructor.jpg,constructor,c,d\ntoString.jpg,toString,e,f\n',
  });
  const listing = await listImages(root);
  const match = await matchLabelFile(join(root, 'l.csv'), listing, { labelColumn: '__proto__', groupColumns: ['constructor', 'toString'] });
  assert.deepEqual(match.columns, ['file', '__proto__', 'constructor', 'toString']);
  assert.deepEqual(match.rowOfImage.map((r) => [r?.['__proto__'], r?.constructor, r?.toString]), [['__proto__', 'a', 'b'], ['constructor', 'c', 'd'], ['toString', 'e', 'f']]);
  const classes = ['toString', '__proto__', 'constructor'];
  assert.deepEqual(Array.from(labelIndices(match.rowOfImage, '__proto__', classes).truth), [1, 2, 0]);
  // A label map whose keys are such names.
  const mapRoot = await folder({ 'map.yaml': '__proto__: toString\nconstructor: __proto__\n' });
  const map = await readLabelMap(join(mapRoot, 'map.yaml'));
  assert.deepEqual([...map], [['__proto__', 'toString'], ['constructor', '__proto__']]);
  assert.deepEqual(Array.from(labelIndices(match.rowOfImage, '__proto__', classes, map).truth), [0, 1, 0]);
});

test('labels CSV: only the rows of listed images are kept, the others counted', async () => {
  const rows = Array.from({ length: 20000 }, (_, i) => `other/${i}.jpg,x`);
  const root = await folder({ 'val/7.jpg': 'x', 'l.csv': `file,race\n${rows.join('\n')}\nval/7.jpg,White\n` });
  const match = await matchLabelFile(join(root, 'l.csv'), await listImages(join(root, 'val')), { labelColumn: 'race' });
  assert.deepEqual(match.rowOfImage.map((r) => r?.race), ['White']);
  assert.deepEqual([match.rows, match.labelsWithoutImage], [20001, 20000]);
});

test('label values, label maps and class names meet NFC-normalised: a decomposed "é" is the composed one', async () => {
  const composed = 'caf\u00e9';
  const decomposed = 'cafe\u0301';
  const root = await folder({ 'a.jpg': 'x', 'b.jpg': 'x', 'l.csv': `file,kind\na.jpg,${decomposed}\nb.jpg,${composed}\n` });
  const match = await matchLabelFile(join(root, 'l.csv'), await listImages(root), { labelColumn: 'kind' });
  assert.deepEqual(Array.from(labelIndices(match.rowOfImage, 'kind', ['tea', composed]).truth), [1, 1]);
  assert.deepEqual(Array.from(labelIndices(match.rowOfImage, 'kind', ['tea', decomposed]).truth), [1, 1]);
  // A map's keys and its class names likewise, whatever form each is written in.
  const mapRoot = await folder({ 'map.yaml': `${composed}: cr\u00e8me\n`, 'bad.yaml': `${composed}: tea\n${decomposed}: milk\n` });
  const map = await readLabelMap(join(mapRoot, 'map.yaml'));
  assert.deepEqual(Array.from(labelIndices(match.rowOfImage, 'kind', ['tea', 'cre\u0300me'], map).truth), [1, 1]);
  const conflicting = await readLabelMap(join(mapRoot, 'bad.yaml'));
  assert.throws(() => labelIndices(match.rowOfImage, 'kind', ['tea', 'milk'], conflicting), /--label-map: 'caf\u00e9' and 'cafe\u0301' are the same value in different Unicode forms \(NFC\) but map to 'tea' and 'milk'/);
  // Two classes that differ only in Unicode form cannot both be labels.
  assert.throws(() => labelIndices(match.rowOfImage, 'kind', [composed, decomposed]), /spec: classes 'caf\u00e9' and 'cafe\u0301' are the same name in different Unicode forms/);
});

test('group values are NFC-normalised as labels are; rows for one image that differ only in Unicode form are no conflict', async () => {
  const [composed, decomposed] = ['Andr\u00e9', 'Andre\u0301'];
  const rows = ['file,kind,region', `a.jpg,caf\u00e9,${decomposed}`, `a.jpg,cafe\u0301,${composed}`, `b.jpg,tea,${decomposed}`, 'c.jpg,tea,'];
  const root = await folder({ 'a.jpg': 'x', 'b.jpg': 'x', 'c.jpg': 'x', 'd.jpg': 'x', 'l.csv': rows.join('\n') + '\n' });
  const listing = await listImages(root);
  const match = await matchLabelFile(join(root, 'l.csv'), listing, { labelColumn: 'kind', groupColumns: ['region'] });
  assert.equal(match.duplicateRows, 1);
  assert.deepEqual(Array.from(labelIndices(match.rowOfImage, 'kind', ['caf\u00e9', 'tea']).truth), [0, 1, 1, -1]);
  // One group, whichever form each row wrote; an empty value and an image without a row: no group.
  assert.deepEqual(groupValuesOf(match.rowOfImage, ['region', 'kind']), [
    { name: 'region', values: [composed, composed, null, null] },
    { name: 'kind', values: ['caf\u00e9', 'tea', 'tea', null] },
  ]);
  // Values that differ once normalised still conflict.
  await writeFile(join(root, 'l.csv'), `file,kind,region\na.jpg,tea,${composed}\na.jpg,tea,Andre\n`);
  await assert.rejects(matchLabelFile(join(root, 'l.csv'), listing, { labelColumn: 'kind', groupColumns: ['region'] }), /labels an image twice, differently: 'a\.jpg': row 2 \(kind=tea, region=Andr\u00e9\), row 3 \(kind=tea, region=Andre\)/);
});
