/** How Consul tags become endpoint labels. */
export const TagsAsLabels = {
  /** Every tag `t` becomes the label `<tagPrefix>t: "true"` (default). */
  PREFIX: 'prefix',
  /** A tag `k=v` becomes `k: v`; a tag without `=` falls back to the prefix form. */
  KEY_VALUE: 'keyValue',
  /** Tags are not turned into labels. */
  NONE: 'none',
} as const;
export type TagsAsLabels = (typeof TagsAsLabels)[keyof typeof TagsAsLabels];

export interface LabelOptions {
  readonly tagsAsLabels: TagsAsLabels;
  /** Prefix of tag labels (default `tag-`). */
  readonly tagPrefix: string;
  /** Prefix of node meta labels (default `node-`; empty: node meta keys as they are). */
  readonly nodeMetaPrefix: string;
}

/**
 * Endpoint labels of one Consul instance. Precedence, lowest first: node meta (prefixed), tags,
 * service meta (as is). Keys and values are raw: conversion drops what is not a valid
 * Kubernetes label (docs/mapping.md "Labels"); nothing is rewritten here.
 */
export function instanceLabels(
  tags: readonly string[],
  serviceMeta: Readonly<Record<string, string>>,
  nodeMeta: Readonly<Record<string, string>>,
  o: LabelOptions,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(nodeMeta)) out[`${o.nodeMetaPrefix}${k}`] = v;
  if (o.tagsAsLabels !== TagsAsLabels.NONE) {
    for (const t of tags) {
      const eq = t.indexOf('=');
      if (o.tagsAsLabels === TagsAsLabels.KEY_VALUE && eq > 0) out[t.slice(0, eq)] = t.slice(eq + 1);
      else out[`${o.tagPrefix}${t}`] = 'true';
    }
  }
  for (const [k, v] of Object.entries(serviceMeta)) out[k] = v;
  return out;
}
