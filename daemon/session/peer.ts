/**
 * One configured BGP peer: up to two connection attempts (one we dial, one the peer dialled), each
 * driven by the RFC 4271 table in proto/fsm.ts, plus what belongs to the peer rather than to a
 * connection: the connect delay and error wait between attempts, collision resolution, the
 * status record and the hand-over to the route engine.
 */
import * as net from 'node:net';
import { MsgType } from '../../proto/constants.js';
import { BgpError, isBgpError } from '../../proto/errors.js';
import { MessageFramer } from '../../proto/framer.js';
import { step, type FsmAction, type FsmEvent, type FsmState, type FsmTimer } from '../../proto/fsm.js';
import { encodeShutdownCommunication } from '../../proto/notification.js';
import { decodeOpen, type OpenMessage } from '../../proto/open.js';
import { decodeRouteRefresh, encodeRouteRefresh } from '../../proto/refresh.js';
import type { Logger } from '../log.js';
import { emptyRouteCounters, type BgpStateWord, type LastError, type PeerIntent, type PeerStatus, type ProtoState } from '../model.js';
import { collisionSurvivor, type Direction } from './collision.js';
import type { RouteEngine } from './engine.js';
import { receivedError, sentError, socketError } from './errors.js';
import { buildOpen, checkPeerOpen, LARGE_HOLD_TIME, negotiate, type LocalOpen, type LocalSpeaker, type Negotiated } from './negotiate.js';
import { ErrorWait, TimerSet, type Random } from './timers.js';
import { keepaliveBytes, messageType, notificationBytes, parseNotification } from './wire.js';

export interface PeerSessionDeps {
  readonly local: LocalSpeaker;
  readonly engine: RouteEngine;
  readonly log: Logger;
  readonly random?: Random;
  /** How long a closing socket may take to flush its last NOTIFICATION before it is destroyed. */
  readonly lingerMs?: number;
  /** Opens the outgoing TCP connection (net.connect; tests substitute one that never completes). */
  readonly connect?: (opts: net.NetConnectOpts) => net.Socket;
  /**
   * Most bytes a connection may have written but not yet flushed to the peer (default
   * DEFAULT_MAX_UNSENT_BYTES). Beyond it the peer is taken to have stopped reading and the
   * session is dropped with Cease 6/8 (Out of resources), so a stuck peer cannot exhaust memory.
   */
  readonly maxUnsentBytes?: number;
  /**
   * Seconds of the first connect delay already spent when the peer starts. BIRD's connect delay
   * runs from protocol start, which is process start; the daemon passes its own start-up time for
   * the peers it starts with, so Node's start-up is not waited for twice.
   */
  readonly connectDelaySpent?: number;
}

/** 32 MiB: thousands of full UPDATEs, far more than a live peer ever leaves unread. */
export const DEFAULT_MAX_UNSENT_BYTES = 32 * 2 ** 20;

/**
 * Messages written in one turn of the event loop go to the socket together, as one buffer, at the
 * end of the turn (or once this many bytes are waiting): a table export writes thousands of
 * UPDATEs, and one socket write each costs more than encoding them.
 */
const COALESCE_BYTES = 256 * 1024;

/** One TCP connection (or the attempt to make one) with its own FSM. */
interface Attempt {
  readonly id: number;
  readonly direction: Direction;
  state: FsmState;
  socket: net.Socket | undefined;
  readonly framer: MessageFramer;
  readonly timers: TimerSet<FsmTimer>;
  ourOpen: LocalOpen;
  negotiated: Negotiated | undefined;
  /** Why the attempt is ending, as the status will report it. */
  cause: LastError | undefined;
  /** The UPDATE waiting for the FSM's processUpdate action. */
  pendingUpdate: Uint8Array | undefined;
  /** A session-reset error processUpdate found, raised as soon as the UpdateMsg event is done. */
  updateError: BgpError | undefined;
  /** Lost a collision: its end is not the peer's error. */
  superseded: boolean;
  /** Its unsent data passed maxUnsentBytes: only the closing NOTIFICATION is still written. */
  overflowed: boolean;
  /** Messages written this turn, not yet handed to the socket (see COALESCE_BYTES). */
  outQueue: Uint8Array[];
  outBytes: number;
  flushScheduled: boolean;
  /** An UPDATE is in outQueue: the keepalive timer restarts when it goes out. */
  updateQueued: boolean;
}

type WaitKind = 'connectDelay' | 'errorWait';

const STATE_RANK: Record<FsmState, number> = { Idle: 0, Active: 1, Connect: 2, OpenSent: 3, OpenConfirm: 4, Established: 5 };

