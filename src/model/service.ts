/**
 * The neutral service model. Registry adapters produce these objects; conversion turns them into
 * Istio resources. This module imports nothing: no Istio types, no registry client types.
 *
 * Contract: every object is treated as immutable once handed to the aggregate. Adapters build a
 * new object for every change; they never mutate one they already emitted.
 */

/** Application protocols Istio understands on a ServicePort. */
export const Protocol = {
  HTTP: 'HTTP',
  HTTPS: 'HTTPS',
  GRPC: 'GRPC',
  HTTP2: 'HTTP2',
  TCP: 'TCP',
  TLS: 'TLS',
  MONGO: 'MONGO',
  REDIS: 'REDIS',
  MYSQL: 'MYSQL',
  UDP: 'UDP',
} as const;
export type Protocol = (typeof Protocol)[keyof typeof Protocol];

export const Health = {
  HEALTHY: 'healthy',
  UNHEALTHY: 'unhealthy',
  /** The registry does not report health; treated as healthy. */
  UNKNOWN: 'unknown',
} as const;
export type Health = (typeof Health)[keyof typeof Health];

/** A port the service exposes. `name` is unique within a service, as is `number`. */
export interface Port {
  readonly number: number;
  readonly name: string;
  readonly protocol: Protocol;
  /** Default port number on the endpoints when an endpoint does not say otherwise. */
  readonly targetPort?: number;
}

export interface Locality {
  readonly region?: string;
  readonly zone?: string;
  readonly subzone?: string;
}

/** One instance of a service. */
export interface Endpoint {
  /** IPv4, IPv6 or DNS name, as the registry reported it. */
  readonly address: string;
  /** Port name -> the port number on this endpoint (the service port's name is the key). */
  readonly ports: Readonly<Record<string, number>>;
  /** Raw instance metadata. Not sanitised: conversion decides what survives as labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Load-balancing weight; absent means the registry did not say. */
  readonly weight?: number;
  readonly locality?: Locality;
  readonly network?: string;
  readonly health: Health;
  /** Name of the registry (configured instance name) this endpoint came from. */
  readonly origin: string;
  /** The registry's own instance id, when it has one; used only for diagnostics. */
  readonly instanceId?: string;
}

/** A service as one registry sees it. */
export interface Service {
  /** Configured name of the registry instance (unique across the config). */
  readonly registry: string;
  /** Kind of registry: file, zookeeper, etcd, consul, eureka, nacos, ... */
  readonly registryKind: string;
  /** The registry-native service name (Dubbo interface, Consul service, Eureka app, ...). */
  readonly name: string;
  /** Namespace hint from the registry (Nacos namespace, Consul namespace), if any. */
  readonly namespace?: string;
  /**
   * Extra naming attributes the host template may use (group, version, datacenter, ...).
   * Keys are lower camel case.
   */
  readonly attributes: Readonly<Record<string, string>>;
  readonly ports: readonly Port[];
  readonly endpoints: readonly Endpoint[];
  /**
   * The applications that consume this service (Dubbo consumers' `application`), sorted and
   * unique; absent when the registry does not report consumers or consumer watching is off.
   * Conversion turns them into Sidecar resources (docs/mapping.md#sidecars).
   */
  readonly consumers?: readonly string[];
}
