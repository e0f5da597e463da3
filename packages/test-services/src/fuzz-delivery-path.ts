// Runs the bad-input property against one transport's delivery path: a real consumer
// (createBus + subscribe, default options) receives raw batches of bad input, each followed by
// one good message. Every bad input must end as a dead letter with an expected code (or reach
// the handler when it is valid after all), the good message must be handled on its first
// delivery, and no prototype may change.
import {
  type ClaimCheckOptions,
  createBus,
  defineEvent,
  formatDataRef,
  on,
  type PayloadStore,
  type Transport,
} from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import {
  type BadInput,
  badBatch,
  type ClaimCheckTarget,
  FRESH_ID,
  FUZZ_TYPE,
  fc,
  goodAttributes,
  type WireInput,
} from './bad-input.js';

/** How one transport puts raw messages on its wire and reads its dead letters back. */
export interface FuzzWire {
  /** Writes raw messages, in order, where the subscription reads `FUZZ_TYPE`. */
  write(messages: readonly WireInput[]): Promise<void>;
  /** Headers (as text) of every dead letter of the subscription so far, from the broker. */
  deadLetters(): Promise<readonly Readonly<Record<string, string>>[]>;
}

export interface FuzzDeliveryPathOptions {
  readonly transport: Transport;
  /** The subscription (consumer group / queue owner) name. */
  readonly subscription: string;
  /** Called once the subscription runs: the wire of this transport. */
  readonly wire: () => FuzzWire | Promise<FuzzWire>;
  readonly claimCheck?: ClaimCheckOptions;
  /** Where forged references point; without it none are generated. */
  readonly target?: ClaimCheckTarget;
  /** @default 60 */
  readonly numRuns?: number;
  /** Replays a failure: the seed fast-check printed. @default FUZZ_SEED from the environment */
  readonly seed?: number;
  /** Wait for a batch to settle before failing. @default 30000 */
  readonly settleMs?: number;
}

/** What a run saw, for the test to report. */
export interface FuzzReport {
  readonly seed: number;
  readonly runs: number;
  /** Bad inputs sent, by label prefix (the kind of input). */
  readonly inputs: number;
  readonly deadLettered: number;
  readonly handled: number;
  /** Milliseconds from writing each good message to its handler running. */
  readonly goodLatencyMs: readonly number[];
}

/**
 * Claim-check options on `store`, and the target forged references aim at: a payload of valid
 * probe data is stored first, so references to it can be altered one part at a time.
 */
export async function claimCheckFor(
  store: PayloadStore,
  where: Omit<ClaimCheckTarget, 'storedRef'>,
): Promise<{ claimCheck: ClaimCheckOptions; target: ClaimCheckTarget }> {
  const ref = await store.put(new TextEncoder().encode('{"n":1}'), {
    contentType: 'application/json',
  });
  return { claimCheck: { store }, target: { ...where, storedRef: formatDataRef(ref) } };
}

/** Marks each written input so its dead letter can be found. */
export const CASE_HEADER = 'x-fuzz-case';
const CODE_HEADER = 'x-eda-error-code';
const MESSAGE_HEADER = 'x-eda-error-message';

/** Data must be `{ n: number }`: anything else fails validation (a Standard Schema by hand). */
const probeSchema = {
  '~standard': {
    version: 1 as const,
    vendor: 'eda-fuzz',
    validate(value: unknown) {
      const ok =
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { n?: unknown }).n === 'number';
      return ok
        ? { value: value as { n: number } }
        : { issues: [{ message: 'expected { n: number }' }] };
    },
  },
};

const Probe = defineEvent({ type: FUZZ_TYPE, owner: 'fuzz-producer', schema: probeSchema });

const text = new TextDecoder();
const bytes = new TextEncoder();

/** The input with its marker header and, where it asks for one, a unique id. */
function marked(input: BadInput, marker: string, id: string): WireInput {
  const attributes = Object.fromEntries(
    Object.entries(input.attributes).map(([name, value]) => [
      name,
      value === FRESH_ID ? id : value,
    ]),
  );
  // Structured events carry their id in the body.
  const body =
    input.body.byteLength < 4096 && text.decode(input.body).includes(FRESH_ID)
      ? bytes.encode(text.decode(input.body).replace(FRESH_ID, id))
      : input.body;
  return {
    ...input,
    attributes,
    headers: Object.fromEntries([...Object.entries(input.headers), [CASE_HEADER, marker]]),
    body,
  };
}

/** Own property names of the prototypes a polluting key would reach. */
function prototypeShape(): string {
  return [Object.prototype, Array.prototype, Function.prototype]
    .map((p) => Object.getOwnPropertyNames(p).sort().join(','))
    .join('|');
}