let nextAttemptId = 1;

export class PeerSession {
  private intent: PeerIntent;
  private readonly deps: PeerSessionDeps;
  private readonly log: Logger;
  private attempts: Attempt[] = [];
  /** When the socket read being handled arrived (Date.now()). */
  private readAt = 0;
  private readonly restartTimer = new TimerSet<'restart'>();
  private disabled = false;
  private disableMessage: string | undefined;
  private peerMessage: string | undefined;
  private waiting: WaitKind | undefined;
  private readonly errorWait: ErrorWait;
  private running = false;
  private established: Attempt | undefined;
  private protoState: ProtoState = 'down';
  private since = new Date();
  private lastError: LastError | undefined;
  private flaps = 0;
  private connectRetryCounter = 0;
  private readonly messages = { in: 0, out: 0, updatesIn: 0, updatesOut: 0 };
  private readonly closing = new Set<Promise<void>>();

  constructor(intent: PeerIntent, deps: PeerSessionDeps) {
    this.intent = intent;
    this.deps = deps;
    this.log = deps.log.child({ peer: intent.name });
    this.errorWait = new ErrorWait(intent.errorWaitTime[0], intent.errorWaitTime[1]);
  }

  get name(): string {
    return this.intent.name;
  }

  get peerIntent(): PeerIntent {
    return this.intent;
  }

  /** Replaces settings that do not need a reset (the peer manager decides which those are). */
  updateIntent(intent: PeerIntent): void {
    this.intent = intent;
  }

  /** Starts the peer: a passive one waits for the peer to dial, an active one dials after the connect delay. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.setProtoState('start');
    if (this.log.isLevelEnabled('info')) this.log.info({ passive: this.intent.passive, peerIp: this.intent.peerIp, peerPort: this.intent.peerPort }, 'peer started');
    // Node's sockets cannot set TCP_MD5SIG or IP_MINTTL yet: say so rather than pretend.
    if (this.intent.password !== undefined) this.log.warn('TCP-MD5 password configured but not supported yet: the session runs without it');
    if (this.intent.ttlSecurity !== undefined) this.log.warn('ttlSecurity configured but not supported yet');
    this.waitThenStart('connectDelay', this.deps.connectDelaySpent ?? 0);
  }

  /**
   * Stops the peer for good: every connection gets Cease with `subcode` (6/2 administrative
   * shutdown, 6/3 peer de-configured, 6/6 other configuration change). Resolves once the
   * NOTIFICATIONs were flushed or the linger time passed.
   */
  async stop(subcode = 2, reason = 'stopped', message?: string): Promise<void> {
    if (this.running) {
      this.running = false;
      this.restartTimer.stopAll();
      this.waiting = undefined;
      // RFC 8203: an administrative shutdown or reset may carry a short message.
      const data = message && (subcode === 2 || subcode === 4) ? encodeShutdownCommunication(message) : undefined;
      for (const att of [...this.attempts]) {
        const error = { code: 6, subcode, ...(data ? { data } : {}) };
        const ev: FsmEvent = subcode === 2 ? { name: 'ManualStop', error } : { name: 'AutomaticStop', error };
        this.fire(att, ev, reason);
      }
      this.setProtoState('down');
      this.log.info({ subcode, reason }, 'peer stopped');
    }
    await Promise.all([...this.closing]);
  }

  /**
   * An incoming connection from this peer's address. Returns false when refused (the caller
   * closes it): while stopped, during the error wait, when a connection from the peer is already
   * being set up, or when a session is established and the peer did not announce graceful restart.
   *
   * With a session established to a graceful-restart peer, the new connection is only a candidate:
   * we send our OPEN on it, and the peer counts as restarted once its OPEN arrives there (onOpen).
   * A bare TCP connection proves nothing: when both sides dial at once, the peer abandons its own
   * dial as soon as ours carries an OPEN, and the kernel may have completed that dial's handshake
   * here after our session came up. Taking it for a restart would close a good session and leave
   * none (both ends then wait for the next connect delay).
   */
  accept(socket: net.Socket): boolean {
    if (!this.running) return this.refuse(socket, 'peer not running');
    if (this.waiting === 'errorWait') return this.refuse(socket, 'in error wait');
    const est = this.attempts.find((a) => a.state === 'Established');
    if (this.attempts.some((a) => a !== est && a.direction === 'incoming')) return this.refuse(socket, 'a connection from the peer is already open');
    if (est && !est.negotiated?.peerGracefulRestart) {
      this.log.info({ source: socket.remoteAddress }, 'connection refused: session established');
      socket.end(notificationBytes(6, 7));
      socket.destroySoon?.();
      return false;
    }
    this.restartTimer.stopAll();
    this.waiting = undefined;
    // An outgoing attempt that is only waiting to retry gives way to the peer's connection.
    for (const a of this.attempts.filter((x) => x.state === 'Active' && !x.socket)) this.discard(a);
    const att = this.newAttempt('incoming');
    att.socket = socket;
    this.attachSocket(att, socket);
    this.fire(att, { name: 'AutomaticStart_with_PassiveTcpEstablishment' }, 'incoming connection');
    this.fire(att, { name: 'TcpConnectionConfirmed' }, 'incoming connection');
    if (est && this.log.isLevelEnabled('info')) this.log.info({ source: socket.remoteAddress }, 'new connection from a graceful-restart peer while established: waiting for its OPEN');
    return true;
  }

