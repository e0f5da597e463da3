// fast-check generators of bad input for a transport's delivery path: malformed envelopes,
// headers and encodings, huge and empty messages, prototype-pollution keys and forged
// claim-check references. Each input says which dead-letter codes it may end with, so one
// oracle serves every transport (the transport only maps it onto its wire).
import fc from 'fast-check';

/** A message as it goes on the wire, before a transport adds its header prefix. */
export interface WireInput {
  /** Envelope attributes by name; the transport prefixes them (`ce_`, `cloudEvents_`). */
  readonly attributes: Readonly<Record<string, string | Uint8Array>>;
  /** Headers by their full name, written as they are. */
  readonly headers: Readonly<Record<string, string>>;
  /** `datacontenttype`: Kafka's `content-type` header, the AMQP property, a header in memory. */
  readonly contentType?: string;
  readonly body: Uint8Array;
}

/** A bad input and what the consumer must make of it. */
export interface BadInput extends WireInput {
  /** What kind of bad input this is, for failure reports. */
  readonly label: string;
  /** Dead-letter codes it may end with; empty when it must reach the handler. */
  readonly codes: readonly string[];
}

/** Where the consumer's payload store lives, and one payload really stored in it. */
export interface ClaimCheckTarget {
  /** `dataref` of a payload stored through the store under test: `{"n":1}` as JSON. */
  readonly storedRef: string;
  /** The store kind written into references, such as `s3` or `memory`. */
  readonly store: string;
  readonly bucket: string;
  /** Key prefix the store is confined to, ending with `/`. */
  readonly prefix: string;
}

/** The event type the fuzzed subscription handles; its data must be `{ n: number }`. */
export const FUZZ_TYPE = 'fuzz.probe';
/** Stands for a fresh message id; the runner puts a unique id in its place. */
export const FRESH_ID = '<fresh-id>';
/** Names that reach for a prototype when used as an object key. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
/** Attribute names that are inherited members of every object. */
const INHERITED_NAMES = ['toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'];

const utf8 = new TextEncoder();
const DECODE = ['EDA_DECODE'];
const VALIDATION = ['EDA_VALIDATION'];

/** A message that is fine in every respect: the base each bad input breaks in one way. */
export function goodAttributes(): Record<string, string> {
  return { id: FRESH_ID, type: FUZZ_TYPE, source: 'fuzz', specversion: '1.0' };
}

const goodBody = utf8.encode('{"n":1}');

function input(
  label: string,
  codes: readonly string[],
  parts: Partial<WireInput> & { attributes?: Record<string, string | Uint8Array> },
): BadInput {
  return {
    label,
    codes,
    attributes: parts.attributes ?? goodAttributes(),
    headers: parts.headers ?? {},
    ...(parts.contentType === undefined && !('contentType' in parts)
      ? { contentType: 'application/json' }
      : parts.contentType === undefined
        ? {}
        : { contentType: parts.contentType }),
    body: parts.body ?? goodBody,
  };
}

/** The CloudEvents rule, after the lower-casing every binding applies to header names. */
function isValidReceivedName(name: string): boolean {
  return /^[a-z0-9]+$/.test(/[A-Z]/.test(name) ? name.toLowerCase() : name);
}

/** Header-safe text: printable ASCII plus a few multi-byte characters, bounded. */
const headerText = (maxLength = 40) =>
  fc.string({
    unit: fc.oneof(
      fc.constantFrom(...'abcXYZ019-_.:/ '.split('')),
      fc.constantFrom('é', 'ß', '中', '\u{1F600}', '\u0000', '\u007f'),
      fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    ),
    maxLength,
  });

const missingAttribute = fc
  .record({
    name: fc.constantFrom('id', 'type', 'source', 'specversion'),
    empty: fc.boolean(),
  })
  .map(({ name, empty }) => {
    const attributes = goodAttributes();
    if (empty) attributes[name] = '';
    else delete attributes[name];
    return input(`attribute ${name} ${empty ? 'empty' : 'missing'}`, DECODE, { attributes });
  });

