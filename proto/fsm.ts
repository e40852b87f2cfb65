/**
 * The BGP finite state machine of RFC 4271 §8 as an explicit state × event table.
 *
 * One machine runs per TCP connection attempt (as BIRD runs one per incoming and outgoing
 * connection); the peer layer in daemon/ owns the restart delays and the collision decision
 * between two machines of one peer. A transition is pure data: the next state and the actions
 * the caller must execute, in order. Nothing here touches sockets, clocks or loggers.
 *
 * Where this table departs from the RFC text, the cell says why:
 * - DelayOpen, DampPeerOscillations, SendNOTIFICATIONwithoutOPEN and
 *   CollisionDetectEstablishedState are all FALSE (as in BIRD and Calico), so their branches are
 *   not modelled, except that DelayOpenTimer_Expires still has its RFC cells.
 * - A second TCP connection never reaches this machine (the peer layer gives it its own), so a
 *   BGPOpen in OpenConfirm or Established is an OPEN repeated on the same connection: FSM error.
 * - A NOTIFICATION received in OpenSent closes the connection without answering it (the peer is
 *   already closing); the RFC lists it under "any other event".
 * - A header error in Established is answered with its own Message Header Error (RFC 4271 §6.1)
 *   rather than an FSM error.
 */

export const FSM_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;
export type FsmState = (typeof FSM_STATES)[number];

/** RFC 4271 §8.1 event names (the subset that exists with the optional attributes above off). */
export const FSM_EVENTS = [
  'ManualStart', // 1
  'ManualStop', // 2
  'AutomaticStart', // 3
  'ManualStart_with_PassiveTcpEstablishment', // 4
  'AutomaticStart_with_PassiveTcpEstablishment', // 5
  'AutomaticStop', // 8
  'ConnectRetryTimer_Expires', // 9
  'HoldTimer_Expires', // 10
  'KeepaliveTimer_Expires', // 11
  'DelayOpenTimer_Expires', // 12
  'Tcp_CR_Acked', // 16
  'TcpConnectionConfirmed', // 17
  'TcpConnectionFails', // 18
  'BGPOpen', // 19
  'BGPHeaderErr', // 21
  'BGPOpenMsgErr', // 22
  'OpenCollisionDump', // 23
  'NotifMsgVerErr', // 24
  'NotifMsg', // 25
  'KeepAliveMsg', // 26
  'UpdateMsg', // 27
  'UpdateMsgErr', // 28
] as const;
export type FsmEventName = (typeof FSM_EVENTS)[number];

/** NOTIFICATION code and subcode carried by error and stop events. */
export interface FsmErrorInfo {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Uint8Array;
}

export interface FsmEvent {
  readonly name: FsmEventName;
  /**
   * BGPHeaderErr, BGPOpenMsgErr, UpdateMsgErr: the NOTIFICATION to send.
   * ManualStop, AutomaticStop: the Cease to send (code 6; subcode defaults to 2 for ManualStop).
   * NotifMsg: the NOTIFICATION received (for the record only).
   */
  readonly error?: FsmErrorInfo;
}

export type FsmTimer = 'connectRetry' | 'hold' | 'keepalive' | 'delayOpen';

/**
 * Durations are symbolic: 'configured' is the peer's setting, 'negotiated' the value agreed in
 * the OPEN exchange (a keepalive of 0 means do not start), 'large' the RFC's 4 minutes for the
 * hold timer while waiting for the peer's OPEN.
 */
export type FsmAction =
  | { readonly kind: 'startTimer'; readonly timer: FsmTimer; readonly duration: 'configured' | 'negotiated' | 'large' }
  | { readonly kind: 'stopTimer'; readonly timer: FsmTimer }
  | { readonly kind: 'connect' }
  | { readonly kind: 'listen' }
  | { readonly kind: 'sendOpen' }
  | { readonly kind: 'sendKeepalive' }
  | { readonly kind: 'sendNotification'; readonly code: number; readonly subcode: number; readonly data?: Uint8Array }
  | { readonly kind: 'dropConnection' }
  | { readonly kind: 'releaseResources' }
  | { readonly kind: 'connectRetryCounter'; readonly op: 'reset' | 'increment' }
  | { readonly kind: 'processUpdate' }
  | { readonly kind: 'sessionEstablished' }
  | { readonly kind: 'deleteRoutes' };

