/** The session data types an app declares once, by augmenting {@link SessionTypes}. */

import type { SessionData } from './session.js';

/**
 * The app's sessions, declared once by module augmentation, so `getSession(ctx)`,
 * `ctx.state.session` and the `ctx.session` view are typed with no generic at the call:
 *
 * ```ts
 * declare module 'koa-session-kit' {
 *   interface SessionTypes {
 *     session: { views: number; user?: string }; // the default session
 *     admin: { token: string };                 // session({ name: 'admin' })
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface -- filled in by the app's augmentation
export interface SessionTypes {}

/** The data type declared for session `N` in {@link SessionTypes}, or {@link SessionData} when none is. */
export type SessionDataOf<N extends string> = N extends keyof SessionTypes
  ? SessionTypes[N] extends object
    ? SessionTypes[N]
    : SessionData
  : SessionData;
