import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClipModel } from '../src/encode/model.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-clip', import.meta.url));
const MODEL_ID = 'zeroshot-tests/tiny-clip';

/** Serves a fixture folder in the Hugging Face URL layout: /<owner>/<name>/resolve/<revision>/<file>. */
async function serveHubLayout(fixture = FIXTURE, id = MODEL_ID): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const prefix = `/${id}/resolve/main/`;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = path.startsWith(prefix) ? join(fixture, path.slice(prefix.length)) : '';
    if (!file || file.includes('..') || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}`, requests };
}

async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

test('a hub id is downloaded and cached on first use, then loads offline from the cache', async () => {
  const { server, url, requests } = await serveHubLayout();
  const cache = await mkdtemp(join(tmpdir(), 'zs-model-cache-'));
  const previous = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = url;
  try {
    const first = await ClipModel.load({ model: MODEL_ID, modelCacheDir: cache, threads: 1 });
    assert.ok(!requests.some((r) => r.endsWith('.onnx')), 'the towers load on first use, not before');
    await first.loadTowers();
    const online = await first.encodeTexts(['a photo of a cat']);
    await first.dispose();
    assert.ok(requests.some((r) => r.endsWith('/onnx/text_model.onnx')), 'downloaded the text model');
    assert.ok(requests.some((r) => r.endsWith('/onnx/vision_model.onnx')), 'downloaded the vision model');
    const cached = await listFiles(cache);
    for (const file of ['config.json', 'tokenizer.json', 'preprocessor_config.json', 'text_model.onnx', 'vision_model.onnx']) {
      assert.ok(cached.includes(file), `${file} cached`);
    }

    const before = requests.length;
    server.close(); // nothing answers any more: offline must not need it
    const second = await ClipModel.load({ model: MODEL_ID, modelCacheDir: cache, offline: true, threads: 1 });
    await second.loadTowers();
    const offline = await second.encodeTexts(['a photo of a cat']);
    await second.dispose();
    assert.equal(requests.length, before, 'no request when offline');
    assert.deepEqual(Array.from(offline.embeddings), Array.from(online.embeddings));
  } finally {
    if (previous === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = previous;
    server.close();
  }
});

test('offline with an empty cache fails with a clear error', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'zs-model-cache-'));
  await assert.rejects(
    ClipModel.load({ model: 'nobody/not-cached', modelCacheDir: cache, offline: true }),
    /cannot load model 'nobody\/not-cached' \(offline: only the cache is used\)/,
  );
});

test('a hub model with only a combined graph and external weights downloads both, extracts its towers, and then runs offline', async () => {
  const fixture = fileURLToPath(new URL('../fixtures/jina-clip-v2', import.meta.url));
  const id = 'zeroshot-tests/jina-clip-v2';
  const { server, url, requests } = await serveHubLayout(fixture, id);
  const cache = await mkdtemp(join(tmpdir(), 'zs-model-cache-'));
  const previous = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = url;
  const pixels = Float32Array.from({ length: 3 * 512 * 512 }, (_, i) => Math.sin(i / 11));
  try {
    const online = await ClipModel.load({ model: id, modelCacheDir: cache, threads: 1 });
    assert.equal(online.family.family, 'jina_clip_v2');
    const text = await online.encodeTexts(['uma foto de um homem branco']);
    const image = await online.encodeImages(pixels, 1);
    await online.dispose();
    for (const file of ['/onnx/model.onnx', '/onnx/model.onnx_data']) assert.ok(requests.some((r) => r.endsWith(file)), `downloaded ${file}`);
    assert.ok(!requests.some((r) => r.endsWith('/onnx/text_model.onnx')), 'no tower file is asked of the hub');
    server.close();
    const offline = await ClipModel.load({ model: id, modelCacheDir: cache, offline: true, threads: 1 });
    assert.deepEqual(Array.from((await offline.encodeTexts(['uma foto de um homem branco'])).embeddings), Array.from(text.embeddings));
    assert.deepEqual(Array.from((await offline.encodeImages(pixels, 1)).embeddings), Array.from(image.embeddings));
    await offline.dispose();
  } finally {
    if (previous === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = previous;
    server.close();
  }
});