const badAttributeValue = fc.oneof(
  headerText()
    .filter((v) => v !== '1.0' && v !== '')
    .map((specversion) =>
      input('bad specversion', DECODE, { attributes: { ...goodAttributes(), specversion } }),
    ),
  headerText()
    .filter((v) => v !== 'event' && v !== 'command')
    .map((kind) => input('bad kind', DECODE, { attributes: { ...goodAttributes(), kind } })),
  fc
    .oneof(
      headerText().filter((v) => !/^\d{1,10}$/.test(v)),
      fc.bigInt({ min: 2_147_483_648n, max: 99_999_999_999n }).map(String),
    )
    .map((version) =>
      input('bad version', DECODE, { attributes: { ...goodAttributes(), version } }),
    ),
  fc.constant(
    input('empty partitionkey', DECODE, { attributes: { ...goodAttributes(), partitionkey: '' } }),
  ),
);

const badAttributeName = headerText(30)
  .filter((name) => !isValidReceivedName(name) && !PROTOTYPE_KEYS.includes(name as never))
  .map((name) =>
    input('invalid attribute name', DECODE, { attributes: { ...goodAttributes(), [name]: 'x' } }),
  );

/**
 * Prototype keys as attribute names (prefixed), as plain headers, and as attribute values.
 * `constructor` and `prototype` are valid CloudEvents names, so those messages are handled;
 * `__proto__` is not, so it is refused like any other invalid name.
 */
const prototypeHeaders = fc
  .record({
    name: fc.constantFrom(...PROTOTYPE_KEYS, ...INHERITED_NAMES),
    as: fc.constantFrom('attribute', 'header', 'value'),
  })
  .map(({ name, as }) => {
    if (as === 'header') return input(`plain header ${name}`, [], { headers: { [name]: 'x' } });
    if (as === 'value')
      return input(`attribute value ${name}`, [], {
        attributes: { ...goodAttributes(), subject: name },
      });
    return input(`attribute ${name}`, isValidReceivedName(name) ? [] : DECODE, {
      attributes: { ...goodAttributes(), [name]: '{"polluted":"yes"}' },
    });
  });

const badEncoding = fc.oneof(
  // 0xff never occurs in UTF-8: the bytes are invalid whatever surrounds it.
  fc
    .uint8Array({ maxLength: 64 })
    .map((bytes) =>
      input('invalid UTF-8 body', DECODE, { body: new Uint8Array([...bytes, 0xff]) }),
    ),
  fc
    .string({ maxLength: 64 })
    // An empty body is no data at all (see 'empty body'), not bad JSON.
    .filter((text) => text !== '' && !isJson(text))
    .map((text) => input('body not JSON', DECODE, { body: utf8.encode(text) })),
  fc
    .jsonValue()
    .filter((value) => !isProbe(value))
    .map((value) =>
      input('JSON of the wrong shape', VALIDATION, { body: utf8.encode(JSON.stringify(value)) }),
    ),
  fc.uint8Array({ maxLength: 256 }).map((body) =>
    input('binary junk as octet-stream', VALIDATION, {
      contentType: 'application/octet-stream',
      body,
    }),
  ),
  fc
    .oneof(
      fc.constantFrom('text/plain', 'image/png', 'application/xml', 'application/x-protobuf'),
      headerText(30).filter(
        (ct) => ct !== '' && !/^(application\/(json|octet-stream)|.*\+json)\s*(;|$)/i.test(ct),
      ),
    )
    .map((contentType) => input('unknown content type', DECODE, { contentType })),
  // A header value that is not UTF-8: read as replacement characters, so the id is unknown junk.
  fc.constant(
    input('binary attribute value', DECODE, {
      attributes: { ...goodAttributes(), specversion: new Uint8Array([0xff, 0xfe, 0x31]) },
    }),
  ),
);

