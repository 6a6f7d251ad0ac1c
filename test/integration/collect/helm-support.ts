import type { TestContext } from 'node:test';
import { findHelm } from '../../../src/collect/helm.js';
import { missingRequirement } from '../../support/requirements.js';

/**
 * The helm binary for chart tests: SEALER_HELM, PATH, or tools/helm/helm (installed by
 * `bash scripts/setup-helm.sh`). Skips the test (fails it under CI=true) when there is none.
 */
export async function requireHelm(t: TestContext): Promise<string | undefined> {
  const found = await findHelm({ env: process.env });
  if (found.helm !== undefined) return found.helm;
  missingRequirement(t, 'helm not found: run `bash scripts/setup-helm.sh` or set SEALER_HELM');
  return undefined;
}
