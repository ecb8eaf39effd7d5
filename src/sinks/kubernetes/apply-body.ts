import { ISTIO_API_VERSION, OwnershipLabel, type IstioResource } from '../../snapshot/index.js';

/** The configuration the sink sends by server-side apply for one resource (see applyBody). */
export interface ApplyBody {
  readonly apiVersion: typeof ISTIO_API_VERSION;
  readonly kind: IstioResource['kind'];
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Record<string, string>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: Readonly<Record<string, unknown>>;
}

/**
 * The server-side-apply body of `r` as instance `instance` writes it: the resource's labels plus
 * our instance label, its annotations (the content hash among them) and its spec. Pure. Every
 * field in it is owned by our field manager after the apply; nothing else is (the object writer
 * sends exactly this, `meshbridge diff` compares against exactly this).
 */
export function applyBody(r: IstioResource, instance: string): ApplyBody {
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: r.kind,
    metadata: { name: r.name, namespace: r.namespace, labels: { ...r.labels, [OwnershipLabel.INSTANCE]: instance }, annotations: r.annotations },
    spec: r.spec,
  };
}
