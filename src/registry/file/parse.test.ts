import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MeshbridgeError } from '../../errors/index.js';
import { normaliseAddress } from '../shared/address.js';
import { detectFormat, parseSource } from './parse.js';

test('detectFormat: by extension, then by content', () => {
  assert.equal(detectFormat('a/b.json', 'services: []'), 'json');
  assert.equal(detectFormat('a/b.YML', '{}'), 'yaml');
  assert.equal(detectFormat('a/b.yaml', '{}'), 'yaml');
  assert.equal(detectFormat('a/b.conf', '  {"services": []}'), 'json');
  assert.equal(detectFormat('a/b', 'services: []'), 'yaml');
});

function parseError(text: string, format: 'yaml' | 'json' = 'yaml'): MeshbridgeError {
  try {
    parseSource(text, 'f.yaml', format);
  } catch (e) {
    assert.ok(e instanceof MeshbridgeError);
    return e;
  }
  assert.fail(`parsed: ${text}`);
}

test('parseSource: blank text is a parse error, not an empty registry', () => {
  for (const t of ['', '   \n\n', '\t']) assert.equal(parseError(t).code, ErrorCode.SOURCE_PARSE);
});

test('parseSource: YAML syntax errors carry line and column', () => {
  const e = parseError('services:\n  - name: a\n    ports: [1, 2\n');
  assert.equal(e.code, ErrorCode.SOURCE_PARSE);
  assert.match(e.message, /^f\.yaml: not valid YAML \(line \d+, column \d+\)/);
  assert.equal(e.path, 'f.yaml');
});

test('parseSource: duplicate keys, truncated JSON and multiple documents are parse errors', () => {
  assert.equal(parseError('services: []\nservices: []\n').code, ErrorCode.SOURCE_PARSE);
  assert.equal(parseError('{"services": [{"name": "a"', 'json').code, ErrorCode.SOURCE_PARSE);
  assert.equal(parseError('services: []\n---\nservices: []\n').code, ErrorCode.SOURCE_PARSE);
});

test('parseSource: alias bombs are refused', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
  lines.push('services: []');
  assert.equal(parseError(lines.join('\n')).code, ErrorCode.SOURCE_PARSE);
});

test('parseSource: unquoted numbers under labels and attributes keep their text', () => {
  const doc = parseSource(
    'services:\n  - name: a\n    attributes: {version: 1.10, n: 0x1F}\n    ports: [{number: 0x50}]\n    instances:\n      - labels: {v: 2.0, b: true}\n',
    'f.yaml',
    'yaml',
  );
  assert.deepEqual(doc, {
    services: [{ name: 'a', attributes: { version: '1.10', n: '0x1F' }, ports: [{ number: 80 }], instances: [{ labels: { v: '2.0', b: true } }] }],
  });
});

test('parseSource: YAML 1.2 core schema (yes/no are strings)', () => {
  assert.deepEqual(parseSource('a: yes\nb: true\nc: 010\n', 'f.yaml', 'yaml'), { a: 'yes', b: true, c: 10 });
});

test('normaliseAddress: IPs, bracketed IPv6 and DNS names', () => {
  const ok: Array<[string, string]> = [
    ['10.0.0.1', '10.0.0.1'],
    ['::1', '::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['fd00:10:96::a1', 'fd00:10:96::a1'],
    ['a.example.com', 'a.example.com'],
    ['Edge-1.Example.COM', 'Edge-1.Example.COM'],
    ['localhost', 'localhost'],
    ['1a.b2', '1a.b2'],
  ];
  for (const [input, want] of ok) assert.equal(normaliseAddress(input), want, input);
  const bad = ['', '10.0.0.256', '1.2.3', 'a_b.com', '-a.com', 'a-.com', 'a..b', 'a.com.', '[10.0.0.1]', 'fe80::1%eth0', 'has space', `${'a'.repeat(64)}.com`, `${'a.'.repeat(127)}a`, 'ü.com'];
  for (const input of bad) assert.equal(normaliseAddress(input), undefined, input);
});
