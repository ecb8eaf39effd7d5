/**
 * Per stream, per type URL state of a state-of-the-world subscription, and how a request is
 * classified against it (the nonce logic).
 */
export interface TypeState {
  readonly typeUrl: string;
  /** Nonce of the last response sent for this type on this stream; undefined: none sent yet. */
  sentNonce: string | undefined;
  /** version_info of the last response sent. */
  sentVersion: string | undefined;
  /** When it was written (ISO time), for /debug: a response pending for long means a stalled client. */
  sentAt: string | undefined;
  /** version_info the client last ACKed. */
  ackedVersion: string | undefined;
  /** What the client answered to the last response sent (reset to Pending on every push). */
  reply: ReplyState;
  nacks: number;
  lastNack: string | undefined;
}

/** Where a type stands on a stream, for /debug. */
export const ReplyState = {
  /** Subscribed, nothing sent yet (the server is not ready, or the stream is congested). */
  Waiting: 'waiting',
  /** Sent, neither ACKed nor NACKed yet: the type's one response in flight; newer versions wait. */
  Pending: 'pending',
  Acked: 'acked',
  Nacked: 'nacked',
} as const;
export type ReplyState = (typeof ReplyState)[keyof typeof ReplyState];

export function newTypeState(typeUrl: string): TypeState {
  return {
    typeUrl,
    sentNonce: undefined,
    sentVersion: undefined,
    sentAt: undefined,
    ackedVersion: undefined,
    reply: ReplyState.Waiting,
    nacks: 0,
    lastNack: undefined,
  };
}

export const RequestClass = {
  /** Nothing sent for this type on this stream yet: answer with the full state (when ready). */
  Subscribe: 'subscribe',
  /** response_nonce is the last nonce sent, no error_detail. */
  Ack: 'ack',
  /** response_nonce is the last nonce sent, with error_detail: log, count, do not resend. */
  Nack: 'nack',
  /** response_nonce is not the last nonce sent: superseded, ignored. */
  Stale: 'stale',
} as const;
export type RequestClass = (typeof RequestClass)[keyof typeof RequestClass];

export interface NonceFields {
  readonly responseNonce: string;
  readonly hasError: boolean;
}

/**
 * Contract: "nothing sent on this stream for this type yet" is a subscription whatever nonce
 * the request carries (istiod's first requests carry a timestamp as nonce). Afterwards only a
 * request echoing the last sent nonce counts; anything else is stale.
 */
export function classifyRequest(state: TypeState | undefined, req: NonceFields): RequestClass {
  if (state?.sentNonce === undefined) return RequestClass.Subscribe;
  if (req.responseNonce !== state.sentNonce) return RequestClass.Stale;
  return req.hasError ? RequestClass.Nack : RequestClass.Ack;
}

/**
 * Nonces unique per response: a random per-process prefix (so a restarted server never reuses
 * the nonces of its predecessor) and a counter.
 */
export class NonceSource {
  private readonly prefix: string;
  private n = 0;

  constructor(prefix: string = Math.random().toString(36).slice(2, 10)) {
    this.prefix = prefix;
  }

  next(): string {
    this.n += 1;
    return `${this.prefix}-${this.n.toString(36)}`;
  }
}