  /**
   * Graceful restart of this speaker (RFC 4724): closes every connection without a NOTIFICATION,
   * so GR-capable peers keep our routes (stale) while we restart. The route engine is not told:
   * the routes we installed stay in the kernel for the next run to find.
   */
  abandon(): void {
    if (!this.running) return;
    this.running = false;
    this.restartTimer.stopAll();
    this.waiting = undefined;
    for (const att of this.attempts) {
      att.timers.stopAll();
      const socket = att.socket;
      att.socket = undefined;
      socket?.destroy();
    }
    this.attempts = [];
    this.established = undefined;
    this.setProtoState('down');
    this.log.info('peer abandoned for a graceful restart (no NOTIFICATION)');
  }

  /** `disable <name> ["message"]`: Cease 6/2 (with the RFC 8203 message) and stay down until enabled. */
  async disable(message?: string): Promise<'done' | 'already'> {
    if (this.disabled) return 'already';
    this.disabled = true;
    this.disableMessage = message;
    await this.stop(2, message ? `disabled: ${message}` : 'disabled', message);
    return 'done';
  }

  enable(): 'done' | 'already' {
    if (!this.disabled) return 'already';
    this.disabled = false;
    this.disableMessage = undefined;
    this.start();
    return 'done';
  }

  /** `restart <name>`: Cease 6/4 (Administrative reset), then start again at once. */
  async restart(): Promise<void> {
    if (this.disabled) return;
    await this.stop(4, 'restarted');
    this.start();
  }

  /** Timer lines BIRD prints before Established: `Connect delay:` and `Error wait:` (seconds left / configured). */
  waitingFor(): { kind: 'connectDelay' | 'errorWait'; left: number; total: number } | undefined {
    const r = this.restartTimer.remaining('restart');
    if (!r || !this.waiting) return undefined;
    return { kind: this.waiting, left: r.left, total: r.configured };
  }

  get isDisabled(): boolean {
    return this.disabled;
  }

  get disabledMessage(): string | undefined {
    return this.disableMessage;
  }

  /** The shutdown communication (RFC 8203) of the last NOTIFICATION the peer sent, until the next Established. */
  get receivedMessage(): string | undefined {
    return this.peerMessage;
  }

  /** Writes an UPDATE on the established session; restarts our keepalive timer as RFC 4271 §4.4 allows. */
  sendUpdate(update: Uint8Array): boolean {
    const att = this.established;
    if (!att || !att.socket) return false;
    if (!this.write(att, update)) return false;
    this.messages.updatesOut++;
    att.updateQueued = true;
    return true;
  }

  /** Asks the peer to send its routes again (`reload in`): one ROUTE-REFRESH per family, if it supports them. */
  requestRefresh(): boolean {
    const att = this.established;
    if (!att?.negotiated?.peerCaps.routeRefresh) return false;
    for (const f of att.negotiated.families) this.write(att, encodeRouteRefresh(f === 4 ? 1 : 2, 1));
    return true;
  }

  /** Resets the established session with a NOTIFICATION (e.g. 6/1 when maxPrefixes is exceeded). */
  resetSession(code: number, subcode: number, reason: string): void {
    const att = this.established;
    if (!att) return;
    this.fire(att, { name: 'UpdateMsgErr', error: { code, subcode } }, reason);
  }