export interface FsmTransition {
  readonly next: FsmState;
  readonly actions: readonly FsmAction[];
  /** The event had no transition in this state: a NOTIFICATION 5 was (or, before OPEN, need not be) sent. */
  readonly fsmError: boolean;
  /** The event is ignored in this state (no state change, no action). */
  readonly ignored: boolean;
}

/** NOTIFICATION error codes used by the machine. */
export const HOLD_TIMER_EXPIRED = { code: 4, subcode: 0 } as const;
export const FSM_ERROR_CODE = 5;
/** RFC 6608 subcodes of the FSM error, by the state the unexpected event arrived in. */
export const FSM_ERROR_SUBCODE: Partial<Record<FsmState, number>> = { OpenSent: 1, OpenConfirm: 2, Established: 3 };
export const CEASE = 6;
export const CEASE_ADMIN_SHUTDOWN = 2;
export const CEASE_COLLISION = 7;

// ---- action builders (kept short so the table reads like the RFC) ----
const start = (timer: FsmTimer, duration: 'configured' | 'negotiated' | 'large' = 'configured'): FsmAction => ({ kind: 'startTimer', timer, duration });
const stop = (timer: FsmTimer): FsmAction => ({ kind: 'stopTimer', timer });
const notify = (code: number, subcode: number, data?: Uint8Array): FsmAction =>
  data === undefined ? { kind: 'sendNotification', code, subcode } : { kind: 'sendNotification', code, subcode, data };
const CONNECT: FsmAction = { kind: 'connect' };
const LISTEN: FsmAction = { kind: 'listen' };
const SEND_OPEN: FsmAction = { kind: 'sendOpen' };
const SEND_KEEPALIVE: FsmAction = { kind: 'sendKeepalive' };
const DROP: FsmAction = { kind: 'dropConnection' };
const RELEASE: FsmAction = { kind: 'releaseResources' };
const RESET_COUNT: FsmAction = { kind: 'connectRetryCounter', op: 'reset' };
const INC_COUNT: FsmAction = { kind: 'connectRetryCounter', op: 'increment' };
const PROCESS_UPDATE: FsmAction = { kind: 'processUpdate' };
const ESTABLISHED: FsmAction = { kind: 'sessionEstablished' };
const DELETE_ROUTES: FsmAction = { kind: 'deleteRoutes' };

type Cell = (event: FsmEvent) => { next: FsmState; actions: FsmAction[] };

const go = (next: FsmState, ...actions: FsmAction[]): Cell => () => ({ next, actions });

/** Sends the NOTIFICATION the event carries (header/OPEN/UPDATE errors). */
const errorNotify = (e: FsmEvent): FsmAction => notify(e.error?.code ?? 0, e.error?.subcode ?? 0, e.error?.data);
/** Sends the Cease the stop event carries; an administrative stop defaults to 6/2. */
const ceaseFor = (e: FsmEvent): FsmAction => notify(CEASE, e.error?.subcode ?? CEASE_ADMIN_SHUTDOWN, e.error?.data);

const START_ACTIVE = go('Connect', RESET_COUNT, start('connectRetry'), CONNECT, LISTEN);
const START_PASSIVE = go('Active', RESET_COUNT, start('connectRetry'), LISTEN);

/** Connect/Active: "any other event" closes the attempt without a NOTIFICATION (no OPEN was sent). */
const abandonAttempt = go('Idle', stop('connectRetry'), DROP, RELEASE, INC_COUNT);

/** OpenSent/OpenConfirm: the common close after sending a NOTIFICATION. */
const closeAfter = (build: (e: FsmEvent) => FsmAction, counter: FsmAction = INC_COUNT): Cell => (e) => ({
  next: 'Idle',
  actions: [build(e), stop('connectRetry'), RELEASE, DROP, counter],
});
/** Established: as above, and the routes learned from this peer go. */
const closeEstablishedAfter = (build: (e: FsmEvent) => FsmAction, counter: FsmAction = INC_COUNT): Cell => (e) => ({
  next: 'Idle',
  actions: [build(e), stop('connectRetry'), DELETE_ROUTES, RELEASE, DROP, counter],
});

