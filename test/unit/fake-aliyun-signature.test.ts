import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenApiUtil } from '@alicloud/openapi-core';
import fc from 'fast-check';
import type { ApiError } from '../support/fake-aliyun/api-error.js';
import { type SignedRequest, sha256Hex, verifySignature } from '../support/fake-aliyun/signature.js';

const AK = 'LTAI-test';
const SECRET = 'secret-test';
const NOW = Date.parse('2026-01-02T03:04:05Z');
const EMPTY_HASH = sha256Hex('');

/** A request signed by the SDK's own ACS3 code (the oracle), as node:http would hand it to the fake. */
function sdkSigned(query: Record<string, string>, extraHeaders: Record<string, string> = {}, nonce = `n-${Math.random()}`): SignedRequest {
  const headers: Record<string, string> = {
    host: '127.0.0.1:1234',
    'x-acs-action': 'DescribeInstances',
    'x-acs-version': '2014-05-26',
    'x-acs-date': '2026-01-02T03:04:05Z',
    'x-acs-signature-nonce': nonce,
    'x-acs-content-sha256': EMPTY_HASH,
    accept: 'application/json',
    ...extraHeaders,
  };
  const request = { pathname: '/', method: 'POST', query, headers } as unknown as Parameters<typeof OpenApiUtil.getAuthorization>[0];
  headers.authorization = OpenApiUtil.getAuthorization(request, 'ACS3-HMAC-SHA256', EMPTY_HASH, AK, SECRET);
  return { method: 'POST', path: '/', query: new Map(Object.entries(query)), headers, body: Buffer.alloc(0) };
}

const secretOf = (ak: string): string | undefined => (ak === AK ? SECRET : undefined);
const fresh = (): boolean => false;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return `${(err as ApiError).status} ${(err as ApiError).code}`;
  }
  return 'accepted';
}

test('the fake accepts what the SDK signs, whatever the parameter values', () => {
  const awkward = ['a b', 'x/y', 'star*', 'tilde~', 'ü ñ 中文 😀', '["i-1"]', "it's (ok)!", '100%+1=2&3', ''];
  const query = Object.fromEntries(awkward.map((v, i) => [`Tag.${i + 1}.Value`, v]));
  query['Tag.1.Key'] = 'sealer.io/build';
  query.InstanceIds = JSON.stringify(['i-1', 'i-2']);
  assert.equal(verifySignature(sdkSigned(query), secretOf, fresh, NOW), AK);
  // Well-formed Unicode (lone surrogates cannot be percent-encoded; the SDK would throw first) and all of ASCII.
  const value = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary-ascii' }));
  fc.assert(
    fc.property(fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9.]{0,12}$/), value), (q) => {
      assert.equal(verifySignature(sdkSigned(q), secretOf, fresh, NOW), AK);
    }),
    { numRuns: 200 },
  );
});

test('what the gateway refuses, with its codes', () => {
  const ok = sdkSigned({ RegionId: 'cn-hangzhou' });
  assert.equal(codeOf(() => verifySignature(ok, () => 'another-secret', fresh, NOW)), '400 SignatureDoesNotMatch');
  assert.equal(codeOf(() => verifySignature(ok, () => undefined, fresh, NOW)), '404 InvalidAccessKeyId.NotFound');
  const tampered = { ...ok, query: new Map([['RegionId', 'cn-beijing']]) };
  assert.equal(codeOf(() => verifySignature(tampered, secretOf, fresh, NOW)), '400 SignatureDoesNotMatch');
  const body = { ...ok, body: Buffer.from('x') };
  assert.equal(codeOf(() => verifySignature(body, secretOf, fresh, NOW)), '400 SignatureDoesNotMatch');
  assert.equal(codeOf(() => verifySignature(ok, secretOf, fresh, NOW + 16 * 60_000)), '400 InvalidTimeStamp.Expired');
  assert.equal(codeOf(() => verifySignature(ok, secretOf, () => true, NOW)), '400 SignatureNonceUsed');
  const unsignedHeader = { ...ok, headers: { ...ok.headers, 'x-acs-security-token': 'added-later' } };
  assert.equal(codeOf(() => verifySignature(unsignedHeader, secretOf, fresh, NOW)), '400 IncompleteSignature');
  const noAuth = { ...ok, headers: { ...ok.headers, authorization: undefined } };
  assert.equal(codeOf(() => verifySignature(noAuth, secretOf, fresh, NOW)), '400 IncompleteSignature');
  // Signing fewer headers (here no date at all) does not pass, even when correct for what it signed.
  const { 'x-acs-date': _date, authorization: _auth, ...withoutDate } = ok.headers as Record<string, string>;
  const req = { pathname: '/', method: 'POST', query: { RegionId: 'cn-hangzhou' }, headers: withoutDate };
  const auth = OpenApiUtil.getAuthorization(req as unknown as Parameters<typeof OpenApiUtil.getAuthorization>[0], 'ACS3-HMAC-SHA256', EMPTY_HASH, AK, SECRET);
  assert.equal(codeOf(() => verifySignature({ ...ok, headers: { ...withoutDate, authorization: auth } }, secretOf, fresh, NOW)), '400 IncompleteSignature');
});
