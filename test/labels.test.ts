import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listImages } from '../src/input/images.js';
import { labelIndices, matchLabelsToImages, readLabelMap, readLabelTable, requireColumn } from '../src/input/labels.js';

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
  const table = await readLabelTable(join(root, 'labels.csv'));
  assert.equal(table.imageColumn, 'file');
  const listing = await listImages(join(root, 'val'));
  const match = matchLabelsToImages(table, listing);
  assert.deepEqual(match.rowOfImage.map((r) => r?.race ?? null), ['East Asian', 'White', null]);
  assert.equal(match.labelsWithoutImage, 1);
  const labels = labelIndices(match.rowOfImage, 'race', ['White', 'East Asian', 'Black']);
  assert.deepEqual(Array.from(labels.truth), [1, 0, -1]);
  assert.deepEqual([labels.labelled, labels.unlabelled], [2, 1]);
});

test('unknown column → error listing the columns', async () => {
  const root = await folder({ 'l.csv': 'file,race\na.jpg,White\n' });
  const table = await readLabelTable(join(root, 'l.csv'));
  assert.throws(() => requireColumn(table, 'ethnicity', '--label-column'), /has no column 'ethnicity'; its columns are: file, race/);
  await assert.rejects(readLabelTable(join(root, 'l.csv'), 'path'), /has no column 'path'; its columns are: file, race; choose one with --image-column/);
  await assert.rejects(readLabelTable(join(root, 'missing.csv')), /--labels: cannot read '.*missing\.csv': ENOENT/);
});

test('label values that are no class → error listing them; a label map fixes it', async () => {
  const rows = [{ file: 'a', g: 'Male' }, { file: 'b', g: 'Female' }, { file: 'c', g: 'Female' }, null];
  assert.throws(() => labelIndices(rows, 'g', ['man', 'woman']), /values that are no class of the spec: 'Male' \(1\), 'Female' \(2\); the classes are: man, woman\. .*--label-map/);
  const root = await folder({ 'map.yaml': 'Male: man\nFemale: woman\n' });
  const map = await readLabelMap(join(root, 'map.yaml'));
  assert.deepEqual(Array.from(labelIndices(rows, 'g', ['man', 'woman'], map).truth), [0, 1, 1, -1]);
});
