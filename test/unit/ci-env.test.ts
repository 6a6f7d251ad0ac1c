import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inCI } from '../support/requirements.js';

test('any non-empty CI means CI (true, 1, yes as CI services set it); unset or empty does not', () => {
  for (const CI of ['true', '1', 'yes', 'TRUE']) assert.equal(inCI({ CI }), true, `CI=${CI}`);
  assert.equal(inCI({}), false);
  assert.equal(inCI({ CI: '' }), false);
});