  status(): PeerStatus {
    const best = this.bestAttempt();
    const neg = this.established?.negotiated;
    const sessionAtt = this.established;
    const hold = sessionAtt?.timers.remaining('hold');
    const keep = sessionAtt?.timers.remaining('keepalive');
    return {
      name: this.intent.name,
      kind: this.intent.kind,
      peerIp: this.intent.peerIp,
      peerPort: this.intent.peerPort,
      peerAs: this.intent.peerAs,
      localAs: this.intent.localAs,
      description: 'Connection to BGP peer',
      protoState: this.protoState,
      bgpState: this.stateWord(best),
      since: this.since,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(neg
        ? {
            neighborId: neg.neighborId,
            localCaps: neg.localCaps,
            peerCaps: neg.peerCaps,
            holdTime: neg.holdTime,
            keepaliveTime: neg.keepaliveTime,
            session: neg.internal ? ('internal' as const) : ('external' as const),
          }
        : {}),
      ...(sessionAtt?.socket?.localAddress ? { sourceAddress: stripV4Mapped(sessionAtt.socket.localAddress), nextHop: stripV4Mapped(sessionAtt.socket.localAddress) } : {}),
      ...(hold ? { holdTimerLeft: hold.left } : {}),
      ...(keep ? { keepaliveTimerLeft: keep.left } : {}),
      disabled: this.disabled,
      counters: emptyRouteCounters(),
      messages: { ...this.messages },
      flaps: this.flaps,
    };
  }

  /** The FSM states of the live attempts (tests and debugging). */
  attemptStates(): { direction: Direction; state: FsmState }[] {
    return this.attempts.map((a) => ({ direction: a.direction, state: a.state }));
  }

  // ---------------------------------------------------------------- attempts and restarts

  private newAttempt(direction: Direction): Attempt {
    const att: Attempt = {
      id: nextAttemptId++,
      direction,
      state: 'Idle',
      socket: undefined,
      framer: new MessageFramer(),
      timers: new TimerSet<FsmTimer>(),
      ourOpen: buildOpen(this.intent, this.deps.local),
      negotiated: undefined,
      cause: undefined,
      pendingUpdate: undefined,
      updateError: undefined,
      superseded: false,
      overflowed: false,
      outQueue: [],
      outBytes: 0,
      flushScheduled: false,
      updateQueued: false,
    };
    this.attempts.push(att);
    return att;
  }

  /** Removes an attempt that never got a connection, without any FSM event. */
  private discard(att: Attempt): void {
    att.timers.stopAll();
    this.attempts = this.attempts.filter((a) => a !== att);
  }

  /** After the connect delay (or error wait) an active peer dials; a passive one just waits for the peer. */
  private waitThenStart(kind: WaitKind, spentSeconds = 0): void {
    if (!this.running) return;
    const seconds = kind === 'errorWait' ? this.errorWait.next() : Math.max(0, this.intent.connectDelayTime - spentSeconds);
    if (this.intent.passive && kind === 'connectDelay') {
      this.waiting = undefined;
      return;
    }
    this.waiting = kind;
    const startNow = () => {
      this.waiting = undefined;
      // As BIRD: once the error wait is over, the peer goes Active and waits the connect delay.
      if (kind === 'errorWait') return this.waitThenStart('connectDelay');
      if (!this.running || this.intent.passive) return;
      const att = this.newAttempt('outgoing');
      this.fire(att, { name: 'AutomaticStart' }, 'connect delay over');
    };
    if (seconds > 0) this.restartTimer.start('restart', seconds, startNow, { jitter: true, random: this.deps.random });
    else queueMicrotask(startNow);
  }

  private attemptEnded(att: Attempt): void {
    att.timers.stopAll();
    this.attempts = this.attempts.filter((a) => a !== att);
    if (att.superseded) return;
    if (this.attempts.length > 0 || !this.running) return;
    this.waitThenStart(att.cause?.errorClass === 'BGP Error' ? 'errorWait' : 'connectDelay');
  }

  // ---------------------------------------------------------------- the FSM driver

  /** Feeds one event to an attempt's FSM and executes the resulting actions, in order. */
  private fire(att: Attempt, event: FsmEvent, reason: string, cause?: LastError): void {
    if (!this.attempts.includes(att)) return;
    if (cause) att.cause = cause;
    const from = att.state;
    const t = step(from, event);
    if (t.ignored) {
      if (this.log.isLevelEnabled('debug')) this.log.debug({ state: from, event: event.name, conn: att.direction }, 'event ignored');
      return;
    }
    att.state = t.next;
    // Checked before the record is built: at Calico's default level (Warning) every transition of every session would make one for nothing.
    if ((from !== t.next || t.fsmError) && this.log.isLevelEnabled('info')) {
      this.log.info({ from, to: t.next, event: event.name, reason, conn: att.direction, ...(t.fsmError ? { fsmError: true } : {}) }, 'state change');
    }
    for (const action of t.actions) this.execute(att, action, event);
    // A connection that ends beside an established session (a lost collision, a candidate that
    // closed before its OPEN) is not the session's error.
    if (att.cause && !att.superseded && (!this.established || this.established === att)) this.lastError = att.cause;
    // A connection the peer opened cannot be re-dialled: when it falls back to Active it is over.
    if (att.direction === 'incoming' && t.next === 'Active' && from !== 'Idle') {
      att.state = 'Idle';
      if (this.log.isLevelEnabled('info')) this.log.info({ from: 'Active', to: 'Idle', event: event.name, reason: 'incoming connection closed', conn: att.direction }, 'state change');
    }
    if (att.state === 'Idle') this.attemptEnded(att);
  }