const TABLE: Record<FsmState, Partial<Record<FsmEventName, Cell>>> = {
  Idle: {
    ManualStart: START_ACTIVE,
    AutomaticStart: START_ACTIVE,
    ManualStart_with_PassiveTcpEstablishment: START_PASSIVE,
    AutomaticStart_with_PassiveTcpEstablishment: START_PASSIVE,
    // Every other event is ignored in Idle (RFC 4271 §8.2.2, Idle state).
  },

  Connect: {
    ManualStop: go('Idle', DROP, RELEASE, RESET_COUNT, stop('connectRetry')),
    ConnectRetryTimer_Expires: go('Connect', DROP, start('connectRetry'), stop('delayOpen'), CONNECT, LISTEN),
    DelayOpenTimer_Expires: go('OpenSent', SEND_OPEN, start('hold', 'large')),
    Tcp_CR_Acked: go('OpenSent', stop('connectRetry'), SEND_OPEN, start('hold', 'large')),
    TcpConnectionConfirmed: go('OpenSent', stop('connectRetry'), SEND_OPEN, start('hold', 'large')),
    TcpConnectionFails: go('Idle', stop('connectRetry'), DROP, RELEASE),
    BGPHeaderErr: go('Idle', stop('connectRetry'), RELEASE, DROP, INC_COUNT),
    BGPOpenMsgErr: go('Idle', stop('connectRetry'), RELEASE, DROP, INC_COUNT),
    NotifMsgVerErr: go('Idle', stop('connectRetry'), RELEASE, DROP, INC_COUNT),
  },

  Active: {
    ManualStop: go('Idle', RELEASE, DROP, RESET_COUNT, stop('connectRetry')),
    ConnectRetryTimer_Expires: go('Connect', start('connectRetry'), CONNECT, LISTEN),
    DelayOpenTimer_Expires: go('OpenSent', stop('connectRetry'), SEND_OPEN, start('hold', 'large')),
    Tcp_CR_Acked: go('OpenSent', stop('connectRetry'), SEND_OPEN, start('hold', 'large')),
    TcpConnectionConfirmed: go('OpenSent', stop('connectRetry'), SEND_OPEN, start('hold', 'large')),
    TcpConnectionFails: go('Idle', start('connectRetry'), stop('delayOpen'), RELEASE, INC_COUNT),
    BGPHeaderErr: go('Idle', RELEASE, DROP, INC_COUNT),
    BGPOpenMsgErr: go('Idle', RELEASE, DROP, INC_COUNT),
    NotifMsgVerErr: go('Idle', stop('connectRetry'), RELEASE, DROP, INC_COUNT),
  },

  OpenSent: {
    ManualStop: closeAfter(ceaseFor, RESET_COUNT),
    AutomaticStop: closeAfter(ceaseFor),
    HoldTimer_Expires: closeAfter(() => notify(HOLD_TIMER_EXPIRED.code, HOLD_TIMER_EXPIRED.subcode)),
    // A second connection is tracked by the peer layer, not here.
    Tcp_CR_Acked: go('OpenSent'),
    TcpConnectionConfirmed: go('OpenSent'),
    TcpConnectionFails: go('Active', DROP, start('connectRetry'), LISTEN),
    // The OPEN was validated and the collision decided before this event was raised.
    BGPOpen: go('OpenConfirm', stop('delayOpen'), stop('connectRetry'), SEND_KEEPALIVE, start('keepalive', 'negotiated'), start('hold', 'negotiated')),
    BGPHeaderErr: closeAfter(errorNotify),
    BGPOpenMsgErr: closeAfter(errorNotify),
    OpenCollisionDump: closeAfter(() => notify(CEASE, CEASE_COLLISION)),
    NotifMsgVerErr: go('Idle', stop('connectRetry'), RELEASE, DROP),
    NotifMsg: go('Idle', stop('connectRetry'), RELEASE, DROP, INC_COUNT),
  },

  OpenConfirm: {
    ManualStop: closeAfter(ceaseFor, RESET_COUNT),
    AutomaticStop: closeAfter(ceaseFor),
    HoldTimer_Expires: closeAfter(() => notify(HOLD_TIMER_EXPIRED.code, HOLD_TIMER_EXPIRED.subcode)),
    KeepaliveTimer_Expires: go('OpenConfirm', SEND_KEEPALIVE, start('keepalive', 'negotiated')),
    Tcp_CR_Acked: go('OpenConfirm'),
    TcpConnectionConfirmed: go('OpenConfirm'),
    TcpConnectionFails: go('Idle', stop('connectRetry'), RELEASE, DROP, INC_COUNT),
    NotifMsg: go('Idle', stop('connectRetry'), RELEASE, DROP, INC_COUNT),
    NotifMsgVerErr: go('Idle', stop('connectRetry'), RELEASE, DROP),
    BGPHeaderErr: closeAfter(errorNotify),
    BGPOpenMsgErr: closeAfter(errorNotify),
    OpenCollisionDump: closeAfter(() => notify(CEASE, CEASE_COLLISION)),
    KeepAliveMsg: go('Established', start('hold', 'negotiated'), ESTABLISHED),
  },

  Established: {
    ManualStop: closeEstablishedAfter(ceaseFor, RESET_COUNT),
    AutomaticStop: closeEstablishedAfter(ceaseFor),
    HoldTimer_Expires: closeEstablishedAfter(() => notify(HOLD_TIMER_EXPIRED.code, HOLD_TIMER_EXPIRED.subcode)),
    KeepaliveTimer_Expires: go('Established', SEND_KEEPALIVE, start('keepalive', 'negotiated')),
    Tcp_CR_Acked: go('Established'),
    TcpConnectionConfirmed: go('Established'),
    OpenCollisionDump: closeEstablishedAfter(() => notify(CEASE, CEASE_COLLISION)),
    NotifMsgVerErr: go('Idle', stop('connectRetry'), DELETE_ROUTES, RELEASE, DROP, INC_COUNT),
    NotifMsg: go('Idle', stop('connectRetry'), DELETE_ROUTES, RELEASE, DROP, INC_COUNT),
    TcpConnectionFails: go('Idle', stop('connectRetry'), DELETE_ROUTES, RELEASE, DROP, INC_COUNT),
    KeepAliveMsg: go('Established', start('hold', 'negotiated')),
    UpdateMsg: go('Established', PROCESS_UPDATE, start('hold', 'negotiated')),
    UpdateMsgErr: closeEstablishedAfter(errorNotify),
    BGPHeaderErr: closeEstablishedAfter(errorNotify),
  },
};

