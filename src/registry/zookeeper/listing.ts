import type { ErrorCode } from '../../errors/index.js';
import { parseConsumerNode, type ConsumerParse } from './consumers.js';
import { parseCuratorInstance, type CuratorParse } from './curator-instance.js';
import { parseProviderNode, type ProviderParse } from './providers.js';
import { curatorService, interfaceServices, type ServiceParts } from './service-parts.js';
import type { CuratorTree, Task, TaskFactory } from './tasks.js';

/** Children of the Dubbo root that are not interfaces (Dubbo 3 writes them beside the interfaces). */
const NOT_INTERFACES: ReadonlySet<string> = new Set(['mapping', 'metadata', 'config']);

/** A Curator tree and what is known of it. */
interface TreeState extends CuratorTree {
  /** service name -> instance id -> [raw data, parse] (undefined until read). */
  readonly services: Map<string, Map<string, readonly [string, CuratorParse] | undefined>>;
  readonly emitted: Set<string>;
  readonly dirty: Set<string>;
}

/** What the listing asks of the adapter that owns it. */
export interface ListingHooks {
  /** Queue (or re-queue) a read. */
  read(task: Task): void;
  /** The task's node is gone: drop its bookkeeping (a late watch then finds no task). */
  forget(task: Task): void;
  /** A malformed entry at `path`, reported once until it changes. */
  problem(code: ErrorCode, path: string, message: string, details: Record<string, string>): void;
  /** The entry at `path` is gone: forget its problem. */
  clearProblem(path: string): void;
  /** Something is dirty: a `flush` is due. */
  changed(): void;
}

/** Where a flush sends its services: `apply` upserts (false when no endpoint is left), `remove` drops. */
export interface ListingSink {
  apply(s: ServiceParts): boolean;
  remove(name: string): void;
}

/**
 * What the ZooKeeper adapter knows of the trees it watches (interfaces with their provider nodes,
 * Curator trees with their instances), and which services changed since the last flush.
 *
 * Contract: no I/O and no timers. Each `apply*` takes one read's result, updates the state, asks
 * for the reads it implies (new children) through `hooks.read`, forgets the tasks of children
 * gone, and marks the services it touched dirty; `flush` rebuilds only dirty services and emits
 * them (or their removal) to a ListingSink. Provider node names never change content, so a node
 * is parsed once; instance data is re-parsed only when its text changed. With `watchConsumers`,
 * every interface's consumers folder is listed too (its node names parsed once, like providers)
 * and each interface service carries the applications consuming it.
 */
export class Listing {
  private readonly trees: TreeState[] = [];
  /** Interface -> provider node name -> its parse. */
  private readonly interfaces = new Map<string, Map<string, ProviderParse>>();
  /** Interface -> the service names last emitted for it. */
  private readonly emittedByInterface = new Map<string, Set<string>>();
  private readonly dirtyInterfaces = new Set<string>();
  /** Interface -> consumer node name -> its parse (only with watchConsumers). */
  private readonly consumerNodes = new Map<string, Map<string, ConsumerParse>>();

  constructor(
    private readonly make: TaskFactory,
    private readonly interfaceLevel: boolean,
    private readonly hooks: ListingHooks,
    private readonly watchConsumers = false,
  ) {}

  addTree(base: string, level: CuratorTree['level'], defaultProtocol: string): void {
    this.trees.push({ index: this.trees.length, base, level, defaultProtocol, services: new Map(), emitted: new Set(), dirty: new Set() });
  }

  /**
   * The listing of every watched folder and the data of instances not read yet; `full` (a new
   * session: every watch is gone) re-reads every instance's data too.
   */
  relistTasks(full: boolean): Task[] {
    const out: Task[] = [];
    if (this.interfaceLevel) {
      out.push(this.make.dubboRoot());
      for (const iface of this.interfaces.keys()) {
        out.push(this.make.providers(iface));
        if (this.watchConsumers) out.push(this.make.consumers(iface));
      }
    }
    for (const tree of this.trees) {
      out.push(this.make.treeRoot(tree));
      for (const [name, instances] of tree.services) {
        out.push(this.make.treeService(tree, name));
        for (const [id, entry] of instances) if (full || entry === undefined) out.push(this.make.instance(tree, name, id));
      }
    }
    return out;
  }

