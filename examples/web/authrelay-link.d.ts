// Types of authrelay-link.js: the browser side of an authrelay interrupt.

/** One Server-Sent Event, as readSse yields it. */
export interface SseEvent {
  /** The `event:` field, 'message' when the event had none. */
  event: string;
  /** The `data:` lines joined by '\n'. */
  data: string;
  /** The last `id:` seen on the stream, if any. */
  id?: string;
  /** data parsed as JSON; undefined when it is not JSON. */
  json?: unknown;
}

/** authrelay's link_token notice (README "Events a front end receives"). */
export interface LinkToken {
  type: 'link_token';
  stream_id: string;
  /** The connector's slug; "" for a picker link (the user chooses on the Link page). */
  connector: string;
  link_token: string;
  /** authrelay's hosted Link page: open it with LinkHandler.open(). */
  magic_link_url: string;
  expires_at: string;
  message?: string;
}

export type NoticeKind = 'link_token' | 'auth_complete' | 'link_expired' | 'auth_declined' | 'relay_error';

export interface LinkSuccess {
  connector: string;
  streamId: string;
  /** The link that was pending, null when auth_complete came without one seen. */
  link: LinkToken | null;
}

export interface LinkExit {
  /** 'closed': the popup was closed before auth_complete (the link stays pending). */
  reason: 'closed' | 'link_expired' | 'auth_declined' | 'relay_error';
  link: LinkToken | null;
  /** The notice's own object (e.g. relay_error's status and message). */
  detail?: Record<string, unknown>;
}

export interface LinkHandlerOptions {
  /** A trusted link arrived: show it, with a button calling open(). */
  onLinkToken?: (link: LinkToken) => void;
  /** auth_complete: the account is connected; the stream goes on by itself. */
  onSuccess?: (result: LinkSuccess) => void;
  /** The wait ended without a connection, or the popup was closed first. */
  onExit?: (result: LinkExit) => void;
  /** Where links must point (default: the page's origin). */
  linkOrigin?: string;
  /** window.open features (default 'popup,width=520,height=680'). */
  popupFeatures?: string;
  /** Close the popup on auth_complete (default false: it shows "Connected"). */
  closePopupOnSuccess?: boolean;
  /** How often the popup is checked for being closed, ms (default 500). */
  pollMs?: number;
  /** The window to open popups from (default globalThis.window). */
  window?: Window;
}

export interface LinkHandler {
  /** The link_token waiting for the user, or null. */
  readonly pending: LinkToken | null;
  /** Feeds one event; returns the notice's kind when it was authrelay's own, else null. */
  handleEvent(evt: SseEvent): NoticeKind | null;
  /** Opens the pending link in a popup; call it from a click handler. Null if blocked or none. */
  open(): Window | null;
  /** Forgets the pending link and closes the popup. */
  close(): void;
}

export function createLinkHandler(options?: LinkHandlerOptions): LinkHandler;

/** The notice an event carries (generic, AI SDK or AG-UI form), or null. */
export function noticeOf(evt: SseEvent): { kind: NoticeKind; value: Record<string, unknown> } | null;

/** Parses the SSE body of a fetch Response; throws on a non-2xx status. */
export function readSse(response: Response, options?: { signal?: AbortSignal }): AsyncGenerator<SseEvent, void, void>;
