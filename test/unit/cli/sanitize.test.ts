import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeJson, sanitize } from '../../../src/cli/render/sanitize.js';

describe('sanitize', () => {
  it('shows every terminal control as a visible escape', () => {
    assert.equal(sanitize('a\u001b[31mb\u0007'), 'a\\x1b[31mb\\x07');
    assert.equal(sanitize('csi\u009b2J del\u007f'), 'csi\\x9b2J del\\x7f');
    assert.equal(sanitize('evil\u202etxt.exe'), 'evil\\u202etxt.exe');
    assert.equal(sanitize('one\ntwo\tthree\r'), 'one\\x0atwo\\x09three\\x0d');
    assert.equal(sanitize('one\ntwo\tthree\r', { keepLines: true }), 'one\ntwo\tthree\\x0d');
    assert.equal(sanitize('plain ünïcødé 名前'), 'plain ünïcødé 名前');
  });

  it('keeps JSON valid and equal in value while escaping what JSON.stringify leaves raw', () => {
    const data = { name: 'x\u001b[31m\u009b\u202e', list: ['\u0085'] };
    const text = safeJson(data);
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    assert.deepEqual(JSON.parse(text), data);
    assert.deepEqual(JSON.parse(safeJson(data, undefined)), data);
  });
});
