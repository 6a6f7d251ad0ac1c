import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher, interceptors } from 'undici';

// The registry client needs three pieces of undici: the agent, the redirect interceptor and
// `request`. undici's index loads all of it (fetch, WebSocket, cookies, caches, mocks: about
// 100 more files, 0.1-0.2 s of every registry command's start), so they are loaded from
// undici's own files. test/unit/registry/undici-core.test.ts checks that each is the object the
// index exports, so an undici upgrade that moves them fails a test instead of the build.
const load = createRequire(import.meta.url);

/** undici's `Agent` (`undici/lib/dispatcher/agent.js`). */
export const Agent = load('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;

/** undici's `interceptors.redirect` (`undici/lib/interceptor/redirect.js`). */
export const redirectInterceptor = load('undici/lib/interceptor/redirect.js') as typeof interceptors.redirect;

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'>;
const apiRequest = load('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  opts: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/** undici's `request(url, { dispatcher, ... })`, as its index makes it, for an absolute URL. */
export function request(url: URL, opts: RequestOptions & { readonly dispatcher: Dispatcher }): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = opts;
  const path = url.search ? `${url.pathname}${url.search}` : url.pathname;
  return apiRequest.call(dispatcher, { ...rest, origin: url.origin, path });
}
