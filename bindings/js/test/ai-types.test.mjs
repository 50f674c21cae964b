// Type-checks test/types/ai.ts (a consumer of `chatwire/ai`) with `tsc --strict` against the
// published types of the `ai` package (a dev dependency here, an optional peer for users).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tsc = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));

test('the chatwire/ai declarations type-check as an ai ChatTransport under --strict', () => {
  const project = fileURLToPath(new URL('types/tsconfig.ai.json', import.meta.url));
  const run = spawnSync(tsc, ['-p', project], { encoding: 'utf8' });
  assert.equal(run.error, undefined, String(run.error));
  assert.equal(run.status, 0, `tsc -p ${project}\n${run.stdout}${run.stderr}`);
});