  private execute(att: Attempt, action: FsmAction, event: FsmEvent): void {
    switch (action.kind) {
      case 'startTimer':
        return this.startTimer(att, action.timer, action.duration);
      case 'stopTimer':
        return att.timers.stop(action.timer);
      case 'connect':
        return this.dial(att);
      case 'listen':
        return; // the shared listener always accepts for configured peers
      case 'sendOpen':
        this.write(att, att.ourOpen.bytes);
        return;
      case 'sendKeepalive':
        this.write(att, keepaliveBytes());
        return;
      case 'sendNotification': {
        this.write(att, notificationBytes(action.code, action.subcode, action.data));
        this.log.info({ code: action.code, subcode: action.subcode, conn: att.direction }, 'NOTIFICATION sent');
        const isStop = event.name === 'ManualStop' || event.name === 'AutomaticStop' || event.name === 'OpenCollisionDump';
        if (!isStop) att.cause = sentError(action.code, action.subcode);
        return;
      }
      case 'dropConnection':
        return this.dropSocket(att);
      case 'releaseResources':
        att.timers.stopAll();
        return;
      case 'connectRetryCounter':
        this.connectRetryCounter = action.op === 'reset' ? 0 : this.connectRetryCounter + 1;
        return;
      case 'processUpdate':
        return this.processUpdate(att);
      case 'sessionEstablished':
        return this.sessionUp(att);
      case 'deleteRoutes':
        return this.sessionDown(att, event);
    }
  }

  private startTimer(att: Attempt, timer: FsmTimer, duration: 'configured' | 'negotiated' | 'large'): void {
    const fire = (name: FsmEvent['name']) => () => this.fire(att, { name }, `${timer} timer expired`);
    switch (timer) {
      case 'connectRetry':
        // Only a connection we dial can be retried; a passive peer never dials.
        if (att.direction === 'incoming' || this.intent.passive) return;
        return att.timers.start('connectRetry', this.intent.connectRetryTime, fire('ConnectRetryTimer_Expires'), { jitter: true, random: this.deps.random });
      case 'hold': {
        const seconds = duration === 'large' ? LARGE_HOLD_TIME : (att.negotiated?.holdTime ?? 0);
        return att.timers.start('hold', seconds, fire('HoldTimer_Expires'));
      }
      case 'keepalive':
        return att.timers.start('keepalive', att.negotiated?.keepaliveTime ?? 0, fire('KeepaliveTimer_Expires'), { jitter: true, random: this.deps.random });
      case 'delayOpen':
        return; // DelayOpen is off
    }
  }

  // ---------------------------------------------------------------- sockets

  private dial(att: Attempt): void {
    const opts: net.NetConnectOpts = { host: this.intent.peerIp, port: this.intent.peerPort };
    if (this.intent.sourceAddress) opts.localAddress = this.intent.sourceAddress;
    const socket = (this.deps.connect ?? net.connect)(opts);
    att.socket = socket;
    socket.once('connect', () => {
      if (att.socket !== socket) return;
      this.fire(att, { name: 'Tcp_CR_Acked' }, `connected to ${this.intent.peerIp}:${this.intent.peerPort}`);
    });
    this.attachSocket(att, socket);
  }

