// AuditMemo (the prompt lab): tallies that move the kept draws' counts equal tallyOutcomes' own draws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mulberry32 } from '../src/evaluate/bootstrap.js';
import { partitionByAttribute, tallyOutcomes, wholePopulation } from '../src/evaluate/groups.js';
import { AuditMemo } from '../src/evaluate/audit_memo.js';
import { auditPredictions } from '../src/evaluate/audit.js';

test('memoised bootstrap tallies equal fresh ones over successive edits, class count changes and new partitions', () => {
  const random = new Mulberry32(7);
  const n = 500;
  const values = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : ['a', 'b', 'c'][Math.floor(random.next() * 3)]));
  const memo = new AuditMemo();
  let C = 4;
  let truth = Int32Array.from({ length: n }, () => Math.floor(random.next() * (C + 1)) - 1);
  let predictions = [0, 1, 2].map(() => Int32Array.from({ length: n }, () => Math.floor(random.next() * C)));
  for (let edit = 0; edit < 8; edit++) {
    if (edit === 5) {
      // A class added: every cell code changes.
      C = 5;
      truth = Int32Array.from(truth, (t) => (t >= 0 && random.next() < 0.2 ? 4 : t));
    }
    // A few predictions move; one strategy changes a lot.
    predictions = predictions.map((p, s) => Int32Array.from(p, (c) => (random.next() < (s === 2 ? 0.7 : 0.05) ? Math.floor(random.next() * C) : Math.min(c, C - 1))));
    for (const partition of [wholePopulation(n), partitionByAttribute('g', values)]) {
      const fresh = tallyOutcomes(partition, truth, predictions, C, 50, 3);
      const memoised = tallyOutcomes(partition, truth, predictions, C, 50, 3, memo);
      assert.deepEqual(memoised, fresh, `edit ${edit}, partition ${partition.name}`);
    }
  }
  // Another seed or replicate count is another set of draws.
  const partition = partitionByAttribute('g', values);
  assert.deepEqual(tallyOutcomes(partition, truth, predictions, C, 40, 9, memo), tallyOutcomes(partition, truth, predictions, C, 40, 9));
  assert.deepEqual(tallyOutcomes(partition, truth, predictions, C, 0, 9, memo), tallyOutcomes(partition, truth, predictions, C, 0, 9));
});

test('audits with a memo equal audits without, as prompts are added and removed (rankings kept by prompt)', () => {
  const random = new Mulberry32(11);
  const n = 300;
  const columns = new Map<string, Float32Array>();
  const column = (prompt: string) => columns.get(prompt) ?? columns.set(prompt, Float32Array.from({ length: n }, () => Math.round(random.next() * 50) / 2)).get(prompt)!;
  const truth = Int32Array.from({ length: n }, () => Math.floor(random.next() * 3) - 1);
  const attributes = [{ name: 'g', values: Array.from({ length: n }, () => ['x', 'y'][Math.floor(random.next() * 2)]) }];
  const memo = new AuditMemo();
  for (const prompts of [['a', 'b', 'c'], ['a', 'b', 'c', 'd'], ['b', 'd', 'a'], ['a', 'b', 'c']]) {
    const promptClass = Int32Array.from(prompts, (_, j) => j % 3);
    const data = new Float32Array(n * prompts.length);
    prompts.forEach((p, j) => column(p).forEach((v, i) => (data[i * prompts.length + j] = v)));
    const similarity = { rows: n, cols: prompts.length, data };
    const predictions = new Map([['sum', Int32Array.from({ length: n }, () => Math.floor(random.next() * 3))]]);
    const input = { classes: ['p', 'q', 'r'], probe: [false, false, false], truth, predictions, attributes, similarity, promptClass, prompts, options: { bootstrap: 30 } };
    assert.deepEqual(auditPredictions({ ...input, memo }), auditPredictions(input));
  }
});

test('strategies with the same predictions share one audit, equal to auditing each alone', () => {
  const random = new Mulberry32(3);
  const n = 200;
  const truth = Int32Array.from({ length: n }, () => Math.floor(random.next() * 3) - 1);
  const attributes = [{ name: 'g', values: Array.from({ length: n }, () => ['x', 'y', null][Math.floor(random.next() * 3)]) }];
  const sum = Int32Array.from({ length: n }, () => Math.floor(random.next() * 3));
  const max = Int32Array.from(sum, (c, i) => (i % 5 === 0 ? (c + 1) % 3 : c));
  const predictions = new Map([['sum', sum], ['max', max], ['topk:3', sum.slice()]]);
  const base = { classes: ['p', 'q', 'r'], probe: [false, false, true], truth, attributes, promptClass: new Int32Array(0), prompts: [], options: { bootstrap: 40 } };
  const together = auditPredictions({ ...base, predictions });
  for (const [name, predicted] of predictions) {
    const alone = auditPredictions({ ...base, predictions: new Map([[name, predicted]]) });
    assert.deepEqual(together.strategies[name], alone.strategies[name], name);
    assert.deepEqual(together.comparison.find((row) => row.strategy === name), alone.comparison[0], name);
  }
});
