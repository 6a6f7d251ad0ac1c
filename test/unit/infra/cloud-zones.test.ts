import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placements } from '../../../src/infra/cloud/zones.js';

const zone = (id: string, status: string, types: [string, string, string][]) => ({
  ZoneId: id,
  Status: status,
  StatusCategory: 'WithStock',
  AvailableResources: {
    AvailableResource: [
      { Type: 'InstanceType', SupportedResources: { SupportedResource: types.map(([Value, Status, StatusCategory]) => ({ Value, Status, StatusCategory })) } },
    ],
  },
});

const answer = {
  RequestId: 'X',
  AvailableZones: {
    AvailableZone: [
      zone('cn-hangzhou-h', 'Available', [
        ['ecs.c7.xlarge', 'SoldOut', 'WithoutStock'],
        ['ecs.g7.xlarge', 'Available', 'WithStock'],
      ]),
      zone('cn-hangzhou-i', 'Available', [
        ['ecs.c7.xlarge', 'Available', 'ClosedWithStock'],
        ['ecs.g7.xlarge', 'Available', 'WithStock'],
      ]),
      zone('cn-hangzhou-j', 'SoldOut', [['ecs.c7.xlarge', 'Available', 'WithStock']]),
      zone('cn-hangzhou-k', 'Available', [['ecs.c7.xlarge', 'Available', 'WithStock']]),
    ],
  },
};

test('zones are chosen by stock: types in the given order, then zones in the answer’s order', () => {
  assert.deepEqual(placements(answer, ['ecs.c7.xlarge', 'ecs.g7.xlarge']), [
    { zone: 'cn-hangzhou-k', type: 'ecs.c7.xlarge' },
    { zone: 'cn-hangzhou-h', type: 'ecs.g7.xlarge' },
    { zone: 'cn-hangzhou-i', type: 'ecs.g7.xlarge' },
  ]);
  assert.deepEqual(placements(answer, ['ecs.g7.xlarge', 'ecs.c7.xlarge'], 'cn-hangzhou-i'), [{ zone: 'cn-hangzhou-i', type: 'ecs.g7.xlarge' }]);
  assert.deepEqual(placements(answer, ['ecs.c6.large']), []);
  assert.deepEqual(placements({}, ['ecs.c7.xlarge']), []);
  assert.deepEqual(placements(undefined, ['ecs.c7.xlarge']), []);
});
