// A batch encoded once and sent as often as needed, for agents that flip between known
// states (add a set of addresses, later delete them, and again). Each send costs the
// transport and one result per request, without checking or encoding the requests again.
import { NetlinkError, restateNetlinkError } from '../netlink/errors.js';
import { splitMessages } from '../netlink/message.js';
import type { BatchOutcome, Operation, RtnlTransport } from './transport.js';

/** Outcome of one request of a batch, with the description it was sent under. */
export type BatchResult = { ok: true; op: Operation } | { ok: false; op: Operation; error: Error };

/**
 * Requests checked, resolved and encoded once by Batch.prepare(). Link names were resolved
 * to indexes then: after a link is deleted and created again under the same name, its
 * requests fail with ENODEV or reach another link, so prepare the batch again.
 *
 *   const up = await nl.batch().addAddress(a).addAddress(b).prepare();
 *   const results = await up.send();   // and again later, the same requests
 */
export class PreparedBatch {
  readonly #transport: RtnlTransport;
  readonly #messages: Buffer;
  readonly #ops: readonly Operation[];

  /** Use Batch.prepare(). */
  constructor(transport: RtnlTransport, messages: Buffer, ops: readonly Operation[]) {
    this.#transport = transport;
    this.#messages = messages;
    this.#ops = ops.map((op) => Object.freeze({ ...op }));
  }

  /** Number of requests sent by each send(). */
  get size(): number {
    return this.#ops.length;
  }

  /**
   * Sends the requests, in order, and resolves with one result per request, as Batch.send
   * does. Failures are results, not rejections. Sends may overlap.
   */
  send(): Promise<BatchResult[]> {
    const ops = this.#ops;
    if (ops.length === 0) return Promise.resolve([]);
    return sendMessages(this.#transport, this.#messages, ops).then((outcomes) =>
      outcomes.map((outcome, i) => preparedResult(outcome, ops[i] as Operation)),
    );
  }
}

/** Turns a transport outcome into a result, with the likely cause added to ENODEV. */
function preparedResult(outcome: BatchOutcome, op: Operation): BatchResult {
  return outcome.ok ? { ok: true, op } : { ok: false, op, error: withHint(outcome.error) };
}

/** Adds the likely cause to a kernel's ENODEV: the link is gone or has a new index. */
function withHint(error: Error): Error {
  if (!(error instanceof NetlinkError) || error.kind !== 'kernel' || error.code !== 'ENODEV')
    return error;
  return restateNetlinkError(error, {
    ...(error.extackOffset !== undefined && { extackOffset: error.extackOffset }),
    hint: 'the link was deleted or created anew since prepare(); prepare the batch again',
  });
}

/** Turns the transport outcome of one request into its result. */
export function batchResult(outcome: BatchOutcome, op: Operation): BatchResult {
  return outcome.ok ? { ok: true, op } : { ok: false, op, error: outcome.error };
}

/**
 * Sends messages packed back to back with one operation each: in one piece when the
 * transport has batchPacked, else as one Buffer per message through batch().
 */
export function sendMessages(
  transport: RtnlTransport,
  messages: Buffer,
  ops: readonly Operation[],
): Promise<BatchOutcome[]> {
  if (transport.batchPacked !== undefined) return transport.batchPacked(messages, ops);
  return transport.batch(
    splitMessages(messages).map((message, i) => ({ message, op: ops[i] as Operation })),
  );
}
