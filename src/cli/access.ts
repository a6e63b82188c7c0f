// How the CLI reaches a node that serves https or wants a bearer token (`concord status`,
// `concord backup`): `--ca FILE` means https, verified with that CA bundle (PEM);
// `--token`, else $CONCORD_TOKEN, is sent as "Authorization: Bearer <token>".
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';

/** With a `dispatcher` (trusting the nodes' CA) nodes are reached over https. */
export interface NodeAccess { readonly dispatcher?: Dispatcher; readonly token?: string }

/** The access the flags ask for; throws when the CA file cannot be read. Close `dispatcher` when done. */
export function nodeAccess(flags: { ca?: string; token?: string }): NodeAccess {
  const token = flags.token ?? (process.env.CONCORD_TOKEN || undefined);
  const dispatcher = flags.ca === undefined ? undefined : new Agent({ connect: { ca: readFileSync(flags.ca) } });
  return { ...(dispatcher === undefined ? {} : { dispatcher }), ...(token === undefined ? {} : { token }) };
}

/** The URL of `path` on `endpoint` (host:port), and the request options that carry the access. */
export function nodeRequest(endpoint: string, path: string, access: NodeAccess): { url: string; options: { dispatcher?: Dispatcher; headers?: Record<string, string> } } {
  return {
    url: `${access.dispatcher === undefined ? 'http' : 'https'}://${endpoint}${path}`,
    options: { ...(access.dispatcher === undefined ? {} : { dispatcher: access.dispatcher }),
      ...(access.token === undefined ? {} : { headers: { authorization: `Bearer ${access.token}` } }) },
  };
}
