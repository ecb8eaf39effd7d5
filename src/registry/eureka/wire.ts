import { ErrorCode, MeshbridgeError } from '../../errors/index.js';

/**
 * The JSON Eureka servers answer with `Accept: application/json` (EurekaJacksonCodec), read
 * tolerantly: `application` and `instance` may be one object or an array (older XStream-style
 * codecs write a lone element as an object), numbers may be strings.
 *
 *   {"applications": {"versions__delta": "3", "apps__hashcode": "UP_2_",
 *     "application": [{"name": "MY-APP", "instance": [{"instanceId": ..., "app": "MY-APP",
 *       "ipAddr": ..., "status": "UP", "port": {"$": 8080, "@enabled": "true"}, ...,
 *       "actionType": "ADDED"}]}]}}
 */

/** Eureka's InstanceStatus names; anything else reads as UNKNOWN (InstanceStatus.toEnum). */
export const InstanceStatus = {
  UP: 'UP',
  DOWN: 'DOWN',
  STARTING: 'STARTING',
  OUT_OF_SERVICE: 'OUT_OF_SERVICE',
  UNKNOWN: 'UNKNOWN',
} as const;
export type InstanceStatus = (typeof InstanceStatus)[keyof typeof InstanceStatus];

/** What a delta entry does to the local copy (InstanceInfo.ActionType). */
export const ActionType = {
  ADDED: 'ADDED',
  MODIFIED: 'MODIFIED',
  DELETED: 'DELETED',
} as const;
export type ActionType = (typeof ActionType)[keyof typeof ActionType];

export type JsonObject = { readonly [key: string]: unknown };

/** One instance as listed: its identity, status and the raw object for mapping. */
export interface WireInstance {
  /** InstanceInfo.getId(): instanceId, else the Amazon instance-id, else hostName. */
  readonly id: string;
  /** Upper-cased application name (Eureka compares app names upper-cased). */
  readonly app: string;
  readonly status: InstanceStatus;
  /** Undefined when absent or not one of Eureka's action types. */
  readonly actionType: ActionType | undefined;
  readonly raw: JsonObject;
}

/** A parsed `/apps` or `/apps/delta` answer. */
export interface WireApplications {
  /** `apps__hashcode`: the server's reconcile hash of its whole registry ("" when empty). */
  readonly hashCode: string | undefined;
  readonly versionDelta: string | undefined;
  readonly instances: readonly WireInstance[];
  /** Instances without any id (cannot be tracked by deltas); counted in `instances` too. */
  readonly anonymous: number;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One element or an array of them, as an array; anything else is empty. */
function list(v: unknown): readonly unknown[] {
  if (Array.isArray(v)) return v;
  return v === undefined || v === null ? [] : [v];
}

/** A JSON string or number as a string; undefined for anything else or an empty string. */
export function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function statusOf(v: unknown): InstanceStatus {
  const s = typeof v === 'string' ? v.toUpperCase() : '';
  return Object.hasOwn(InstanceStatus, s) ? (s as InstanceStatus) : InstanceStatus.UNKNOWN;
}

function actionOf(v: unknown): ActionType | undefined {
  const s = typeof v === 'string' ? v.toUpperCase() : '';
  return Object.hasOwn(ActionType, s) ? (s as ActionType) : undefined;
}

function amazonInstanceId(raw: JsonObject): string | undefined {
  const dc = raw['dataCenterInfo'];
  if (!isObject(dc) || dc['name'] !== 'Amazon' || !isObject(dc['metadata'])) return undefined;
  return text(dc['metadata']['instance-id']);
}

/**
 * Reads an `/apps` or `/apps/delta` body. Throws MB_SOURCE_PARSE when the body is not an
 * `applications` document at all; single malformed instances never throw (they are mapped, and
 * skipped with a code, later).
 */
export function parseApplications(body: unknown, where: string): WireApplications {
  const root = isObject(body) ? body['applications'] : undefined;
  if (!isObject(root)) {
    throw new MeshbridgeError(ErrorCode.SOURCE_PARSE, 'the answer is not a Eureka "applications" document', { path: where });
  }
  const instances: WireInstance[] = [];
  let anonymous = 0;
  for (const app of list(root['application'])) {
    if (!isObject(app)) continue;
    const appName = text(app['name']);
    for (const inst of list(app['instance'])) {
      if (!isObject(inst)) continue;
      const name = (text(inst['app']) ?? appName ?? '').toUpperCase();
      let id = text(inst['instanceId']) ?? amazonInstanceId(inst) ?? text(inst['hostName']);
      if (id === undefined) {
        // Still counted for the reconcile hash; a delta can never address it.
        id = `@anonymous-${anonymous++}@${name}`;
      }
      instances.push({ id, app: name, status: statusOf(inst['status']), actionType: actionOf(inst['actionType']), raw: inst });
    }
  }
  return { hashCode: typeof root['apps__hashcode'] === 'string' ? root['apps__hashcode'] : undefined, versionDelta: text(root['versions__delta']), instances, anonymous };
}