  /** Whether the task's node still matters (its parent still lists it). */
  tracked(t: Task): boolean {
    switch (t.op) {
      case 'exists':
        return this.tracked(t.list);
      case 'providers':
      case 'consumers':
        return this.interfaces.has(t.iface);
      case 'tree-service':
        return this.treeOf(t.tree).services.has(t.name);
      case 'instance':
        return this.treeOf(t.tree).services.get(t.name)?.has(t.id) === true;
      default:
        return true;
    }
  }

  /** Applies one folder listing (`children` empty when the folder is missing). */
  applyChildren(t: Task, children: readonly string[]): void {
    if (t.op === 'dubbo-root') this.applyInterfaces(children);
    else if (t.op === 'providers') this.applyProviders(t.iface, children);
    else if (t.op === 'consumers') this.applyConsumers(t.iface, children);
    else if (t.op === 'tree-root') this.applyTreeServices(this.treeOf(t.tree), children);
    else if (t.op === 'tree-service') this.applyTreeInstances(this.treeOf(t.tree), t.name, children);
  }

  /** Applies one instance's data (undefined: the node is gone). */
  applyInstance(tree: CuratorTree, name: string, id: string, data: Buffer | undefined): void {
    const state = this.treeOf(tree);
    const instances = state.services.get(name);
    if (instances === undefined || !instances.has(id)) return;
    if (data === undefined) {
      // Deleted between the listing and the read: the folder's watch lists it again.
      instances.delete(id);
      this.markTreeDirty(state, name);
      return;
    }
    const text = data.toString('utf8');
    const old = instances.get(id);
    if (old !== undefined && old[0] === text) return;
    const parsed = parseCuratorInstance(text, { defaultProtocol: state.defaultProtocol });
    instances.set(id, [text, parsed]);
    if (parsed.type === 'invalid') this.hooks.problem(parsed.code, this.make.instancePath(state, name, id), parsed.message, { service: name });
    this.markTreeDirty(state, name);
  }

  /** Rebuilds the dirty services and emits them, or their removal, to `sink`. */
  flush(sink: ListingSink): void {
    for (const iface of this.dirtyInterfaces) this.rebuildInterface(iface, sink);
    this.dirtyInterfaces.clear();
    for (const tree of this.trees) {
      for (const name of tree.dirty) {
        if (sink.apply(curatorService(name, tree.level, tree.services.get(name)?.entries() ?? []))) tree.emitted.add(name);
        else if (tree.emitted.delete(name)) sink.remove(name);
      }
      tree.dirty.clear();
    }
  }

  private treeOf(tree: CuratorTree): TreeState {
    return this.trees[tree.index] as TreeState;
  }

  private applyInterfaces(names: readonly string[]): void {
    const now = new Set(names.filter((n) => !NOT_INTERFACES.has(n)));
    for (const iface of now) {
      if (this.interfaces.has(iface)) continue;
      this.interfaces.set(iface, new Map());
      this.hooks.read(this.make.providers(iface));
      if (!this.watchConsumers) continue;
      this.consumerNodes.set(iface, new Map());
      this.hooks.read(this.make.consumers(iface));
    }
    for (const iface of [...this.interfaces.keys()]) {
      if (now.has(iface)) continue;
      this.interfaces.delete(iface);
      const list = this.make.providers(iface);
      for (const t of [list, this.make.exists(list)]) this.hooks.forget(t);
      if (this.watchConsumers) this.forgetConsumers(iface);
      this.markInterfaceDirty(iface);
    }
  }

