/** Patterns with a human description: validate.ts names the description in messages. */
export const Patterns = {
  DNS_LABEL: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  DNS_SUBDOMAIN: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  EXPORT_TO: '^(\\.|\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$',
  LABEL_KEY: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
  LABEL_VALUE: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
  ENV_REF: '\\$\\{ENV:[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}',
} as const;

export const PatternText: Readonly<Record<string, string>> = {
  [Patterns.DNS_LABEL]: "a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit)",
  [Patterns.DNS_SUBDOMAIN]: "a DNS subdomain (DNS labels joined by '.')",
  [Patterns.EXPORT_TO]: "'.', '*' or a namespace name",
  [Patterns.LABEL_KEY]: 'a Kubernetes label key ([prefix/]name; name up to 63 letters, digits, "-", "_", ".")',
  [Patterns.LABEL_VALUE]: 'a Kubernetes label value (up to 63 letters, digits, "-", "_", ".", starting and ending alphanumeric)',
};
