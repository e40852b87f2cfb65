import { describe, expect, it } from 'vitest';
import { FSM_EVENTS, FSM_STATES, step, type FsmAction, type FsmEventName, type FsmState, type FsmEvent } from '../../proto/fsm.js';

/** One line per action so an expected cell reads like the RFC text. */
function show(a: FsmAction): string {
  switch (a.kind) {
    case 'startTimer':
      return `start:${a.timer}${a.duration === 'configured' ? '' : `:${a.duration}`}`;
    case 'stopTimer':
      return `stop:${a.timer}`;
    case 'sendNotification':
      return `notify:${a.code}/${a.subcode}`;
    case 'connectRetryCounter':
      return `count:${a.op}`;
    default:
      return a.kind;
  }
}

/** The event as the daemon raises it: error events carry their NOTIFICATION, stops their Cease. */
function eventFor(name: FsmEventName): FsmEvent {
  switch (name) {
    case 'BGPHeaderErr':
      return { name, error: { code: 1, subcode: 2 } };
    case 'BGPOpenMsgErr':
      return { name, error: { code: 2, subcode: 2 } };
    case 'UpdateMsgErr':
      return { name, error: { code: 3, subcode: 1 } };
    case 'AutomaticStop':
      return { name, error: { code: 6, subcode: 3 } };
    case 'NotifMsg':
      return { name, error: { code: 6, subcode: 2 } };
    default:
      return { name };
  }
}

const IGNORED = 'ignored';
const START_ACTIVE = 'Connect | count:reset start:connectRetry connect listen';
const START_PASSIVE = 'Active | count:reset start:connectRetry listen';
const OPEN_SENT_ENTRY = 'OpenSent | stop:connectRetry sendOpen start:hold:large';
const ABANDON = 'Idle | stop:connectRetry dropConnection releaseResources count:increment (fsm error)';
const closeWith = (n: string, count = 'increment') => `Idle | notify:${n} stop:connectRetry releaseResources dropConnection count:${count}`;
const closeEstWith = (n: string, count = 'increment') => `Idle | notify:${n} stop:connectRetry deleteRoutes releaseResources dropConnection count:${count}`;
const STARTS = { ManualStart: IGNORED, AutomaticStart: IGNORED, ManualStart_with_PassiveTcpEstablishment: IGNORED, AutomaticStart_with_PassiveTcpEstablishment: IGNORED };