const emptyOrHuge = fc.oneof(
  fc.constant(input('nothing at all', DECODE, { attributes: {}, body: new Uint8Array(0) })),
  fc.constant(input('empty body', VALIDATION, { body: new Uint8Array(0) })),
  fc.constant(input('empty JSON object', VALIDATION, { body: utf8.encode('{}') })),
  fc
    .constantFrom(256 * 1024, 600 * 1024)
    .map((size) => input(`huge non-JSON body (${size} bytes)`, DECODE, { body: hugeText(size) })),
  fc.constantFrom(300 * 1024).map((size) =>
    input(`huge JSON of the wrong shape (${size} bytes)`, VALIDATION, {
      body: utf8.encode(JSON.stringify({ n: 'x'.repeat(size) })),
    }),
  ),
);

/** JSON data that carries prototype keys: valid `{ n }` data, so the handler receives it. */
const pollutingJson = fc
  .record({
    key: fc.constantFrom(...PROTOTYPE_KEYS),
    nested: fc.boolean(),
  })
  .map(({ key, nested }) => {
    const payload = nested
      ? `{"n":1,"${key}":{"prototype":{"polluted":"yes"},"polluted":"yes"}}`
      : `{"n":1,"${key}":{"polluted":"yes"}}`;
    return input(`JSON key ${key}${nested ? ' (nested)' : ''}`, [], { body: utf8.encode(payload) });
  });

const STRUCTURED = 'application/cloudevents+json';

/** Structured-mode events (the whole event as the body) that are broken, or carry prototype keys. */
const structured = fc.oneof(
  fc
    .uint8Array({ maxLength: 64 })
    .map((body) =>
      input('structured junk', DECODE, { attributes: {}, contentType: STRUCTURED, body }),
    ),
  fc
    .jsonValue()
    .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
    .map((value) =>
      input('structured non-object', DECODE, {
        attributes: {},
        contentType: STRUCTURED,
        body: utf8.encode(JSON.stringify(value)),
      }),
    ),
  fc
    .record({
      key: fc.constantFrom(...PROTOTYPE_KEYS),
      value: fc.constantFrom('"x"', '{"polluted":"yes"}', '1'),
    })
    .map(({ key, value }) => {
      const event = `{"id":"${FRESH_ID}","type":"${FUZZ_TYPE}","source":"fuzz","specversion":"1.0","data":{"n":1},"${key}":${value}}`;
      // An object is never an attribute value; a string or number under `__proto__` is an
      // attribute with an invalid name; `constructor` and `prototype` are valid names.
      const codes = value.startsWith('{') || key === '__proto__' ? DECODE : [];
      return input(`structured attribute ${key}=${value}`, codes, {
        attributes: {},
        contentType: STRUCTURED,
        body: utf8.encode(event),
      });
    }),
  fc.constant(
    input('structured data and data_base64', DECODE, {
      attributes: {},
      contentType: STRUCTURED,
      body: utf8.encode(
        `{"id":"${FRESH_ID}","type":"${FUZZ_TYPE}","source":"fuzz","specversion":"1.0","data":{"n":1},"data_base64":"eyJuIjoxfQ=="}`,
      ),
    }),
  ),
);

