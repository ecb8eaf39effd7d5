import { ErrorCode, MeshbridgeError, describeError } from '../../errors/index.js';
import { Health, Protocol, serviceKey, servicesEqual } from '../../model/index.js';
import { Backoff, backoffDelay } from '../../util/backoff.js';
import { ReportOnce } from '../report-once.js';
import { ServiceSetRegistry } from '../service-set.js';
import { normaliseAddress, isDnsName } from '../shared/address.js';
import { parsed, refused } from '../shared/parsed.js';
import { readPemFiles } from '../shared/pem-files.js';
import { sleep } from '../shared/sleep.js';

/** The version of the plug-in contract (docs/plugins.md); a plug-in states the one it was written for. */
export const PLUGIN_API_VERSION = 1;

/**
 * What a registry plug-in builds its adapter from, handed to its `create` by the Meshbridge that
 * loads it (docs/plugins.md): the same base class, errors and helpers the built-in kinds use.
 * A plug-in uses these, not a copy of Meshbridge of its own, so `instanceof` checks and error
 * codes are the host's. Stable within one PLUGIN_API_VERSION; additions only.
 */
export const registryKit = Object.freeze({
  apiVersion: PLUGIN_API_VERSION,
  /** The state keeping every adapter extends: replaceAll/upsert/remove, sync and stale status. */
  ServiceSetRegistry,
  MeshbridgeError,
  ErrorCode,
  describeError,
  Protocol,
  Health,
  serviceKey,
  servicesEqual,
  /** Retry delays with jitter (src/util/backoff.ts). */
  Backoff,
  backoffDelay,
  /** Reports a persisting per-entry problem once. */
  ReportOnce,
  /** An abortable wait that never rejects. */
  sleep,
  readPemFiles,
  /** The address rule every adapter applies: IPv4, IPv6, DNS names; undefined when unusable. */
  normaliseAddress,
  isDnsName,
  parsed,
  refused,
});

export type RegistryKit = typeof registryKit;