/** Every cell of the table, written out independently of the implementation. */
const EXPECTED: Record<FsmState, Record<FsmEventName, string>> = {
  Idle: {
    ManualStart: START_ACTIVE,
    AutomaticStart: START_ACTIVE,
    ManualStart_with_PassiveTcpEstablishment: START_PASSIVE,
    AutomaticStart_with_PassiveTcpEstablishment: START_PASSIVE,
    ManualStop: IGNORED,
    AutomaticStop: IGNORED,
    ConnectRetryTimer_Expires: IGNORED,
    HoldTimer_Expires: IGNORED,
    KeepaliveTimer_Expires: IGNORED,
    DelayOpenTimer_Expires: IGNORED,
    Tcp_CR_Acked: IGNORED,
    TcpConnectionConfirmed: IGNORED,
    TcpConnectionFails: IGNORED,
    BGPOpen: IGNORED,
    BGPHeaderErr: IGNORED,
    BGPOpenMsgErr: IGNORED,
    OpenCollisionDump: IGNORED,
    NotifMsgVerErr: IGNORED,
    NotifMsg: IGNORED,
    KeepAliveMsg: IGNORED,
    UpdateMsg: IGNORED,
    UpdateMsgErr: IGNORED,
  },
  Connect: {
    ...STARTS,
    ManualStop: 'Idle | dropConnection releaseResources count:reset stop:connectRetry',
    AutomaticStop: ABANDON,
    ConnectRetryTimer_Expires: 'Connect | dropConnection start:connectRetry stop:delayOpen connect listen',
    HoldTimer_Expires: ABANDON,
    KeepaliveTimer_Expires: ABANDON,
    DelayOpenTimer_Expires: 'OpenSent | sendOpen start:hold:large',
    Tcp_CR_Acked: OPEN_SENT_ENTRY,
    TcpConnectionConfirmed: OPEN_SENT_ENTRY,
    TcpConnectionFails: 'Idle | stop:connectRetry dropConnection releaseResources',
    BGPOpen: ABANDON,
    BGPHeaderErr: 'Idle | stop:connectRetry releaseResources dropConnection count:increment',
    BGPOpenMsgErr: 'Idle | stop:connectRetry releaseResources dropConnection count:increment',
    OpenCollisionDump: ABANDON,
    NotifMsgVerErr: 'Idle | stop:connectRetry releaseResources dropConnection count:increment',
    NotifMsg: ABANDON,
    KeepAliveMsg: ABANDON,
    UpdateMsg: ABANDON,
    UpdateMsgErr: ABANDON,
  },
  Active: {
    ...STARTS,
    ManualStop: 'Idle | releaseResources dropConnection count:reset stop:connectRetry',
    AutomaticStop: ABANDON,
    ConnectRetryTimer_Expires: 'Connect | start:connectRetry connect listen',
    HoldTimer_Expires: ABANDON,
    KeepaliveTimer_Expires: ABANDON,
    DelayOpenTimer_Expires: OPEN_SENT_ENTRY,
    Tcp_CR_Acked: OPEN_SENT_ENTRY,
    TcpConnectionConfirmed: OPEN_SENT_ENTRY,
    TcpConnectionFails: 'Idle | start:connectRetry stop:delayOpen releaseResources count:increment',
    BGPOpen: ABANDON,
    BGPHeaderErr: 'Idle | releaseResources dropConnection count:increment',
    BGPOpenMsgErr: 'Idle | releaseResources dropConnection count:increment',
    OpenCollisionDump: ABANDON,
    NotifMsgVerErr: 'Idle | stop:connectRetry releaseResources dropConnection count:increment',
    NotifMsg: ABANDON,
    KeepAliveMsg: ABANDON,
    UpdateMsg: ABANDON,
    UpdateMsgErr: ABANDON,
  },
  OpenSent: {
    ...STARTS,
    ManualStop: closeWith('6/2', 'reset'),
    AutomaticStop: closeWith('6/3'),
    ConnectRetryTimer_Expires: `${closeWith('5/1')} (fsm error)`,
    HoldTimer_Expires: closeWith('4/0'),
    KeepaliveTimer_Expires: `${closeWith('5/1')} (fsm error)`,
    DelayOpenTimer_Expires: `${closeWith('5/1')} (fsm error)`,
    Tcp_CR_Acked: 'OpenSent |',
    TcpConnectionConfirmed: 'OpenSent |',
    TcpConnectionFails: 'Active | dropConnection start:connectRetry listen',
    BGPOpen: 'OpenConfirm | stop:delayOpen stop:connectRetry sendKeepalive start:keepalive:negotiated start:hold:negotiated',
    BGPHeaderErr: closeWith('1/2'),
    BGPOpenMsgErr: closeWith('2/2'),
    OpenCollisionDump: closeWith('6/7'),
    NotifMsgVerErr: 'Idle | stop:connectRetry releaseResources dropConnection',
    NotifMsg: 'Idle | stop:connectRetry releaseResources dropConnection count:increment',
    KeepAliveMsg: `${closeWith('5/1')} (fsm error)`,
    UpdateMsg: `${closeWith('5/1')} (fsm error)`,
    UpdateMsgErr: `${closeWith('5/1')} (fsm error)`,
  },
  OpenConfirm: {
    ...STARTS,
    ManualStop: closeWith('6/2', 'reset'),
    AutomaticStop: closeWith('6/3'),
    ConnectRetryTimer_Expires: `${closeWith('5/2')} (fsm error)`,
    HoldTimer_Expires: closeWith('4/0'),
    KeepaliveTimer_Expires: 'OpenConfirm | sendKeepalive start:keepalive:negotiated',
    DelayOpenTimer_Expires: `${closeWith('5/2')} (fsm error)`,
    Tcp_CR_Acked: 'OpenConfirm |',
    TcpConnectionConfirmed: 'OpenConfirm |',
    TcpConnectionFails: 'Idle | stop:connectRetry releaseResources dropConnection count:increment',
    BGPOpen: `${closeWith('5/2')} (fsm error)`,
    BGPHeaderErr: closeWith('1/2'),
    BGPOpenMsgErr: closeWith('2/2'),
    OpenCollisionDump: closeWith('6/7'),
    NotifMsgVerErr: 'Idle | stop:connectRetry releaseResources dropConnection',
    NotifMsg: 'Idle | stop:connectRetry releaseResources dropConnection count:increment',
    KeepAliveMsg: 'Established | start:hold:negotiated sessionEstablished',
    UpdateMsg: `${closeWith('5/2')} (fsm error)`,
    UpdateMsgErr: `${closeWith('5/2')} (fsm error)`,
  },
  Established: {
    ...STARTS,
    ManualStop: closeEstWith('6/2', 'reset'),
    AutomaticStop: closeEstWith('6/3'),
    ConnectRetryTimer_Expires: `${closeEstWith('5/3')} (fsm error)`,
    HoldTimer_Expires: closeEstWith('4/0'),
    KeepaliveTimer_Expires: 'Established | sendKeepalive start:keepalive:negotiated',
    DelayOpenTimer_Expires: `${closeEstWith('5/3')} (fsm error)`,
    Tcp_CR_Acked: 'Established |',
    TcpConnectionConfirmed: 'Established |',
    TcpConnectionFails: 'Idle | stop:connectRetry deleteRoutes releaseResources dropConnection count:increment',
    BGPOpen: `${closeEstWith('5/3')} (fsm error)`,
    BGPHeaderErr: closeEstWith('1/2'),
    BGPOpenMsgErr: `${closeEstWith('5/3')} (fsm error)`,
    OpenCollisionDump: closeEstWith('6/7'),
    NotifMsgVerErr: 'Idle | stop:connectRetry deleteRoutes releaseResources dropConnection count:increment',
    NotifMsg: 'Idle | stop:connectRetry deleteRoutes releaseResources dropConnection count:increment',
    KeepAliveMsg: 'Established | start:hold:negotiated',
    UpdateMsg: 'Established | processUpdate start:hold:negotiated',
    UpdateMsgErr: closeEstWith('3/1'),
  },
};

