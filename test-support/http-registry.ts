/**
 * The tiny home-grown registry of examples/http-registry/server.mjs (node:http: ETag, 304, long
 * polls with Prefer: wait, server-sent events), typed for the http kind's tests. It is the same
 * server a user starts from the example, so the tests also prove the example works.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from './paths.js';

export interface CatalogueCounts {
  requests: number;
  ok: number;
  notModified: number;
  held: number;
  streams: number;
  unauthorized: number;
}

export interface CatalogueServer {
  readonly port: number;
  readonly url: string;
  readonly eventsUrl: string;
  readonly counts: CatalogueCounts;
  set(doc: unknown): void;
  setRaw(text: string): void;
  /** Ends every open event stream cleanly. */
  endStreams(): void;
  /** Open event streams stay open but hear nothing more. */
  silence(): void;
  close(): Promise<void>;
  listen(): Promise<number>;
}

export interface CatalogueServerOptions {
  readonly doc?: unknown;
  readonly port?: number;
  /** Send `event: changed` instead of the catalogue on a change. */
  readonly notify?: boolean;
  readonly token?: string;
  /** false: no event stream offered (the catalogue answers JSON whatever the Accept). */
  readonly sse?: boolean;
  /** false: long polls are answered at once (a server without long polls). */
  readonly hold?: boolean;
}

export const HTTP_REGISTRY_EXAMPLE = join(REPO, 'examples', 'http-registry');

export async function startCatalogueServer(o: CatalogueServerOptions = {}): Promise<CatalogueServer> {
  const mod = (await import(pathToFileURL(join(HTTP_REGISTRY_EXAMPLE, 'server.mjs')).href)) as { startCatalogueServer: (o: CatalogueServerOptions) => Promise<CatalogueServer> };
  return mod.startCatalogueServer(o);
}
