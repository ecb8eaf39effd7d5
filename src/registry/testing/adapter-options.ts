import type { MeshbridgeError } from '../../errors/index.js';
import { Protocol } from '../../model/index.js';
import { silentLogger, type Logger } from '../../observability/index.js';
import type { AdapterCommon } from '../kind.js';
import { registryKinds, type KindSettings, type RegistryKind } from '../kinds.js';

/**
 * Test kit for building adapters directly: a kind's settings exactly as the config would
 * resolve them from `block` (every default applied by the kind's spec, relative paths against
 * `base`), so a test states only what it is about and never restates a default.
 */
export function kindSettings<K extends RegistryKind>(kind: K, block: object, base: string = process.cwd()): KindSettings<K> {
  return registryKinds[kind].resolve(block, base) as KindSettings<K>;
}

/** The common adapter wiring with test defaults: TCP, a silent logger, problems to `report`. */
export function adapterCommon(name: string, report: (e: MeshbridgeError) => void = () => undefined, logger: Logger = silentLogger(), defaultProtocol: Protocol = Protocol.TCP): AdapterCommon {
  return { name, defaultProtocol, context: { report }, logger };
}