describe('RFC 4271 FSM table', () => {
  for (const state of FSM_STATES) {
    describe(state, () => {
      for (const event of FSM_EVENTS) {
        it(`${state} × ${event}`, () => {
          const t = step(state, eventFor(event));
          const got = t.ignored
            ? (expect(t.next).toBe(state), expect(t.actions).toEqual([]), IGNORED)
            : `${t.next} |${t.actions.map((a) => ` ${show(a)}`).join('')}${t.fsmError ? ' (fsm error)' : ''}`;
          expect(got).toBe(EXPECTED[state][event]);
        });
      }
    });
  }

  it('covers exactly the states and events of the implementation', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...FSM_STATES].sort());
    for (const s of FSM_STATES) expect(Object.keys(EXPECTED[s]).sort()).toEqual([...FSM_EVENTS].sort());
  });

  it('uses the RFC 6608 subcode of the state the unexpected message arrived in', () => {
    expect(step('OpenSent', { name: 'UpdateMsg' }).actions[0]).toEqual({ kind: 'sendNotification', code: 5, subcode: 1 });
    expect(step('OpenConfirm', { name: 'UpdateMsg' }).actions[0]).toEqual({ kind: 'sendNotification', code: 5, subcode: 2 });
    expect(step('Established', { name: 'BGPOpen' }).actions[0]).toEqual({ kind: 'sendNotification', code: 5, subcode: 3 });
  });

  it('sends Administrative shutdown on a ManualStop without a subcode, and the carried Cease otherwise', () => {
    expect(step('Established', { name: 'ManualStop' }).actions[0]).toEqual({ kind: 'sendNotification', code: 6, subcode: 2 });
    expect(step('OpenConfirm', { name: 'AutomaticStop', error: { code: 6, subcode: 6 } }).actions[0]).toEqual({ kind: 'sendNotification', code: 6, subcode: 6 });
  });

  it('passes NOTIFICATION data through', () => {
    const data = Uint8Array.of(0xfd, 0xe8);
    expect(step('OpenSent', { name: 'BGPOpenMsgErr', error: { code: 2, subcode: 2, data } }).actions[0]).toEqual({ kind: 'sendNotification', code: 2, subcode: 2, data });
  });

  it('walks a full session up and down', () => {
    let s: FsmState = 'Idle';
    for (const e of ['AutomaticStart', 'Tcp_CR_Acked', 'BGPOpen', 'KeepAliveMsg', 'UpdateMsg', 'HoldTimer_Expires'] as const) s = step(s, { name: e }).next;
    expect(s).toBe('Idle');
    expect(step('OpenConfirm', { name: 'KeepAliveMsg' }).next).toBe('Established');
  });
});
