// Type-checks test/types/*.ts against the generated declarations with `tsc` (TypeScript from the
// package's devDependencies): as Node resolves the package, as a bundler does, and a consumer
// using every public API under `--strict` whose wrong uses (`@ts-expect-error`) must fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tsc = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));

for (const flavour of ['node', 'web', 'consumer']) {
  test(`the ${flavour} declarations type-check real usage`, () => {
    const project = fileURLToPath(new URL(`types/tsconfig.${flavour}.json`, import.meta.url));
    const run = spawnSync(tsc, ['-p', project], { encoding: 'utf8' });
    assert.equal(run.error, undefined, String(run.error));
    assert.equal(run.status, 0, `tsc -p ${project}\n${run.stdout}${run.stderr}`);
  });
}