function describeInput(input: BadInput): string {
  const body =
    input.body.byteLength > 200
      ? `${input.body.byteLength} bytes`
      : JSON.stringify(text.decode(input.body));
  return `${input.label} (attributes ${JSON.stringify(Object.keys(input.attributes))}, headers ${JSON.stringify(Object.keys(input.headers))}, content type ${JSON.stringify(input.contentType)}, body ${body})`;
}

export async function fuzzDeliveryPath(options: FuzzDeliveryPathOptions): Promise<FuzzReport> {
  const { transport, subscription, claimCheck, target, numRuns = 60, settleMs = 30_000 } = options;
  const seed = options.seed ?? (Number(process.env.FUZZ_SEED) || Date.now() % 2 ** 31);
  const handled = new Map<string, number>();
  const bus = createBus({
    service: 'fuzz-consumer',
    transport,
    ...(claimCheck ? { claimCheck } : {}),
  });
  await bus.subscribe({
    name: subscription,
    handlers: [
      on(Probe, (message, context) => {
        handled.set(message.id, context.attempt);
      }),
    ],
  });
  const wire = await options.wire();
  const shape = prototypeShape();
  const goodLatencyMs: number[] = [];
  let runs = 0;
  let inputs = 0;
  let deadLettered = 0;
  let handledBad = 0;

  const property = fc.asyncProperty(badBatch(target), async (batch) => {
    runs += 1;
    const sent = batch.map((input, index) => {
      const marker = `${runs}.${index}.${uuidv7()}`;
      const id = `fuzz-${marker}`;
      return { input, marker, id, wire: marked(input, marker, id) };
    });
    inputs += sent.length;
    await wire.write(sent.map((s) => s.wire));
    const goodId = uuidv7();
    const started = performance.now();
    await wire.write([
      {
        attributes: { ...goodAttributes(), id: goodId },
        headers: {},
        contentType: 'application/json',
        body: bytes.encode('{"n":2}'),
      },
    ]);

    let letters = new Map<string, Readonly<Record<string, string>>>();
    let goodMs: number | undefined;
    const deadline = Date.now() + settleMs;
    for (;;) {
      if (goodMs === undefined && handled.has(goodId)) goodMs = performance.now() - started;
      letters = new Map((await wire.deadLetters()).map((h) => [h[CASE_HEADER] ?? '', h]));
      const open = sent.filter((s) => !letters.has(s.marker) && !handled.has(s.id));
      if (goodMs !== undefined && open.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `Not settled within ${settleMs} ms: good message ${goodMs === undefined ? 'not handled' : 'handled'}; unsettled: ${open.map((s) => describeInput(s.input)).join('; ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    goodLatencyMs.push(goodMs);

    for (const { input, marker, id } of sent) {
      const letter = letters.get(marker);
      if (letter) {
        deadLettered += 1;
        const code = letter[CODE_HEADER];
        if (!code || !input.codes.includes(code))
          throw new Error(
            `Dead-lettered with ${code} ("${letter[MESSAGE_HEADER]}") instead of ${input.codes.join(' or ') || 'reaching the handler'}: ${describeInput(input)}`,
          );
        if (!letter[MESSAGE_HEADER])
          throw new Error(`Dead letter without a reason: ${describeInput(input)}`);
      } else {
        handledBad += 1;
        if (input.codes.length > 0)
          throw new Error(
            `Reached the handler instead of a dead letter (${input.codes.join(' or ')}): ${describeInput(input)} (id ${id})`,
          );
      }
    }
    const attempt = handled.get(goodId);
    if (attempt !== 1)
      throw new Error(
        `The good message after the batch was handled on attempt ${attempt}, not on its first delivery.`,
      );
    if (prototypeShape() !== shape || ({} as Record<string, unknown>).polluted !== undefined)
      throw new Error(
        `A prototype was changed after: ${sent.map((s) => describeInput(s.input)).join('; ')}`,
      );
  });

  try {
    await fc.assert(property, { numRuns, seed, endOnFailure: true });
  } finally {
    await bus.close();
  }
  const report = { seed, runs, inputs, deadLettered, handled: handledBad, goodLatencyMs };
  console.info(`${transport.name} fuzz`, {
    ...report,
    goodLatencyMs: latencySummary(goodLatencyMs),
  });
  return report;
}

/** p50, p99 and max of latencies in milliseconds, rounded, for test reports. */
export function latencySummary(values: readonly number[]): {
  p50: number;
  p99: number;
  max: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}