/** Forged claim-check references against `target`, with the codes each must end with. */
export function forgedReference(target: ClaimCheckTarget): fc.Arbitrary<BadInput> {
  const parts = /^[^:]+:\/\/[^/]+\/([^?]+)(\?.*)$/.exec(target.storedRef);
  if (!parts) throw new Error(`storedRef "${target.storedRef}" is not a dataref.`);
  const [, storedKey = '', query = ''] = parts;
  const sha = (s: string) => query.replace(/sha256=[0-9a-f]*/, `sha256=${s}`);
  const size = (s: string) => query.replace(/size=\d*/, `size=${s}`);
  const ref = (bucket: string, key: string, q = query, store = target.store) =>
    `${store}://${bucket}/${key}${q}`;
  const forged = (label: string, codes: readonly string[], dataref: string) =>
    input(`dataref ${label}`, codes, {
      attributes: { ...goodAttributes(), dataref },
      body: new Uint8Array(0),
    });
  const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
  return fc.oneof(
    headerText(60).map((text) => forged('malformed', ['EDA_PAYLOAD_FORGED'], text)),
    fc.constant(forged('other bucket', ['EDA_PAYLOAD_FORGED'], ref('other-bucket', storedKey))),
    fc.constant(
      forged(
        'other store kind',
        ['EDA_PAYLOAD_FORGED'],
        ref(target.bucket, storedKey, query, 'https'),
      ),
    ),
    fc
      .constantFrom(
        'other-prefix/x',
        `${target.prefix}../other/x`,
        `${target.prefix}./x`,
        `${target.prefix}a//b`,
        `${target.prefix}a\\..\\b`,
        `${target.prefix}%2e%2e/x`,
        `${target.prefix}%E0%A4%A`,
      )
      .map((key) => forged(`key ${key}`, ['EDA_PAYLOAD_FORGED'], ref(target.bucket, key))),
    fc
      .oneof(
        fc.constant(''),
        fc.constant('XYZ'),
        // Upper-case hex (one letter at least): references carry lower-case hex only.
        fc.stringMatching(/^[0-9A-F]{63}$/).map((s) => `A${s}`),
      )
      .map((s) =>
        forged('bad sha256', ['EDA_PAYLOAD_FORGED'], ref(target.bucket, storedKey, sha(s))),
      ),
    fc
      .constantFrom('-1', '1.5', 'NaN', '1e400', 'x')
      .map((s) =>
        forged(`bad size ${s}`, ['EDA_PAYLOAD_FORGED'], ref(target.bucket, storedKey, size(s))),
      ),
    fc
      .constant(size('999999999999'))
      .map((q) =>
        forged('size above the cap', ['EDA_PAYLOAD_TOO_LARGE'], ref(target.bucket, storedKey, q)),
      ),
    fc
      .stringMatching(/^[a-z0-9]{1,20}$/)
      .map((name) =>
        forged(
          'missing object',
          ['EDA_PAYLOAD_MISSING'],
          ref(target.bucket, `${target.prefix}${name}`),
        ),
      ),
    hex64
      .filter((s) => !query.includes(s))
      .map((s) =>
        forged(
          'wrong sha256 of a real object',
          ['EDA_PAYLOAD_INTEGRITY'],
          ref(target.bucket, storedKey, sha(s)),
        ),
      ),
    fc
      .integer({ min: 0, max: 1000 })
      .filter((n) => !query.includes(`size=${n}&`))
      .map((n) =>
        forged(
          'wrong size of a real object',
          ['EDA_PAYLOAD_INTEGRITY'],
          ref(target.bucket, storedKey, size(String(n))),
        ),
      ),
  );
}

/** Every kind of bad input; forged references only when a claim-check target is given. */
export function badInput(target?: ClaimCheckTarget): fc.Arbitrary<BadInput> {
  const kinds: fc.WeightedArbitrary<BadInput>[] = [
    { weight: 3, arbitrary: missingAttribute },
    { weight: 3, arbitrary: badAttributeValue },
    { weight: 3, arbitrary: badAttributeName },
    { weight: 4, arbitrary: prototypeHeaders },
    { weight: 4, arbitrary: badEncoding },
    { weight: 1, arbitrary: emptyOrHuge },
    { weight: 3, arbitrary: pollutingJson },
    { weight: 3, arbitrary: structured },
  ];
  if (target) kinds.push({ weight: 5, arbitrary: forgedReference(target) });
  // Any input may also carry a plain header whose name is an inherited member of objects, so
  // such headers meet every path (dead letter, retry copy) and not only the handled one.
  const noise = fc.option(fc.constantFrom(...PROTOTYPE_KEYS, ...INHERITED_NAMES), { freq: 3 });
  return fc
    .tuple(fc.oneof(...kinds), noise)
    .map(([bad, name]) =>
      name === null ? bad : { ...bad, headers: { ...bad.headers, [name]: 'noise' } },
    );
}

/** A batch of bad inputs to send before one good message. */
export function badBatch(target?: ClaimCheckTarget): fc.Arbitrary<BadInput[]> {
  return fc.array(badInput(target), { minLength: 1, maxLength: 6 });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function isProbe(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { n?: unknown }).n === 'number'
  );
}

function hugeText(size: number): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x61);
  bytes[0] = 0x7b; // `{` then letters: starts like JSON, never parses
  return bytes;
}

export { fc };