  private applyProviders(iface: string, nodeNames: readonly string[]): void {
    const nodes = this.interfaces.get(iface);
    if (nodes === undefined) return;
    const now = new Set(nodeNames);
    let changed = false;
    for (const node of now) {
      if (nodes.has(node)) continue;
      const parsed = parseProviderNode(node);
      nodes.set(node, parsed);
      changed = true;
      if (parsed.type === 'invalid') this.hooks.problem(parsed.code, this.make.providerNodePath(iface, node), parsed.message, { interface: iface });
    }
    for (const node of [...nodes.keys()]) {
      if (now.has(node)) continue;
      nodes.delete(node);
      this.hooks.clearProblem(this.make.providerNodePath(iface, node));
      changed = true;
    }
    if (changed) this.markInterfaceDirty(iface);
  }

  private applyConsumers(iface: string, nodeNames: readonly string[]): void {
    const nodes = this.consumerNodes.get(iface);
    if (nodes === undefined) return;
    const now = new Set(nodeNames);
    let changed = false;
    for (const node of now) {
      if (nodes.has(node)) continue;
      const parsed = parseConsumerNode(node);
      nodes.set(node, parsed);
      changed = true;
      if (parsed.type === 'invalid') this.hooks.problem(parsed.code, this.make.consumerNodePath(iface, node), parsed.message, { interface: iface });
    }
    for (const node of [...nodes.keys()]) {
      if (now.has(node)) continue;
      nodes.delete(node);
      this.hooks.clearProblem(this.make.consumerNodePath(iface, node));
      changed = true;
    }
    if (changed) this.markInterfaceDirty(iface);
  }

  private forgetConsumers(iface: string): void {
    const list = this.make.consumers(iface);
    for (const t of [list, this.make.exists(list)]) this.hooks.forget(t);
    for (const node of this.consumerNodes.get(iface)?.keys() ?? []) this.hooks.clearProblem(this.make.consumerNodePath(iface, node));
    this.consumerNodes.delete(iface);
  }

  private applyTreeServices(tree: TreeState, names: readonly string[]): void {
    const now = new Set(names);
    for (const name of now) {
      if (tree.services.has(name)) continue;
      tree.services.set(name, new Map());
      this.hooks.read(this.make.treeService(tree, name));
    }
    for (const name of [...tree.services.keys()]) {
      if (now.has(name)) continue;
      for (const id of tree.services.get(name)?.keys() ?? []) this.hooks.forget(this.make.instance(tree, name, id));
      tree.services.delete(name);
      this.hooks.forget(this.make.treeService(tree, name));
      this.markTreeDirty(tree, name);
    }
  }

  private applyTreeInstances(tree: TreeState, name: string, ids: readonly string[]): void {
    const instances = tree.services.get(name);
    if (instances === undefined) return;
    const now = new Set(ids);
    for (const id of now) {
      if (instances.has(id)) continue;
      instances.set(id, undefined);
      this.hooks.read(this.make.instance(tree, name, id));
    }
    for (const id of [...instances.keys()]) {
      if (now.has(id)) continue;
      instances.delete(id);
      this.hooks.forget(this.make.instance(tree, name, id));
      this.hooks.clearProblem(this.make.instancePath(tree, name, id));
      this.markTreeDirty(tree, name);
    }
  }

  private rebuildInterface(iface: string, sink: ListingSink): void {
    const emitted = this.emittedByInterface.get(iface) ?? new Set<string>();
    const now = new Set<string>();
    const consumers = this.watchConsumers ? [...(this.consumerNodes.get(iface)?.values() ?? [])] : undefined;
    for (const s of interfaceServices(iface, this.interfaces.get(iface)?.values() ?? [], consumers)) if (sink.apply(s)) now.add(s.name);
    for (const name of emitted) if (!now.has(name)) sink.remove(name);
    if (now.size > 0) this.emittedByInterface.set(iface, now);
    else this.emittedByInterface.delete(iface);
  }

  private markInterfaceDirty(iface: string): void {
    this.dirtyInterfaces.add(iface);
    this.hooks.changed();
  }

  private markTreeDirty(tree: TreeState, name: string): void {
    tree.dirty.add(name);
    this.hooks.changed();
  }
}