  private attachSocket(att: Attempt, socket: net.Socket): void {
    socket.setNoDelay(true);
    let lastErr: NodeJS.ErrnoException | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => {
      lastErr = e;
    });
    socket.on('close', () => {
      if (att.socket !== socket) return;
      att.socket = undefined;
      const cause = socketError(lastErr);
      this.fire(att, { name: 'TcpConnectionFails' }, cause.message, cause);
    });
    socket.on('data', (chunk: Buffer) => {
      if (att.socket !== socket) return;
      // The messages of one read arrived together: the hold timer restarts as of this read.
      this.readAt = Date.now();
      // Once per read, here and not in receive's per-message loop (compiled early, and thrown away
      // for any branch first taken later): the framer's join of a header cut by the read boundary,
      // and flow control (daemon/rib/intake.ts).
      att.framer.push(chunk);
      this.receive(att);
      if (this.established === att) this.deps.engine.readDone?.(this.intent.name);
    });
  }

  private dropSocket(att: Attempt): void {
    this.flushWrites(att);
    const socket = att.socket;
    att.socket = undefined;
    if (!socket) return;
    // A dial still in progress has nothing to flush: abort it.
    if (socket.pending || socket.connecting) socket.destroy();
    const closed = new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      const linger = setTimeout(() => socket.destroy(), this.deps.lingerMs ?? 2000);
      linger.unref();
      socket.once('close', () => {
        clearTimeout(linger);
        resolve();
      });
      socket.end();
    });
    this.closing.add(closed);
    void closed.then(() => this.closing.delete(closed));
  }

  private refuse(socket: net.Socket, why: string): boolean {
    this.log.info({ source: socket.remoteAddress, why }, 'connection refused');
    socket.destroy();
    return false;
  }

  /** Writes one message; false when it was not (no usable socket, or the unsent-data bound was passed). */
  private write(att: Attempt, bytes: Uint8Array): boolean {
    const socket = att.socket;
    if (!socket || socket.destroyed || !socket.writable) return false;
    if (att.overflowed && messageType(bytes) !== MsgType.NOTIFICATION) return false;
    att.outQueue.push(bytes);
    att.outBytes += bytes.length;
    this.messages.out++;
    if (att.outBytes >= COALESCE_BYTES) this.flushWrites(att);
    else if (!att.flushScheduled) {
      att.flushScheduled = true;
      // After the current task and its promise continuations (a whole export pass), before I/O.
      process.nextTick(() => {
        att.flushScheduled = false;
        this.flushWrites(att);
      });
    }
    return true;
  }

  /** Hands the messages written so far to the socket, as one buffer. */
  private flushWrites(att: Attempt): void {
    if (att.outQueue.length === 0) return;
    const queue = att.outQueue;
    const bytes = att.outBytes;
    att.outQueue = [];
    att.outBytes = 0;
    const socket = att.socket;
    if (!socket || socket.destroyed || !socket.writable) return;
    socket.write(queue.length === 1 ? queue[0]! : Buffer.concat(queue, bytes));
    // Checked once per write, not per message: the queue itself never holds more than COALESCE_BYTES.
    const limit = this.deps.maxUnsentBytes ?? DEFAULT_MAX_UNSENT_BYTES;
    if (!att.overflowed && socket.writableLength > limit) this.overflow(att, socket.writableLength, limit);
    if (att.updateQueued) {
      att.updateQueued = false;
      // RFC 4271 §4.4: an UPDATE sent counts as a KEEPALIVE; restart the timer once per write.
      if (this.established === att && att.negotiated && att.negotiated.keepaliveTime > 0) this.startTimer(att, 'keepalive', 'negotiated');
    }
  }

  /**
   * The peer stopped reading: drop the connection with Cease 6/8. The NOTIFICATION queues behind
   * the unsent data and the linger time bounds how long that is kept. Raised in a microtask, not
   * inside the write, because the writer is often the route engine in the middle of an export,
   * which must not be told peer-down re-entrantly; until then nothing more is written or read.
   */
  private overflow(att: Attempt, unsent: number, limit: number): void {
    att.overflowed = true;
    this.log.error({ unsent, limit, conn: att.direction }, 'peer is not reading: unsent data over the limit, dropping the session');
    queueMicrotask(() => this.fire(att, { name: 'AutomaticStop', error: { code: 6, subcode: 8 } }, 'unsent data over the limit', sentError(6, 8)));
  }

  // ---------------------------------------------------------------- received messages

  /** Handles every whole message the framer holds. */
  private receive(att: Attempt): void {
    for (;;) {
      let msg: Uint8Array | null;
      try {
        msg = att.framer.next();
      } catch (e) {
        if (!isBgpError(e)) throw e;
        this.fire(att, { name: 'BGPHeaderErr', error: e }, e.message);
        return;
      }
      if (!msg) return;
      this.messages.in++;
      try {
        this.onMessage(att, msg);
      } catch (e) {
        // A bug must cost one session, not the daemon: close it with a plain Cease and start over.
        this.log.error({ err: e instanceof Error ? e.stack : String(e), conn: att.direction }, 'internal error while handling a message');
        this.fire(att, { name: 'AutomaticStop', error: { code: 6, subcode: 0 } }, 'internal error', { errorClass: 'Error', message: 'Internal error' });
        return;
      }
      if (!att.socket || att.overflowed) return; // the message closed the connection, or will
    }
  }

  private onMessage(att: Attempt, msg: Uint8Array): void {
    switch (messageType(msg)) {
      case MsgType.OPEN:
        return this.onOpen(att, msg);
      case MsgType.KEEPALIVE:
        return this.fire(att, { name: 'KeepAliveMsg' }, 'KEEPALIVE received');
      case MsgType.NOTIFICATION: {
        const n = parseNotification(msg);
        const cause = receivedError(n.code, n.subcode);
        // RFC 8203: BIRD shows the peer's shutdown communication as `Message:`.
        this.peerMessage = n.shutdownCommunication;
        this.log.info({ code: n.code, subcode: n.subcode, text: cause.message, conn: att.direction }, 'NOTIFICATION received');
        const name = n.code === 2 && n.subcode === 1 ? 'NotifMsgVerErr' : 'NotifMsg';
        return this.fire(att, { name, error: { code: n.code, subcode: n.subcode } }, `Received: ${cause.message}`, cause);
      }
      case MsgType.UPDATE:
        this.messages.updatesIn++;
        att.pendingUpdate = msg;
        if (att.state === 'Established' && this.established === att) {
          // Established × UpdateMsg (proto/fsm.ts): processUpdate, then the hold timer restarts.
          // Done here without an event, a transition and a timer closure per UPDATE.
          this.processUpdate(att);
          if (att.state === 'Established') this.restartHold(att);
          if (att.cause && !att.superseded) this.lastError = att.cause;
        } else this.fire(att, { name: 'UpdateMsg' }, 'UPDATE received');
        att.pendingUpdate = undefined;
        // Raised before receive() reads on, so nothing later in the same read can pre-empt it.
        if (att.updateError) {
          const e = att.updateError;
          att.updateError = undefined;
          this.fire(att, { name: 'UpdateMsgErr', error: e }, e.message);
        }
        return;
      case MsgType.ROUTE_REFRESH: {
        // Before Established it is as unexpected as an UPDATE (FSM error); the table has no event of its own.
        if (att.state !== 'Established') return this.fire(att, { name: 'UpdateMsg' }, 'unexpected ROUTE-REFRESH');
        try {
          decodeRouteRefresh(msg);
        } catch (e) {
          if (!isBgpError(e)) throw e;
          // A malformed ROUTE-REFRESH resets the session with 7/1, like an UPDATE error.
          return this.fire(att, { name: 'UpdateMsgErr', error: e }, e.message);
        }
        this.callEngine('route refresh', () => this.deps.engine.routeRefresh?.(this.intent.name, msg));
        return;
      }
    }
  }

  private onOpen(att: Attempt, msg: Uint8Array): void {
    if (att.state !== 'OpenSent') return this.fire(att, { name: 'BGPOpen' }, 'unexpected OPEN');
    let theirs: OpenMessage;
    try {
      theirs = decodeOpen(msg);
      checkPeerOpen(this.intent, this.deps.local, theirs);
      att.negotiated = negotiate(this.intent, att.ourOpen.open, theirs);
    } catch (e) {
      if (!isBgpError(e)) throw e;
      this.log.warn({ code: e.code, subcode: e.subcode, detail: e.detail, conn: att.direction }, 'OPEN refused');
      return this.fire(att, { name: 'BGPOpenMsgErr', error: e }, e.message);
    }
    att.framer.setExtendedMessage(att.negotiated.context.extendedMessage);
    // The peer's OPEN on a new connection while its old session is established: the peer restarted
    // (RFC 4724; accept() only lets a graceful-restart peer this far). The old session ends without
    // a NOTIFICATION, so the route engine keeps its routes as stale, and this connection goes on.
    const est = this.established;
    if (est && est !== att && att.direction === 'incoming' && est.negotiated?.peerGracefulRestart) {
      this.log.info({ remote: theirs.bgpId }, 'peer restarted (OPEN on a new connection): the established session gives way');
      this.fire(est, { name: 'TcpConnectionFails' }, 'peer reconnected', { errorClass: 'Error', message: 'Graceful restart' });
    }
    // RFC 4271 §6.8: another connection that already carries BGP (OpenSent, OpenConfirm) collides
    // with this one and the identifiers decide; an established one always wins; one that is still
    // only dialling (Connect, Active) gives way, as in BIRD, so a blocked direction cannot starve the other.
    const other = this.attempts.find((a) => a !== att);
    if (other) {
      const talking = other.state === 'OpenSent' || other.state === 'OpenConfirm';
      const survivor = other.state === 'Established' ? other.direction : talking ? collisionSurvivor(this.deps.local.routerId, theirs.bgpId) : att.direction;
      const loser = survivor === att.direction ? other : att;
      loser.superseded = true;
      this.log.info({ local: this.deps.local.routerId, remote: theirs.bgpId, survivor, closed: loser.direction }, 'connection collision');
      this.fire(loser, { name: 'OpenCollisionDump' }, 'connection collision');
      if (loser === att) return;
    }
    this.fire(att, { name: 'BGPOpen' }, `OPEN from ${theirs.bgpId} AS ${att.negotiated.peerAs} hold ${theirs.holdTime}`);
  }

  /** The FSM's startTimer hold/negotiated in Established, as of the current read. */
  private restartHold(att: Attempt): void {
    const seconds = att.negotiated?.holdTime ?? 0;
    if (!(seconds > 0)) return att.timers.stop('hold');
    if (!att.timers.restart('hold', seconds, this.readAt)) this.startTimer(att, 'hold', 'negotiated');
  }

  private processUpdate(att: Attempt): void {
    const msg = att.pendingUpdate;
    if (!msg || !att.negotiated) return;
    try {
      this.deps.engine.update(this.intent.name, msg, att.negotiated.context);
    } catch (e) {
      if (isBgpError(e) && e.handling === 'session-reset') {
        // Raised by onMessage once this action completes, so the table's own processing order is kept.
        att.updateError = e;
        return;
      }
      this.log.error({ err: e }, 'route engine failed on an UPDATE');
    }
  }

  // ---------------------------------------------------------------- session up and down

  private sessionUp(att: Attempt): void {
    const neg = att.negotiated;
    if (!neg) return;
    this.established = att;
    this.lastError = undefined;
    this.peerMessage = undefined;
    att.cause = undefined;
    this.setProtoState('up');
    const socket = att.socket;
    if (this.log.isLevelEnabled('info')) this.log.info({ neighborId: neg.neighborId, holdTime: neg.holdTime, keepalive: neg.keepaliveTime, families: neg.families }, 'session established');
    this.callEngine('peer-up', () => this.deps.engine.peerUp({
      peer: this.intent,
      neighborId: neg.neighborId,
      peerAs: neg.peerAs,
      localAddress: stripV4Mapped(socket?.localAddress ?? ''),
      remoteAddress: stripV4Mapped(socket?.remoteAddress ?? this.intent.peerIp),
      internal: neg.internal,
      families: neg.families,
      context: neg.context,
      localCaps: neg.localCaps,
      peerCaps: neg.peerCaps,
      holdTime: neg.holdTime,
      send: (u) => (this.established === att ? this.sendUpdate(u) : false),
      reset: (code, subcode) => {
        if (this.established === att) this.resetSession(code, subcode, 'reset by route engine');
      },
      // Short pauses (the engine works through what waits within a few turns): the hold timer,
      // restarted by the last read, is far longer.
      pauseReading: () => {
        if (this.established === att) att.socket?.pause();
      },
      resumeReading: () => {
        if (this.established === att) att.socket?.resume();
      },
    }));
  }

  /** Engine failures are logged; they never take the session (or the daemon) down. */
  private callEngine(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.log.error({ err: e instanceof Error ? e.stack : String(e) }, `route engine failed on ${what}`);
    }
  }

  private sessionDown(att: Attempt, event: FsmEvent): void {
    if (this.established !== att) return;
    this.established = undefined;
    this.flaps++;
    if (this.running) this.setProtoState('start');
    this.callEngine('peer-down', () => this.deps.engine.peerDown(this.intent.name, event.name));
  }

  // ---------------------------------------------------------------- status helpers

  private setProtoState(s: ProtoState): void {
    if (this.protoState === s) return;
    this.protoState = s;
    this.since = new Date();
  }

  private bestAttempt(): Attempt | undefined {
    let best: Attempt | undefined;
    for (const a of this.attempts) if (!best || STATE_RANK[a.state] > STATE_RANK[best.state]) best = a;
    return best;
  }

  /** BIRD's state word: the most advanced connection's state, else what the peer is waiting for. */
  private stateWord(best: Attempt | undefined): BgpStateWord {
    if (!this.running) return 'Down';
    if (best && best.state !== 'Idle') return best.state;
    if (this.waiting === 'errorWait') return 'Idle';
    return this.intent.passive ? 'Passive' : 'Active';
  }
}

function stripV4Mapped(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export { BgpError };
