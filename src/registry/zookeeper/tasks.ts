/**
 * The reads the ZooKeeper adapter schedules, and every ZooKeeper path it builds (in one place).
 *
 * Contract: a Task is built only by TaskFactory, which gives it its queue key (`op|tree|name|id`,
 * unique per node and kind of read) and the path it reads, so no other code builds paths or keys.
 * An `exists` task sets a creation watch on a folder that is missing and names the listing to
 * run once it appears.
 */

/** A Curator ServiceDiscovery tree: Dubbo's application level or plain Curator (Spring Cloud). */
export interface CuratorTree {
  readonly index: number;
  readonly base: string;
  readonly level: 'application' | 'curator';
  readonly defaultProtocol: string;
}

interface Read {
  readonly key: string;
  readonly path: string;
}

/** A folder listing that may be missing (then an `exists` task waits for it). */
export type ListTask =
  | (Read & { readonly op: 'dubbo-root' })
  | (Read & { readonly op: 'providers'; readonly iface: string })
  | (Read & { readonly op: 'consumers'; readonly iface: string })
  | (Read & { readonly op: 'tree-root'; readonly tree: CuratorTree });

export type Task =
  | ListTask
  | (Read & { readonly op: 'exists'; readonly list: ListTask })
  | (Read & { readonly op: 'tree-service'; readonly tree: CuratorTree; readonly name: string })
  | (Read & { readonly op: 'instance'; readonly tree: CuratorTree; readonly name: string; readonly id: string });

/** `base` + `/child`, for the root too. */
export function joinPath(base: string, child: string): string {
  return base === '/' ? `/${child}` : `${base}/${child}`;
}

export class TaskFactory {
  /** `root`: the interface-level root (Dubbo's `/dubbo`). */
  constructor(private readonly root: string) {}

  dubboRoot(): ListTask {
    return { op: 'dubbo-root', key: 'dubbo-root', path: this.root };
  }

  providers(iface: string): ListTask {
    return { op: 'providers', key: `providers|${iface}`, path: this.providersPath(iface), iface };
  }

  /** `/dubbo/<iface>/consumers` (read only when consumers are watched). */
  consumers(iface: string): ListTask {
    return { op: 'consumers', key: `consumers|${iface}`, path: this.consumersPath(iface), iface };
  }

  treeRoot(tree: CuratorTree): ListTask {
    return { op: 'tree-root', key: `tree-root|${tree.index}`, path: tree.base, tree };
  }

  /** The creation watch on `list`'s folder. */
  exists(list: ListTask): Task {
    return { op: 'exists', key: `${list.op}-exists${list.key.slice(list.op.length)}`, path: list.path, list };
  }

  treeService(tree: CuratorTree, name: string): Task {
    return { op: 'tree-service', key: `tree-service|${tree.index}|${name}`, path: joinPath(tree.base, name), tree, name };
  }

  instance(tree: CuratorTree, name: string, id: string): Task {
    return { op: 'instance', key: `instance|${tree.index}|${name}|${id}`, path: this.instancePath(tree, name, id), tree, name, id };
  }

  providersPath(iface: string): string {
    return joinPath(joinPath(this.root, iface), 'providers');
  }

  consumersPath(iface: string): string {
    return joinPath(joinPath(this.root, iface), 'consumers');
  }

  consumerNodePath(iface: string, node: string): string {
    return joinPath(this.consumersPath(iface), node);
  }

  providerNodePath(iface: string, node: string): string {
    return joinPath(this.providersPath(iface), node);
  }

  instancePath(tree: CuratorTree, name: string, id: string): string {
    return joinPath(joinPath(tree.base, name), id);
  }
}