/** Whether `state × event` has a defined cell (false: ignored in Idle, an error elsewhere). */
export function hasTransition(state: FsmState, event: FsmEventName): boolean {
  return TABLE[state][event] !== undefined;
}

/** The RFC 4271 transition for `event` in `state`. Pure. */
export function step(state: FsmState, event: FsmEvent): FsmTransition {
  const cell = TABLE[state][event.name];
  if (cell) {
    const { next, actions } = cell(event);
    return { next, actions, fsmError: false, ignored: false };
  }
  if (state === 'Idle') return { next: 'Idle', actions: [], fsmError: false, ignored: true };
  // Start events are ignored in every non-Idle state.
  if (event.name === 'ManualStart' || event.name === 'AutomaticStart' || event.name.endsWith('_with_PassiveTcpEstablishment')) {
    return { next: state, actions: [], fsmError: false, ignored: true };
  }
  if (state === 'Connect' || state === 'Active') {
    // No OPEN has been sent yet, so no NOTIFICATION: just abandon the attempt.
    return { ...abandonAttempt(event), fsmError: true, ignored: false };
  }
  const subcode = FSM_ERROR_SUBCODE[state] ?? 0;
  const close = state === 'Established' ? closeEstablishedAfter(() => notify(FSM_ERROR_CODE, subcode)) : closeAfter(() => notify(FSM_ERROR_CODE, subcode));
  return { ...close(event), fsmError: true, ignored: false };
}
